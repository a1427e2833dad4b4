//! One test for each transition and each refusal of P-3..P-29
//! (`../shared/PROCESS.md`), through `Store::execute`: the command path
//! every front end uses. Every refusal is also checked to change nothing.

use crate::helpers::Lib;

const LEAD: &str = "/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example mobile:\"+49 170 1234567\" phone:\"+49 30 123\" company:\"Contoso GmbH\" website:https://www.contoso.example street:\"Hauptstr. 1\" city:Berlin zip:10115 region:Berlin country:Germany";

// ---- Leads (P-1 .. P-6) ----

#[test]
fn a_new_lead_keeps_its_topic_and_key_data_and_is_open() {
    let t = Lib::new();
    let r = t.ok(LEAD);
    assert!(
        r.text.starts_with("Created L-1001 Office chairs"),
        "{}",
        r.text
    );
    let l = t.json("L-1001");
    assert_eq!(l["topic"], "Office chairs");
    assert_eq!(l["first_name"], "Anna");
    assert_eq!(l["last_name"], "Schmidt");
    assert_eq!(l["email"], "anna@contoso.example");
    assert_eq!(l["mobile_phone"], "+49 170 1234567");
    assert_eq!(l["business_phone"], "+49 30 123");
    assert_eq!(l["company"], "Contoso GmbH");
    assert_eq!(l["website"], "https://www.contoso.example");
    assert_eq!(l["address"]["city"], "Berlin");
    assert_eq!(l["address"]["postal_code"], "10115");
    assert_eq!(l["address"]["country"], "Germany");
    assert_eq!(l["state"], "open");
    assert_eq!(l["status"], "new");
    assert_eq!(l["owner"], "me");
}

#[test]
fn a_lead_without_topic_or_a_way_to_reach_it_is_refused() {
    let t = Lib::new();
    t.refused("/lead new last:Schmidt");
    let m = t.refused("/lead new topic:Chairs");
    assert!(m.contains("last name, a company or an e-mail"), "{m}");
}

#[test]
fn disqualifying_closes_the_lead_with_a_configured_reason() {
    let t = Lib::new();
    t.ok(LEAD);
    let r = t.ok("/disqualify L-1001 reason:\"cannot contact\" description:\"number dead\"");
    assert!(r.text.contains("Cannot contact"), "{}", r.text);
    let l = t.json("L-1001");
    assert_eq!(l["state"], "disqualified");
    assert_eq!(l["closing"]["reason"], "Cannot contact");
    assert_eq!(l["closing"]["description"], "number dead");
}

#[test]
fn every_default_disqualify_reason_is_accepted() {
    let t = Lib::new();
    for (i, reason) in ["lost", "cannot-contact", "No longer interested", "CANCELED"]
        .iter()
        .enumerate()
    {
        t.ok(&format!("/lead new topic:T{i} last:X{i}"));
        t.ok(&format!("/disqualify L-{} reason:\"{reason}\"", 1001 + i));
    }
}

#[test]
fn disqualifying_with_an_unknown_or_missing_reason_is_refused_with_the_allowed_list() {
    let t = Lib::new();
    t.ok(LEAD);
    let m = t.refused("/disqualify L-1001 reason:bored");
    assert!(
        m.contains("allowed: Lost, Cannot contact, No longer interested, Canceled"),
        "{m}"
    );
    let m = t.refused("/disqualify L-1001");
    assert!(m.contains("needs a reason"), "{m}");
}

#[test]
fn configured_reasons_extend_the_list() {
    let t = Lib::with_config("[process.reasons]\nlead_disqualify = [\"Lost\", \"Duplicate\"]\n");
    t.ok(LEAD);
    t.refused("/disqualify L-1001 reason:\"cannot contact\"");
    t.ok("/disqualify L-1001 reason:duplicate");
    assert_eq!(t.json("L-1001")["closing"]["reason"], "Duplicate");
}

#[test]
fn qualifying_creates_contact_account_and_opportunity_linked_to_each_other() {
    let t = Lib::new();
    t.ok(LEAD);
    let r = t.ok("/qualify L-1001");
    assert!(r.text.contains("contact C-1001 Anna Schmidt"), "{}", r.text);
    assert!(r.text.contains("account A-1001 Contoso GmbH"), "{}", r.text);
    assert!(
        r.text.contains("opportunity O-1001 Office chairs"),
        "{}",
        r.text
    );
    let lead = t.json("L-1001");
    assert_eq!(lead["state"], "qualified");
    assert_eq!(lead["opportunity"], 1001);
    let c = t.json("C-1001");
    assert_eq!(c["email"], "anna@contoso.example");
    assert_eq!(c["account"], 1001);
    let a = t.json("A-1001");
    assert_eq!(a["name"], "Contoso GmbH");
    assert_eq!(a["website"], "https://www.contoso.example");
    assert_eq!(a["address"]["city"], "Berlin");
    assert_eq!(a["primary_contact"], 1001);
    let o = t.json("O-1001");
    assert_eq!(o["name"], "Office chairs");
    assert_eq!(
        (
            o["account"].clone(),
            o["contact"].clone(),
            o["lead"].clone()
        ),
        (1001.into(), 1001.into(), 1001.into())
    );
    assert_eq!(o["state"], "open");
}

#[test]
fn qualifying_carries_value_close_date_budget_and_need_into_the_opportunity() {
    let t = Lib::new();
    t.ok("/lead new topic:Desks last:Meier value:12000 budget:15000 close:2027-01-31 need:\"20 standing desks\"");
    t.ok("/qualify L-1001");
    let o = t.json("O-1001");
    assert_eq!(o["estimated_revenue"], "12000");
    assert_eq!(o["budget"], "15000");
    assert_eq!(o["decision_date"], "2027-01-31");
    assert_eq!(o["desired_situation"], "20 standing desks");
}

#[test]
fn qualifying_a_lead_without_company_makes_no_account() {
    let t = Lib::new();
    t.ok("/lead new topic:Chair last:Private email:p@home.example");
    let r = t.ok("/qualify L-1001");
    assert!(!r.text.contains("account"), "{}", r.text);
    assert!(t.json("O-1001")["account"].is_null());
    assert!(t.store.execute("/show A-1001", &t.ctx()).is_err());
}

#[test]
fn a_second_qualify_is_refused() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    let m = t.refused("/qualify L-1001");
    assert!(m.contains("it is qualified into O-1001"), "{m}");
}

#[test]
fn qualifying_links_an_existing_contact_and_account_instead_of_duplicating() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.ok(
        "/lead new topic:Desks last:Schmidt email:ANNA@Contoso.example company:\"contoso   gmbh\"",
    );
    let r = t.ok("/qualify L-1002");
    assert!(
        r.text
            .contains("existing account A-1001 Contoso GmbH (same name)"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("existing contact C-1001 Anna Schmidt (same e-mail)"),
        "{}",
        r.text
    );
    assert!(t.store.execute("/show C-1002", &t.ctx()).is_err());
    assert!(t.store.execute("/show A-1002", &t.ctx()).is_err());
    assert_eq!(t.json("O-1002")["contact"], 1001);
}

