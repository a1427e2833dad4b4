//! The product family: `/product new|edit|show|list|history` (P-15):
//! parsed, applied and explained side by side.

use super::apply::{no_product, read_product};
use super::args::{invalid, Args};
use super::parse::Command;
use super::parse::{FieldKey, Target};
use super::records::save_product;
use super::records::Tx;
use super::render;
use super::render::reply;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::fields::normalize_name;
use crate::domain::fields::Editable;
use crate::domain::product::Product;
use crate::domain::Kind;

/// The product family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "product",
    actions: &[],
    steps: &["product"],
    help: &[
        (
            "/product new CHAIR-01 name:\"Office chair\" price:199 tax:19%",
            "add to the catalogue",
        ),
        (
            "/product edit CHAIR-01 price:189   status:retired",
            "change or retire a product",
        ),
    ],
    parse,
    apply,
    step,
};

/// Parses `/product ...`.
///
/// Fails when the SKU or a field does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind.is_some() || !matches!(word, "product" | "products") {
        return Ok(None);
    }
    args.name = "/product".to_string();
    product(args).map(Some)
}

/// The step a product command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::ProductNew { .. } | Command::ProductEdit { .. } => "product",
        _ => return None,
    })
}

fn product(args: &mut Args) -> Result<Command, CommandError> {
    let action = args
        .word()
        .map(|a| normalize_name(&a))
        .unwrap_or_else(|| "list".into());
    let sku = |args: &mut Args| -> Result<String, CommandError> {
        let w = args
            .word()
            .ok_or_else(|| invalid(format!("{} needs a SKU, e.g. CHAIR-01", args.name)))?;
        Product::parse_sku(&w).map_err(|e| invalid(e.to_string()))
    };
    args.name = format!("/product {action}");
    Ok(match action.as_str() {
        "new" | "add" | "create" => {
            let sku = match args.opt(&["sku"])? {
                Some(s) => Product::parse_sku(&s).map_err(|e| invalid(e.to_string()))?,
                None => sku(args)?,
            };
            Command::ProductNew {
                sku,
                fields: args.product_fields()?,
            }
        }
        "edit" | "set" | "update" => {
            let sku = sku(args)?;
            Command::ProductEdit {
                sku,
                fields: args.product_fields()?,
            }
        }
        "show" => Command::Show(Target::Product(sku(args)?)),
        "history" => Command::History(Target::Product(sku(args)?)),
        "list" => super::args::list(args, None)?,
        other => {
            return Err(invalid(format!(
                "/product has no action '{other}'; actions: new, edit, show, list, history"
            )))
        }
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
pub enum Done {
    Created(Product),
    Updated(Product),
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Outcome>, CommandError> {
    let done = match cmd {
        Command::ProductNew { sku, fields } => {
            if let Some(existing) = read_product(tx, sku)? {
                return Err(existing.exists_already().into());
            }
            let builtin = fields
                .iter()
                .filter_map(|(key, value)| match key {
                    FieldKey::Builtin(name) => Some((*name, value.clone())),
                    FieldKey::Custom(_) => None,
                })
                .collect();
            let p = Product::create(sku.clone(), ctx.rules.currency.clone(), builtin)?;
            save_product(tx, ctx, text, None, &p)?;
            Done::Created(p)
        }
        Command::ProductEdit { sku, fields } => {
            let old = read_product(tx, sku)?.ok_or_else(|| no_product(ctx, sku))?;
            let mut p = old.clone();
            for (key, value) in fields {
                if let FieldKey::Builtin(name) = key {
                    p.set(name, value.clone())?;
                }
            }
            save_product(tx, ctx, text, Some(&old), &p)?;
            Done::Updated(p)
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Product(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let (verb, p) = match done {
        Done::Created(p) => ("Created", p),
        Done::Updated(p) => ("Updated", p),
    };
    reply(
        ctx,
        format!("{verb} product {}.", render::product_line(p)),
        p,
        vec![],
    )
}
