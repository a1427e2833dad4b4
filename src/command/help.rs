//! `/help` and `/help <command>`: every command with its syntax, and the
//! action lists and suggestions the parser uses in its error messages.

use crate::domain::rules::Step;
use crate::domain::{Kind, Rules};

/// The actions of each record kind's command.
pub fn actions(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Lead => &[
            "new",
            "edit",
            "show",
            "list",
            "history",
            "qualify",
            "disqualify",
            "reactivate",
            "timeline",
        ],
        Kind::Contact | Kind::Account => &["new", "edit", "show", "list", "history", "timeline"],
        Kind::Opportunity => &[
            "new", "edit", "show", "list", "history", "line", "win", "lose", "reopen", "timeline",
        ],
        Kind::Quote => &[
            "new", "edit", "show", "list", "history", "line", "activate", "revise", "close", "win",
            "send", "timeline",
        ],
        Kind::Order => &[
            "edit", "show", "list", "history", "line", "fulfil", "cancel", "invoice", "timeline",
        ],
        Kind::Invoice => &[
            "edit", "show", "list", "history", "pay", "paid", "cancel", "send", "timeline",
        ],
        Kind::Activity => &[
            "show",
            "list",
            "history",
            "edit",
            "done",
            "cancel",
            "reschedule",
            "assign",
        ],
    }
}