#[test]
fn qualifying_links_an_account_with_the_same_website_domain() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.ok("/lead new topic:Desks last:Meier email:meier@contoso.example company:\"Contoso Deutschland\" website:contoso.example/de");
    let r = t.ok("/qualify L-1002");
    assert!(
        r.text
            .contains("existing account A-1001 Contoso GmbH (same website)"),
        "{}",
        r.text
    );
    assert!(r.text.contains("contact C-1002"), "{}", r.text);
    assert_eq!(t.json("C-1002")["account"], 1001);
}

#[test]
fn disqualify_is_refused_while_the_lead_has_an_opportunity() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.ok("/lead reactivate L-1001");
    let m = t.refused("/disqualify L-1001 reason:lost");
    assert!(m.contains("has the opportunity O-1001"), "{m}");
}

#[test]
fn a_disqualified_lead_can_be_reactivated_and_then_qualified() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/disqualify L-1001 reason:lost");
    t.refused("/qualify L-1001");
    t.refused("/lead edit L-1001 city:Hamburg");
    t.ok("/lead reactivate L-1001");
    assert_eq!(t.state("L-1001"), "open");
    t.ok("/qualify L-1001");
    assert_eq!(t.state("L-1001"), "qualified");
}

#[test]
fn reactivating_an_open_lead_is_refused() {
    let t = Lib::new();
    t.ok(LEAD);
    let m = t.refused("/lead reactivate L-1001");
    assert!(m.contains("already open"), "{m}");
}

#[test]
fn a_reactivated_qualified_lead_qualifies_again_into_the_same_opportunity() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.ok("/lead reactivate L-1001");
    let r = t.ok("/qualify L-1001");
    assert!(
        r.text
            .contains("qualified again into its opportunity O-1001"),
        "{}",
        r.text
    );
    assert!(t.store.execute("/show O-1002", &t.ctx()).is_err());
}

#[test]
fn an_open_lead_can_be_edited_and_a_qualified_one_cannot() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/lead edit L-1001 city:Hamburg status:contacted followup:2026-12-05");
    let l = t.json("L-1001");
    assert_eq!(
        (
            l["address"]["city"].as_str(),
            l["status"].as_str(),
            l["follow_up"].as_str()
        ),
        (Some("Hamburg"), Some("contacted"), Some("2026-12-05"))
    );
    t.ok("/qualify L-1001");
    let m = t.refused("/lead edit L-1001 city:Munich");
    assert!(m.contains("reactivate it first"), "{m}");
}

// ---- Opportunities (P-13 .. P-16) ----

#[test]
fn an_opportunity_records_its_sales_fields() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.ok("/opp edit O-1001 current:\"old chairs\" desired:\"ergonomic\" solution:\"CHAIR-01\" probability:60 revenue:12000 decision:2027-01-15 followup:2026-12-10");
    let o = t.json("O-1001");
    assert_eq!(o["current_situation"], "old chairs");
    assert_eq!(o["desired_situation"], "ergonomic");
    assert_eq!(o["proposed_solution"], "CHAIR-01");
    assert_eq!(o["probability"], 60);
    assert_eq!(o["estimated_revenue"], "12000");
    assert_eq!(o["decision_date"], "2027-01-15");
    assert_eq!(o["follow_up"], "2026-12-10");
    let shown = t.ok("/show O-1001").text;
    assert!(shown.contains("weighted revenue: 7,200.00 EUR"), "{shown}");
}

#[test]
fn bad_values_on_an_opportunity_are_refused_and_change_nothing() {
    let t = Lib::new();
    t.ok(LEAD);
    t.ok("/qualify L-1001");
    t.invalid("/opp edit O-1001 probability:150");
    t.invalid("/opp edit O-1001 probability:12.5");
    t.invalid("/opp edit O-1001 revenue:-5");
    t.invalid("/opp edit O-1001 revenue:12,000");
    t.invalid("/opp edit O-1001 followup:2026-02-30");
    t.invalid("/opp edit O-1001 colour:red");
    t.invalid("/opp edit O-1001 account:L-1001");
    assert!(matches!(
        t.err("/opp edit O-1001 account:A-1999"),
        leadline::command::CommandError::NotFound(_)
    ));
}

#[test]
fn products_attach_to_an_opportunity_with_totals_from_their_lines() {
    let t = Lib::new();
    t.qualified();
    let o = t.json("O-1001");
    let line = &o["pricing"]["lines"][0];
    assert_eq!(line["sku"], "CHAIR-01");
    assert_eq!(line["unit_price"], "199.99");
    assert_eq!(line["tax_rate"], "19");
    let shown = t.ok("/show O-1001").text;
    // 10 x 199.99 = 1999.90 - 5% (100.00) = 1899.90 + 19% tax 360.98 = 2260.88
    assert!(shown.contains("total 2,260.88 EUR"), "{shown}");
    t.ok("/opp line add O-1001 name:\"Assembly\" price:150 qty:1");
    t.ok("/opp line edit O-1001 1 qty:20");
    t.ok("/opp line remove O-1001 2");
    let lines = t.json("O-1001")["pricing"]["lines"].clone();
    assert_eq!(lines.as_array().map(Vec::len), Some(1));
    assert_eq!(lines[0]["quantity"], "20");
}

#[test]
fn a_product_in_another_currency_cannot_be_added() {
    let t = Lib::new();
    t.qualified();
    t.ok("/product new DESK-US name:Desk price:300 currency:USD");
    let m = t.refused("/opp line add O-1001 sku:DESK-US");
    assert!(m.contains("never added"), "{m}");
    let m = t.refused("/opp edit O-1001 currency:USD");
    assert!(m.contains("while there are lines"), "{m}");
}

#[test]
fn bad_lines_are_refused() {
    let t = Lib::new();
    t.qualified();
    t.refused("/opp line add O-1001 sku:CHAIR-01 qty:-1");
    t.refused("/opp line add O-1001 sku:CHAIR-01 qty:0");
    t.invalid("/opp line add O-1001 sku:CHAIR-01 discount:120%");
    t.refused("/opp line add O-1001 sku:CHAIR-01 discount:5000");
    t.refused("/opp line add O-1001 name:\"write-in without price\"");
    assert!(matches!(
        t.err("/opp line add O-1001 sku:NOPE"),
        leadline::command::CommandError::NotFound(_)
    ));
    t.refused("/opp line remove O-1001 7");
}

