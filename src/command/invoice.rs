//! The invoice family: `/invoice pay|paid|cancel` (P-26 to P-29): parsed,
//! applied and explained side by side.

use super::apply::step as transition;
use super::args::{invalid, Args};
use super::parse::Command;
use super::records::Tx;
use super::records::{next_number, require, save};
use super::render;
use super::render::reply;
use super::values::parse_amount;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::invoice::{Invoice, InvoiceState};
use crate::domain::order::Order;
use crate::domain::Kind;
use rust_decimal::Decimal;

/// The invoice family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "invoice",
    actions: &[
        (Kind::Invoice, "pay"),
        (Kind::Invoice, "paid"),
        (Kind::Invoice, "cancel"),
    ],
    steps: &["invoice pay", "invoice paid", "invoice cancel"],
    help: &[
        (
            "/invoice pay INV-1001 amount:500 [date:..] [note:..]",
            "record a payment; the balance is what is still due; paid in full at zero",
        ),
        (
            "/invoice paid INV-1001 reason:complete|partial",
            "mark it paid (P-28); complete records the balance as paid",
        ),
        (
            "/invoice cancel INV-1001 reason:canceled",
            "cancel it (P-29) by a credit note with its own number; the order can be invoiced anew",
        ),
    ],
    parse,
    apply,
    step,
};

/// Parses `/invoice pay|paid|cancel`.
///
/// Fails when the id, amount, date or closing details do not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind != Some(Kind::Invoice) {
        return Ok(None);
    }
    let kind = Kind::Invoice;
    let cmd = match word {
        "pay" => {
            let invoice = args.number(kind)?;
            match args.opt(&["amount", "betrag"])? {
                Some(a) => {
                    let amount = parse_amount(&a, args.ctx.team.locale)
                        .map_err(|e| invalid(format!("amount: {e}")))?;
                    let date = args.date(&["date", "on", "paid_on"])?;
                    if date > args.ctx.today() {
                        return Err(invalid(format!(
                            "date: {date} is in the future; record a payment when it is received"
                        )));
                    }
                    Command::InvoicePayment {
                        invoice,
                        amount,
                        date,
                        note: args.text(&["note", "description", "desc"])?,
                    }
                }
                None => Command::InvoicePaid {
                    invoice,
                    close: args.close_input()?,
                },
            }
        }
        "paid" => {
            let invoice = args.number(kind)?;
            Command::InvoicePaid {
                invoice,
                close: args.close_input()?,
            }
        }
        "cancel" => {
            let invoice = args.number(kind)?;
            Command::InvoiceCancel {
                invoice,
                close: args.close_input()?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step an invoice command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::InvoicePayment { .. } => "invoice pay",
        Command::InvoicePaid { .. } => "invoice paid",
        Command::InvoiceCancel { .. } => "invoice cancel",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Done {
    /// A payment recorded: the invoice after it, the amount and its date.
    Payment(Invoice, Decimal, chrono::NaiveDate),
    /// Canceled: the invoice and the credit note that cancels it.
    Canceled(Invoice, Invoice),
    Paid(Invoice),
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
        Command::InvoicePayment {
            invoice,
            amount,
            date,
            note,
        } => Done::Payment(
            transition(tx, ctx, text, *invoice, None, |i: &Invoice| {
                i.record_payment(*amount, *date, note.clone(), ctx.rules)
            })?,
            *amount,
            *date,
        ),
        Command::InvoiceCancel { invoice, close } => {
            let old: Invoice = require(tx, ctx, *invoice, None)?;
            let credit_no = next_number(tx, ctx, Kind::Invoice)?;
            let canceled = old.cancel(close, credit_no, ctx.rules)?;
            let credit = old.credit_note(credit_no, ctx.today(), ctx.rules, ctx.now);
            save(tx, ctx, text, Some(&old), &canceled)?;
            save(tx, ctx, text, None, &credit)?;
            let order_old: Order = require(tx, ctx, old.order, None)?;
            let order_new = order_old.invoice_canceled();
            if order_new != order_old {
                save(tx, ctx, text, Some(&order_old), &order_new)?;
            }
            Done::Canceled(canceled, credit)
        }
        Command::InvoicePaid { invoice, close } => {
            Done::Paid(transition(tx, ctx, text, *invoice, None, |i: &Invoice| {
                i.pay(close, ctx.rules)
            })?)
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Invoice(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    match done {
        Done::Payment(new, amount, date) => {
            let id = ctx.rules.show(Kind::Invoice, new.number);
            let c = &new.pricing.currency;
            let how = match new.state {
                InvoiceState::Paid { .. } => "paid in full".to_string(),
                _ => format!("paid in part, {} still due", c.format(new.balance())),
            };
            reply(
                ctx,
                format!(
                    "Recorded {} received {date} on {id}: {how}.",
                    c.format(*amount)
                ),
                new,
                vec![],
            )
        }
        Done::Canceled(canceled, credit) => {
            let id = ctx.rules.show(Kind::Invoice, canceled.number);
            let order_id = ctx.rules.show(Kind::Order, canceled.order);
            reply(
                ctx,
                format!(
                    "Canceled {id} {}: {}. Credit note {} of {} cancels it; {order_id} can be invoiced anew (/order invoice {order_id}).",
                    canceled.name,
                    render::invoice_state(&canceled.state),
                    ctx.rules.show(Kind::Invoice, credit.number),
                    credit.pricing.currency.format(credit.pricing.totals().total_amount),
                ),
                canceled,
                vec![format!("/order invoice {order_id}")],
            )
        }
        Done::Paid(new) => reply(
            ctx,
            format!(
                "Paid {} {}: {}.",
                ctx.rules.show(Kind::Invoice, new.number),
                new.name,
                render::invoice_state(&new.state)
            ),
            new,
            vec![],
        ),
    }
}
