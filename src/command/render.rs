//! How records read in replies: one `show` block per kind, one line per
//! record in lists, and the history. Short and human, for chat and shell.

use chrono::{DateTime, Utc};

use super::records::HistoryEntry;
use super::{Context, Reply};
use crate::domain::fields::CustomValues;
use crate::domain::invoice::{Invoice, InvoiceState};
use crate::domain::lead::{Lead, LeadState, LeadStatus};
use crate::domain::lines::Pricing;
use crate::domain::opportunity::{OppState, OppStatus, Opportunity};
use crate::domain::order::{Order, OrderState};
use crate::domain::party::{Account, Contact};
use crate::domain::product::Product;
use crate::domain::quote::{Quote, QuoteState};
use crate::domain::{AnyRecord, Closing, Kind, RecordId, Rules};

fn closing_text(verb: &str, c: &Closing) -> String {
    let mut s = format!("{verb} ({}) on {}", c.reason, c.date);
    if let Some(d) = &c.description {
        s.push_str(&format!(": {d}"));
    }
    s
}

fn local(ctx: &Context, at: DateTime<Utc>) -> String {
    at.with_timezone(&ctx.team.timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn push(out: &mut Vec<String>, label: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push(format!("  {label}: {v}"));
    }
}

fn custom(out: &mut Vec<String>, values: &CustomValues) {
    for (k, v) in values {
        out.push(format!("  {k}: {}", v.display()));
    }
}

fn pricing(out: &mut Vec<String>, p: &Pricing) {
    let c = &p.currency;
    for l in &p.lines {
        let a = l.amounts(c);
        let disc = if a.discount.is_zero() {
            String::new()
        } else {
            format!(" - {}", c.format(a.discount))
        };
        out.push(format!(
            "  {}. {}{} x {} @ {}{disc} = {} net, tax {}%",
            l.no,
            l.sku
                .as_ref()
                .map(|s| format!("[{s}] "))
                .unwrap_or_default(),
            l.description,
            l.quantity.normalize(),
            c.format_price(l.unit_price),
            c.format(a.net),
            l.tax_rate.normalize(),
        ));
    }
    let t = p.totals();
    if p.lines.is_empty() && t.freight.is_zero() {
        out.push(format!("  no lines yet ({c})"));
        return;
    }
    out.push(format!(
        "  detail {} - discount {} = {}; freight {}{}",
        c.format(t.detail_amount),
        c.format(t.discount),
        c.format(t.pre_freight_amount),
        c.format(t.freight),
        p.freight_tax
            .map(|r| format!(" (tax {}%)", r.normalize()))
            .unwrap_or_default()
    ));
    for share in p.tax_shares() {
        out.push(format!(
            "  tax {}% on {}: {}",
            share.rate.normalize(),
            c.format(share.base),
            c.format(share.tax)
        ));
    }
    out.push(format!(
        "  total {} (net {} + tax {})",
        c.format(t.total_amount),
        c.format(t.pre_freight_amount + t.freight),
        c.format(t.total_tax)
    ));
}

fn reference(rules: &Rules, kind: Kind, n: Option<u64>) -> Option<String> {
    n.map(|n| rules.show(kind, n))
}

/// The names of the account and contact a record is for.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub account: Option<String>,
    pub contact: Option<String>,
}

fn parties(
    out: &mut Vec<String>,
    rules: &Rules,
    account: Option<u64>,
    contact: Option<u64>,
    names: &Parties,
) {
    let with = |id: Option<String>, name: &Option<String>| {
        id.map(|id| match name {
            Some(n) => format!("{id} {n}"),
            None => id,
        })
    };
    push(
        out,
        "account",
        with(reference(rules, Kind::Account, account), &names.account),
    );
    push(
        out,
        "contact",
        with(reference(rules, Kind::Contact, contact), &names.contact),
    );
}

/// A lead's state in words.
pub fn lead_state(state: &LeadState) -> String {
    match state {
        LeadState::Open {
            status: LeadStatus::New,
        } => "open (new)".into(),
        LeadState::Open {
            status: LeadStatus::Contacted,
        } => "open (contacted)".into(),
        LeadState::Qualified { .. } => "qualified".into(),
        LeadState::Disqualified { closing } => closing_text("disqualified", closing),
    }
}