#[test]
fn an_opportunity_lists_all_its_quotes() {
    let t = Lib::new();
    t.qualified();
    t.ok("/quote new O-1001");
    t.ok("/quote new O-1001");
    let o = t.json("O-1001");
    assert_eq!(o["quotes"], serde_json::json!([1001, 1002]));
    let shown = t.ok("/show O-1001").text;
    assert!(
        shown.contains("quote Q-1001") && shown.contains("quote Q-1002"),
        "{shown}"
    );
}

#[test]
fn an_opportunity_can_be_won_lost_and_reopened() {
    let t = Lib::new();
    t.qualified();
    let r = t.ok("/opp win O-1001 revenue:5000");
    assert!(r.text.contains("5,000.00 EUR"), "{}", r.text);
    assert_eq!(t.json("O-1001")["actual_revenue"], "5000.00");
    t.refused("/opp edit O-1001 probability:10");
    t.refused("/opp win O-1001");
    t.ok("/opp reopen O-1001");
    t.ok("/opp lose O-1001 reason:out-sold competitor:Fabrikam");
    let o = t.json("O-1001");
    assert_eq!(
        (
            o["state"].as_str(),
            o["closing"]["reason"].as_str(),
            o["competitor"].as_str()
        ),
        (Some("lost"), Some("Out-sold"), Some("Fabrikam"))
    );
    t.refused("/opp lose O-1001 reason:canceled");
    t.refused("/quote new O-1001");
    t.ok("/opp reopen O-1001");
    t.refused("/opp reopen O-1001");
}

#[test]
fn losing_an_opportunity_needs_a_configured_reason() {
    let t = Lib::new();
    t.qualified();
    let m = t.refused("/opp lose O-1001 reason:weather");
    assert!(m.contains("allowed: Canceled, Out-sold"), "{m}");
}

// ---- Quotes (P-17 .. P-22) ----

#[test]
fn a_new_quote_is_a_draft_prefilled_from_the_opportunity() {
    let t = Lib::new();
    t.qualified();
    let r = t.ok("/quote new O-1001");
    assert!(
        r.text
            .contains("Created draft Q-1001 from O-1001: 1 line(s), total 2,260.88 EUR"),
        "{}",
        r.text
    );
    let q = t.json("Q-1001");
    assert_eq!(q["state"], "draft");
    assert_eq!(q["revision"], 1);
    assert_eq!(
        (
            q["opportunity"].as_u64(),
            q["account"].as_u64(),
            q["contact"].as_u64()
        ),
        (Some(1001), Some(1001), Some(1001))
    );
    assert_eq!(q["pricing"], t.json("O-1001")["pricing"]);
}

#[test]
fn a_draft_quote_can_be_edited_and_its_lines_changed() {
    let t = Lib::new();
    t.qualified();
    t.ok("/quote new O-1001");
    t.ok("/quote edit Q-1001 freight:25 discount:100 valid_until:2026-12-31");
    t.ok("/quote line add Q-1001 sku:CHAIR-01 qty:2");
    t.ok("/quote line remove Q-1001 1");
    let q = t.json("Q-1001");
    assert_eq!(q["valid_until"], "2026-12-31");
    assert_eq!(q["pricing"]["lines"].as_array().map(Vec::len), Some(1));
    // The opportunity's lines are untouched.
    assert_eq!(t.json("O-1001")["pricing"]["lines"][0]["quantity"], "10");
}

#[test]
fn activating_a_quote_makes_it_read_only() {
    let t = Lib::new();
    t.active_quote();
    assert_eq!(t.state("Q-1001"), "active");
    let m = t.refused("/quote edit Q-1001 freight:10");
    assert!(m.contains("active (read-only); revise it"), "{m}");
    t.refused("/quote line add Q-1001 sku:CHAIR-01");
    t.refused("/quote line remove Q-1001 1");
    t.refused("/quote activate Q-1001");
}

#[test]
fn revising_a_quote_closes_it_and_opens_an_editable_copy_with_the_next_revision() {
    let t = Lib::new();
    t.active_quote();
    let r = t.ok("/quote revise Q-1001");
    assert!(r.text.contains("Q-1001 rev 2 is a draft"), "{}", r.text);
    let old = t.json("Q-1001 rev 1");
    assert_eq!(
        (old["state"].as_str(), old["closing"]["reason"].as_str()),
        (Some("closed"), Some("Revised"))
    );
    let new = t.json("Q-1001");
    assert_eq!(
        (new["state"].as_str(), new["revision"].as_u64()),
        (Some("draft"), Some(2))
    );
    assert_eq!(new["pricing"], old["pricing"]);
    t.ok("/quote edit Q-1001 freight:10");
    t.ok("/quote activate Q-1001");
    t.ok("/quote revise Q-1001");
    assert_eq!(t.json("Q-1001")["revision"], 3);
    // Every earlier version stays readable, and unchanged.
    assert_eq!(t.json("Q-1001 rev 1"), old);
    assert_eq!(t.json("Q-1001 rev 2")["pricing"]["freight"], "10.00");
    t.refused("/quote edit Q-1001 rev 1 freight:1");
}

#[test]
fn only_an_active_quote_can_be_revised() {
    let t = Lib::new();
    t.qualified();
    t.ok("/quote new O-1001");
    let m = t.refused("/quote revise Q-1001");
    assert!(m.contains("it is a draft; activate it first"), "{m}");
}

#[test]
fn closing_a_quote_needs_a_reason_and_can_revise_and_close_the_opportunity() {
    let t = Lib::new();
    t.active_quote();
    t.refused("/quote close Q-1001");
    t.refused("/quote close Q-1001 reason:meh");
    let r = t.ok(
        "/quote close Q-1001 reason:lost date:2026-11-28 description:\"too expensive\" revise:yes",
    );
    assert!(r.text.contains("Q-1001 rev 2 is a draft"), "{}", r.text);
    let q1 = t.json("Q-1001 rev 1");
    assert_eq!(
        (
            q1["closing"]["reason"].as_str(),
            q1["closing"]["date"].as_str()
        ),
        (Some("Lost"), Some("2026-11-28"))
    );
    assert_eq!(q1["closing"]["description"], "too expensive");
    t.ok("/quote activate Q-1001");
    t.ok("/quote close Q-1001 reason:canceled close_opportunity:yes opp_reason:out-sold");
    let o = t.json("O-1001");
    assert_eq!(
        (o["state"].as_str(), o["closing"]["reason"].as_str()),
        (Some("lost"), Some("Out-sold"))
    );
}

#[test]
fn closing_a_quote_and_its_opportunity_asks_for_the_opportunitys_reason() {
    let t = Lib::new();
    t.active_quote();
    let e = t.invalid("/quote close Q-1001 reason:canceled close_opportunity:yes");
    assert!(e.contains("opp_reason:<Canceled|Out-sold>"), "{e}");
    assert_eq!(t.state("Q-1001"), "active");
    assert_eq!(t.state("O-1001"), "open");
}

