//! The chat front end's rules, through the same command path the Discord
//! adapter uses: decide, then run the decided line as the member, via chat.

use crate::helpers::Lib;
use leadline::chat::{outgoing, Chat, Decision};

const TEAM: &str = "[team]\ndefault_user = \"maria\"\n\
    [[team.members]]\nname = \"maria\"\nrole = \"manager\"\ndiscord_id = \"111\"\n\
    [[team.members]]\nname = \"jonas\"\nrole = \"rep\"\ndiscord_id = \"222\"\n\
    [[team.members]]\nname = \"offline\"\n\
    [chat]\ntoken_env = \"LEADLINE_DISCORD_TOKEN\"\ntriage_channel = \"999\"\n";

/// Runs a decision as the Discord adapter does; returns the reply text.
fn carry_out(t: &mut Lib, d: Decision) -> Result<String, String> {
    match d {
        Decision::Run { member, line } => {
            t.actor = member;
            let ctx = leadline::command::Context {
                via: "chat",
                ..t.ctx()
            };
            t.store
                .execute(&line, &ctx)
                .map(|r| r.text)
                .map_err(|e| e.to_string())
        }
        Decision::Refuse(m) => Err(m),
        Decision::Confirm { prompt, .. } => Err(format!("confirm: {prompt}")),
    }
}

#[test]
fn strangers_are_refused_politely_and_nothing_changes() {
    let t = Lib::with_config(TEAM);
    let chat = Chat::default();
    let before = t.dump();
    let d = chat.decide(&t.config, "404", "/lead new topic:X last:Y", t.now);
    assert!(
        matches!(&d, Decision::Refuse(m) if m.contains("only take commands from members")),
        "{d:?}"
    );
    assert_eq!(before, t.dump());
}

#[test]
fn members_run_commands_recorded_as_theirs_via_chat() {
    let mut t = Lib::with_config(TEAM);
    let chat = Chat::default();
    let d = chat.decide(
        &t.config,
        "222",
        "/lead new topic:Chairs last:Schmidt",
        t.now,
    );
    assert_eq!(
        carry_out(&mut t, d),
        Ok("Created L-1001 Chairs (Schmidt).".to_string())
    );
    let h = t.ok("/history L-1001").text;
    assert!(h.contains("jonas via chat: /lead new"), "{h}");
    let d = chat.decide(&t.config, "222", "/frobnicate", t.now);
    assert!(matches!(d, Decision::Refuse(m) if m.contains("unknown command")));
}

#[test]
fn roles_restrict_steps_and_irreversible_ones_need_the_askers_confirmation() {
    let mut t = Lib::with_config(TEAM);
    t.invoice();
    let chat = Chat::default();
    let d = chat.decide(
        &t.config,
        "222",
        "/invoice cancel INV-1001 reason:canceled",
        t.now,
    );
    assert_eq!(
        d,
        Decision::Refuse(
            "'invoice cancel' needs the role manager or higher; you are rep. Ask a manager."
                .to_string()
        )
    );
    let d = chat.decide(
        &t.config,
        "111",
        "/invoice cancel INV-1001 reason:canceled",
        t.now,
    );
    let Decision::Confirm { token, prompt } = d else {
        panic!("a confirmation is asked first: {d:?}")
    };
    assert!(
        prompt.contains("Invoice cancel cannot be undone"),
        "{prompt}"
    );
    assert_eq!(
        t.state("INV-1001"),
        "open",
        "nothing changed before the button"
    );
    // Someone else cannot press it.
    assert!(
        matches!(chat.confirm(&t.config, "222", &token, t.now), Decision::Refuse(m) if m.contains("Only the one who asked"))
    );
    let d = chat.confirm(&t.config, "111", &token, t.now);
    assert!(carry_out(&mut t, d).is_ok_and(|r| r.starts_with("Canceled INV-1001")));
    assert_eq!(t.state("INV-1001"), "canceled");
    assert!(
        matches!(chat.confirm(&t.config, "111", &token, t.now), Decision::Refuse(m) if m.contains("already used"))
    );
    // Disqualify asks too, and a late button is refused.
    t.ok("/lead new topic:Other last:Z");
    let Decision::Confirm { token, .. } =
        chat.decide(&t.config, "222", "/disqualify L-1002 reason:lost", t.now)
    else {
        panic!("confirm")
    };
    let late = t.now + chrono::Duration::minutes(6);
    assert!(
        matches!(chat.confirm(&t.config, "222", &token, late), Decision::Refuse(m) if m.contains("expired"))
    );
    assert_eq!(t.state("L-1002"), "open");
}