/// An opportunity's state in words.
pub fn opp_state(state: &OppState) -> String {
    match state {
        OppState::Open {
            status: OppStatus::InProgress,
        } => "open (in progress)".into(),
        OppState::Open {
            status: OppStatus::OnHold,
        } => "open (on hold)".into(),
        OppState::Won { date, .. } => format!("won on {date}"),
        OppState::Lost {
            closing,
            competitor,
        } => {
            let mut s = closing_text("lost", closing);
            if let Some(c) = competitor {
                s.push_str(&format!(", to {c}"));
            }
            s
        }
    }
}

/// A quote's state in words.
pub fn quote_state(state: &QuoteState) -> String {
    match state {
        QuoteState::Draft => "draft".into(),
        QuoteState::Active { .. } => "active (read-only)".into(),
        QuoteState::Won { date, .. } => format!("won on {date}"),
        QuoteState::Closed { closing } => closing_text("closed", closing),
    }
}

/// An order's state in words.
pub fn order_state(state: &OrderState) -> String {
    match state {
        OrderState::Active => "active".into(),
        OrderState::Fulfilled { closing } => closing_text("fulfilled", closing),
        OrderState::Invoiced { closing, .. } => {
            format!("invoiced; {}", closing_text("fulfilled", closing))
        }
        OrderState::Canceled { closing } => closing_text("canceled", closing),
    }
}

/// An invoice's state in words.
pub fn invoice_state(state: &InvoiceState) -> String {
    match state {
        InvoiceState::Open => "open".into(),
        InvoiceState::Paid { closing } => closing_text("paid", closing),
        InvoiceState::Canceled { closing, .. } => closing_text("canceled", closing),
        InvoiceState::CreditNote { date } => format!("credit note of {date}"),
    }
}

/// `Q-1001` or `Q-1001 rev 2`.
pub fn quote_id(rules: &Rules, q: &Quote) -> String {
    rules.numbering.display(RecordId {
        kind: Kind::Quote,
        number: q.number,
        revision: (q.revision > 1).then_some(q.revision),
    })
}

/// A lead, with what can be done next.
pub fn lead(l: &Lead, ctx: &Context) -> (String, Vec<String>) {
    let r = ctx.rules;
    let id = r.show(Kind::Lead, l.number);
    let mut out = vec![format!("{id} {} - {}", l.topic, lead_state(&l.state))];
    push(&mut out, "name", l.person_name());
    push(&mut out, "job title", l.job_title.clone());
    push(&mut out, "e-mail", l.email.clone());
    push(&mut out, "mobile", l.mobile_phone.clone());
    push(&mut out, "phone", l.business_phone.clone());
    push(&mut out, "company", l.company.clone());
    push(&mut out, "website", l.website.clone());
    push(&mut out, "address", l.address.one_line());
    push(&mut out, "source", l.source.clone());
    push(&mut out, "need", l.need.clone());
    push(&mut out, "budget", l.budget.map(|b| l.currency.format(b)));
    push(
        &mut out,
        "estimated value",
        l.estimated_value.map(|b| l.currency.format(b)),
    );
    push(
        &mut out,
        "estimated close",
        l.estimated_close.map(|d| d.to_string()),
    );
    push(&mut out, "follow-up", l.follow_up.map(|d| d.to_string()));
    push(&mut out, "description", l.description.clone());
    custom(&mut out, &l.custom);
    push(
        &mut out,
        "opportunity",
        reference(r, Kind::Opportunity, l.opportunity),
    );
    push(&mut out, "contact", reference(r, Kind::Contact, l.contact));
    push(&mut out, "account", reference(r, Kind::Account, l.account));
    out.push(format!(
        "  owner: {} - created {}",
        l.owner,
        local(ctx, l.created_at)
    ));
    let next = match l.state {
        LeadState::Open { .. } => vec![
            format!("/qualify {id}"),
            format!("/disqualify {id} reason:"),
        ],
        _ => vec![format!("/lead reactivate {id}")],
    };
    (out.join("\n"), next)
}