#[test]
fn a_quote_on_a_lost_opportunity_cannot_be_won() {
    let t = Lib::new();
    t.active_quote();
    t.ok("/opp lose O-1001 reason:out-sold");
    let e = t.refused("/quote win Q-1001");
    assert!(
        e.contains("O-1001 is lost (Out-sold)") && e.contains("/opp reopen O-1001"),
        "{e}"
    );
    assert!(t.err("/show SO-1001").to_string().contains("no order"));
    t.ok("/opp reopen O-1001");
    t.ok("/quote win Q-1001");
}

#[test]
fn an_expired_quote_cannot_be_activated_or_won() {
    let t = Lib::new();
    t.qualified();
    t.ok("/quote new O-1001");
    t.ok("/quote edit Q-1001 valid_until:2026-11-01");
    let e = t.refused("/quote activate Q-1001");
    assert!(e.contains("expired on 2026-11-01"), "{e}");
    t.ok("/quote edit Q-1001 valid_until:2027-01-31");
    t.ok("/quote activate Q-1001");
}

#[test]
fn a_quote_with_no_lines_or_nothing_to_pay_cannot_be_activated() {
    let t = Lib::new();
    t.ok("/lead new topic:Chairs last:Weber company:Weber");
    t.ok("/qualify L-1001");
    t.ok("/quote new O-1001");
    let e = t.refused("/quote activate Q-1001");
    assert!(e.contains("no lines"), "{e}");
    t.ok("/quote line add Q-1001 name:Consulting qty:1 price:100 discount:100%");
    let e = t.refused("/quote activate Q-1001");
    assert!(e.contains("total is 0.00 EUR"), "{e}");
}

#[test]
fn a_close_date_in_the_future_is_refused() {
    let t = Lib::new();
    t.order();
    let e = t.invalid("/order fulfil SO-1001 reason:complete date:2099-01-01");
    assert!(e.contains("in the future"), "{e}");
    assert_eq!(t.state("SO-1001"), "active");
}

#[test]
fn a_canceled_invoice_no_longer_blocks_invoicing_its_order() {
    let t = Lib::new();
    t.invoice();
    let e = t.refused("/order invoice SO-1001");
    assert!(e.contains("invoiced in full (INV-1001)"), "{e}");
    let r = t.ok("/invoice cancel INV-1001 reason:canceled").text;
    assert!(
        r.contains("Credit note INV-1002 of -2,260.88 EUR cancels it"),
        "{r}"
    );
    assert_eq!(t.state("SO-1001"), "fulfilled");
    let r = t.ok("/order invoice SO-1001");
    assert!(r.text.contains("INV-1003"), "{}", r.text);
}

#[test]
fn a_draft_or_closed_quote_cannot_be_closed_or_won() {
    let t = Lib::new();
    t.qualified();
    t.ok("/quote new O-1001");
    t.refused("/quote close Q-1001 reason:lost");
    t.refused("/quote win Q-1001");
    t.ok("/quote activate Q-1001");
    t.ok("/quote close Q-1001 reason:lost");
    t.refused("/quote win Q-1001");
    t.refused("/quote close Q-1001 reason:lost");
    t.refused("/quote activate Q-1001");
}

#[test]
fn winning_a_quote_creates_an_order_and_closes_the_opportunity_as_won() {
    let t = Lib::new();
    t.active_quote();
    let r = t.ok("/quote win Q-1001 description:\"signed\"");
    assert!(r.text.contains("created order SO-1001"), "{}", r.text);
    assert!(
        r.text
            .contains("O-1001 is won: actual revenue 2,260.88 EUR (sum of won quotes)"),
        "{}",
        r.text
    );
    let q = t.json("Q-1001");
    assert_eq!(
        (q["state"].as_str(), q["order"].as_u64()),
        (Some("won"), Some(1001))
    );
    assert_eq!(t.json("O-1001")["actual_revenue"], "2260.88");
}

#[test]
fn winning_a_quote_can_keep_the_opportunity_open_or_take_a_given_revenue() {
    let t = Lib::new();
    t.active_quote();
    t.ok("/quote win Q-1001 close_opportunity:no");
    assert_eq!(t.state("O-1001"), "open");
    t.ok("/quote new O-1001");
    t.ok("/quote activate Q-1002");
    t.ok("/quote win Q-1002 revenue:9999");
    assert_eq!(t.json("O-1001")["actual_revenue"], "9999.00");
}

#[test]
fn the_computed_revenue_sums_every_won_quote() {
    let t = Lib::new();
    t.active_quote();
    t.ok("/quote win Q-1001 close_opportunity:no");
    t.ok("/quote new O-1001");
    t.ok("/quote activate Q-1002");
    t.ok("/quote win Q-1002 close_opportunity:yes");
    assert_eq!(t.json("O-1001")["actual_revenue"], "4521.76");
}

// ---- Orders (P-23 .. P-26) ----

#[test]
fn an_order_is_prefilled_from_the_won_quote() {
    let t = Lib::new();
    t.order();
    let o = t.json("SO-1001");
    let q = t.json("Q-1001");
    assert_eq!(o["state"], "active");
    assert_eq!(
        (
            o["quote"].as_u64(),
            o["quote_revision"].as_u64(),
            o["opportunity"].as_u64()
        ),
        (Some(1001), Some(1), Some(1001))
    );
    assert_eq!(o["pricing"], q["pricing"]);
    assert_eq!(o["account"], q["account"]);
}

#[test]
fn an_order_is_fulfilled_with_a_reason_and_date() {
    let t = Lib::new();
    t.order();
    t.refused("/order fulfil SO-1001 reason:eventually");
    t.ok("/order fulfill SO-1001 reason:partial date:2026-11-20 description:\"8 of 10\"");
    let o = t.json("SO-1001");
    assert_eq!(
        (
            o["state"].as_str(),
            o["closing"]["reason"].as_str(),
            o["closing"]["date"].as_str()
        ),
        (Some("fulfilled"), Some("Partial"), Some("2026-11-20"))
    );
    t.refused("/order edit SO-1001 freight:5");
    t.refused("/order cancel SO-1001 reason:oops");
}

#[test]
fn a_partly_fulfilled_order_can_be_fulfilled_when_the_rest_is_delivered() {
    let t = Lib::new();
    t.order();
    t.ok("/order fulfil SO-1001 reason:partial");
    t.ok("/order fulfil SO-1001 reason:complete");
    assert_eq!(
        t.json("SO-1001")["closing"]["reason"].as_str(),
        Some("Complete")
    );
    let e = t.refused("/order fulfil SO-1001 reason:complete");
    assert!(e.contains("fulfilled (Complete)"), "{e}");
}

