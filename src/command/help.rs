//! `/help` and `/help <command>`: every command with its syntax (each
//! family keeps its own help lines), and the action lists and suggestions
//! the parser uses in its error messages.

use crate::domain::rules::Step;
use crate::domain::{Kind, Rules};

/// The actions of a record kind's command (`/quote activate`...), from
/// the command families: the generic record actions first, `new` leading.
pub fn actions(kind: Kind) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let records = super::FAMILIES.iter().filter(|f| f.topic == "records");
    let others = super::FAMILIES.iter().filter(|f| f.topic != "records");
    for family in records.chain(others) {
        for (k, action) in family.actions {
            if *k == kind && !out.contains(action) {
                out.push(action);
            }
        }
    }
    if let Some(i) = out.iter().position(|a| *a == "new") {
        let new = out.remove(i);
        out.insert(0, new);
    }
    out
}

/// Whether `/<kind> <action>` exists (what [`actions`] lists, without
/// making the list).
pub fn has_action(kind: Kind, action: &str) -> bool {
    super::FAMILIES
        .iter()
        .any(|f| f.actions.iter().any(|(k, a)| *k == kind && *a == action))
}

/// Every help line of the command families, with its topic, in the
/// families' order.
fn lines() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    super::FAMILIES.iter().flat_map(|f| {
        f.help
            .iter()
            .map(move |(syntax, what)| (f.topic, *syntax, *what))
    })
}

/// The help text: everything, or one topic.
pub fn text(topic: Option<&str>, rules: &Rules) -> Result<String, String> {
    let Some(topic) = topic else {
        let mut out = String::from("leadline commands (/help <topic> for one: lead, opp, quote, order, invoice, activities, mail, product, records, reasons)\n");
        for (_, syntax, what) in lines() {
            out.push_str(&format!("  {syntax}\n      {what}\n"));
        }
        out.push_str("Values with spaces go in quotes. Dates: 2026-12-10, 10.12.2026, today, tomorrow, in 3 days, fri.");
        return Ok(out);
    };
    let t = crate::domain::fields::normalize_name(topic.trim_start_matches('/'));
    let first = t.split('_').next().unwrap_or("").to_string();
    if first == "reasons" || first == "reason" {
        let mut out = String::from("status reasons (config: [process.reasons])\n");
        for step in Step::ALL {
            let list = rules.reasons.of(step);
            let shown = if list.is_empty() {
                "any text".to_string()
            } else {
                list.join(", ")
            };
            out.push_str(&format!("  {}: {shown}\n", step.label()));
        }
        return Ok(out.trim_end().to_string());
    }
    let topic_of = |w: &str| -> Option<&'static str> {
        Some(match w {
            "lead" | "leads" | "qualify" | "disqualify" | "reactivate" => "lead",
            "opp" | "opps" | "opportunity" | "opportunities" => "opp",
            "quote" | "quotes" => "quote",
            "order" | "orders" => "order",
            "invoice" | "invoices" => "invoice",
            "product" | "products" => "product",
            "mail" | "email" | "inbox" | "outbox" | "why" => "mail",
            "activities" | "activity" | "call" | "task" | "meeting" | "note" | "timeline"
            | "agenda" | "overdue" | "done" => "activities",
            "records" | "show" | "list" | "history" | "contact" | "account" | "contacts"
            | "accounts" => "records",
            _ => return None,
        })
    };
    let Some(topic) = topic_of(&first) else {
        return Err(format!(
            "no help on '{topic}'; topics: lead, opp, quote, order, invoice, activities, mail, product, records, reasons"
        ));
    };
    let mut out = format!("/{topic}:\n");
    for (_, syntax, what) in lines().filter(|(t, _, _)| *t == topic) {
        out.push_str(&format!("  {syntax}\n      {what}\n"));
    }
    Ok(out.trim_end().to_string())
}

/// The command someone probably meant by a mistyped `word`.
pub fn suggest(word: &str) -> Option<&'static str> {
    const ALL: &[&str] = &[
        "lead",
        "opp",
        "quote",
        "order",
        "invoice",
        "product",
        "contact",
        "account",
        "qualify",
        "disqualify",
        "show",
        "list",
        "history",
        "help",
        "reactivate",
    ];
    ALL.iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