/// A contact.
pub fn contact(c: &Contact, ctx: &Context) -> String {
    let r = ctx.rules;
    let mut out = vec![format!(
        "{} {}",
        r.show(Kind::Contact, c.number),
        c.full_name()
    )];
    push(&mut out, "job title", c.job_title.clone());
    push(&mut out, "e-mail", c.email.clone());
    push(&mut out, "mobile", c.mobile_phone.clone());
    push(&mut out, "phone", c.business_phone.clone());
    push(&mut out, "account", reference(r, Kind::Account, c.account));
    push(&mut out, "description", c.description.clone());
    custom(&mut out, &c.custom);
    out.push(format!(
        "  owner: {} - created {}",
        c.owner,
        local(ctx, c.created_at)
    ));
    out.join("\n")
}

/// An account.
pub fn account(a: &Account, ctx: &Context) -> String {
    let r = ctx.rules;
    let mut out = vec![format!("{} {}", r.show(Kind::Account, a.number), a.name)];
    push(&mut out, "website", a.website.clone());
    push(&mut out, "phone", a.phone.clone());
    push(&mut out, "address", a.address.one_line());
    push(
        &mut out,
        "primary contact",
        reference(r, Kind::Contact, a.primary_contact),
    );
    push(&mut out, "description", a.description.clone());
    custom(&mut out, &a.custom);
    out.push(format!(
        "  owner: {} - created {}",
        a.owner,
        local(ctx, a.created_at)
    ));
    out.join("\n")
}

/// An opportunity with its quotes (P-16).
pub fn opportunity(
    o: &Opportunity,
    quotes: &[Quote],
    names: &Parties,
    ctx: &Context,
) -> (String, Vec<String>) {
    let r = ctx.rules;
    let c = &o.pricing.currency;
    let id = r.show(Kind::Opportunity, o.number);
    let mut out = vec![format!("{id} {} - {}", o.name, opp_state(&o.state))];
    parties(&mut out, r, o.account, o.contact, names);
    push(&mut out, "from lead", reference(r, Kind::Lead, o.lead));
    push(&mut out, "current situation", o.current_situation.clone());
    push(&mut out, "desired situation", o.desired_situation.clone());
    push(&mut out, "proposed solution", o.proposed_solution.clone());
    push(
        &mut out,
        "probability",
        o.probability.map(|p| format!("{p}%")),
    );
    push(
        &mut out,
        "estimated revenue",
        o.estimated_revenue.map(|v| c.format(v)),
    );
    push(
        &mut out,
        "weighted revenue",
        o.weighted_revenue().map(|v| c.format(v)),
    );
    push(&mut out, "budget", o.budget.map(|v| c.format(v)));
    push(
        &mut out,
        "decision date",
        o.decision_date.map(|d| d.to_string()),
    );
    push(&mut out, "follow-up", o.follow_up.map(|d| d.to_string()));
    push(&mut out, "description", o.description.clone());
    if let OppState::Won {
        actual_revenue,
        description,
        ..
    } = &o.state
    {
        push(&mut out, "actual revenue", Some(c.format(*actual_revenue)));
        push(&mut out, "won note", description.clone());
    }
    custom(&mut out, &o.custom);
    pricing(&mut out, &o.pricing);
    for q in quotes {
        out.push(format!(
            "  quote {} {} - {} - {}",
            quote_id(r, q),
            q.name,
            quote_state(&q.state),
            q.pricing.currency.format(q.pricing.totals().total_amount)
        ));
    }
    out.push(format!(
        "  owner: {} - created {}",
        o.owner,
        local(ctx, o.created_at)
    ));
    let next = match o.state {
        OppState::Open { .. } => vec![
            format!("/quote new {id}"),
            format!("/opp line add {id} sku:"),
        ],
        _ => vec![format!("/opp reopen {id}")],
    };
    (out.join("\n"), next)
}

