//! Timelines and activities (P-7 .. P-12), in process.

use crate::helpers::Lib;

const TEAM: &str = "[team]\ntimezone = \"Europe/Berlin\"\ndefault_user = \"maria\"\n\
    [[team.members]]\nname = \"maria\"\nemail = \"maria@example.com\"\n\
    [[team.members]]\nname = \"jonas\"\nemail = \"jonas@example.com\"\ntimezone = \"America/New_York\"\n";

fn team() -> Lib {
    let mut t = Lib::with_config(TEAM);
    t.actor = "maria".to_string();
    t
}

#[test]
fn activities_of_every_kind_land_on_the_timeline_with_their_state() {
    let t = team();
    t.ok("/lead new topic:Chairs last:Schmidt email:anna@contoso.example company:Contoso");
    let r = t.ok("/call L-1001 subject:Intro result:\"wants a demo\" phone:\"+49 30 123\"");
    assert_eq!(
        r.text,
        "Logged call ACT-1001 'Intro' on L-1001: wants a demo."
    );
    let r = t.ok("/task L-1001 \"Send brochure\" due:tomorrow owner:jonas");
    assert_eq!(
        r.text,
        "Scheduled task ACT-1002 'Send brochure' on L-1001 for jonas, due Tue 2026-12-01."
    );
    let r = t.ok("/meeting L-1001 Demo start:\"2026-12-04 10:00\" end:\"2026-12-04 11:30\" attendees:\"anna@contoso.example, ben@contoso.example\" location:Berlin");
    assert_eq!(r.text, "Scheduled meeting ACT-1003 'Demo' on L-1001, Fri 2026-12-04 10:00 CET - 11:30 with anna@contoso.example, ben@contoso.example at Berlin. Invitation queued (outbox #1).");
    let r = t.ok("/note L-1001 \"Prefers e-mail\"");
    assert_eq!(r.text, "Noted ACT-1004 'Prefers e-mail' on L-1001.");
    let r = t.ok("/call L-1001 due:\"fri 14:30\"");
    assert_eq!(
        r.text,
        "Scheduled call ACT-1005 'Call' on L-1001, due Fri 2026-12-04 14:30 CET."
    );
    let tl = t.ok("/timeline L-1001").text;
    let lines: Vec<&str> = tl.lines().collect();
    // Upcoming first, soonest first; then the past, newest first.
    assert!(
        lines[1].contains("ACT-1002") && lines[1].contains("Active"),
        "{tl}"
    );
    assert!(lines[2].contains("ACT-1003"), "{tl}");
    assert!(lines[3].contains("ACT-1005"), "{tl}");
    assert!(
        lines[4].contains("ACT-1001")
            && lines[4].contains("Closed")
            && lines[4].contains("wants a demo"),
        "{tl}"
    );
    assert!(
        lines[5].contains("ACT-1004") && lines[5].contains("note"),
        "{tl}"
    );
    let a = t.json("ACT-1003");
    assert_eq!(
        a["details"]["attendees"],
        serde_json::json!(["anna@contoso.example", "ben@contoso.example"])
    );
    assert_eq!(a["details"]["end"], "2026-12-04T10:30:00Z");
}

