//! The words and options of one command line as it is parsed: typed
//! readers (ids, dates, amounts, fields, lines, a closing reason) that
//! every command family's parser uses, and the parsers several families
//! share (`list`, a `show` target, `limit:`).

use std::collections::VecDeque;

use super::parse::{CloseInput, Command, FieldKey, Fields, ListQuery, Target};
use super::values::{
    parse_amount, parse_date, parse_discount, parse_field, parse_percent, parse_when, parse_yes_no,
    resolve_owner,
};
use super::{CommandError, Context};
use crate::domain::activity::Due;
use crate::domain::fields::normalize_name;
use crate::domain::lines::LineInput;
use crate::domain::product::Product;
use crate::domain::{builtin_field, state_names, Kind, RecordId};
use chrono::NaiveDate;

pub(super) fn invalid(msg: impl Into<String>) -> CommandError {
    CommandError::Invalid(msg.into())
}

/// The words and options of one command, consumed as it is parsed.
pub(super) struct Args<'a, 'c> {
    /// The command as typed so far, for messages (`/quote close`).
    pub(super) name: String,
    pub(super) words: VecDeque<(String, bool)>,
    /// (normalised name, name as typed, value)
    pub(super) opts: Vec<(String, String, String)>,
    pub(super) ctx: &'a Context<'c>,
}

impl<'a, 'c> Args<'a, 'c> {
    pub(super) fn word(&mut self) -> Option<String> {
        self.words.pop_front().map(|(w, _)| w)
    }

