//! The generic record commands every kind has: `/show`, `/list`,
//! `/history`, `/<kind> new`, `/<kind> edit`, the import's lead, and
//! `/help`: parsed, applied and explained side by side.

use super::apply::{
    check_unique, ensure_exists_any, field_text, no_product, read_product, reply, set_fields,
};
use super::args::{invalid, Args};
use super::parse::Command;
use super::parse::{FieldKey, Fields, ListQuery, Target};
use super::records::Tx;
use super::records::{self, keys, load, next_number, require, save};
use super::{help, render};
use super::{CommandError, Context, Family, Reply};
use crate::domain::activity::Activity;
use crate::domain::fields::normalize_name;
use crate::domain::fields::Editable;
use crate::domain::invoice::Invoice;
use crate::domain::lead::Lead;
use crate::domain::opportunity::Opportunity;
use crate::domain::opportunity::{OppState, OppStatus};
use crate::domain::order::Order;
use crate::domain::party::{Account, Address, Contact};
use crate::domain::product::Product;
use crate::domain::quote::Quote;
use crate::domain::Kind;
use crate::domain::{Record, RecordId, Refusal};

/// The record family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "records",
    actions: &[(Kind::Lead, "new"), (Kind::Contact, "new"), (Kind::Account, "new"), (Kind::Opportunity, "new"), (Kind::Lead, "edit"), (Kind::Lead, "show"), (Kind::Lead, "list"), (Kind::Lead, "history"), (Kind::Contact, "edit"), (Kind::Contact, "show"), (Kind::Contact, "list"), (Kind::Contact, "history"), (Kind::Account, "edit"), (Kind::Account, "show"), (Kind::Account, "list"), (Kind::Account, "history"), (Kind::Opportunity, "edit"), (Kind::Opportunity, "show"), (Kind::Opportunity, "list"), (Kind::Opportunity, "history"), (Kind::Quote, "edit"), (Kind::Quote, "show"), (Kind::Quote, "list"), (Kind::Quote, "history"), (Kind::Order, "edit"), (Kind::Order, "show"), (Kind::Order, "list"), (Kind::Order, "history"), (Kind::Invoice, "edit"), (Kind::Invoice, "show"), (Kind::Invoice, "list"), (Kind::Invoice, "history"), (Kind::Activity, "edit"), (Kind::Activity, "show"), (Kind::Activity, "list"), (Kind::Activity, "history")],
    steps: &["edit", "read"],
    help: &[
        ("/show <id>   /<kind> show <id>   /<kind> <id>",
         "show any record"),
        ("/list leads [state:open] [owner:me] [limit:20] [after:L-1040]",
         "list newest first; also contacts, accounts, opps, quotes, orders, invoices, products"),
        ("/find Müller Berlin [kind:lead] [limit:20]",
         "search names, companies, e-mails, phones, cities, topics and ids of every record and product (Muller finds Müller)"),
        ("/history <id>",
         "who changed what, when, with which command"),
        ("/contact edit C-1001 ...   /account edit A-1001 ...",
         "contacts and accounts"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/show`, `/history`, `/list` and `/<kind> new|edit|show|list|history`.
///
/// Fails when an id, a field or a list option does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None, "show" | "open") => Command::Show(super::args::target(args)?),
        (None, "history" | "log") => Command::History(super::args::target(args)?),
        (None, "list" | "ls") => {
            let word = args
                .word()
                .ok_or_else(|| invalid("/list needs a kind: /list leads, /list quotes ..."))?;
            let kind = if normalize_name(&word).trim_end_matches('s') == "product" {
                None
            } else {
                Some(Kind::from_word(&word).ok_or_else(|| invalid(format!("cannot list '{word}'; lists: leads, contacts, accounts, opps, quotes, orders, invoices, products")))?)
            };
            super::args::list(args, kind)?
        }
        (Some(kind), "list") => super::args::list(args, Some(kind))?,
        (Some(kind), "show") => Command::Show(Target::Record(args.id(kind)?)),
        (Some(kind), "history") => Command::History(Target::Record(args.id(kind)?)),
        // A quote is made from its opportunity ([`super::quote`]).
        (Some(kind), "new") if kind != Kind::Quote => {
            // A quoted word is the topic or name: `/lead new "Office chairs" ...`
            if let Some((w, true)) = args.words.front().cloned() {
                args.words.pop_front();
                let key = match kind {
                    Kind::Lead => "topic",
                    Kind::Contact => "last_name",
                    _ => "name",
                };
                args.opts.push((key.to_string(), key.to_string(), w));
            }
            Command::New {
                kind,
                fields: args.fields(kind)?,
            }
        }
        (Some(kind), "edit") => {
            let target = args.id(kind)?;
            let fields = args.fields(kind)?;
            if fields.is_empty() {
                return Err(invalid(format!(
                    "{} needs at least one field:value to change",
                    args.name
                )));
            }
            Command::Edit { target, fields }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step a generic record command is: `edit` for records other
/// families do not name, `read` for what only reads.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::New { .. } | Command::Edit { .. } => "edit",
        c if c.is_read_only() => "read",
        _ => return None,
    })
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Reply>, CommandError> {
    let reply = match cmd {
        Command::Help(topic) => help::text(topic.as_deref(), ctx.rules)
            .map(Reply::text)
            .map_err(CommandError::Invalid),
        Command::Show(target) => show(tx, ctx, target),
        Command::List(q) => list(tx, ctx, q),
        Command::History(target) => history(tx, ctx, target),
        Command::New { kind, fields } => create(tx, ctx, text, *kind, fields),
        Command::ImportLead(fields) => {
            if let Some(email) = field_text(fields, "email") {
                let existing = leads_with_email(tx, &email.to_lowercase())?;
                if !existing.is_empty() {
                    return Ok(Some(
                        Reply::text(format!("leads with {email} exist"))
                            .with(super::Outcome::Duplicate(existing)),
                    ));
                }
            }
            create(tx, ctx, text, Kind::Lead, fields)
        }
        Command::Edit { target, fields } => edit(tx, ctx, text, *target, fields),
        _ => return Ok(None),
    };
    reply.map(Some)
}

fn other_leads_with_email(
    tx: &dyn Tx,
    ctx: &Context,
    lead: &Lead,
) -> Result<Vec<String>, CommandError> {
    let Some(email) = &lead.email else {
        return Ok(Vec::new());
    };
    let rows = tx.scan(&keys::lead_email(email), None, false, 5)?;
    Ok(rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .filter(|n| *n != lead.number)
        .map(|n| ctx.rules.show(Kind::Lead, n))
        .collect())
}

/// Leads with this e-mail, for import's duplicate check.
///
/// Fails when the store cannot be read.
pub fn leads_with_email(tx: &dyn Tx, email: &str) -> Result<Vec<u64>, CommandError> {
    let rows = tx.scan(&keys::lead_email(email), None, false, 5)?;
    Ok(rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .collect())
}

fn create(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    kind: Kind,
    fields: &Fields,
) -> Result<Reply, CommandError> {
    let number = next_number(tx, ctx, kind)?;
    let id = ctx.rules.show(kind, number);
    let owner = ctx.actor.clone();
    let made = match kind {
        Kind::Lead => {
            let mut lead = Lead::new(number, String::new(), owner, ctx.rules.currency.clone(), ctx.now);
            set_fields(tx, ctx, kind, &mut lead, fields)?;
            lead.check_complete()?;
            let others = other_leads_with_email(tx, ctx, &lead)?;
            save(tx, ctx, text, None, &lead)?;
            let mut msg = format!("Created {id} {}.", lead.title());
            if !others.is_empty() {
                msg.push_str(&format!(
                    " Note: {} also {} this e-mail.",
                    others.join(", "),
                    if others.len() == 1 { "has" } else { "have" }
                ));
            }
            Ok(reply(ctx, msg, &lead, vec![format!("/qualify {id}"), format!("/disqualify {id} reason:")]))
        }
        Kind::Contact => {
            let mut c = Contact {
                number,
                first_name: None,
                last_name: None,
                email: None,
                mobile_phone: None,
                business_phone: None,
                job_title: None,
                account: None,
                description: None,
                owner,
                custom: Default::default(),
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut c, fields)?;
            if c.last_name.is_none() && c.email.is_none() {
                return Err(Refusal::new("a contact needs a last name or an e-mail (last:..., email:...)").into());
            }
            check_unique(tx, ctx, kind, number, c.lookups())?;
            save(tx, ctx, text, None, &c)?;
            Ok(reply(ctx, format!("Created {id} {}.", c.full_name()), &c, vec![]))
        }
        Kind::Account => {
            let mut a = Account {
                number,
                name: String::new(),
                website: None,
                phone: None,
                address: Address::default(),
                primary_contact: None,
                description: None,
                owner,
                custom: Default::default(),
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut a, fields)?;
            if a.name.trim().is_empty() {
                return Err(Refusal::new("an account needs a name (name:\"...\")").into());
            }
            check_unique(tx, ctx, kind, number, a.lookups())?;
            save(tx, ctx, text, None, &a)?;
            Ok(reply(ctx, format!("Created {id} {}.", a.name), &a, vec![]))
        }
        Kind::Opportunity => {
            if field_text(fields, "name").is_none() {
                return Err(Refusal::new("an opportunity needs a name (name:\"...\")").into());
            }
            let mut o = Opportunity {
                number,
                name: String::new(),
                account: None,
                contact: None,
                lead: None,
                current_situation: None,
                desired_situation: None,
                proposed_solution: None,
                description: None,
                probability: None,
                estimated_revenue: None,
                budget: None,
                decision_date: None,
                follow_up: None,
                owner,
                pricing: crate::domain::lines::Pricing {
                    freight_tax: ctx.rules.freight_tax,
                    ..crate::domain::lines::Pricing::new(ctx.rules.currency.clone())
                },
                custom: Default::default(),
                quotes: Vec::new(),
                state: OppState::Open {
                    status: OppStatus::InProgress,
                },
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut o, fields)?;
            save(tx, ctx, text, None, &o)?;
            Ok(reply(ctx, format!("Created {id} {}.", o.name), &o, vec![format!("/opp line add {id} sku:"), format!("/quote new {id}")]))
        }
        Kind::Activity => Err(CommandError::Invalid(
            "activities are added from a record's timeline: /call, /task, /meeting or /note <id> ...".to_string(),
        )),
        Kind::Quote | Kind::Order | Kind::Invoice => Err(CommandError::Invalid(format!(
            "{} are not made with new; they come from the step before (/quote new O-..., /quote win, /order invoice)",
            kind.plural()
        ))),
    };
    made.map(|r| r.with(super::Outcome::Created(RecordId::new(kind, number))))
}

fn edit(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    target: RecordId,
    fields: &Fields,
) -> Result<Reply, CommandError> {
    fn run<R: Record + Editable>(
        tx: &mut dyn Tx,
        ctx: &Context,
        text: &str,
        target: RecordId,
        fields: &Fields,
        guard: impl Fn(&R) -> Result<(), Refusal>,
    ) -> Result<Reply, CommandError> {
        let old: R = require(tx, ctx, target.number, target.revision)?;
        guard(&old)?;
        let mut new = old.clone();
        set_fields(tx, ctx, R::KIND, &mut new, fields)?;
        check_unique(tx, ctx, R::KIND, new.number(), new.lookups())?;
        save(tx, ctx, text, Some(&old), &new)?;
        let names: Vec<String> = fields
            .iter()
            .map(|(k, _)| match k {
                FieldKey::Builtin(n) => n.to_string(),
                FieldKey::Custom(n) => n.clone(),
            })
            .collect();
        let id = ctx.rules.numbering.display(new.id());
        Ok(reply(
            ctx,
            format!("Updated {id} ({}).", names.join(", ")),
            &new,
            vec![],
        ))
    }
    let r = ctx.rules;
    match target.kind {
        Kind::Lead => run::<Lead>(tx, ctx, text, target, fields, |l| {
            l.ensure_open(r, "edit")?;
            let mut probe = l.clone();
            for (k, v) in fields {
                if let FieldKey::Builtin(n) = k {
                    probe.set(n, v.clone())?;
                }
            }
            probe.check_complete()
        }),
        Kind::Contact => run::<Contact>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Account => run::<Account>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Activity => run::<Activity>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Opportunity => {
            run::<Opportunity>(tx, ctx, text, target, fields, |o| o.ensure_open(r, "edit"))
        }
        Kind::Quote => run::<Quote>(tx, ctx, text, target, fields, |q| q.ensure_draft(r, "edit")),
        Kind::Order => run::<Order>(tx, ctx, text, target, fields, |o| {
            o.ensure_active(r, "edit")
        }),
        Kind::Invoice => {
            run::<Invoice>(tx, ctx, text, target, fields, |i| i.ensure_open(r, "edit"))
        }
    }
}

fn show(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<Reply, CommandError> {
    fn one<R: Record>(
        tx: &dyn Tx,
        ctx: &Context,
        id: RecordId,
        f: impl Fn(&R, &dyn Tx) -> Result<(String, Vec<String>), CommandError>,
    ) -> Result<Reply, CommandError> {
        let r: R = require(tx, ctx, id.number, id.revision)?;
        let (text, next) = f(&r, tx)?;
        Ok(reply(ctx, text, &r, next))
    }
    match target {
        Target::Product(sku) => {
            let p = read_product(tx, sku)?.ok_or_else(|| no_product(ctx, sku))?;
            Ok(reply(ctx, render::product(&p), &p, vec![]))
        }
        Target::Record(id) => match id.kind {
            Kind::Lead => one::<Lead>(tx, ctx, *id, |r, _| Ok(render::lead(r, ctx))),
            Kind::Contact => {
                one::<Contact>(tx, ctx, *id, |r, _| Ok((render::contact(r, ctx), vec![])))
            }
            Kind::Account => one::<Account>(tx, ctx, *id, |r, tx| {
                let mut text = render::account(r, ctx);
                for line in render::account_records(tx, ctx, r.number)? {
                    text.push('\n');
                    text.push_str(&line);
                }
                Ok((text, vec![]))
            }),
            Kind::Opportunity => one::<Opportunity>(tx, ctx, *id, |r, tx| {
                let mut quotes = Vec::new();
                for n in &r.quotes {
                    if let Some(q) = load::<Quote>(tx, *n, None)? {
                        quotes.push(q);
                    }
                }
                Ok(render::opportunity(
                    r,
                    &quotes,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Quote => one::<Quote>(tx, ctx, *id, |r, tx| {
                Ok(render::quote(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Order => one::<Order>(tx, ctx, *id, |r, tx| {
                Ok(render::order(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Invoice => one::<Invoice>(tx, ctx, *id, |r, tx| {
                Ok(render::invoice(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Activity => one::<Activity>(tx, ctx, *id, |r, _| Ok(render::activity(r, ctx))),
        },
    }
}

/// The names of a record's account and contact, for `show`.
fn party_names(
    tx: &dyn Tx,
    account: Option<u64>,
    contact: Option<u64>,
) -> Result<render::Parties, CommandError> {
    Ok(render::Parties {
        account: match account {
            Some(n) => load::<Account>(tx, n, None)?.map(|a| a.name),
            None => None,
        },
        contact: match contact {
            Some(n) => load::<Contact>(tx, n, None)?.map(|c| c.full_name()),
            None => None,
        },
    })
}

fn list(tx: &dyn Tx, ctx: &Context, q: &ListQuery) -> Result<Reply, CommandError> {
    let Some(kind) = q.kind else {
        let rows = tx.scan(keys::PRODUCTS, None, false, usize::MAX)?;
        let mut lines = Vec::new();
        let mut data = Vec::new();
        for (_, v) in rows {
            let p: Product = serde_json::from_slice(&v)
                .map_err(|e| CommandError::Store(records::TxError(e.to_string())))?;
            let state = if p.active { "active" } else { "retired" };
            if q.state.is_some_and(|s| s != state) || lines.len() >= q.limit {
                continue;
            }
            lines.push(render::product_line(&p));
            data.push(p);
        }
        let text = if lines.is_empty() {
            "No products.".to_string()
        } else {
            lines.join("\n")
        };
        return Ok(reply(ctx, text, &data, vec![]));
    };
    let entries = match (q.state, q.owner.as_deref()) {
        (None, None) => newest_entries(tx, &keys::records(kind), q)?,
        (Some(state), Some(owner)) => newest_entries(tx, &keys::index(kind, state, owner), q)?,
        // A state's records: the newest of each of its owners' ranges; an
        // owner's: the newest of each state's.
        (Some(state), None) => {
            let owners = segments(tx, &keys::state_base(kind, state))?;
            merge_newest(tx, q, owners.iter().map(|o| keys::index(kind, state, o)))?
        }
        (None, Some(owner)) => {
            let states = segments(tx, &keys::state_owner_base(kind))?;
            merge_newest(tx, q, states.iter().map(|s| keys::index(kind, s, owner)))?
        }
    };
    let more = entries.len() > q.limit;
    let mut lines = Vec::new();
    let mut data = Vec::new();
    let mut last = None;
    let mut ids = Vec::new();
    for entry in entries.into_iter().take(q.limit) {
        let entry = String::from_utf8_lossy(&entry).to_string();
        let mut parts = entry.split('/');
        let number: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let revision: Option<u32> = parts.next().and_then(|r| r.parse().ok());
        last = Some(number);
        ids.push(RecordId {
            kind,
            number,
            revision,
        });
        let (line, json) = render::list_line(tx, ctx, kind, number, revision)?;
        lines.push(line);
        data.push(json);
    }
    let mut text = if lines.is_empty() {
        format!(
            "No {}{}.",
            kind.plural(),
            q.state
                .map(|s| format!(" in state {s}"))
                .unwrap_or_default()
        )
    } else {
        lines.join("\n")
    };
    let mut next = Vec::new();
    if let (true, Some(n)) = (more, last) {
        let after = ctx.rules.show(kind, n);
        text.push_str(&format!("\n(more: add after:{after})"));
        next.push(format!("after:{after}"));
    }
    Ok(reply(ctx, text, &data, next).with(super::Outcome::Listed(ids)))
}

/// The entries (`number` or `number/revision`, as key bytes) under
/// `prefix`, newest first, before `q.after` when given; one more than
/// `q.limit` tells that there are more.
fn newest_entries(tx: &dyn Tx, prefix: &[u8], q: &ListQuery) -> Result<Vec<Vec<u8>>, CommandError> {
    let from = q.after.map(|n| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(keys::entry(n, None).as_bytes());
        k
    });
    Ok(tx
        .scan(prefix, from.as_deref(), true, q.limit + 1)?
        .into_iter()
        .map(|(key, _)| key[prefix.len()..].to_vec())
        .collect())
}

/// The newest entries of several ranges together, as [`newest_entries`].
fn merge_newest(
    tx: &dyn Tx,
    q: &ListQuery,
    prefixes: impl Iterator<Item = Vec<u8>>,
) -> Result<Vec<Vec<u8>>, CommandError> {
    let mut all = Vec::new();
    for prefix in prefixes {
        all.extend(newest_entries(tx, &prefix, q)?);
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(q.limit + 1);
    Ok(all)
}

/// The distinct path segments right under `base` (states under
/// `i/lead/so/`, owners under `i/lead/so/open/`), found by seeking from
/// one segment's keys past their end to the next: one seek each.
fn segments(tx: &dyn Tx, base: &[u8]) -> Result<Vec<String>, CommandError> {
    let mut found = Vec::new();
    let mut from: Option<Vec<u8>> = None;
    while let Some((key, _)) = tx.scan(base, from.as_deref(), false, 1)?.into_iter().next() {
        let rest = &key[base.len()..];
        let Some(end) = rest.iter().position(|b| *b == b'/') else {
            break;
        };
        // Every key of this segment is below `base + segment + "0"` ('0'
        // follows '/').
        let mut past = base.to_vec();
        past.extend_from_slice(&rest[..end]);
        past.push(b'0');
        found.push(String::from_utf8_lossy(&rest[..end]).to_string());
        from = Some(past);
    }
    Ok(found)
}

fn history(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<Reply, CommandError> {
    let (subject, id) = match target {
        Target::Product(sku) => (format!("product/{sku}"), sku.clone()),
        Target::Record(id) => {
            ensure_exists_any(tx, ctx, *id)?;
            (
                records::history_subject(id.kind, id.number),
                ctx.rules.show(id.kind, id.number),
            )
        }
    };
    let entries = records::history(tx, &subject, 200)?;
    if entries.is_empty() {
        return Err(CommandError::NotFound(format!(
            "there is no history for {id}"
        )));
    }
    Ok(reply(
        ctx,
        render::history(&id, &entries, ctx),
        &entries,
        vec![],
    ))
}
