//! The slash commands registered with Discord, made from the command
//! families' actions ([`crate::command::help::actions`]) and the
//! configured status reasons.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use crate::command;
use crate::config::Config;
use crate::domain::rules::Step;
use crate::domain::Kind;

pub(super) fn reasons(config: &Config, step: Step) -> Vec<String> {
    config.process.reasons.of(step).to_vec()
}

pub(super) fn string(name: &str, description: &str, required: bool) -> CreateCommandOption {
    let o =
        CreateCommandOption::new(CommandOptionType::String, name, description).required(required);
    // Record ids are completed from the store as people type.
    if matches!(
        name,
        "lead"
            | "opp"
            | "quote"
            | "order"
            | "invoice"
            | "contact"
            | "account"
            | "activity"
            | "record"
    ) {
        o.set_autocomplete(true)
    } else {
        o
    }
}

pub(super) fn with_choices(
    mut o: CreateCommandOption,
    choices: Vec<String>,
) -> CreateCommandOption {
    for c in choices.into_iter().take(25) {
        o = o.add_string_choice(c.clone(), c);
    }
    o
}

/// The option that names the record of a kind's command.
pub(super) fn id_option(kind: Kind) -> &'static str {
    match kind {
        Kind::Opportunity => "opp",
        other => other.name(),
    }
}

/// The closing step of `action` on `kind`, whose reasons are offered as choices.
pub(super) fn reason_step(kind: Kind, action: &str) -> Option<Step> {
    Some(match (kind, action) {
        (Kind::Lead, "disqualify") => Step::LeadDisqualify,
        (Kind::Opportunity, "lose") => Step::OpportunityLost,
        (Kind::Quote, "close") => Step::QuoteClose,
        (Kind::Order, "fulfil") => Step::OrderFulfil,
        (Kind::Order, "cancel") => Step::OrderCancel,
        (Kind::Invoice, "paid") => Step::InvoicePaid,
        (Kind::Invoice, "cancel") => Step::InvoiceCancel,
        _ => return None,
    })
}

pub(super) fn sub(name: &str, what: &str, opts: Vec<CreateCommandOption>) -> CreateCommandOption {
    let mut s = CreateCommandOption::new(CommandOptionType::SubCommand, name, what);
    for o in opts {
        s = s.add_sub_option(o);
    }
    s
}

pub(super) fn command(name: &str, what: &str, opts: Vec<CreateCommandOption>) -> CreateCommand {
    let mut c = CreateCommand::new(name).description(what);
    for o in opts {
        c = c.add_option(o);
    }
    c
}

pub(super) fn choice_list(
    name: &str,
    what: &str,
    required: bool,
    choices: &[&str],
) -> CreateCommandOption {
    with_choices(
        string(name, what, required),
        choices.iter().map(|c| c.to_string()).collect(),
    )
}