    pub(super) fn id(&mut self, kind: Kind) -> Result<RecordId, CommandError> {
        let Some(w) = self.word() else {
            let f = self.ctx.rules.numbering.format(kind);
            return Err(invalid(format!(
                "{} needs {} id, e.g. {} {}{}",
                self.name,
                kind.with_article(),
                self.name,
                f.prefix,
                f.first
            )));
        };
        // `Q-1001 rev 2` arrives as three words.
        let mut text = w;
        if kind == Kind::Quote
            && self
                .words
                .front()
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case("rev"))
        {
            self.words.pop_front();
            text = format!("{text} rev {}", self.word().unwrap_or_default());
        }
        let id = self
            .ctx
            .rules
            .numbering
            .parse(&text)
            .map_err(|e| invalid(e.to_string()))?;
        if id.kind != kind {
            return Err(invalid(format!(
                "{} takes {} id; {text} is {}",
                self.name,
                kind.with_article(),
                id.kind.with_article()
            )));
        }
        Ok(id)
    }

    pub(super) fn number(&mut self, kind: Kind) -> Result<u64, CommandError> {
        Ok(self.id(kind)?.number)
    }

    pub(super) fn opt(&mut self, names: &[&str]) -> Result<Option<String>, CommandError> {
        let mut found: Option<String> = None;
        let mut i = 0;
        while i < self.opts.len() {
            if names.contains(&self.opts[i].0.as_str()) {
                let (_, typed, value) = self.opts.remove(i);
                if found.is_some() {
                    return Err(invalid(format!("{typed} is given twice")));
                }
                found = Some(value);
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    pub(super) fn text(&mut self, names: &[&str]) -> Result<Option<String>, CommandError> {
        Ok(self
            .opt(names)?
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    pub(super) fn date(&mut self, names: &[&str]) -> Result<NaiveDate, CommandError> {
        match self.opt(names)? {
            None => Ok(self.ctx.today()),
            Some(v) => {
                parse_date(&v, self.ctx.today()).map_err(|e| invalid(format!("{}: {e}", names[0])))
            }
        }
    }

    pub(super) fn yes_no(&mut self, names: &[&str], default: bool) -> Result<bool, CommandError> {
        match self.opt(names)? {
            None => Ok(default),
            Some(v) => parse_yes_no(&v, names[0]).map_err(invalid),
        }
    }

    /// A due time, read in the acting user's time zone.
    pub(super) fn when(&mut self, names: &[&str]) -> Result<Option<Due>, CommandError> {
        match self.opt(names)? {
            None => Ok(None),
            Some(v) => {
                let tz = self.ctx.team.zone_of(&self.ctx.actor);
                parse_when(&v, self.ctx.today(), tz)
                    .map(Some)
                    .map_err(|e| invalid(format!("{}: {e}", names[0])))
            }
        }
    }

    /// Any record id (not a product).
    pub(super) fn any_id(&mut self) -> Result<RecordId, CommandError> {
        let Some(w) = self.words.front().map(|(w, _)| w.clone()) else {
            return Err(invalid(format!(
                "{} needs a record id, e.g. {} L-1001",
                self.name, self.name
            )));
        };
        let id = self
            .ctx
            .rules
            .numbering
            .parse(&w)
            .map_err(|e| invalid(e.to_string()))?;
        self.id(id.kind)
    }

    /// The subject: `subject:`, or the words after the id
    /// (`/task L-1001 Send brochure due:fri`).
    pub(super) fn subject(&mut self) -> Result<Option<String>, CommandError> {
        let given = self.text(&["subject", "title", "topic"])?;
        if given.is_some() {
            return Ok(given);
        }
        let words: Vec<String> = std::iter::from_fn(|| self.word()).collect();
        Ok(Some(words.join(" ").trim().to_string()).filter(|w| !w.is_empty()))
    }

    /// `to:` and `cc:` as lists of checked e-mail addresses.
    pub(super) fn recipients(&mut self) -> Result<(Vec<String>, Vec<String>), CommandError> {
        let to = split_list(self.text(&["to"])?);
        let cc = split_list(self.text(&["cc"])?);
        for a in to.iter().chain(&cc) {
            super::values::parse_email(a).map_err(|e| invalid(format!("to/cc: {e}")))?;
        }
        Ok((to, cc))
    }

    pub(super) fn owner(&mut self) -> Result<Option<String>, CommandError> {
        match self.opt(&["owner", "for", "assign"])? {
            None => Ok(None),
            Some(o) => resolve_owner(&o, self.ctx).map(Some).map_err(invalid),
        }
    }

    pub(super) fn close_input(&mut self) -> Result<CloseInput, CommandError> {
        let mut reason = self.text(&["reason", "status", "status_reason"])?;
        // `/disqualify L-1002 "cannot contact"`: a quoted word is the reason.
        if reason.is_none() && self.words.front().is_some_and(|(_, quoted)| *quoted) {
            reason = self.word();
        }
        let date = self.date(&["date", "close_date", "on"])?;
        if date > self.ctx.today() {
            return Err(invalid(format!(
                "date: {date} is in the future; a step is closed on the day it happened (today or earlier)"
            )));
        }
        Ok(CloseInput {
            reason,
            date,
            description: self.text(&["description", "desc", "note", "comment"])?,
        })
    }

    pub(super) fn fields(&mut self, kind: Kind) -> Result<Fields, CommandError> {
        let mut out: Fields = Vec::new();
        for (norm, typed, value) in std::mem::take(&mut self.opts) {
            let (key, ty, custom) = if let Some(spec) = builtin_field(kind, &norm) {
                (FieldKey::Builtin(spec.name), spec.ty, None)
            } else if let Some(def) = self.ctx.rules.custom(kind).iter().find(|d| d.name == norm) {
                (
                    FieldKey::Custom(def.name.clone()),
                    def.field_type(),
                    Some(def),
                )
            } else {
                return Err(invalid(unknown_field(kind, &typed, self.ctx)));
            };
            if out.iter().any(|(k, _)| *k == key) {
                return Err(invalid(format!("{typed} is given twice")));
            }
            let v = parse_field(&typed, ty, &value, self.ctx, custom).map_err(invalid)?;
            out.push((key, v));
        }
        Ok(out)
    }

    pub(super) fn product_fields(&mut self) -> Result<Fields, CommandError> {
        use crate::domain::fields::{find, Editable};
        let mut out: Fields = Vec::new();
        for (norm, typed, value) in std::mem::take(&mut self.opts) {
            let Some(spec) = find(Product::FIELDS, &norm) else {
                return Err(invalid(format!(
                    "products have no field '{typed}'; fields: {}",
                    Product::field_names().join(", ")
                )));
            };
            let v = parse_field(&typed, spec.ty, &value, self.ctx, None).map_err(invalid)?;
            out.push((FieldKey::Builtin(spec.name), v));
        }
        Ok(out)
    }

    pub(super) fn line_input(&mut self) -> Result<LineInput, CommandError> {
        let sku = match self.opt(&["sku", "product"])? {
            Some(s) => Some(Product::parse_sku(&s).map_err(|e| invalid(e.to_string()))?),
            None => None,
        };
        let description = self.text(&["name", "description", "desc"])?;
        let quantity = match self.opt(&["qty", "quantity", "menge"])? {
            Some(q) => Some(
                super::values::parse_quantity(&q, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("qty: {e}")))?,
            ),
            None => None,
        };
        let unit_price = match self.opt(&["price", "unit_price"])? {
            Some(p) => Some(
                parse_amount(&p, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("price: {e}")))?,
            ),
            None => None,
        };
        let discount = match self.opt(&["discount", "rabatt"])? {
            Some(d) => Some(
                parse_discount(&d, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("discount: {e}")))?,
            ),
            None => None,
        };
        let tax_rate = match self.opt(&["tax", "tax_rate", "vat"])? {
            Some(t) => Some(
                parse_percent(&t, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("tax: {e}")))?,
            ),
            None => None,
        };
        Ok(LineInput {
            sku,
            description,
            quantity,
            unit_price,
            discount,
            tax_rate,
        })
    }

    pub(super) fn line_no(&mut self) -> Result<u32, CommandError> {
        let raw = match self.opt(&["line", "no"])? {
            Some(v) => v,
            None => self.word().ok_or_else(|| {
                invalid(format!("{} needs a line number, e.g. line:1", self.name))
            })?,
        };
        raw.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "'{raw}' is not a line number; lines are numbered 1, 2, 3..."
                ))
            })
    }

    /// `revenue:` of a win: an amount, or `compute` (or nothing) to have
    /// it computed from the won quotes, the lines or the estimate.
    pub(super) fn revenue(&mut self) -> Result<Option<rust_decimal::Decimal>, CommandError> {
        match self.opt(&["revenue", "actual_revenue"])? {
            None => Ok(None),
            Some(r) if normalize_name(&r) == "compute" => Ok(None),
            Some(r) => parse_amount(&r, self.ctx.team.locale)
                .map(Some)
                .map_err(|e| invalid(format!("revenue: {e}"))),
        }
    }

    /// Refuses whatever was not used.
    pub(super) fn done(self) -> Result<(), CommandError> {
        if let Some((_, typed, _)) = self.opts.first() {
            return Err(invalid(format!(
                "{} has no option '{typed}'; see /help {}",
                self.name,
                self.name.trim_start_matches('/')
            )));
        }
        if let Some((w, _)) = self.words.front() {
            return Err(invalid(format!(
                "{} does not take '{w}'; put values with spaces in quotes, or see /help {}",
                self.name,
                self.name.trim_start_matches('/')
            )));
        }
        Ok(())
    }
}

