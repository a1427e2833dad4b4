//! Reports in the command language: `/pipeline` and `/report wonlost,
//! revenue, funnel, aging`, with the numbers checked by hand, and the sums
//! they read checked against the records.

use chrono::TimeZone;

use crate::helpers::{sums_match_the_records, Lib};

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
        .contains("reports: wonlost, revenue, funnel, aging"));
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

fn at(t: &mut Lib, y: i32, m: u32, d: u32) {
    t.now = chrono::Utc
        .with_ymd_and_hms(y, m, d, 9, 0, 0)
        .single()
        .expect("time");
}

#[test]
fn revenue_sums_won_deals_and_invoices_paid_and_open_by_month_owner_account_and_product() {
    let mut t = Lib::with_config(TEAM);
    // INV-1001 of 2026-11-30: 10 chairs at 199.99 less 5 %: 1,899.90 net,
    // 2,260.88 gross; 1,000.00 of it paid. Won the same day, at the won
    // quote's total (2,260.88).
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:1000");
    // In January maria wins 3,000 for Fabrikam, not invoiced yet.
    at(&mut t, 2027, 1, 12);
    t.ok("/lead new topic:Tables last:Meier company:Fabrikam");
    t.ok("/qualify L-1002");
    t.ok("/opp edit O-1002 owner:maria");
    t.ok("/opp line add O-1002 sku:CHAIR-01 qty:1");
    t.ok("/opp win O-1002 revenue:3000");
    // A cancelled invoice and its credit note count for nothing.
    t.ok("/lead new topic:Desks last:Kurz company:Tailspin");
    t.ok("/qualify L-1003");
    t.ok("/opp line add O-1003 sku:CHAIR-01 qty:2");
    t.ok("/quote new O-1003");
    t.ok("/quote activate Q-1002");
    t.ok("/quote win Q-1002");
    t.ok("/order fulfil SO-1002 reason:complete");
    t.ok("/order invoice SO-1002");
    t.ok("/invoice cancel INV-1002 reason:canceled");

    let by_month = t.ok("/report revenue").text;
    assert_eq!(
        row(&by_month, "2026-11"),
        "2026-11 2,260.88 EUR 1,899.90 EUR 1,000.00 EUR 1,260.88 EUR"
    );
    // O-1003 won at its quote's total: 2 chairs, 399.98 net, 475.98.
    assert_eq!(
        row(&by_month, "2027-01"),
        "2027-01 3,475.98 EUR 0.00 EUR 0.00 EUR 0.00 EUR"
    );
    assert_eq!(
        row(&by_month, "total"),
        "total 5,736.86 EUR 1,899.90 EUR 1,000.00 EUR 1,260.88 EUR"
    );
    let by_quarter = t.ok("/report revenue by:quarter").text;
    assert!(row(&by_quarter, "2026-Q4").starts_with("2026-Q4 2,260.88 EUR"));
    assert!(row(&by_quarter, "2027-Q1").starts_with("2027-Q1 3,475.98 EUR"));
    let by_owner = t.ok("/report revenue by:owner").text;
    assert_eq!(
        row(&by_owner, "maria"),
        "maria 3,000.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR"
    );
    let by_account = t.ok("/report revenue by:account").text;
    assert!(
        row(&by_account, "Contoso GmbH").starts_with("Contoso GmbH 2,260.88 EUR 1,899.90 EUR"),
        "{by_account}"
    );
    assert!(row(&by_account, "Fabrikam").starts_with("Fabrikam 3,000.00 EUR"));
    // By product: the lines' net (O-1002's line is 199.99, its revenue 3,000).
    let r = t.ok("/report revenue by:product");
    assert_eq!(
        row(&r.text, "CHAIR-01"),
        "CHAIR-01 2,499.87 EUR 1,899.90 EUR 0.00 EUR 0.00 EUR"
    );
    assert_eq!(r.data["total"]["won_count"], 3);
    assert_eq!(r.data["total"]["invoiced_count"], 1);
    assert!(t
        .invalid("/report revenue by:colour")
        .contains("by:month, by:quarter"));
    sums_match_the_records(&t.store);
}