/// Every command of the language as a slash command with typed options:
/// one per record kind with its actions as subcommands (the record id
/// completed as you type, reasons as choices from the config, fields as
/// `name:value` text), and the activity and view commands.
pub(super) fn commands(config: &Config) -> Vec<CreateCommand> {
    let mut out = Vec::new();
    for kind in [
        Kind::Lead,
        Kind::Opportunity,
        Kind::Quote,
        Kind::Order,
        Kind::Invoice,
        Kind::Contact,
        Kind::Account,
        Kind::Activity,
    ] {
        let word = id_option(kind);
        let mut subs = Vec::new();
        for action in command::help::actions(kind) {
            let mut opts = Vec::new();
            match (kind, action) {
                (Kind::Quote, "new") => opts.push(string("opp", "the opportunity to quote", true)),
                (_, "new") => {}
                (_, "list") => {
                    opts.push(with_choices(
                        string("state", "only in this state", false),
                        crate::domain::state_names(kind)
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ));
                    opts.push(string("owner", "only this owner's (me for yours)", false));
                }
                (_, "line") => {
                    opts.push(choice_list(
                        "op",
                        "add, edit or remove a line",
                        true,
                        &["add", "edit", "remove"],
                    ));
                    opts.push(string(word, "the record", true));
                }
                _ => opts.push(string(word, "the record", true)),
            }
            if let Some(step) = reason_step(kind, action) {
                let reasons = reasons(config, step);
                opts.push(if reasons.is_empty() {
                    string("reason", "why", true)
                } else {
                    with_choices(string("reason", "why", true), reasons)
                });
            }
            if matches!(
                action,
                "new"
                    | "edit"
                    | "line"
                    | "win"
                    | "lose"
                    | "close"
                    | "fulfil"
                    | "cancel"
                    | "paid"
                    | "pay"
                    | "invoice"
                    | "send"
                    | "reschedule"
                    | "assign"
                    | "done"
                    | "disqualify"
            ) {
                opts.push(string(
                    "fields",
                    "more name:value options, e.g. qty:10 discount:5%",
                    false,
                ));
            }
            subs.push(sub(action, &format!("{word} {action}"), opts));
        }
        out.push(command(word, &format!("{}s", kind.name()), subs));
    }
    let rec = || string("record", "the record, e.g. O-1001", true);
    let fields = || string("fields", "more name:value options", false);
    out.push(command(
        "qualify",
        "Qualify a lead",
        vec![string("lead", "the lead", true)],
    ));
    out.push(command(
        "disqualify",
        "Disqualify a lead with a reason",
        vec![
            string("lead", "the lead", true),
            with_choices(
                string("reason", "why", true),
                reasons(config, Step::LeadDisqualify),
            ),
            string("description", "a note", false),
        ],
    ));
    out.push(command(
        "call",
        "Log a call, or schedule the next one",
        vec![
            rec(),
            string("subject", "what about", false),
            string("result", "how it went (logged)", false),
            string("due", "when the next one is due (scheduled)", false),
            fields(),
        ],
    ));
    out.push(command(
        "task",
        "A task with a due date",
        vec![
            rec(),
            string("subject", "what to do", true),
            string("due", "when, e.g. tomorrow 9:00", false),
            string("owner", "who", false),
            fields(),
        ],
    ));
    out.push(command(
        "meeting",
        "An appointment",
        vec![
            rec(),
            string("subject", "what", true),
            string("start", "when it starts", true),
            string("end", "when it ends", false),
            string("attendees", "e-mails, comma separated", false),
            string("location", "where", false),
        ],
    ));
    out.push(command(
        "note",
        "A note on the timeline",
        vec![rec(), string("text", "the note", true)],
    ));
    out.push(command(
        "timeline",
        "A record's activities",
        vec![
            rec(),
            choice_list(
                "state",
                "only these",
                false,
                &["active", "closed", "overdue"],
            ),
            choice_list(
                "kind",
                "only this kind",
                false,
                crate::domain::activity::KINDS,
            ),
        ],
    ));
    out.push(command(
        "done",
        "Complete an activity",
        vec![
            string("activity", "the activity, e.g. ACT-1001", true),
            string("result", "how it went", false),
        ],
    ));
    out.push(command(
        "agenda",
        "Overdue and due today",
        vec![string("owner", "whose (default: yours)", false)],
    ));
    out.push(command(
        "overdue",
        "Overdue items",
        vec![string("owner", "whose (default: yours)", false)],
    ));
    out.push(command(
        "find",
        "Search every record and product (Muller finds Müller)",
        vec![
            string("args", "names, company, e-mail, phone, city or id", true),
            choice_list(
                "kind",
                "only this kind",
                false,
                crate::command::search::KINDS,
            ),
        ],
    ));
    out.push(command(
        "pipeline",
        "Open opportunities: estimated and weighted revenue",
        vec![
            string("owner", "a member, or team (default: the team)", false),
            choice_list("by", "group by", false, &["month", "owner", "stage"]),
        ],
    ));
    out.push(command(
        "report",
        "Reports",
        vec![
            sub(
                "wonlost",
                "Opportunities won and lost in a period",
                vec![
                    string("from", "first day (2026-01-01, -30d)", false),
                    string("to", "last day (default: today)", false),
                    choice_list(
                        "by",
                        "group by",
                        false,
                        &["reason", "owner", "competitor", "product"],
                    ),
                ],
            ),
            sub(
                "revenue",
                "Won and invoiced revenue, paid and open",
                vec![choice_list(
                    "by",
                    "group by",
                    false,
                    &["month", "quarter", "owner", "account", "product"],
                )],
            ),
            sub(
                "funnel",
                "Leads and opportunities created in a period, and what became of them",
                vec![
                    string("from", "first day (2026-01-01, -30d)", false),
                    string("to", "last day (default: today)", false),
                ],
            ),
            sub(
                "aging",
                "Unpaid invoices by days overdue",
                vec![string("owner", "a member, or team", false)],
            ),
        ],
    ));
    out.push(command("show", "Show any record", vec![rec()]));
    out.push(command("history", "Who changed what", vec![rec()]));
    out.push(command(
        "list",
        "List records",
        vec![
            choice_list(
                "args",
                "what to list",
                true,
                &[
                    "leads",
                    "opps",
                    "quotes",
                    "orders",
                    "invoices",
                    "contacts",
                    "accounts",
                    "products",
                    "activities",
                ],
            ),
            string("state", "only in this state", false),
            string("owner", "only this owner's", false),
        ],
    ));
    out.push(command(
        "email",
        "Mail about a record",
        vec![
            rec(),
            string("subject", "the subject", false),
            string("body", "the text", false),
            choice_list(
                "template",
                "a template instead",
                false,
                &["followup", "intro", "quote", "invoice"],
            ),
            string("message", "your own words for a template", false),
        ],
    ));
    out.push(command(
        "inbox",
        "Unmatched mail",
        vec![
            choice_list("action", "what to do", false, &["list", "link", "lead"]),
            string("mail", "the mail's #number", false),
            string("record", "the record to file it on", false),
        ],
    ));
    out.push(command(
        "outbox",
        "Mail waiting to go out",
        vec![
            choice_list("action", "what to do", false, &["list", "all", "retry"]),
            string("mail", "the entry's #number", false),
        ],
    ));
    out.push(command(
        "help",
        "Every command",
        vec![choice_list(
            "args",
            "a topic",
            false,
            &[
                "lead",
                "opp",
                "quote",
                "order",
                "invoice",
                "activities",
                "mail",
                "product",
                "records",
                "reasons",
            ],
        )],
    ));
    out.push(command(
        "web",
        "a sign-in link to the web view, for you only",
        vec![],
    ));
    out
}
