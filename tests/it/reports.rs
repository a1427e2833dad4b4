//! Reports in the command language: `/pipeline` and `/report aging`,
//! with the numbers checked by hand.

use chrono::TimeZone;

use crate::helpers::Lib;

/// The row of `group` in a report's text (after its heading), its words
/// joined by one space.
fn row(text: &str, group: &str) -> String {
    text.lines()
        .skip(1)
        .find(|l| l.trim_start().starts_with(group))
        .unwrap_or_else(|| panic!("no row {group} in\n{text}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const TEAM: &str = "[team]\ndefault_user = \"me\"\n[[team.members]]\nname = \"me\"\nrole = \"admin\"\n[[team.members]]\nname = \"maria\"\nrole = \"rep\"\n";

#[test]
fn the_pipeline_sums_open_opportunities_estimated_and_weighted_by_month_owner_and_stage() {
    let t = Lib::with_config(TEAM);
    t.ok("/product new CHAIR-01 name:Chair price:100 tax:19%");
    for (i, company) in ["A", "B", "C", "D"].iter().enumerate() {
        t.ok(&format!(
            "/lead new topic:Deal{i} last:L{i} company:{company}"
        ));
        t.ok(&format!("/qualify L-{}", 1001 + i));
    }
    t.ok("/opp edit O-1001 revenue:10000 probability:50 close:2027-01-15");
    t.ok("/opp line add O-1001 sku:CHAIR-01 qty:5");
    t.ok("/quote new O-1001");
    t.ok("/opp edit O-1002 revenue:4000 probability:25 close:2027-02-10 owner:maria");
    t.ok("/opp line add O-1002 sku:CHAIR-01 qty:2");
    // No estimate: the lines' net counts; no probability: weighted 0.
    t.ok("/opp edit O-1003 close:2027-01-31");
    t.ok("/opp line add O-1003 sku:CHAIR-01 qty:3");
    // Won: not in the pipeline.
    t.ok("/opp edit O-1004 revenue:999 probability:90");
    t.ok("/opp win O-1004 revenue:999");

    let by_month = t.ok("/pipeline").text;
    assert!(
        by_month.contains("pipeline of the team by expected close month: 3 open opportunities"),
        "{by_month}"
    );
    assert_eq!(
        row(&by_month, "2027-01"),
        "2027-01 2 10,300.00 EUR 5,000.00 EUR"
    );
    assert_eq!(
        row(&by_month, "2027-02"),
        "2027-02 1 4,000.00 EUR 1,000.00 EUR"
    );
    assert_eq!(
        row(&by_month, "total"),
        "total 3 14,300.00 EUR 6,000.00 EUR"
    );

    let by_owner = t.ok("/pipeline by:owner").text;
    assert_eq!(row(&by_owner, "maria"), "maria 1 4,000.00 EUR 1,000.00 EUR");
    assert_eq!(row(&by_owner, "me"), "me 2 10,300.00 EUR 5,000.00 EUR");
    let marias = t.ok("/pipeline owner:maria").text;
    assert_eq!(row(&marias, "total"), "total 1 4,000.00 EUR 1,000.00 EUR");

    let by_stage = t.ok("/pipeline by:stage").text;
    assert_eq!(
        row(&by_stage, "propose"),
        "propose 1 10,000.00 EUR 5,000.00 EUR"
    );
    assert_eq!(
        row(&by_stage, "develop"),
        "develop 2 4,300.00 EUR 1,000.00 EUR"
    );
    // The numbers as JSON, for scripts.
    let r = t.ok("/pipeline by:stage");
    assert_eq!(r.data["total"]["count"], 3);
    assert_eq!(r.data["total"]["weighted"], "6000.00");
    // A grouping or report that does not exist is refused.
    assert!(t
        .invalid("/pipeline by:color")
        .contains("by:month, by:owner or by:stage"));
    assert!(t
        .invalid("/report pipes")
        .contains("reports: wonlost, aging"));
}

#[test]
fn aging_puts_each_unpaid_balance_in_its_overdue_bucket() {
    let mut t = Lib::with_config(TEAM);
    // INV-1001 due 2026-12-30 (30 days after 2026-11-30), paid in part.
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:1000");
    // A second deal invoiced a month later: due 2027-01-29.
    t.now = chrono::Utc
        .with_ymd_and_hms(2026, 12, 30, 9, 0, 0)
        .single()
        .expect("time");
    t.ok("/lead new topic:Tables last:Meier company:Fabrikam");
    t.ok("/qualify L-1002");
    t.ok("/opp line add O-1002 sku:CHAIR-01 qty:1");
    t.ok("/quote new O-1002");
    t.ok("/quote activate Q-1002");
    t.ok("/quote win Q-1002");
    t.ok("/order fulfil SO-1002 reason:complete");
    t.ok("/order invoice SO-1002");
    // On 2027-03-05: INV-1001 is 65 days late, INV-1002 35 days.
    t.now = chrono::Utc
        .with_ymd_and_hms(2027, 3, 5, 9, 0, 0)
        .single()
        .expect("time");
    let r = t.ok("/report aging");
    let text = r.text;
    assert_eq!(row(&text, "not due"), "not due 0 0.00 EUR");
    assert_eq!(row(&text, "31-60"), "31-60 days 1 237.99 EUR");
    assert_eq!(row(&text, "61-90"), "61-90 days 1 1,260.88 EUR");
    assert_eq!(row(&text, "total"), "total 2 1,498.87 EUR");
    assert_eq!(r.data["total"]["count"], 2);
}

#[test]
fn won_and_lost_are_counted_and_summed_by_reason_owner_competitor_and_product() {
    let t = Lib::with_config(TEAM);
    t.ok("/product new CHAIR-01 name:Chair price:100 tax:19%");
    t.ok("/product new DESK-01 name:Desk price:500 tax:19%");
    for (i, company) in ["A", "B", "C"].iter().enumerate() {
        t.ok(&format!(
            "/lead new topic:Deal{i} last:L{i} company:{company}"
        ));
        t.ok(&format!("/qualify L-{}", 1001 + i));
    }
    t.ok("/opp line add O-1001 sku:CHAIR-01 qty:10");
    t.ok("/opp win O-1001 revenue:950");
    t.ok("/opp edit O-1002 revenue:2000");
    t.ok("/opp line add O-1002 sku:DESK-01 qty:4");
    t.ok("/opp lose O-1002 reason:\"Out-Sold\" competitor:\"Möbel Meier\"");
    t.ok("/opp edit O-1003 revenue:300 owner:maria");
    t.ok("/opp line add O-1003 sku:CHAIR-01 qty:3");
    t.ok("/opp lose O-1003 reason:Canceled");
    let by_reason = t.ok("/report wonlost").text;
    assert!(by_reason.contains("1 won, 2 lost (33% won)"), "{by_reason}");
    assert_eq!(row(&by_reason, "(won)"), "(won) 1 950.00 EUR 0 0.00 EUR");
    assert_eq!(
        row(&by_reason, "Out-sold"),
        "Out-sold 0 0.00 EUR 1 2,000.00 EUR"
    );
    assert_eq!(
        row(&by_reason, "total"),
        "total 1 950.00 EUR 2 2,300.00 EUR"
    );
    let by_competitor = t.ok("/report wonlost by:competitor").text;
    assert_eq!(
        row(&by_competitor, "Möbel Meier"),
        "Möbel Meier 0 0.00 EUR 1 2,000.00 EUR"
    );
    let by_owner = t.ok("/report wonlost by:owner").text;
    assert_eq!(row(&by_owner, "maria"), "maria 0 0.00 EUR 1 300.00 EUR");
    // By product: the lines' nets.
    let by_product = t.ok("/report wonlost by:product").text;
    assert_eq!(
        row(&by_product, "CHAIR-01"),
        "CHAIR-01 1 1,000.00 EUR 1 300.00 EUR"
    );
    assert_eq!(
        row(&by_product, "DESK-01"),
        "DESK-01 0 0.00 EUR 1 2,000.00 EUR"
    );
    // A period that ends before everything: nothing.
    let none = t.ok("/report wonlost to:2026-11-29").text;
    assert!(none.contains("0 won, 0 lost"), "{none}");
    assert!(t
        .invalid("/report wonlost from:someday")
        .contains("is not a date"));
}