#[test]
fn the_funnel_follows_leads_and_opportunities_from_the_day_they_were_created() {
    let mut t = Lib::with_config(TEAM);
    at(&mut t, 2026, 11, 2);
    for i in 1..=3 {
        t.ok(&format!(
            "/lead new topic:Early{i} last:E{i} company:Early{i}"
        ));
    }
    at(&mut t, 2026, 11, 6);
    t.ok("/qualify L-1001"); // 4 days; O-1001 created on 11-06
    t.ok("/disqualify L-1002 reason:\"cannot contact\"");
    at(&mut t, 2026, 11, 20);
    t.ok("/lead new topic:Late4 last:L4 company:Late4");
    t.ok("/lead new topic:Late5 last:L5 company:Late5");
    t.ok("/disqualify L-1005 reason:\"cannot contact\"");
    at(&mut t, 2026, 11, 30);
    t.ok("/qualify L-1004"); // 10 days; O-1002 created on 11-30
    t.ok("/opp win O-1001 revenue:100"); // 24 days
    t.ok("/opp lose O-1002 reason:canceled"); // 0 days

    let all = t.ok("/report funnel");
    let f = &all.data;
    assert_eq!(f["leads"], 5);
    assert_eq!(f["qualified"], 2);
    assert_eq!(f["disqualified"], 2);
    assert_eq!(f["reasons"][0][1], 2);
    assert_eq!(f["days_to_qualify"], "7");
    assert_eq!(f["opportunities"], 2);
    assert_eq!((f["won"].clone(), f["lost"].clone()), (1.into(), 1.into()));
    assert_eq!(f["days_to_win"], "24");
    assert_eq!(f["days_to_lose"], "0");
    assert!(
        all.text
            .contains("qualified      2 (40% of leads; median 7 days to qualify)"),
        "{}",
        all.text
    );
    assert!(
        all.text
            .contains("won      1 (50% of those closed; median 24 days to win)"),
        "{}",
        all.text
    );
    assert!(all.text.contains("still open      1"), "{}", all.text);

    let late = t.ok("/report funnel from:2026-11-10").data;
    assert_eq!(late["leads"], 2);
    assert_eq!(late["qualified"], 1);
    assert_eq!(late["days_to_qualify"], "10");
    assert_eq!(late["opportunities"], 1);
    assert_eq!(late["won"], 0);
    // Whole months come from the month sums, cut ones day by day.
    for period in [
        "from:2026-11-01 to:2026-11-30",
        "from:2026-10-15 to:2026-12-31",
        "from:2026-11-02 to:2026-12-01",
    ] {
        let f = t.ok(&format!("/report funnel {period}")).data;
        assert_eq!(
            (f["leads"].clone(), f["opportunities"].clone()),
            (5.into(), 2.into()),
            "{period}"
        );
    }
    let f = t.ok("/report funnel from:2026-11-03 to:2026-11-20").data;
    assert_eq!(
        (f["leads"].clone(), f["opportunities"].clone()),
        (2.into(), 1.into())
    );
    let early = t.ok("/report funnel to:2026-11-05").data;
    assert_eq!(early["leads"], 3);
    assert_eq!(early["opportunities"], 0);
    assert!(early["days_to_win"].is_null());
    assert!(t
        .invalid("/report funnel from:2026-12-01 to:2026-11-01")
        .contains("ends (2026-11-01) before it starts"));
    sums_match_the_records(&t.store);
}

#[test]
fn revenue_by_account_names_the_largest_and_sums_the_others_in_one_row() {
    let t = Lib::with_config(TEAM);
    for i in 0..27u32 {
        t.ok(&format!(
            "/lead new topic:Deal{i} last:L{i} company:\"Firma {i:02}\""
        ));
        t.ok(&format!("/qualify L-{}", 1001 + i));
        t.ok(&format!("/opp win O-{} revenue:{}", 1001 + i, 1000 + i));
    }
    let r = t.ok("/report revenue by:account");
    let rows = r.data["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 26, "{}", r.text);
    // The two smallest (1000, 1001) are the others; the largest is named.
    assert_eq!(
        row(&r.text, "(2 other"),
        "(2 other accounts) 2,001.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR"
    );
    assert_eq!(
        row(&r.text, "Firma 26"),
        "Firma 26 1,026.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR"
    );
    assert!(!r.text.contains("Firma 00 "), "{}", r.text);
    assert_eq!(r.data["total"]["won_count"], 27);
}