#[test]
fn overdue_is_judged_in_the_owners_time_zone() {
    let mut t = team();
    t.ok("/lead new topic:Chairs last:Schmidt");
    t.ok("/task L-1001 \"Berlin task\" due:2026-12-03");
    t.ok("/task L-1001 \"New York task\" due:2026-12-03 owner:jonas");
    // 23:30 UTC on Dec 3: already Dec 4 in Berlin, still Dec 3 in New York.
    t.now = chrono::DateTime::parse_from_rfc3339("2026-12-03T23:30:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    let overdue = t.ok("/timeline L-1001 state:overdue").text;
    assert!(
        overdue.contains("Berlin task") && !overdue.contains("New York task"),
        "{overdue}"
    );
    assert!(t.ok("/overdue").text.contains("Overdue (1)"));
    assert!(t.ok("/overdue owner:jonas").text.contains("Overdue (0)"));
    t.now = chrono::DateTime::parse_from_rfc3339("2026-12-04T05:00:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    assert!(t.ok("/overdue all").text.contains("Overdue (2)"));
}

#[test]
fn the_opportunity_timeline_shows_the_leads_activities_and_closing_steps() {
    let t = team();
    t.ok("/lead new topic:Chairs last:Schmidt company:Contoso");
    t.ok("/call L-1001 subject:\"First contact\" result:reached");
    t.ok("/qualify L-1001");
    t.ok("/task O-1001 \"Prepare offer\" due:\"in 2 days\"");
    let tl = t.ok("/timeline O-1001").text;
    assert!(tl.contains("Prepare offer"), "{tl}");
    assert!(
        tl.contains("First contact") && tl.contains("(from L-1001)"),
        "{tl}"
    );
    assert!(
        tl.contains("/qualify L-1001"),
        "the qualify step shows: {tl}"
    );
    t.ok("/opp lose O-1001 reason:out-sold");
    let tl = t.ok("/timeline O-1001").text;
    assert!(tl.contains("/opp lose O-1001 reason:out-sold"), "{tl}");
    let calls = t.ok("/timeline O-1001 kind:call").text;
    assert!(
        calls.contains("First contact")
            && !calls.contains("Prepare offer")
            && !calls.contains("/opp lose"),
        "{calls}"
    );
}

#[test]
fn closing_steps_of_quotes_orders_and_invoices_are_on_their_timelines() {
    let t = Lib::new();
    t.invoice();
    t.ok("/invoice paid INV-1001 reason:complete");
    assert!(t.ok("/timeline Q-1001").text.contains("/quote win Q-1001"));
    let so = t.ok("/timeline SO-1001").text;
    assert!(
        so.contains("/order fulfil SO-1001 reason:complete")
            && so.contains("/order invoice SO-1001"),
        "{so}"
    );
    assert!(t
        .ok("/timeline INV-1001")
        .text
        .contains("/invoice paid INV-1001 reason:complete"));
}

#[test]
fn activities_are_completed_canceled_rescheduled_and_reassigned() {
    let t = team();
    t.ok("/lead new topic:Chairs last:Schmidt");
    t.ok("/call L-1001 due:\"tomorrow 10:00\"");
    let r = t.ok("/done ACT-1001 result:\"call back in January\"");
    assert!(
        r.text.contains("Closed") && r.text.contains("call back in January"),
        "{}",
        r.text
    );
    t.refused("/done ACT-1001");
    t.refused("/activity reschedule ACT-1001 due:\"2026-12-09 10:00\"");
    t.ok("/task L-1001 Brochure due:tomorrow");
    let r = t.ok("/activity reschedule ACT-1002 due:\"2026-12-09 15:00\"");
    assert!(
        r.text.contains("due Wed 2026-12-09 15:00 CET"),
        "{}",
        r.text
    );
    t.refused("/activity reschedule ACT-1002 due:2026-11-01");
    let r = t.ok("/activity assign ACT-1002 owner:jonas");
    assert!(
        r.text.contains("jonas") && r.text.contains("09:00 EST"),
        "shown in the new owner's zone: {}",
        r.text
    );
    t.ok("/activity cancel ACT-1002");
    assert_eq!(t.json("ACT-1002")["state"], "canceled");
    t.refused("/activity cancel ACT-1002");
    t.ok("/note L-1001 \"Just a note\"");
    let m = t.refused("/done ACT-1003");
    assert!(m.contains("notes are not done or due"), "{m}");
    let h = t.ok("/history ACT-1002").text;
    assert!(
        h.contains("owner: maria -> jonas") && h.contains("state: open -> canceled"),
        "{h}"
    );
}

#[test]
fn bad_activity_input_is_refused_and_changes_nothing() {
    let t = team();
    t.ok("/lead new topic:Chairs last:Schmidt");
    let m = t.invalid("/task L-1001 X due:tomorrow owner:stranger");
    assert!(m.contains("'stranger' is not on the team"), "{m}");
    let m = t.refused("/task L-1001 X due:2026-11-01");
    assert!(m.contains("in the past"), "{m}");
    let m = t.refused("/meeting L-1001 X start:\"2026-12-04 10:00\" end:\"2026-12-04 09:00\"");
    assert!(m.contains("ends") && m.contains("before it starts"), "{m}");
    t.invalid("/meeting L-1001 X start:2026-12-04");
    let m = t.invalid("/task L-1001 X due:\"2027-03-28 02:30\"");
    assert!(m.contains("does not exist in Europe/Berlin"), "{m}");
    t.invalid("/task L-1001 X due:whenever");
    t.invalid("/call L-1001 result:x due:tomorrow");
    t.refused("/call L-1001 at:\"2026-12-24 10:00\" result:\"from the future\"");
    assert!(matches!(
        t.err("/task L-4242 X due:tomorrow"),
        leadline::command::CommandError::NotFound(_)
    ));
    assert!(matches!(
        t.err("/done ACT-4242"),
        leadline::command::CommandError::NotFound(_)
    ));
    t.invalid("/timeline L-1001 state:sleepy");
    t.invalid("/timeline L-1001 kind:fax");
    t.ok("/disqualify L-1001 reason:lost");
    let m = t.refused("/task L-1001 X due:tomorrow");
    assert!(m.contains("it is disqualified"), "{m}");
    t.ok("/note L-1001 \"Notes are fine on closed records\"");
    t.ok("/call L-1001 result:\"so are logged calls\"");
}

#[test]
fn the_agenda_lists_overdue_and_today_including_follow_ups() {
    let mut t = team();
    t.ok("/lead new topic:Chairs last:Schmidt followup:2026-11-29");
    t.ok("/task L-1001 \"Today's task\" due:\"today 17:00\"");
    t.ok("/task L-1001 \"Later\" due:\"in 5 days\"");
    t.ok("/call L-1001 due:\"today 11:00\"");
    t.now += chrono::Duration::hours(2);
    let a = t.ok("/agenda").text;
    assert!(
        a.starts_with("agenda of maria for Mon 2026-11-30 (Europe/Berlin)"),
        "{a}"
    );
    let (overdue, today) = a.split_once("Due today").expect("two sections");
    assert!(
        overdue.contains("Overdue (2)")
            && overdue.contains("ACT-1003")
            && overdue.contains("follow-up lead Chairs"),
        "{a}"
    );
    assert!(
        today.contains("(1)") && today.contains("Today's task") && !today.contains("Later"),
        "{a}"
    );
}

#[test]
fn activities_are_listed_all_or_through_their_own_views() {
    let t = team();
    t.ok("/lead new topic:Chairs last:Schmidt");
    t.ok("/task L-1001 One due:tomorrow");
    t.ok("/note L-1001 Two");
    let all = t.ok("/list activities").text;
    assert!(
        all.starts_with("ACT-1002") && all.contains("ACT-1001"),
        "{all}"
    );
    let m = t.invalid("/list activities state:open");
    assert!(m.contains("/timeline") && m.contains("/agenda"), "{m}");
}

#[test]
fn the_opportunity_timeline_shows_the_mail_of_its_quotes_orders_and_invoices() {
    let t = Lib::with_company();
    t.active_quote();
    t.ok("/quote send Q-1001");
    t.ok("/task Q-1001 \"Check the quote\" due:tomorrow");
    t.ok("/quote win Q-1001");
    t.ok("/order fulfil SO-1001 reason:complete");
    t.ok("/order invoice SO-1001");
    t.ok("/invoice send INV-1001");
    let tl = t.ok("/timeline O-1001").text;
    assert!(tl.contains("email") && tl.contains("(from Q-1001)"), "{tl}");
    assert!(tl.contains("(from INV-1001)"), "{tl}");
    // Only their mail: the quote's task stays on the quote's timeline.
    assert!(!tl.contains("Check the quote"), "{tl}");
    assert!(t.ok("/timeline Q-1001").text.contains("Check the quote"));
}
