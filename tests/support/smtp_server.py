#!/usr/bin/env python3
"""A small real SMTP server for leadline's tests (aiosmtpd, Debian's
python3-aiosmtpd), listening on 127.0.0.1.

Every accepted message is delivered into a Maildir (new/), owned by the
given user, so that Dovecot serves it over IMAP. Options make it ask for
AUTH (over plain text, loopback only), refuse some recipients for good
(550) or for now (451). Prints "ready <port>" once it listens.
"""
import argparse
import asyncio
import base64
import json
import urllib.parse
import urllib.request
import os
import pwd
import signal
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--maildir", required=True)
p.add_argument("--owner", default="vmail")
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--reject", help="recipients containing this get 550")
p.add_argument("--tempfail", help="recipients containing this get 451")
p.add_argument("--tls-cert", help="offer STARTTLS with this certificate (PEM)")
p.add_argument("--tls-key", help="the certificate's key (PEM)")
p.add_argument("--oauth-introspect", help="require AUTH XOAUTH2 with a token this introspection URL says is active")
args = p.parse_args()

counter = 0


def introspect(token):
    data = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(args.oauth_introspect, data=data, timeout=5) as r:
        return json.load(r)


class Handler:
    async def auth_XOAUTH2(self, server, args_):
        """XOAUTH2 as Gmail does it: a refusal is a 334 challenge with a
        JSON error, answered by an empty line, then 535."""
        if not args.oauth_introspect:
            return AuthResult(success=False, handled=False)
        if len(args_) > 1:
            raw = base64.b64decode(args_[1])
        else:
            raw = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(raw, bytes):
                return AuthResult(success=False, handled=False)
        parts = dict(
            p.split("=", 1) for p in raw.decode(errors="replace").split("\x01") if "=" in p
        )
        user = parts.get("user", "")
        token = parts.get("auth", "").removeprefix("Bearer ")
        info = await asyncio.get_running_loop().run_in_executor(None, introspect, token)
        if info.get("active") in (True, "true") and info.get("username") == user:
            return AuthResult(success=True, auth_data=user)
        err = base64.b64encode(json.dumps({"status": "401", "schemes": "bearer"}).encode())
        await server.challenge_auth(err.decode(), encode_to_b64=False)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if args.reject and args.reject in address:
            return "550 5.1.1 no such user here"
        if args.tempfail and args.tempfail in address:
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        global counter
        counter += 1
        name = f"{time.time_ns()}.{os.getpid()}_{counter}.leadline-test"
        tmp = os.path.join(args.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(f"Return-Path: <{envelope.mail_from}>\r\n".encode())
            f.write(f"X-Test-Rcpt: {', '.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content)
        owner = pwd.getpwnam(args.owner)
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        os.rename(tmp, os.path.join(args.maildir, "new", name))
        return "250 2.0.0 queued as " + name


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == args.user
        and auth_data.password.decode() == args.password
    )
    return AuthResult(success=ok, handled=False)


kwargs = {}
if args.oauth_introspect:
    kwargs = dict(authenticator=lambda *a: AuthResult(success=False), auth_required=True,
                  auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
if args.user:
    kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
if args.tls_cert:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    kwargs.update(tls_context=context, require_starttls=True)
controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **kwargs)
controller.start()
print(f"ready {args.port}", flush=True)
stop = asyncio.new_event_loop()
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda *_: stop.call_soon_threadsafe(stop.stop))
stop.run_forever()
controller.stop()