#[test]
fn canceling_an_order_needs_a_reason() {
    let t = Lib::new();
    t.order();
    let m = t.refused("/order cancel SO-1001");
    assert!(m.contains("needs a reason"), "{m}");
    t.refused("/order cancel SO-1001 reason:\"  \"");
    t.ok("/order cancel SO-1001 reason:\"no money\" date:2026-11-21");
    let o = t.json("SO-1001");
    assert_eq!(
        (o["state"].as_str(), o["closing"]["reason"].as_str()),
        (Some("canceled"), Some("no money"))
    );
    t.refused("/order fulfil SO-1001 reason:complete");
    t.refused("/order invoice SO-1001");
    t.refused("/order edit SO-1001 description:x");
}

#[test]
fn an_active_order_can_be_edited() {
    let t = Lib::new();
    t.order();
    t.ok("/order edit SO-1001 delivery:2026-12-20 freight:30");
    t.ok("/order line add SO-1001 name:Delivery price:50");
    let o = t.json("SO-1001");
    assert_eq!(o["delivery_date"], "2026-12-20");
    assert_eq!(o["pricing"]["lines"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_fulfilled_order_is_invoiced_once_with_a_generated_number() {
    let t = Lib::new();
    t.order();
    let m = t.refused("/order invoice SO-1001");
    assert!(m.contains("fulfil it first"), "{m}");
    t.ok("/order fulfil SO-1001 reason:complete");
    let r = t.ok("/order invoice SO-1001");
    assert!(
        r.text
            .contains("Created invoice INV-1001 for SO-1001: total 2,260.88 EUR, due 2026-12-30"),
        "{}",
        r.text
    );
    assert_eq!(t.state("SO-1001"), "invoiced");
    assert_eq!(t.json("SO-1001")["invoice"], 1001);
    let m = t.refused("/order invoice SO-1001");
    assert!(m.contains("invoiced in full (INV-1001)"), "{m}");
    let i = t.json("INV-1001");
    assert_eq!(i["pricing"], t.json("SO-1001")["pricing"]);
    assert_eq!(
        (i["invoice_date"].as_str(), i["due_date"].as_str()),
        (Some("2026-11-30"), Some("2026-12-30"))
    );
}

// ---- Invoices (P-27 .. P-29) ----

#[test]
fn a_new_invoice_is_open_and_can_be_paid_once() {
    let t = Lib::new();
    t.invoice();
    assert_eq!(t.state("INV-1001"), "open");
    t.refused("/invoice paid INV-1001 reason:sometime");
    t.ok("/invoice paid INV-1001 reason:partial");
    let i = t.json("INV-1001");
    assert_eq!(
        (i["state"].as_str(), i["closing"]["reason"].as_str()),
        (Some("paid"), Some("Partial"))
    );
    t.refused("/invoice paid INV-1001 reason:complete");
    t.refused("/invoice cancel INV-1001 reason:canceled");
    t.refused("/invoice edit INV-1001 due:2027-01-31");
}

#[test]
fn an_open_invoice_can_be_canceled_with_a_reason() {
    let t = Lib::new();
    t.invoice();
    t.refused("/invoice cancel INV-1001");
    t.ok("/invoice cancel INV-1001 reason:canceled");
    assert_eq!(t.state("INV-1001"), "canceled");
    t.refused("/invoice pay INV-1001 reason:complete");
}

#[test]
fn an_invoice_due_date_cannot_be_before_its_date() {
    let t = Lib::new();
    t.invoice();
    t.refused("/invoice edit INV-1001 due:2026-01-01");
    t.ok("/invoice edit INV-1001 due:2027-01-31");
}

// ---- Throughout (P-30 .. P-32), numbers, history, bad input ----

#[test]
fn numbers_follow_the_configured_prefixes_and_refusals_leave_no_gaps() {
    let t = Lib::with_config("[process.numbering]\nlead = { prefix = \"LD\", first = 500 }\nopportunity = { prefix = \"OPP-\", first = 1 }\n");
    t.ok("/lead new topic:A last:A");
    t.refused("/lead new topic:B");
    t.ok("/lead new topic:C last:C company:C");
    assert!(t.json("LD500").is_object());
    assert!(t.json("LD501")["topic"] == "C");
    let r = t.ok("/qualify LD501");
    assert!(r.text.contains("OPP-1 C"), "{}", r.text);
}

#[test]
fn custom_fields_are_validated_and_carried_to_the_next_stage() {
    let config = "[[process.custom_fields.lead]]\nname = \"industry\"\ntype = \"choice\"\nchoices = [\"Retail\", \"Public sector\"]\n\
        [[process.custom_fields.lead]]\nname = \"employees\"\ntype = \"number\"\n\
        [[process.custom_fields.opportunity]]\nname = \"industry\"\ntype = \"choice\"\nchoices = [\"Retail\", \"Public sector\"]\n";
    let t = Lib::with_config(config);
    let m = t.invalid("/lead new topic:A last:A industry:Mining");
    assert!(m.contains("allowed: Retail, Public sector"), "{m}");
    t.invalid("/lead new topic:A last:A employees:many");
    t.ok("/lead new topic:A last:A industry:\"public sector\" employees:250");
    let l = t.json("L-1001");
    assert_eq!(l["custom"]["industry"]["text"], "Public sector");
    t.ok("/qualify L-1001");
    let o = t.json("O-1001");
    assert_eq!(o["custom"]["industry"]["text"], "Public sector");
    assert!(o["custom"].get("employees").is_none());
}

#[test]
fn history_records_who_when_which_command_and_what_changed() {
    let mut t = Lib::new();
    t.ok(LEAD);
    t.actor = "maria".to_string();
    t.ok("/lead edit L-1001 city:Hamburg");
    let h = t.ok("/history L-1001").text;
    assert!(h.contains("me via test: /lead new"), "{h}");
    assert!(
        h.contains("maria via test: /lead edit L-1001 city:Hamburg"),
        "{h}"
    );
    assert!(h.contains("address.city: Berlin -> Hamburg"), "{h}");
    assert!(
        h.contains("2026-11-30 10:00"),
        "times show in the team's zone: {h}"
    );
}

#[test]
fn unknown_commands_options_and_ids_are_clear_errors() {
    let t = Lib::new();
    t.qualified();
    let m = t.invalid("/qoute new O-1001");
    assert!(m.contains("did you mean /quote"), "{m}");
    let m = t.invalid("/quote new O-1001 colour:red");
    assert!(m.contains("has no option 'colour'"), "{m}");
    let m = t.invalid("/qualify O-1001");
    assert!(m.contains("takes a lead id"), "{m}");
    let m = t.invalid("/qualify");
    assert!(m.contains("needs a lead id, e.g. /qualify L-1001"), "{m}");
    assert!(matches!(
        t.err("/qualify L-9999"),
        leadline::command::CommandError::NotFound(_)
    ));
    let m = t.invalid("/opp win O-1001 date:someday");
    assert!(m.contains("not a date"), "{m}");
    t.invalid("/lead new topic:\"unclosed last:X");
    t.invalid("/quote close Q-1001 reason:lost reason:canceled");
}

#[test]
fn help_lists_commands_and_topics() {
    let t = Lib::new();
    let h = t.ok("/help").text;
    for c in [
        "/qualify L-1001",
        "/quote activate Q-1001",
        "/invoice paid INV-1001",
        "/order fulfil SO-1001",
    ] {
        assert!(h.contains(c), "{c} missing from help");
    }
    assert!(t.ok("/help quote").text.contains("/quote revise Q-1001"));
    assert!(t
        .ok("/help reasons")
        .text
        .contains("disqualifying a lead: Lost, Cannot contact"));
    t.invalid("/help nonsense");
}

#[test]
fn lists_filter_by_state_and_owner_and_page_newest_first() {
    let t = Lib::new();
    for i in 0..5 {
        t.ok(&format!(
            "/lead new topic:T{i} last:L{i} owner:{}",
            if i % 2 == 0 { "anna" } else { "ben" }
        ));
    }
    t.ok("/disqualify L-1002 reason:lost");
    let all = t.ok("/list leads limit:2");
    assert!(all.text.starts_with("L-1005"), "{}", all.text);
    assert!(all.text.contains("after:L-1004"), "{}", all.text);
    let page2 = t.ok("/list leads limit:2 after:L-1004").text;
    assert!(
        page2.starts_with("L-1003") && page2.contains("L-1002"),
        "{page2}"
    );
    let anna_open = t.ok("/list leads owner:anna state:open").data;
    let ids: Vec<u64> = anna_open
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["number"].as_u64())
        .collect();
    assert_eq!(ids, vec![1005, 1003, 1001]);
    let dq: Vec<u64> = t
        .ok("/lead list state:disqualified")
        .data
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["number"].as_u64())
        .collect();
    assert_eq!(dq, vec![1002]);
    t.invalid("/list leads state:won");
    // An owner's records in every state, newest first, page by page.
    t.ok("/qualify L-1003");
    let numbers = |line: &str| -> Vec<u64> {
        t.ok(line)
            .data
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["number"].as_u64())
            .collect()
    };
    assert_eq!(numbers("/list leads owner:anna"), vec![1005, 1003, 1001]);
    assert_eq!(numbers("/list leads owner:ben"), vec![1004, 1002]);
    let first = t.ok("/list leads owner:anna limit:2");
    assert!(first.text.contains("after:L-1003"), "{}", first.text);
    assert_eq!(numbers("/list leads owner:anna limit:2"), vec![1005, 1003]);
    assert_eq!(numbers("/list leads owner:anna after:L-1003"), vec![1001]);
    assert_eq!(numbers("/list leads owner:nobody"), Vec::<u64>::new());
    // A state's records of every owner, the same way.
    assert_eq!(numbers("/list leads state:open"), vec![1005, 1004, 1001]);
    let first = t.ok("/list leads state:open limit:2");
    assert!(first.text.contains("after:L-1004"), "{}", first.text);
    assert_eq!(numbers("/list leads state:open limit:2"), vec![1005, 1004]);
    assert_eq!(numbers("/list leads state:open after:L-1004"), vec![1001]);
    assert_eq!(numbers("/list leads state:qualified"), vec![1003]);
}