/// A quote revision.
pub fn quote(q: &Quote, names: &Parties, ctx: &Context) -> (String, Vec<String>) {
    let r = ctx.rules;
    let base = r.show(Kind::Quote, q.number);
    let mut out = vec![format!(
        "{} {} - {}",
        quote_id(r, q),
        q.name,
        quote_state(&q.state)
    )];
    push(
        &mut out,
        "opportunity",
        reference(r, Kind::Opportunity, Some(q.opportunity)),
    );
    parties(&mut out, r, q.account, q.contact, names);
    push(
        &mut out,
        "valid until",
        q.valid_until.map(|d| d.to_string()),
    );
    push(&mut out, "description", q.description.clone());
    if let QuoteState::Won {
        order, description, ..
    } = &q.state
    {
        push(&mut out, "order", reference(r, Kind::Order, Some(*order)));
        push(&mut out, "won note", description.clone());
    }
    custom(&mut out, &q.custom);
    pricing(&mut out, &q.pricing);
    out.push(format!(
        "  owner: {} - created {}",
        q.owner,
        local(ctx, q.created_at)
    ));
    let next = match q.state {
        QuoteState::Draft => vec![
            format!("/quote activate {base}"),
            format!("/quote line add {base} sku:"),
        ],
        QuoteState::Active { .. } => vec![
            format!("/quote win {base}"),
            format!("/quote revise {base}"),
            format!("/quote close {base} reason:"),
        ],
        _ => vec![],
    };
    (out.join("\n"), next)
}

/// An order.
pub fn order(o: &Order, names: &Parties, ctx: &Context) -> (String, Vec<String>) {
    let r = ctx.rules;
    let id = r.show(Kind::Order, o.number);
    let mut out = vec![format!("{id} {} - {}", o.name, order_state(&o.state))];
    let q = RecordId {
        kind: Kind::Quote,
        number: o.quote,
        revision: (o.quote_revision > 1).then_some(o.quote_revision),
    };
    push(&mut out, "from quote", Some(r.numbering.display(q)));
    push(
        &mut out,
        "opportunity",
        reference(r, Kind::Opportunity, Some(o.opportunity)),
    );
    parties(&mut out, r, o.account, o.contact, names);
    push(
        &mut out,
        "delivery date",
        o.delivery_date.map(|d| d.to_string()),
    );
    push(&mut out, "description", o.description.clone());
    if let OrderState::Invoiced { invoice, .. } = &o.state {
        push(
            &mut out,
            "invoice",
            reference(r, Kind::Invoice, Some(*invoice)),
        );
    }
    custom(&mut out, &o.custom);
    pricing(&mut out, &o.pricing);
    out.push(format!(
        "  owner: {} - created {}",
        o.owner,
        local(ctx, o.created_at)
    ));
    let next = match o.state {
        OrderState::Active => vec![
            format!("/order fulfil {id} reason:complete"),
            format!("/order cancel {id} reason:"),
        ],
        OrderState::Fulfilled { .. } => vec![format!("/order invoice {id}")],
        _ => vec![],
    };
    (out.join("\n"), next)
}

