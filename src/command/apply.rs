//! [`apply`]: runs one typed [`Command`] against the records in a [`Tx`],
//! through the family that owns it ([`super::FAMILIES`]), and the helpers
//! the families share.
//!
//! Each family's branch loads what the step needs, asks the workflow core
//! for the transition, and saves every record it returns through
//! [`records::save`], which keeps indexes, lookups, numbers and history in
//! step. A refusal returns before anything is saved, and the store discards
//! the transaction, so a refused command never changes anything.

use rust_decimal::Decimal;

use super::parse::Fields;
use super::records::{self, keys, load, lookup, require, save, Tx};
use super::{Command, CommandError, Context, FieldKey, Outcome};
use crate::domain::fields::{set_custom, Editable, FieldType, FieldValue};
use crate::domain::opportunity::Opportunity;
use crate::domain::party::{account_name_key, website_domain, Account, Contact};
use crate::domain::product::Product;
use crate::domain::quote::Quote;
use crate::domain::{builtin_field, Kind, Record, RecordId, Refusal};

/// Runs `cmd` (typed from `text`) in `tx`.
///
/// Fails when the command is refused by the rules, names a record that does
/// not exist, or the store cannot be read; `tx` must then be discarded.
pub fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Outcome, CommandError> {
    let text = text.trim();
    super::permit(cmd, ctx)?;
    for family in super::FAMILIES {
        if let Some(outcome) = (family.apply)(cmd, text, tx, ctx)? {
            return Ok(outcome);
        }
    }
    Err(CommandError::Invalid(format!(
        "no command family runs {cmd:?}"
    )))
}

/// Loads record `number` (for quotes, `revision`), applies a transition of
/// the workflow core to it, and saves the result.
///
/// Fails when the record does not exist or the transition is refused.
pub(super) fn step<R: Record>(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    number: u64,
    revision: Option<u32>,
    transition: impl FnOnce(&R) -> Result<R, Refusal>,
) -> Result<R, CommandError> {
    let old: R = require(tx, ctx, number, revision)?;
    let new = transition(&old)?;
    save(tx, ctx, text, Some(&old), &new)?;
    Ok(new)
}

pub(super) fn read_product(tx: &dyn Tx, sku: &str) -> Result<Option<Product>, CommandError> {
    records::read(tx, &keys::product(sku))
}

/// Sets fields on a record, checking that referenced records exist.
pub(super) fn set_fields<R: Editable>(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    record: &mut R,
    fields: &Fields,
) -> Result<(), CommandError> {
    for (key, value) in fields {
        match key {
            FieldKey::Builtin(name) => {
                if let (FieldValue::Ref(n), Some(spec)) = (value, builtin_field(kind, name)) {
                    if let FieldType::Ref(k) = spec.ty {
                        ensure_exists(tx, ctx, k, *n)?;
                    }
                }
                record.set(name, value.clone())?;
            }
            FieldKey::Custom(name) => {
                if let Some(custom) = record.custom_mut() {
                    set_custom(custom, name, value.clone());
                }
            }
        }
    }
    Ok(())
}

pub(super) fn ensure_exists(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    n: u64,
) -> Result<(), CommandError> {
    if tx.get(&keys::record(kind, n, None))?.is_none() {
        return Err(CommandError::NotFound(format!(
            "there is no {} {}",
            kind.name(),
            ctx.rules.show(kind, n)
        )));
    }
    Ok(())
}

pub(super) fn find_account(
    tx: &dyn Tx,
    name: Option<&str>,
    website: Option<&str>,
) -> Result<Option<(Account, &'static str)>, CommandError> {
    if let Some(name) = name {
        if let Some(n) = lookup(tx, "account_name", &account_name_key(name))? {
            if let Some(a) = load::<Account>(tx, n, None)? {
                return Ok(Some((a, "name")));
            }
        }
    }
    if let Some(domain) = website.and_then(website_domain) {
        if let Some(n) = lookup(tx, "account_domain", &domain)? {
            if let Some(a) = load::<Account>(tx, n, None)? {
                return Ok(Some((a, "website")));
            }
        }
    }
    Ok(None)
}

pub(super) fn find_contact(
    tx: &dyn Tx,
    email: Option<&str>,
) -> Result<Option<Contact>, CommandError> {
    match email {
        Some(e) => match lookup(tx, "contact_email", &e.to_lowercase())? {
            Some(n) => load::<Contact>(tx, n, None),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Refuses a contact whose e-mail another contact has, or an account whose
/// name or website domain another account has.
/// Refuses a record whose unique lookups (a contact's e-mail, an
/// account's name or domain: [`crate::domain::Lookup::duplicate`]) another
/// record of its kind has.
///
/// Fails with that refusal, or when the store fails.
pub(super) fn check_unique(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    number: u64,
    lookups: Vec<crate::domain::Lookup>,
) -> Result<(), CommandError> {
    for l in lookups {
        let Some(field) = l.unique_field() else {
            continue;
        };
        let other: Option<u64> = records::read(tx, &keys::lookup(&l))?;
        if let Some(other) = other.filter(|o| *o != number) {
            return Err(l.duplicate(field, &ctx.rules.show(kind, other)).into());
        }
    }
    Ok(())
}

pub(super) fn field_text(fields: &Fields, name: &str) -> Option<String> {
    fields.iter().find_map(|(k, v)| match (k, v) {
        (FieldKey::Builtin(n), FieldValue::Text(t)) if *n == name => Some(t.clone()),
        _ => None,
    })
}

/// The sum of the won quotes' totals; without won quotes, the
/// opportunity's own lines, else its estimated revenue.
/// The revenue a win records when none is given
/// ([`Opportunity::computed_revenue`]), from its quotes.
///
/// Fails when there is nothing to compute it from, or the store fails.
pub(super) fn computed_revenue(
    tx: &dyn Tx,
    opp: &Opportunity,
) -> Result<(Decimal, &'static str), CommandError> {
    let mut quotes = Vec::with_capacity(opp.quotes.len());
    for n in &opp.quotes {
        quotes.extend(load::<Quote>(tx, *n, None)?);
    }
    opp.computed_revenue(&quotes).ok_or_else(|| {
        CommandError::Invalid(
            "the opportunity has no won quotes, no lines and no estimated revenue; give the actual revenue: revenue:12000"
                .to_string(),
        )
    })
}

pub(super) fn ensure_exists_any(
    tx: &dyn Tx,
    ctx: &Context,
    id: RecordId,
) -> Result<(), CommandError> {
    let exists = if id.kind == Kind::Quote {
        records::latest_revision(tx, id.number)?.is_some()
    } else {
        tx.get(&keys::record(id.kind, id.number, None))?.is_some()
    };
    if !exists {
        return Err(CommandError::NotFound(format!(
            "there is no {} {}",
            id.kind.name(),
            ctx.rules.numbering.display(id)
        )));
    }
    Ok(())
}

/// "there is no product X", with the record id meant when X is one typed
/// without its dash (`/show L1001`).
pub(super) fn no_product(ctx: &Context, sku: &str) -> CommandError {
    let meant = Kind::ALL.into_iter().find_map(|kind| {
        let prefix = ctx.rules.numbering.format(kind).prefix;
        let bare = prefix.trim_end_matches('-');
        let upper = sku.to_uppercase();
        let digits = upper.strip_prefix(&bare.to_uppercase())?;
        (bare != prefix && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| format!("{prefix}{digits}"))
    });
    CommandError::NotFound(match meant {
        Some(id) => format!("there is no product {sku}; did you mean {id}?"),
        None => format!("there is no product {sku}; /product list shows the catalogue"),
    })
}