/// (topic, syntax, what it does)
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "lead",
        "/lead new topic:\"...\" first:.. last:.. email:.. company:.. city:..",
        "create a lead (P-3); a quoted first word is the topic",
    ),
    (
        "lead",
        "/lead edit L-1001 field:value ...",
        "change an open lead's fields; field:\"\" empties one",
    ),
    (
        "lead",
        "/qualify L-1001",
        "create contact, account and opportunity from the lead (P-6)",
    ),
    (
        "lead",
        "/disqualify L-1001 reason:\"cannot contact\" [description:..]",
        "close the lead with a reason (P-5)",
    ),
    (
        "lead",
        "/lead reactivate L-1001",
        "reopen a qualified or disqualified lead",
    ),
    (
        "opp",
        "/opp new name:\"...\" account:A-1001 contact:C-1001",
        "an opportunity without a lead",
    ),
    (
        "opp",
        "/opp edit O-1001 probability:60 revenue:12000 followup:2026-12-10",
        "change an open opportunity (P-14)",
    ),
    (
        "opp",
        "/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%",
        "add a product line (write-ins: name:\"...\" price:..)",
    ),
    (
        "opp",
        "/opp line edit O-1001 1 qty:12   /opp line remove O-1001 1",
        "change or remove a line",
    ),
    (
        "opp",
        "/opp win O-1001 [revenue:12000|compute] [date:..]",
        "close as won; revenue defaults to the won quotes' totals, else its lines' total, else its estimated revenue",
    ),
    (
        "opp",
        "/opp lose O-1001 reason:out-sold [competitor:..]",
        "close as lost",
    ),
    (
        "opp",
        "/opp reopen O-1001",
        "reopen a won or lost opportunity",
    ),
    (
        "quote",
        "/quote new O-1001",
        "a draft quote prefilled from the opportunity (P-17)",
    ),
    (
        "quote",
        "/quote edit Q-1001 discount:5% freight:20 valid_until:2026-12-31",
        "change a draft",
    ),
    (
        "quote",
        "/quote line add Q-1001 sku:.. qty:..",
        "lines of a draft quote",
    ),
    (
        "quote",
        "/quote activate Q-1001",
        "send it: the quote becomes read-only (P-19)",
    ),
    (
        "quote",
        "/quote revise Q-1001",
        "close as revised and open an editable copy, revision + 1 (P-20)",
    ),
    (
        "quote",
        "/quote close Q-1001 reason:lost [revise:yes] [close_opportunity:yes opp_reason:..]",
        "close an active quote (P-21)",
    ),
    (
        "quote",
        "/quote win Q-1001 [close_opportunity:yes|no] [revenue:compute|12000]",
        "won: creates the order (P-22)",
    ),
    (
        "order",
        "/order fulfil SO-1001 reason:complete|partial [date:..]",
        "fulfil the order (P-24)",
    ),
    (
        "order",
        "/order cancel SO-1001 reason:\"no money\"",
        "cancel the order; a reason is required (P-25)",
    ),
    (
        "order",
        "/order invoice SO-1001 [lines:\"1=5 2=3\"]",
        "invoice a fulfilled order (P-26): everything not yet billed, or these quantities per line (a partial delivery)",
    ),
    (
        "invoice",
        "/invoice pay INV-1001 amount:500 [date:..] [note:..]",
        "record a payment; the balance is what is still due; paid in full at zero",
    ),
    (
        "invoice",
        "/invoice paid INV-1001 reason:complete|partial",
        "mark it paid (P-28); complete records the balance as paid",
    ),
    (
        "invoice",
        "/invoice cancel INV-1001 reason:canceled",
        "cancel it (P-29) by a credit note with its own number; the order can be invoiced anew",
    ),
    (
        "activities",
        "/call O-1001 subject:Intro result:\"wants a demo\"   /call O-1001 due:\"tomorrow 10:00\"",
        "log a call, or schedule the next one",
    ),
    (
        "activities",
        "/task L-1001 Send brochure due:fri owner:maria   /note L-1001 \"Prefers e-mail\"",
        "a task with a due date; a note",
    ),
    (
        "activities",
        "/meeting O-1001 Demo start:\"fri 10:00\" end:\"fri 11:00\" attendees:anna@contoso.example",
        "an appointment; e-mail attendees get an invitation",
    ),
    (
        "activities",
        "/timeline O-1001 [state:overdue|active|closed] [kind:call|task|email|appointment|note]",
        "a record's activities, upcoming first, with the lead's on an opportunity (P-12)",
    ),
    (
        "activities",
        "/done ACT-1001   /activity cancel|reschedule due:..|assign owner:.. ACT-1001",
        "finish, cancel, move or hand over an activity",
    ),
    (
        "activities",
        "/agenda [owner:..]   /overdue [all|owner:..]   /notices",
        "what is overdue and due today; everyone's overdue; queued notices",
    ),
    (
        "mail",
        "/email O-1001 subject:\"...\" body:\"...\" [to:..] [cc:..]   or template:followup|intro [message:..]",
        "queue a mail about a record; it lands on the timeline and goes out through the outbox",
    ),
    (
        "mail",
        "/quote send Q-1001 [message:..]   /invoice send INV-1001",
        "mail an active quote or an invoice with its lines and totals",
    ),
    (
        "mail",
        "/inbox   /inbox link 3 O-1001   /inbox lead 3   /why ACT-1005   /outbox   /outbox retry 2",
        "unmatched mail, filing it by hand, how a mail was matched, the outbox",
    ),
    (
        "product",
        "/product new CHAIR-01 name:\"Office chair\" price:199 tax:19%",
        "add to the catalogue",
    ),
    (
        "product",
        "/product edit CHAIR-01 price:189   status:retired",
        "change or retire a product",
    ),
    (
        "records",
        "/show <id>   /<kind> show <id>   /<kind> <id>",
        "show any record",
    ),
    (
        "records",
        "/list leads [state:open] [owner:me] [limit:20] [after:L-1040]",
        "list newest first; also contacts, accounts, opps, quotes, orders, invoices, products",
    ),
    (
        "records",
        "/find Müller Berlin [kind:lead] [limit:20]",
        "search names, companies, e-mails, phones, cities, topics and ids of every record and product (Muller finds Müller)",
    ),
    (
        "records",
        "/history <id>",
        "who changed what, when, with which command",
    ),
    (
        "records",
        "/contact edit C-1001 ...   /account edit A-1001 ...",
        "contacts and accounts",
    ),
];

/// The help text: everything, or one topic.
pub fn text(topic: Option<&str>, rules: &Rules) -> Result<String, String> {
    let Some(topic) = topic else {
        let mut out = String::from("leadline commands (/help <topic> for one: lead, opp, quote, order, invoice, activities, mail, product, records, reasons)\n");
        for (_, syntax, what) in COMMANDS {
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
    for (_, syntax, what) in COMMANDS.iter().filter(|(t, _, _)| *t == topic) {
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
