//! The SASL responses that carry a user and an access token: XOAUTH2 and
//! OAUTHBEARER (RFC 7628).

use crate::mail::Secret;

/// The SASL XOAUTH2 initial response.
pub fn xoauth2(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

/// The SASL OAUTHBEARER (RFC 7628) initial response.
pub fn oauthbearer(user: &str, host: &str, port: u16, token: &Secret) -> String {
    format!(
        "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01",
        user.replace('=', "=3D").replace(',', "=2C"),
        token.expose()
    )
}