#[test]
fn a_closing_step_on_a_closed_record_names_its_state_before_asking_for_a_reason() {
    let t = Lib::new();
    t.order();
    t.ok("/order fulfil SO-1001 reason:complete");
    let m = t.refused("/order cancel SO-1001");
    assert!(m.contains("it is fulfilled (Complete)"), "{m}");
    t.ok("/order invoice SO-1001");
    t.ok("/invoice paid INV-1001 reason:complete");
    let m = t.refused("/invoice cancel INV-1001");
    assert!(m.contains("it is paid (Complete)"), "{m}");
}

#[test]
fn numbers_too_large_to_compute_are_refused_before_anything_is_computed() {
    let t = Lib::new();
    t.qualified();
    let m = t.invalid("/opp line add O-1001 sku:CHAIR-01 qty:99999999999999999999999");
    assert!(m.contains("out of range"), "{m}");
    t.invalid("/opp line add O-1001 name:X price:99999999999999999999999");
    t.invalid("/opp edit O-1001 revenue:1e30");
    t.ok("/opp line add O-1001 sku:CHAIR-01 qty:1000000000");
}

#[test]
fn a_dot_as_thousands_separator_is_never_read_as_decimals() {
    let t = Lib::new();
    t.active_quote();
    t.ok("/opp edit O-1001 revenue:\"20.000\"");
    assert_eq!(
        t.json("O-1001")["estimated_revenue"].as_str(),
        Some("20000")
    );
    t.ok("/product new P1 name:X price:\"1.500\"");
    assert_eq!(t.json("P1")["unit_price"].as_str(), Some("1500"));
    t.ok("/product new P2 name:Y price:\"12.500,50\"");
    assert_eq!(t.json("P2")["unit_price"].as_str(), Some("12500.5"));
    t.ok("/quote win Q-1001 revenue:\"12.000\"");
    assert_eq!(
        t.json("O-1001")["actual_revenue"].as_str(),
        Some("12000.00")
    );
}

#[test]
fn an_amount_that_reads_two_ways_is_refused_in_an_english_team() {
    let t = Lib::with_config("[team]\nlocale = \"en\"\n");
    let e = t.invalid("/product new P1 name:X price:1.500");
    assert!(e.contains("1500") && e.contains("1.5"), "{e}");
    t.ok("/product new P1 name:X price:1,500");
    assert_eq!(t.json("P1")["unit_price"].as_str(), Some("1500"));
}

#[test]
fn printed_lines_add_up_when_unit_prices_have_more_decimals_than_the_currency() {
    let t = Lib::new();
    t.ok("/lead new topic:Screws last:Weber company:Weber");
    t.ok("/qualify L-1001");
    t.ok("/opp line add O-1001 name:Screw qty:1000 price:0,0125 tax:19%");
    let shown = t.ok("/show O-1001").text;
    assert!(shown.contains("x 1000 @ 0.0125 EUR"), "{shown}");
    t.ok("/product new YEN name:Tea price:100.5 currency:JPY");
    let shown = t.ok("/show YEN").text;
    assert!(shown.contains("100.5 JPY"), "{shown}");
}

