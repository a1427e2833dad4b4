//! What a command answers: values first (the records made, changed or
//! read, each family's in its own type), and text and JSON rendered from
//! them at the edge, in the configuration in force when they are shown.

use chrono::{TimeZone, Utc};
use leadline::command::{lead, quote, record, Outcome};
use leadline::config::Config;
use leadline::core::Leadline;
use leadline::domain::{AnyRecord, Kind};

fn core(extra: &str) -> (Leadline, String) {
    let config = Config::parse(extra, "test").expect("valid test config");
    let actor = config.team.default_user.clone();
    (Leadline::temporary(config).expect("temporary store"), actor)
}

#[test]
fn commands_answer_values_and_front_ends_render_text_and_json_from_them() {
    let (core, me) = core("");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
        .single()
        .expect("valid time");
    let run = |line: &str| -> Outcome {
        let request = core.parse(line, &me, "test", now).expect("a command");
        core.run(request).unwrap_or_else(|e| panic!("{line}: {e}"))
    };

    let made = run(
        "/lead new topic:Stühle last:Schmidt company:\"Contoso GmbH\" email:anna@contoso.example",
    );
    let id = made.created().expect("a lead was made");
    assert_eq!((id.kind, id.number), (Kind::Lead, 1001));

    // Qualifying answers the records it made, as records.
    let qualified = run("/qualify L-1001");
    let Outcome::Lead(lead::Done::Qualified(q)) = &qualified else {
        panic!("qualify answered {qualified:?}");
    };
    assert!(q.contact_created && q.account_created);
    assert_eq!(q.contact.last_name.as_deref(), Some("Schmidt"));
    assert_eq!(
        q.account.as_ref().map(|a| a.name.as_str()),
        Some("Contoso GmbH")
    );
    let opp = q.opportunity.as_ref().expect("an opportunity");
    assert_eq!(q.lead.opportunity, Some(opp.number));

    // The edge renders it: text and next steps always, JSON when asked.
    let shown = core.render(&qualified, &me, now, false);
    assert!(
        shown.text.starts_with("Qualified L-1001: created contact C-1001 Schmidt, account A-1001 Contoso GmbH, opportunity O-1001 Stühle"),
        "{}",
        shown.text
    );
    assert!(shown.data.is_null(), "no JSON unless asked: {}", shown.data);
    assert!(
        shown.next.contains(&"/quote new O-1001".to_string()),
        "{:?}",
        shown.next
    );
    let json = core.render(&qualified, &me, now, true).data;
    assert_eq!(json["contact"]["last_name"], "Schmidt");
    assert_eq!(json["opportunity"]["number"], opp.number);

    // A list answers the records it shows, in order.
    run("/lead new topic:Tische last:Meier");
    let listed = run("/list leads");
    let Outcome::Record(record::Done::Listed { rows, more, .. }) = &listed else {
        panic!("list answered {listed:?}");
    };
    assert!(!more);
    let topics: Vec<&str> = rows
        .iter()
        .map(|r| match r {
            AnyRecord::Lead(l) => l.topic.as_str(),
            other => panic!("a lead list showed {other:?}"),
        })
        .collect();
    assert_eq!(topics, ["Tische", "Stühle"]);
    assert_eq!(
        listed
            .listed()
            .expect("ids")
            .iter()
            .map(|i| i.number)
            .collect::<Vec<_>>(),
        [1002, 1001]
    );

    // A quote's outcome is the quote; its total is rendered from it.
    run("/product new CHAIR name:Chair price:100");
    run("/opp line add O-1001 sku:CHAIR quantity:3");
    let new_quote = run("/quote new O-1001");
    let Outcome::Quote(quote::Done::Created(q)) = &new_quote else {
        panic!("quote new answered {new_quote:?}");
    };
    assert_eq!(q.pricing.lines.len(), 1);
    let text = core.render(&new_quote, &me, now, false).text;
    assert!(
        text.starts_with("Created draft Q-1001 from O-1001: 1 line(s), total"),
        "{text}"
    );

    // Rendering reads the configuration in force when it renders: the same
    // outcome shown after the numbering changed names the new prefixes.
    core.reconfigure(
        Config::parse(
            "[process.numbering]\nlead = { prefix = \"LD\", first = 1001 }\n",
            "test",
        )
        .expect("valid test config"),
    );
    let again = core.render(&qualified, &me, now, false).text;
    assert!(again.starts_with("Qualified LD1001:"), "{again}");
}