#[test]
fn notices_go_to_their_owner_and_unmatched_mail_to_triage_once() {
    let mut t = Lib::with_config(TEAM);
    t.actor = "maria".into();
    t.ok("/lead new topic:Chairs last:Schmidt followup:2026-11-29");
    t.ok("/lead new topic:Offline last:X owner:offline followup:2026-11-29");
    t.store
        .run(
            &leadline::command::Command::Sweep { limit: 100 },
            "sweep",
            &t.ctx(),
            leadline::store::Durability::Flush,
        )
        .expect("sweep");
    let mail = leadline::mail::parse::parse(
        b"From: Someone <x@nowhere.example>\r\nSubject: Hello\r\nMessage-ID: <u1@x>\r\n\r\nhi\r\n",
        1000,
    );
    let source = leadline::command::mailbox::MailSource {
        account: "sales".into(),
        folder: "INBOX".into(),
        uid_validity: 1,
        uid: 1,
    };
    t.store
        .run(
            &leadline::command::Command::IngestMail(Box::new(vec![(source, mail)])),
            "ingest",
            &t.ctx(),
            leadline::store::Durability::Flush,
        )
        .expect("ingest");
    let out = outgoing(&t.store.reader(), &t.config).expect("outgoing");
    let to: Vec<&str> = out.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(
        to,
        vec!["dm:111", "channel:999"],
        "offline has no chat id: their notice waits"
    );
    assert!(
        out[0].text.starts_with("Follow-up due: L-1001")
            && out[1]
                .text
                .contains("Unmatched mail #1 from Someone <x@nowhere.example>: Hello")
    );
    for o in &out {
        t.store
            .run(
                &leadline::command::Command::NoticeDelivered(o.notice),
                "delivered",
                &t.ctx(),
                leadline::store::Durability::Flush,
            )
            .expect("delivered");
    }
    assert!(
        outgoing(&t.store.reader(), &t.config)
            .expect("outgoing")
            .is_empty(),
        "posted once"
    );
}

#[test]
fn a_token_in_the_config_or_an_unknown_step_is_refused() {
    let e = leadline::config::Config::parse("[chat]\ntoken = \"abc\"\n", "t")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("the bot token never goes in the config file") && !e.contains("abc"),
        "{e}"
    );
    let e = leadline::config::Config::parse("[chat]\nconfirm = [\"launch rockets\"]\n", "t")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("'launch rockets' is not a step"), "{e}");
}

#[test]
fn a_mail_account_needing_sign_in_is_told_to_the_admins_in_chat() {
    let t = Lib::with_config(&format!(
        "{TEAM}[[team.members]]\nname = \"ada\"\nrole = \"admin\"\ndiscord_id = \"333\"\n"
    ));
    t.store
        .run(
            &leadline::command::Command::MailAccountNotice {
                account: "sales".into(),
                text: "mail account sales: it is not signed in; sign in again with `leadline login sales`".into(),
            },
            "notice",
            &t.ctx(),
            leadline::store::Durability::Flush,
        )
        .expect("notice");
    let out = outgoing(&t.store.reader(), &t.config).expect("outgoing");
    assert_eq!(out.len(), 1, "only the admin: {out:?}");
    assert_eq!(out[0].to, "dm:333");
    assert!(out[0].text.contains("leadline login sales"));
}
