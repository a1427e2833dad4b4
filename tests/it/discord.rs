//! The real serenity bot inside `leadline run`, against a fake Discord on
//! 127.0.0.1: what it sends back and what changed in the store.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::fakediscord::FakeDiscord;
use crate::helpers::Bin;

struct Bot {
    b: Bin,
    fake: FakeDiscord,
    child: std::process::Child,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `leadline run` with a bot token, in the background.
fn spawn_bot(b: &Bin, cfg: &std::path::Path) -> std::process::Child {
    b.configured(cfg)
        .arg("run")
        .env("LEADLINE_DISCORD_TOKEN", "fake-token")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

fn start() -> Bot {
    start_with("")
}

/// [`start`] with more configuration.
fn start_with(extra: &str) -> Bot {
    let b = Bin::new();
    let fake = FakeDiscord::start();
    let cfg = b.file(
        "bot.toml",
        &format!(
            "{extra}\n[team]\ndefault_user = \"maria\"\n\
             [[team.members]]\nname = \"maria\"\nrole = \"manager\"\ndiscord_id = \"111\"\n\
             [[team.members]]\nname = \"jonas\"\nrole = \"rep\"\ndiscord_id = \"222\"\n\
             [chat]\ntoken_env = \"LEADLINE_DISCORD_TOKEN\"\nguild = \"1\"\nchannels = [\"500\"]\ntriage_channel = \"900\"\napi_base = \"{}\"\n",
            fake.base()
        ),
    );
    let child = spawn_bot(&b, &cfg);
    let bot = Bot { b, fake, child };
    bot.fake
        .wait_call("/applications/100000000000000001/guilds/1/commands");
    bot
}

fn callback(fake: &FakeDiscord, id: u64) -> serde_json::Value {
    fake.wait_call(&format!("/interactions/{id}/token-{id}/callback"))
        .body
}

fn show(b: &Bin, id: &str) -> serde_json::Value {
    let out = b.run(&["--as", "maria", "--json", "cmd", &format!("/show {id}")]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["data"].clone()
}

#[test]
fn slash_commands_run_through_the_workflow_core_with_roles_and_confirmations() {
    let bot = start();
    let (f, b) = (&bot.fake, &bot.b);
    assert!(*f.identified.lock().expect("lock"));
    // The commands were registered, with the reasons from config as choices.
    let registered = f.wait_call("/guilds/1/commands").body;
    let text = registered.to_string();
    assert!(
        text.contains("\"qualify\"") && text.contains("Cannot contact"),
        "{text}"
    );
    // Every record kind's actions are subcommands with typed options.
    let names: Vec<&str> = registered
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for n in [
        "lead", "opp", "quote", "order", "invoice", "contact", "account", "activity", "task",
        "call", "meeting", "note", "timeline", "email", "inbox", "outbox", "find", "pipeline",
        "report",
    ] {
        assert!(names.contains(&n), "/{n} is not registered: {names:?}");
    }
    let quote = registered
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "quote")
        .expect("quote");
    let subs: Vec<&str> = quote["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert!(
        subs.contains(&"activate") && subs.contains(&"revise") && subs.contains(&"line"),
        "{subs:?}"
    );

    f.slash(
        1,
        "222",
        "lead",
        json!([{"name": "new", "type": 1, "options": [{"name": "fields", "type": 3, "value": "topic:Chairs last:Schmidt"}]}]),
    );
    let r = callback(f, 1);
    assert!(
        r.to_string().contains("Created L-1001 Chairs (Schmidt)"),
        "{r}"
    );
    // /find from chat, umlauts folded.
    f.slash(
        91,
        "222",
        "find",
        json!([{"name": "args", "type": 3, "value": "Schmídt"}, {"name": "kind", "type": 3, "value": "lead"}]),
    );
    let r = callback(f, 91);
    assert!(r.to_string().contains("L-1001"), "{r}");
    f.slash(
        2,
        "222",
        "qualify",
        json!([{"name": "lead", "type": 3, "value": "L-1001"}]),
    );
    let r = callback(f, 2);
    assert!(
        r["data"]["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("Qualified L-1001")),
        "{r}"
    );
    assert!(
        r.to_string().contains("run:/quote new O-1001"),
        "a button for the next step: {r}"
    );
    assert_eq!(show(b, "L-1001")["state"], "qualified");
    let h = String::from_utf8_lossy(&b.run(&["--as", "maria", "cmd", "/history L-1001"]).stdout)
        .to_string();
    assert!(h.contains("jonas via chat: /qualify L-1001"), "{h}");

    // Record ids are completed as people type.
    f.autocomplete(30, "222", "qualify", "lead", "l-10");
    let r = callback(f, 30);
    assert_eq!(r["type"], 8, "an autocomplete answer: {r}");
    assert!(
        r["data"]["choices"].to_string().contains("\"L-1001\""),
        "{r}"
    );
    // A typed activity command.
    f.slash(31, "222", "task", json!([{"name": "record", "type": 3, "value": "O-1001"}, {"name": "subject", "type": 3, "value": "Send brochure"}, {"name": "due", "type": 3, "value": "2030-01-02"}]));
    assert!(callback(f, 31)
        .to_string()
        .contains("Scheduled task ACT-1001 'Send brochure' on O-1001"));
    // The next-step button runs it.
    f.button(3, "222", "run:/quote new O-1001");
    assert!(callback(f, 3).to_string().contains("Created draft Q-1001"));

    // A stranger is refused, only to them, and nothing changes.
    f.slash(
        4,
        "404",
        "lead",
        json!([{"name": "new", "type": 1, "options": [{"name": "fields", "type": 3, "value": "topic:X last:Y"}]}]),
    );
    let r = callback(f, 4);
    assert_eq!(r["data"]["flags"], 64, "ephemeral: {r}");
    assert!(
        r.to_string().contains("only take commands from members"),
        "{r}"
    );
    assert!(
        b.run(&["--as", "maria", "cmd", "/show L-1002"])
            .status
            .code()
            == Some(1)
    );

    // Irreversible: confirmation first, only the asker may press it.
    f.slash(
        5,
        "222",
        "lead",
        json!([{"name": "new", "type": 1, "options": [{"name": "fields", "type": 3, "value": "topic:Other last:Z"}]}]),
    );
    callback(f, 5);
    f.slash(6, "222", "disqualify", json!([{"name": "lead", "type": 3, "value": "L-1002"}, {"name": "reason", "type": 3, "value": "Lost"}]));
    let r = callback(f, 6);
    assert_eq!(r["data"]["flags"], 64, "{r}");
    let custom = r["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .expect("a confirm button")
        .to_string();
    assert!(custom.starts_with("confirm:"));
    assert_eq!(show(b, "L-1002")["state"], "open");
    f.button(7, "111", &custom);
    assert!(callback(f, 7)
        .to_string()
        .contains("Only the one who asked"));
    f.button(8, "222", &custom);
    assert!(callback(f, 8).to_string().contains("Disqualified L-1002"));
    assert_eq!(show(b, "L-1002")["state"], "disqualified");
}

#[test]
fn an_unreachable_discord_never_stops_the_daemon_and_shows_in_status() {
    let b = Bin::new();
    // Nothing listens there: the API cannot be reached.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let cfg = b.file(
        "bot.toml",
        &format!("[chat]\ntoken_env = \"LEADLINE_DISCORD_TOKEN\"\nguild = \"1\"\napi_base = \"http://127.0.0.1:{port}\"\n"),
    );
    let mut child = spawn_bot(&b, &cfg);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        let out = b.run(&["status"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("cannot reach the Discord API") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never showed the Discord error: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.contains("\"state\": \"on\""), "{status}");
    // Everything else keeps working.
    assert!(b.ok("/lead new topic:X last:Y").contains("Created L-1001"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn typed_messages_in_channels_work_and_notices_are_posted_once() {
    let bot = start();
    let (f, b) = (&bot.fake, &bot.b);
    f.say(
        10,
        "500",
        "222",
        "/lead new topic:Desks last:Meier followup:2026-11-01",
    );
    let posted = f.wait_call("/channels/500/messages").body;
    assert!(
        posted["content"]
            .as_str()
            .is_some_and(|c| c.contains("Created L-1001 Desks")),
        "{posted}"
    );
    // An overdue follow-up of jonas: the daemon's sweep queues a notice,
    // the bot sends it to him directly.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    assert!(b.run(&["--now", &later, "tick"]).status.success());
    // After 08:00 in Berlin on a weekday the same tick also queues the
    // day's digests (a notice to each member): look for jonas's follow-up
    // among whatever else is posted.
    let follow_ups = || {
        f.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|c| c.path.contains("/channels/7222/messages"))
            .filter(|c| {
                c.body["content"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Follow-up due: L-1001"))
            })
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while follow_ups() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        f.calls
            .lock()
            .expect("lock")
            .iter()
            .any(|c| c.path.contains("/users/@me/channels") && c.body["recipient_id"] == "222"),
        "no direct message opened to jonas"
    );
    assert_eq!(follow_ups(), 1, "jonas got his follow-up");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(follow_ups(), 1, "posted once");
}

#[test]
fn a_member_added_by_sighup_is_taken_in_chat_at_once() {
    let bot = start();
    let (f, b) = (&bot.fake, &bot.b);
    let find = |id: u64| {
        f.slash(
            id,
            "555",
            "find",
            json!([{"name": "args", "type": 3, "value": "Weber"}]),
        );
        callback(f, id).to_string()
    };
    assert!(find(71).contains("only take commands from members"));
    // Add ulla (Discord 555) to the file the daemon runs on, and reload.
    let cfg = b.dir.path().join("bot.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    let added = text.replacen(
        "[chat]",
        "[[team.members]]\nname = \"ulla\"\nrole = \"rep\"\ndiscord_id = \"555\"\n[chat]",
        1,
    );
    std::fs::write(&cfg, added).expect("rewrite");
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &bot.child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut id = 72;
    loop {
        let said = find(id);
        if !said.contains("only take commands from members") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still refused: {said}"
        );
        id += 1;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_document_asked_for_in_chat_comes_as_its_pdf_with_the_e_invoice_inside() {
    let bot = start_with(crate::documents::COMPANY);
    let (f, b) = (&bot.fake, &bot.b);
    for line in [
        "/lead new topic:Stühle first:Anna last:Schmidt company:\"Contoso GmbH\" email:anna@contoso.example",
        "/qualify L-1001",
        "/product new CHAIR-01 name:\"Bürostuhl\" price:199.99 tax:19%",
        "/opp line add O-1001 sku:CHAIR-01 qty:10",
        "/quote new O-1001",
        "/quote activate Q-1001",
        "/quote win Q-1001",
        "/order fulfil SO-1001 reason:complete",
        "/order invoice SO-1001",
    ] {
        let out = b.run(&["--as", "maria", "cmd", line]);
        assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let registered = f.wait_call("/guilds/1/commands").body.to_string();
    assert!(
        registered.contains("invoice pdf"),
        "/invoice pdf is not registered"
    );
    f.slash(
        301,
        "111",
        "invoice",
        json!([{"name": "pdf", "type": 1, "options": [{"name": "invoice", "type": 3, "value": "INV-1001"}]}]),
    );
    let call = f.wait_call("/interactions/301/token-301/callback");
    assert!(
        call.body.to_string().contains("Rechnung-INV-1001.pdf"),
        "{}",
        call.body
    );
    let (name, pdf) = call.files.first().expect("the PDF came along");
    assert_eq!(name, "Rechnung-INV-1001.pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("INV-1001.pdf");
    std::fs::write(&file, pdf).expect("pdf");
    let text = crate::documents::pages(&file).join("\n");
    assert!(
        text.contains("Rechnung INV-1001") && text.contains("2.379,88 €"),
        "{text}"
    );
    std::fs::write(file.with_extension("xml"), crate::mail::extract_xml(&file)).expect("xml");
    let x = &crate::documents::facturx_check(&[file])[0];
    assert_eq!(x["GrandTotalAmount"], "2379.88");
    // A record with no document is refused, privately.
    f.slash(
        302,
        "111",
        "invoice",
        json!([{"name": "pdf", "type": 1, "options": [{"name": "invoice", "type": 3, "value": "INV-4711"}]}]),
    );
    let r = callback(f, 302);
    assert!(
        r.to_string().contains("there is no invoice INV-4711"),
        "{r}"
    );
}

#[test]
fn a_report_in_chat_comes_as_a_table_with_its_chart() {
    let bot = start();
    let (f, b) = (&bot.fake, &bot.b);
    for line in [
        "/product new CHAIR-01 name:Chair price:100 tax:19%",
        "/lead new topic:Chairs last:Schmidt company:Contoso",
        "/qualify L-1001",
        "/opp edit O-1001 revenue:10000 probability:50 close:2027-01-15",
        "/lead new topic:Desks last:Weber company:Fabrikam",
        "/qualify L-1002",
        "/opp line add O-1002 sku:CHAIR-01 qty:4",
        "/opp win O-1002",
    ] {
        let out = b.run(&["--as", "maria", "cmd", line]);
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let registered = f.wait_call("/guilds/1/commands").body.to_string();
    for sub in ["wonlost", "revenue", "funnel", "aging"] {
        assert!(registered.contains(sub), "/report {sub} is not registered");
    }
    f.slash(
        401,
        "111",
        "pipeline",
        json!([{"name": "by", "type": 3, "value": "month"}]),
    );
    let call = f.wait_call("/interactions/401/token-401/callback");
    let body = call.body.to_string();
    assert!(body.contains("1 open opportunity"), "{body}");
    assert!(body.contains("```"), "the table is not monospaced: {body}");
    let (name, png) = call.files.first().expect("the chart came along");
    assert_eq!(name, "chart.png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    if let Some(dir) = std::env::var_os("LEADLINE_CHART_OUT") {
        std::fs::write(std::path::Path::new(&dir).join("pipeline.png"), png).expect("write");
    }
    f.slash(
        402,
        "111",
        "report",
        json!([{"name": "revenue", "type": 1, "options": [{"name": "by", "type": 3, "value": "owner"}]}]),
    );
    let call = f.wait_call("/interactions/402/token-402/callback");
    assert!(
        call.body.to_string().contains("revenue by owner"),
        "{}",
        call.body
    );
    assert_eq!(call.files.len(), 1, "one chart");
    // A bad period: refused privately, no chart.
    f.slash(
        403,
        "111",
        "report",
        json!([{"name": "funnel", "type": 1, "options": [{"name": "from", "type": 3, "value": "someday"}]}]),
    );
    let call = f.wait_call("/interactions/403/token-403/callback");
    assert!(
        call.body.to_string().contains("is not a date"),
        "{}",
        call.body
    );
    assert!(call.files.is_empty());
}

#[test]
fn web_in_chat_answers_only_the_member_with_a_link_that_signs_them_in_once() {
    let port = crate::browser::free_port();
    let bot = start_with(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    let f = &bot.fake;
    let registered = f.wait_call("/guilds/1/commands").body.to_string();
    assert!(registered.contains("\"web\""), "/web is not registered");
    f.slash(501, "111", "web", json!([]));
    let call = f.wait_call("/interactions/501/token-501/callback");
    let body = &call.body;
    assert_eq!(body["data"]["flags"], 64, "only maria sees it: {body}");
    let text = body["data"]["content"]
        .as_str()
        .expect("a text")
        .to_string();
    let prefix = format!("http://127.0.0.1:{port}/signin/");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no link: {text}"));
    let token = &link[prefix.len()..];
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let signin = |token: &str| {
        http.post(format!("http://127.0.0.1:{port}/signin"))
            .form(&[("token", token)])
            .send()
            .expect("sign in")
    };
    let first = signin(token);
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    let cookie = cookie.split(';').next().expect("pair");
    let board = http
        .get(format!("http://127.0.0.1:{port}/board"))
        .header("cookie", cookie)
        .send()
        .expect("board")
        .text()
        .expect("html");
    assert!(board.contains("<strong id=\"member\">maria</strong>"));
    assert_eq!(signin(token).status(), 403, "a link works once");
    // Someone not on the team gets no link.
    f.slash(502, "999", "web", json!([]));
    let call = f.wait_call("/interactions/502/token-502/callback");
    let text = call.body["data"]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        text.contains("only give sign-in links to members") && !text.contains("/signin/"),
        "{text}"
    );
    // Typed in a channel, the link goes to a direct message, not the channel.
    f.say(503, "500", "222", "/web");
    let dm = f.wait_call("/channels/7222/messages");
    let body = dm.body.to_string();
    assert!(body.contains("/signin/"), "{body}");
}