/// An invoice.
pub fn invoice(i: &Invoice, names: &Parties, ctx: &Context) -> (String, Vec<String>) {
    let r = ctx.rules;
    let id = r.show(Kind::Invoice, i.number);
    let mut out = vec![format!("{id} {} - {}", i.name, invoice_state(&i.state))];
    push(&mut out, "order", reference(r, Kind::Order, Some(i.order)));
    push(
        &mut out,
        "opportunity",
        reference(r, Kind::Opportunity, Some(i.opportunity)),
    );
    parties(&mut out, r, i.account, i.contact, names);
    push(&mut out, "cancels", reference(r, Kind::Invoice, i.corrects));
    if let InvoiceState::Canceled {
        credit_note: Some(n),
        ..
    } = i.state
    {
        push(
            &mut out,
            "canceled by credit note",
            reference(r, Kind::Invoice, Some(n)),
        );
    }
    push(&mut out, "invoice date", Some(i.invoice_date.to_string()));
    if i.corrects.is_none() {
        push(&mut out, "due date", Some(i.due_date.to_string()));
    }
    push(&mut out, "description", i.description.clone());
    custom(&mut out, &i.custom);
    pricing(&mut out, &i.pricing);
    let c = &i.pricing.currency;
    for p in &i.payments {
        out.push(format!(
            "  payment {} received {}{}",
            c.format(p.amount),
            p.date,
            p.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
    }
    if matches!(i.state, InvoiceState::Open) {
        out.push(format!(
            "  balance due: {}{}",
            c.format(i.balance()),
            if i.payments.is_empty() {
                String::new()
            } else {
                format!(" (paid in part: {})", c.format(i.paid()))
            }
        ));
    }
    out.push(format!(
        "  owner: {} - created {}",
        i.owner,
        local(ctx, i.created_at)
    ));
    let next = match i.state {
        InvoiceState::Open => vec![
            format!("/invoice pay {id} amount:"),
            format!("/invoice paid {id} reason:complete"),
            format!("/invoice cancel {id} reason:canceled"),
        ],
        _ => vec![],
    };
    (out.join("\n"), next)
}

/// An activity, with where it is and what can be done next.
pub fn activity(a: &crate::domain::activity::Activity, ctx: &Context) -> (String, Vec<String>) {
    use crate::domain::activity::{ActivityState, Details};
    let id = ctx.rules.show(Kind::Activity, a.number);
    let mut out = vec![super::activities::activity_line(a, ctx)];
    push(
        &mut out,
        "on",
        Some(ctx.rules.numbering.display(a.regarding)),
    );
    push(&mut out, "description", a.description.clone());
    match &a.details {
        Details::Call {
            direction,
            phone,
            result,
        } => {
            push(
                &mut out,
                "direction",
                Some(format!("{direction:?}").to_lowercase()),
            );
            push(&mut out, "phone", phone.clone());
            push(&mut out, "result", result.clone());
        }
        Details::Appointment {
            location,
            attendees,
            ..
        } => {
            push(&mut out, "location", location.clone());
            push(&mut out, "attendees", Some(attendees.join(", ")));
        }
        Details::Email {
            from,
            to,
            cc,
            message_id,
            text,
            attachments,
            matched,
            notes,
            ..
        } => {
            push(&mut out, "from", Some(from.clone()));
            push(&mut out, "to", Some(to.join(", ")));
            push(&mut out, "cc", Some(cc.join(", ")));
            push(&mut out, "message-id", message_id.clone());
            push(&mut out, "matched", matched.clone());
            let files: Vec<String> = attachments
                .iter()
                .map(|a| format!("{} ({} bytes)", a.name, a.size))
                .collect();
            push(&mut out, "attachments", Some(files.join(", ")));
            for n in notes {
                push(&mut out, "note", Some(n.clone()));
            }
            if let Some(t) = text {
                out.push(format!(
                    "  ---\n{}",
                    t.lines()
                        .map(|l| format!("  {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
        }
        Details::Task | Details::Note => {}
    }
    out.push(format!(
        "  owner: {} - created {}",
        a.owner,
        local(ctx, a.created_at)
    ));
    let next = match (&a.state, &a.details) {
        (ActivityState::Open, Details::Note) => vec![],
        (ActivityState::Open, _) => vec![
            format!("/done {id}"),
            format!("/activity reschedule {id} due:"),
            format!("/activity cancel {id}"),
        ],
        _ => vec![],
    };
    (out.join("\n"), next)
}

/// `CHAIR-01 Office chair - 199.99 EUR, tax 19%`.
pub fn product_line(p: &Product) -> String {
    format!(
        "{} {} - {}, tax {}%{}",
        p.sku,
        p.name,
        p.currency.format_price(p.unit_price),
        p.tax_rate.normalize(),
        if p.active { "" } else { " (retired)" }
    )
}

/// A product.
pub fn product(p: &Product) -> String {
    let mut out = vec![product_line(p)];
    push(&mut out, "description", p.description.clone());
    out.join("\n")
}

/// One list line for a record.
pub fn list_line(ctx: &Context, r: &AnyRecord) -> String {
    use crate::domain::AnyRecord as A;
    let total = |p: &Pricing| p.currency.format(p.totals().total_amount);
    let extra = match r {
        A::Lead(l) => l.email.clone().unwrap_or_default(),
        A::Contact(c) => c.email.clone().unwrap_or_default(),
        A::Account(a) => a.website.clone().unwrap_or_default(),
        A::Opportunity(o) => match &o.state {
            OppState::Won { actual_revenue, .. } => {
                format!("won {}", o.pricing.currency.format(*actual_revenue))
            }
            _ => o
                .estimated_revenue
                .map(|v| o.pricing.currency.format(v))
                .unwrap_or_default(),
        },
        A::Quote(q) => total(&q.pricing),
        A::Order(o) => total(&o.pricing),
        A::Activity(a) => a
            .due
            .map(|d| d.display(ctx.team.zone_of(&a.owner)))
            .unwrap_or_default(),
        A::Invoice(i) => format!("{} due {}", total(&i.pricing), i.due_date),
    };
    let id = r.id();
    let id = ctx.rules.numbering.display(RecordId {
        revision: id.revision.filter(|r| *r > 1),
        ..id
    });
    format!(
        "{id:<12} {:<12} {:<10} {}{}",
        r.state_name(),
        r.owner(),
        r.title(),
        if extra.is_empty() {
            extra
        } else {
            format!(" - {extra}")
        }
    )
}

/// A record's history, oldest first.
pub fn history(id: &str, entries: &[HistoryEntry], ctx: &Context) -> String {
    let mut out = vec![format!("history of {id}")];
    for e in entries {
        out.push(format!(
            "  {} {} via {}: {}",
            local(ctx, e.at),
            e.by,
            e.via,
            e.command
        ));
        for c in &e.changes {
            out.push(format!("      {c}"));
        }
    }
    out.join("\n")
}

/// `text` safe to print on a terminal: control characters (but line breaks
/// and tabs) and bidirectional overrides are shown escaped (`\u{1b}`), so
/// text from mail, CSV or input cannot move the cursor, recolour the
/// screen or hide what it says.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The lines under an account's `show`: its contacts, deals and documents
/// by kind, and its last activities.
pub fn account_records(ctx: &Context, related: &AccountRecords) -> Vec<String> {
    let mut out = Vec::new();
    for (title, records) in &related.groups {
        out.push(format!("  {title} ({}):", records.len()));
        for r in records {
            let mut line = list_line(ctx, r);
            if let AnyRecord::Invoice(i) = r {
                if matches!(i.state, InvoiceState::Open) {
                    line.push_str(&format!(
                        " - balance {}",
                        i.pricing.currency.format(i.balance())
                    ));
                }
            }
            out.push(format!("    {line}"));
        }
    }
    let acts = &related.activities;
    if !acts.is_empty() {
        out.push(format!(
            "  last activities ({} of {}):",
            acts.len().min(5),
            acts.len()
        ));
        for a in acts.iter().take(5) {
            out.push(format!(
                "    {} (on {})",
                super::activities::activity_line(a, ctx),
                ctx.rules.numbering.display(a.regarding)
            ));
        }
    }
    out
}

/// What an account's `show` lists under it: its records by kind (newest
/// first), and the activities on it, its contacts and opportunities
/// (newest first).
#[derive(Debug, Clone, Default)]
pub struct AccountRecords {
    pub groups: Vec<(&'static str, Vec<AnyRecord>)>,
    pub activities: Vec<crate::domain::activity::Activity>,
}

/// A reply; its `data` only when the front end wants it
/// ([`Context::with_data`]).
pub(super) fn reply<T: serde::Serialize>(
    ctx: &Context,
    text: String,
    data: &T,
    next: Vec<String>,
) -> Reply {
    Reply {
        text,
        data: if ctx.with_data {
            serde_json::to_value(data).unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Null
        },
        next,
    }
}

#[cfg(test)]
mod terminal_tests {
    use super::terminal_safe;

    #[test]
    fn escape_sequences_and_control_characters_are_shown_escaped() {
        assert_eq!(terminal_safe("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(terminal_safe("red \u{1b}[31mX"), "red \\u{1b}[31mX");
        assert_eq!(terminal_safe("a\rb\u{7}"), "a\\u{d}b\\u{7}");
        assert_eq!(terminal_safe("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(terminal_safe("Müller „Ergo“"), "Müller „Ergo“");
    }
}