pub(super) fn unknown_field(kind: Kind, typed: &str, ctx: &Context) -> String {
    use crate::domain::fields::Editable;
    use crate::domain::{invoice, lead, opportunity, order, party, quote};
    let names = match kind {
        Kind::Lead => lead::Lead::field_names(),
        Kind::Contact => party::Contact::field_names(),
        Kind::Account => party::Account::field_names(),
        Kind::Opportunity => opportunity::Opportunity::field_names(),
        Kind::Quote => quote::Quote::field_names(),
        Kind::Order => order::Order::field_names(),
        Kind::Invoice => invoice::Invoice::field_names(),
        Kind::Activity => crate::domain::activity::Activity::field_names(),
    };
    let custom: Vec<&str> = ctx
        .rules
        .custom(kind)
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let custom = if custom.is_empty() {
        String::new()
    } else {
        format!("; custom: {}", custom.join(", "))
    };
    format!(
        "{} have no field '{typed}'; fields: {}{custom}",
        kind.plural(),
        names.join(", ")
    )
}

/// `a, b; c` -> `[a, b, c]`.
pub(super) fn split_list(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split([',', ';'])
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn limit(args: &mut Args) -> Result<usize, CommandError> {
    match args.opt(&["limit"])? {
        None => Ok(20),
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| invalid(format!("limit:{l} must be a number from 1 to 500"))),
    }
}

pub(super) fn target(args: &mut Args) -> Result<Target, CommandError> {
    let Some(w) = args.words.front().map(|(w, _)| w.clone()) else {
        return Err(invalid(format!(
            "{} needs an id, e.g. {} L-1001",
            args.name, args.name
        )));
    };
    match args.ctx.rules.numbering.parse(&w) {
        Ok(id) => Ok(Target::Record(args.id(id.kind)?)),
        Err(_) => {
            args.word();
            // Not a record id: a product SKU.
            Ok(Target::Product(Product::parse_sku(&w).map_err(|_| {
                invalid(format!(
                    "'{w}' is neither a record id (L-1001, Q-1001 ...) nor a product SKU"
                ))
            })?))
        }
    }
}

pub(super) fn list(args: &mut Args, kind: Option<Kind>) -> Result<Command, CommandError> {
    if kind == Some(Kind::Activity)
        && args
            .opts
            .iter()
            .any(|(n, _, _)| n == "state" || n == "status" || n == "owner")
    {
        return Err(invalid(
            "activities are listed by record (/timeline <id> state:..), by owner (/agenda owner:.., /overdue owner:..) or all (/list activities)",
        ));
    }
    let state = match args.opt(&["state", "status"])? {
        None => None,
        Some(s) => {
            let allowed: &[&str] = match kind {
                Some(k) => state_names(k),
                None => &["active", "retired"],
            };
            let want = normalize_name(&s);
            Some(*allowed.iter().find(|a| **a == want).ok_or_else(|| {
                invalid(format!(
                    "state:{s} is not a state here; states: {}",
                    allowed.join(", ")
                ))
            })?)
        }
    };
    let owner = match args.opt(&["owner"])? {
        None => None,
        Some(o) => Some(resolve_owner(&o, args.ctx).map_err(invalid)?),
    };
    let limit = match args.opt(&["limit"])? {
        None => 20,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| invalid(format!("limit:{l} must be a number from 1 to 500")))?,
    };
    let after = match (args.opt(&["after"])?, kind) {
        (None, _) => None,
        (Some(a), Some(k)) => Some(
            args.ctx
                .rules
                .numbering
                .parse(&a)
                .ok()
                .filter(|id| id.kind == k)
                .map(|id| id.number)
                .ok_or_else(|| invalid(format!("after:{a} must be {} id", k.with_article())))?,
        ),
        (Some(_), None) => {
            return Err(invalid("products are listed by SKU; after: does not apply"))
        }
    };
    Ok(Command::List(ListQuery {
        kind,
        state,
        owner,
        limit,
        after,
    }))
}