#[test]
fn messages_say_opportunities_an_appointment_and_have() {
    let t = Lib::new();
    let e = t.invalid("/opp edit O-1001 foo:1");
    assert!(e.starts_with("opportunities have no field"), "{e}");
    let r = t.ok("/list opps state:won").text;
    assert_eq!(r, "No opportunities in state won.");
    t.ok("/lead new topic:A last:A email:a@x.example");
    t.ok("/lead new topic:B last:B email:a@x.example");
    let r = t.ok("/lead new topic:C last:C email:a@x.example").text;
    assert!(r.contains("L-1001, L-1002 also have this e-mail"), "{r}");
    t.ok("/qualify L-1001");
    let e = t.refused("/meeting L-1001 Demo start:\"fri 10:00\" end:\"fri 11:00\"");
    assert!(
        e.contains("cannot schedule an appointment on L-1001"),
        "{e}"
    );
}

#[test]
fn show_with_an_id_missing_its_dash_suggests_the_id() {
    let t = Lib::new();
    let e = t.err("/show L1001").to_string();
    assert_eq!(e, "there is no product L1001; did you mean L-1001?");
}

#[test]
fn winning_an_opportunity_with_nothing_to_compute_from_asks_for_the_revenue() {
    let t = Lib::new();
    t.ok("/lead new topic:Chairs last:Weber company:Weber");
    t.ok("/qualify L-1001");
    let e = t.invalid("/opp win O-1001");
    assert!(e.contains("give the actual revenue: revenue:"), "{e}");
    t.ok("/opp edit O-1001 revenue:5000");
    let r = t.ok("/opp win O-1001").text;
    assert!(
        r.contains("5,000.00 EUR (the estimated revenue: no quote was won)"),
        "{r}"
    );
}

#[test]
fn won_opportunities_list_their_actual_revenue_and_no_weighted_revenue() {
    let t = Lib::new();
    t.active_quote();
    t.ok("/opp edit O-1001 revenue:99999 probability:50");
    assert!(t
        .ok("/show O-1001")
        .text
        .contains("weighted revenue: 49,999.50 EUR"));
    t.ok("/quote win Q-1001");
    let list = t.ok("/list opps state:won").text;
    assert!(
        list.contains("won 2,260.88 EUR") && !list.contains("99,999"),
        "{list}"
    );
    let shown = t.ok("/show O-1001").text;
    assert!(!shown.contains("weighted revenue"), "{shown}");
}

#[test]
fn a_canceled_activity_shows_as_canceled_not_closed() {
    let t = Lib::new();
    t.ok("/lead new topic:A last:A");
    t.ok("/task L-1001 Call back due:tomorrow");
    t.ok("/task L-1001 Send brochure due:tomorrow");
    t.ok("/done ACT-1001");
    t.ok("/activity cancel ACT-1002");
    let tl = t.ok("/timeline L-1001").text;
    assert!(tl.contains("ACT-1001  Closed"), "{tl}");
    assert!(tl.contains("ACT-1002  Canceled"), "{tl}");
}

/// The outbox's mails, oldest first.
fn outbox(t: &Lib) -> Vec<leadline::command::queue::OutMail> {
    leadline::command::queue::all(&t.store.reader(), leadline::command::queue::keys::OUTBOX)
        .expect("outbox")
}

#[test]
fn payments_are_recorded_with_amount_and_date_until_the_balance_is_zero() {
    let t = Lib::new();
    t.invoice(); // total 2,260.88 EUR
    let r = t
        .ok("/invoice pay INV-1001 amount:\"1.000,00\" date:2026-11-28")
        .text;
    assert!(
        r.contains("Recorded 1,000.00 EUR received 2026-11-28 on INV-1001: paid in part, 1,260.88 EUR still due"),
        "{r}"
    );
    assert_eq!(t.state("INV-1001"), "open");
    let shown = t.ok("/show INV-1001").text;
    assert!(
        shown.contains("balance due: 1,260.88 EUR (paid in part: 1,000.00 EUR)")
            && shown.contains("payment 1,000.00 EUR received 2026-11-28"),
        "{shown}"
    );
    let e = t.refused("/invoice pay INV-1001 amount:1260.89");
    assert!(
        e.contains("only 1,260.88 EUR is due; an overpayment is not taken"),
        "{e}"
    );
    let e = t.invalid("/invoice pay INV-1001 amount:10 date:2099-01-01");
    assert!(e.contains("in the future"), "{e}");
    let e = t.refused("/invoice pay INV-1001 amount:0,001");
    assert!(e.contains("whole cents"), "{e}");
    let r = t.ok("/invoice pay INV-1001 amount:1260,88").text;
    assert!(r.contains("paid in full"), "{r}");
    let i = t.json("INV-1001");
    assert_eq!(
        (i["state"].as_str(), i["closing"]["reason"].as_str()),
        (Some("paid"), Some("Complete"))
    );
    t.refused("/invoice pay INV-1001 amount:1");
}

#[test]
fn the_mail_for_a_partly_paid_invoice_says_what_is_still_due() {
    let t = Lib::with_company();
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:260,88");
    t.ok("/invoice send INV-1001");
    let mail = outbox(&t).pop().expect("queued");
    assert!(
        mail.text
            .contains("Erhalten haben wir 260,88 €; offen sind noch 2.000,00 €."),
        "{}",
        mail.text
    );
    assert_eq!(mail.documents.len(), 1, "the invoice goes along");
}

#[test]
fn marking_an_invoice_paid_in_full_records_the_balance() {
    let t = Lib::new();
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:60,88");
    t.ok("/invoice paid INV-1001 reason:complete");
    let i = t.json("INV-1001");
    assert_eq!(i["payments"][1]["amount"].as_str(), Some("2200.00"));
}

#[test]
fn canceling_an_invoice_issues_a_credit_note_with_its_own_number() {
    let t = Lib::new();
    t.invoice();
    let r = t.ok("/invoice cancel INV-1001 reason:canceled").text;
    assert!(
        r.contains("Credit note INV-1002 of -2,260.88 EUR cancels it"),
        "{r}"
    );
    let credit = t.json("INV-1002");
    assert_eq!(credit["corrects"], 1001);
    assert_eq!(credit["state"], "credit_note");
    let original = t.json("INV-1001");
    assert_eq!(
        (original["state"].as_str(), original["credit_note"].as_u64()),
        (Some("canceled"), Some(1002))
    );
    let shown = t.ok("/show INV-1002").text;
    assert!(
        shown.contains("cancels: INV-1001") && shown.contains("total -2,260.88 EUR"),
        "{shown}"
    );
    // The corrected invoice takes the next number: no gaps, no reuse.
    let r = t.ok("/order invoice SO-1001").text;
    assert!(r.contains("Created invoice INV-1003"), "{r}");
    // A credit note is final.
    t.refused("/invoice pay INV-1002 amount:1");
    t.refused("/invoice cancel INV-1002 reason:canceled");
}

