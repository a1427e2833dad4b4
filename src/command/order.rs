//! The order family: `/order fulfil|cancel|invoice` (P-23 to P-25): parsed,
//! applied and explained side by side.

use super::args::{invalid, Args};
use super::parse::Command;
use super::records::Tx;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::Kind;
use rust_decimal::Decimal;

use super::apply::step as transition;
use super::records::{load, next_number, require, save};
use super::render::reply;
use crate::domain::invoice::Invoice;
use crate::domain::order::{Billed, Order, OrderState};

/// The order family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "order",
    actions: &[(Kind::Order, "fulfil"), (Kind::Order, "cancel"), (Kind::Order, "invoice")],
    steps: &["order fulfil", "order cancel", "order invoice"],
    help: &[
        ("/order fulfil SO-1001 reason:complete|partial [date:..]",
         "fulfil the order (P-24)"),
        ("/order cancel SO-1001 reason:\"no money\"",
         "cancel the order; a reason is required (P-25)"),
        ("/order invoice SO-1001 [lines:\"1=5 2=3\"]",
         "invoice a fulfilled order (P-26): everything not yet billed, or these quantities per line (a partial delivery)"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/order fulfil|cancel|invoice`.
///
/// Fails when the id, the closing details or the billed lines do not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind != Some(Kind::Order) {
        return Ok(None);
    }
    let kind = Kind::Order;
    let cmd = match word {
        "fulfil" => {
            let order = args.number(kind)?;
            Command::OrderFulfil {
                order,
                close: args.close_input()?,
            }
        }
        "cancel" => {
            let order = args.number(kind)?;
            Command::OrderCancel {
                order,
                close: args.close_input()?,
            }
        }
        "invoice" => {
            let order = args.number(kind)?;
            let lines = match args.opt(&["lines", "line", "qty", "bill"])? {
                None => std::collections::BTreeMap::new(),
                Some(v) => bill_lines(&v, args.ctx.team.locale).map_err(invalid)?,
            };
            Command::OrderInvoice { order, lines }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step an order command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::OrderFulfil { .. } => "order fulfil",
        Command::OrderCancel { .. } => "order cancel",
        Command::OrderInvoice { .. } => "order invoice",
        _ => return None,
    })
}

/// `"1=5 2=3"` (also `1=5, 2=3` or `1:5;2:3`): quantities per line number.
fn bill_lines(
    raw: &str,
    locale: super::team::NumberLocale,
) -> Result<std::collections::BTreeMap<u32, Decimal>, String> {
    let mut out = std::collections::BTreeMap::new();
    let items = raw
        .split(|c: char| c.is_whitespace() || c == ';')
        .flat_map(|chunk| {
            if chunk.matches(['=', ':']).count() > 1 {
                chunk.split(',').collect::<Vec<_>>()
            } else {
                vec![chunk]
            }
        })
        .map(|i| i.trim_matches(','))
        .filter(|i| !i.is_empty());
    for item in items {
        let (no, qty) = item.split_once(['=', ':']).ok_or_else(|| {
            format!("lines: '{item}' is not LINE=QUANTITY, e.g. lines:\"1=5 2=3\"")
        })?;
        let no: u32 = no
            .trim()
            .parse()
            .map_err(|_| format!("lines: '{no}' is not a line number"))?;
        let qty = super::values::parse_quantity(qty, locale).map_err(|e| format!("lines: {e}"))?;
        if qty <= Decimal::ZERO {
            return Err(format!("lines: line {no} needs a quantity above 0"));
        }
        if out.insert(no, qty).is_some() {
            return Err(format!("lines: line {no} is given twice"));
        }
    }
    if out.is_empty() {
        return Err("lines: name at least one LINE=QUANTITY, e.g. lines:\"1=5\"".to_string());
    }
    Ok(out)
}

/// What this family's commands did.
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Done {
    Fulfilled(Order),
    Canceled(Order),
    /// The order after invoicing, and its new invoice.
    Invoiced(Order, Invoice),
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
        Command::OrderFulfil { order, close } => {
            Done::Fulfilled(transition(tx, ctx, text, *order, None, |o: &Order| {
                o.fulfil(close, ctx.rules)
            })?)
        }
        Command::OrderCancel { order, close } => {
            Done::Canceled(transition(tx, ctx, text, *order, None, |o: &Order| {
                o.cancel(close, ctx.rules)
            })?)
        }
        Command::OrderInvoice { order, lines } => {
            let old: Order = require(tx, ctx, *order, None)?;
            let mut billed = Billed::default();
            for n in old.invoice_numbers() {
                if let Some(i) = load::<Invoice>(tx, n, None)? {
                    billed.add(&i);
                }
            }
            let number = next_number(tx, ctx, Kind::Invoice)?;
            let (new, invoice) =
                old.invoice(number, &billed, lines, ctx.today(), ctx.rules, ctx.now)?;
            save(tx, ctx, text, Some(&old), &new)?;
            save(tx, ctx, text, None, &invoice)?;
            Done::Invoiced(new, invoice)
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Order(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    match done {
        Done::Fulfilled(new) => {
            let id = ctx.rules.show(Kind::Order, new.number);
            reply(
                ctx,
                format!("Fulfilled {id} {} ({}).", new.name, close_reason_order(new)),
                new,
                vec![format!("/order invoice {id}")],
            )
        }
        Done::Canceled(new) => reply(
            ctx,
            format!(
                "Canceled {} {} ({}).",
                ctx.rules.show(Kind::Order, new.number),
                new.name,
                close_reason_order(new)
            ),
            new,
            vec![],
        ),
        Done::Invoiced(new, invoice) => {
            let id = ctx.rules.show(Kind::Invoice, invoice.number);
            let order = ctx.rules.show(Kind::Order, new.number);
            let rest = if matches!(new.state, OrderState::Invoiced { .. }) {
                String::new()
            } else {
                format!(" {order} has more to bill (/order invoice {order}).")
            };
            reply(
                ctx,
                format!(
                    "Created invoice {id} for {order}: total {}, due {}.{rest}",
                    invoice
                        .pricing
                        .currency
                        .format(invoice.pricing.totals().total_amount),
                    invoice.due_date
                ),
                invoice,
                vec![
                    format!("/invoice send {id}"),
                    format!("/invoice pay {id} amount:"),
                ],
            )
        }
    }
}

fn close_reason_order(order: &Order) -> String {
    use crate::domain::order::OrderState;
    match &order.state {
        OrderState::Fulfilled { closing }
        | OrderState::Canceled { closing }
        | OrderState::Invoiced { closing, .. } => closing.reason.clone(),
        OrderState::Active => "active".to_string(),
    }
}