#[test]
fn an_invoice_with_payments_is_not_canceled_by_a_credit_note() {
    let t = Lib::new();
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:100");
    let e = t.refused("/invoice cancel INV-1001 reason:canceled");
    assert!(e.contains("100.00 EUR was paid on it"), "{e}");
    assert_eq!(t.state("INV-1001"), "open");
}

#[test]
fn partial_deliveries_are_invoiced_as_delivered() {
    let t = Lib::new();
    t.order(); // 10 chairs, 5% off
    t.ok("/order fulfil SO-1001 reason:partial");
    let r = t.ok("/order invoice SO-1001 lines:\"1=4\"").text;
    assert!(
        r.contains("Created invoice INV-1001") && r.contains("has more to bill"),
        "{r}"
    );
    assert_eq!(
        t.json("INV-1001")["pricing"]["lines"][0]["quantity"].as_str(),
        Some("4")
    );
    let e = t.refused("/order invoice SO-1001 lines:\"1=7\"");
    assert!(e.contains("4 of 10 are billed already, 6 left"), "{e}");
    let e = t.refused("/order invoice SO-1001 lines:\"2=1\"");
    assert!(e.contains("has no line 2"), "{e}");
    t.ok("/order fulfil SO-1001 reason:complete");
    let r = t.ok("/order invoice SO-1001").text;
    assert!(
        r.contains("Created invoice INV-1002") && !r.contains("more to bill"),
        "{r}"
    );
    assert_eq!(
        t.json("INV-1002")["pricing"]["lines"][0]["quantity"].as_str(),
        Some("6")
    );
    assert_eq!(t.state("SO-1001"), "invoiced");
    assert_eq!(
        t.json("SO-1001")["invoices"],
        serde_json::json!([1001, 1002])
    );
    // Canceling one frees its quantities again.
    t.ok("/invoice cancel INV-1001 reason:canceled");
    assert_eq!(t.state("SO-1001"), "fulfilled");
    let r = t.ok("/order invoice SO-1001").text;
    assert!(r.contains("Created invoice INV-1004"), "{r}");
    assert_eq!(
        t.json("INV-1004")["pricing"]["lines"][0]["quantity"].as_str(),
        Some("4")
    );
}

/// The README's worked example of the German tax arithmetic, as typed.
#[test]
fn the_readme_tax_example_adds_up_as_documented() {
    let t = Lib::new();
    t.ok("/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%");
    t.ok("/product new GUIDE name:\"Care guide\" price:24,50 tax:7%");
    t.ok("/lead new topic:Chairs last:Weber company:\"Weber KG\"");
    t.ok("/qualify L-1001");
    t.ok("/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%");
    t.ok("/opp line add O-1001 sku:GUIDE qty:2");
    t.ok("/quote new O-1001");
    t.ok("/quote edit Q-1001 discount:10% freight:50");
    let shown = t.ok("/show Q-1001").text;
    for line in [
        "1. [CHAIR-01] Office chair x 10 @ 199.99 EUR - 100.00 EUR = 1,899.90 EUR net, tax 19%",
        "2. [GUIDE] Care guide x 2 @ 24.50 EUR = 49.00 EUR net, tax 7%",
        "detail 1,948.90 EUR - discount 194.89 EUR = 1,754.01 EUR; freight 50.00 EUR",
        "tax 7% on 45.36 EUR: 3.18 EUR",
        "tax 19% on 1,758.65 EUR: 334.14 EUR",
        "total 2,141.33 EUR (net 1,804.01 EUR + tax 337.32 EUR)",
    ] {
        assert!(shown.contains(line), "{line}\n{shown}");
    }
}

#[test]
fn find_folds_umlauts_and_searches_every_kind() {
    let t = Lib::new();
    t.ok("/lead new topic:\"Bürostühle\" first:Jörg last:Müller email:j.mueller@weiss-kg.example company:\"Weiß KG\" city:Köln mobile:\"+49 171 2345678\"");
    t.ok("/lead new topic:Tische last:Schmidt company:Contoso city:Berlin");
    t.ok("/product new ERGO-1 name:\"Ergo Stuhl\" price:300 tax:19%");
    for q in [
        "Muller",
        "Mueller",
        "müller",
        "Weiss",
        "weiß kg",
        "koln",
        "burostuhle",
        "017123",
        "j.mueller@weiss",
    ] {
        let r = t.ok(&format!("/find {q}")).text;
        assert!(r.contains("L-1001") && !r.contains("L-1002"), "{q}: {r}");
    }
    // Every word must match; prefixes do.
    assert!(t.ok("/find Müll Köln").text.contains("L-1001"));
    assert!(t
        .ok("/find Müller Berlin")
        .text
        .starts_with("Nothing found"));
    // Qualified: the contact, account and opportunity are found too.
    t.ok("/qualify L-1001");
    let r = t.ok("/find Müller").text;
    assert!(r.contains("L-1001") && r.contains("C-1001"), "{r}");
    let r = t.ok("/find weiss kind:account").text;
    assert!(r.contains("A-1001") && !r.contains("L-1001"), "{r}");
    assert!(t.ok("/find Bürostühle kind:opp").text.contains("O-1001"));
    assert!(t.ok("/find stuhl").text.contains("ERGO-1"));
    assert!(t.ok("/find L-1002").text.contains("Tische"));
    assert!(t.invalid("/find").contains("needs something to look for"));
    assert!(t.invalid("/find x kind:pets").contains("not one of"));
}

#[test]
fn find_renames_follow_the_record() {
    let t = Lib::new();
    t.ok("/lead new topic:Chairs last:Meier");
    t.ok("/lead edit L-1001 last:Schulze");
    assert!(t.ok("/find Meier").text.starts_with("Nothing found"));
    assert!(t.ok("/find Schulze").text.contains("L-1001"));
}

#[test]
fn showing_an_account_lists_its_contacts_deals_documents_and_activities() {
    let t = Lib::new();
    t.invoice();
    t.ok("/invoice pay INV-1001 amount:1000");
    t.ok("/call O-1001 subject:\"Asked about delivery\" result:reached");
    t.ok("/lead new topic:\"More chairs\" last:Weber email:weber@contoso.example company:\"Contoso GmbH\"");
    t.ok("/qualify L-1002");
    t.ok("/opp lose O-1002 reason:out-sold");
    let shown = t.ok("/show A-1001").text;
    for want in [
        "contacts (2):",
        "C-1001",
        "opportunities (2):",
        "O-1001       won",
        "O-1002       lost",
        "quotes (1):",
        "Q-1001",
        "orders (1):",
        "SO-1001",
        "invoices (1):",
        "INV-1001",
        "balance 1,260.88 EUR",
        "last activities",
        "Asked about delivery",
    ] {
        assert!(shown.contains(want), "{want}\n{shown}");
    }
}
