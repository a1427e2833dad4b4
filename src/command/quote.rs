//! The quote family: `/quote new|activate|revise|close|win` (P-17 to P-22):
//! parsed, applied and explained side by side.

use super::apply::{computed_revenue, step as transition};
use super::args::{invalid, Args};
use super::opportunity::opp_state;
use super::parse::CloseInput;
use super::parse::Command;
use super::records::Tx;
use super::records::{next_number, require, save};
use super::render;
use super::render::reply;
use super::values::parse_yes_no;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::opportunity::{OppState, Opportunity};
use crate::domain::order::Order;
use crate::domain::quote::{Quote, QuoteState};
use crate::domain::Kind;
use crate::domain::RecordId;
use rust_decimal::Decimal;

/// The quote family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "quote",
    actions: &[
        (Kind::Quote, "new"),
        (Kind::Quote, "activate"),
        (Kind::Quote, "revise"),
        (Kind::Quote, "close"),
        (Kind::Quote, "win"),
    ],
    steps: &[
        "quote new",
        "quote edit",
        "quote activate",
        "quote revise",
        "quote close",
        "quote win",
    ],
    help: &[
        (
            "/quote new O-1001",
            "a draft quote prefilled from the opportunity (P-17)",
        ),
        (
            "/quote edit Q-1001 discount:5% freight:20 valid_until:2026-12-31",
            "change a draft",
        ),
        (
            "/quote line add Q-1001 sku:.. qty:..",
            "lines of a draft quote",
        ),
        (
            "/quote activate Q-1001",
            "send it: the quote becomes read-only (P-19)",
        ),
        (
            "/quote revise Q-1001",
            "close as revised and open an editable copy, revision + 1 (P-20)",
        ),
        (
            "/quote close Q-1001 reason:lost [revise:yes] [close_opportunity:yes opp_reason:..]",
            "close an active quote (P-21)",
        ),
        (
            "/quote win Q-1001 [close_opportunity:yes|no] [revenue:compute|12000]",
            "won: creates the order (P-22)",
        ),
    ],
    parse,
    apply,
    step,
};

/// Parses `/quote new|activate|revise|close|win`.
///
/// Fails when an id, amount or yes/no does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind != Some(Kind::Quote) {
        return Ok(None);
    }
    let kind = Kind::Quote;
    let cmd = match word {
        "new" => Command::QuoteNew(args.number(Kind::Opportunity)?),
        "activate" => Command::QuoteActivate(args.id(kind)?),
        "revise" => Command::QuoteRevise(args.id(kind)?),
        "close" => {
            let quote = args.id(kind)?;
            Command::QuoteClose {
                quote,
                revise: args.yes_no(&["revise", "create_revision", "revised_copy"], false)?,
                close_opportunity: args.yes_no(&["close_opportunity", "close_opp"], false)?,
                opp_reason: args.text(&["opp_reason", "opportunity_reason"])?,
                close: args.close_input()?,
            }
        }
        "win" => {
            let quote = args.id(kind)?;
            let revenue = args.revenue()?;
            Command::QuoteWin {
                quote,
                close_opportunity: match args.opt(&["close_opportunity", "close_opp"])? {
                    None => None,
                    Some(v) => Some(parse_yes_no(&v, "close_opportunity").map_err(invalid)?),
                },
                revenue,
                date: args.date(&["date", "close_date", "on"])?,
                description: args.text(&["description", "desc", "note"])?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step a quote command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::Edit { target, .. } if target.kind == Kind::Quote => "quote edit",
        Command::QuoteNew(_) => "quote new",
        Command::QuoteActivate(_) => "quote activate",
        Command::QuoteRevise(_) => "quote revise",
        Command::QuoteClose { .. } => "quote close",
        Command::QuoteWin { .. } => "quote win",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
pub enum Done {
    /// A draft made from the opportunity.
    Created(Quote),
    Activated(Quote),
    /// The revision closed as revised, and the new draft.
    Revised(Quote, Quote),
    /// Closed; the draft copy when revised, the opportunity when lost too.
    Closed(Quote, Option<Quote>, Option<Opportunity>),
    /// Won: the quote, its order, and the opportunity won with it (with
    /// the actual revenue and how it was found).
    Won(Quote, Order, Option<(Opportunity, Decimal, &'static str)>),
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
        Command::QuoteNew(opp) => {
            let old: Opportunity = require(tx, ctx, *opp, None)?;
            let number = next_number(tx, ctx, Kind::Quote)?;
            let quote = Quote::from_opportunity(&old, number, ctx.rules, ctx.now)?;
            let mut new = old.clone();
            new.quotes.push(number);
            save(tx, ctx, text, Some(&old), &new)?;
            save(tx, ctx, text, None, &quote)?;
            Done::Created(quote)
        }
        Command::QuoteActivate(id) => Done::Activated(transition(
            tx,
            ctx,
            text,
            id.number,
            id.revision,
            |q: &Quote| q.activate(ctx.rules, ctx.today(), ctx.now),
        )?),
        Command::QuoteRevise(id) => {
            let old: Quote = require(tx, ctx, id.number, id.revision)?;
            let (closed, draft) = old.revise(ctx.rules, ctx.today(), ctx.now)?;
            save(tx, ctx, text, Some(&old), &closed)?;
            save(tx, ctx, text, None, &draft)?;
            Done::Revised(closed, draft)
        }
        Command::QuoteClose {
            quote,
            close,
            revise,
            close_opportunity,
            opp_reason,
        } => {
            let old: Quote = require(tx, ctx, quote.number, quote.revision)?;
            if *close_opportunity && opp_reason.is_none() {
                return Err(CommandError::Invalid(format!(
                    "closing {} too needs its reason: add opp_reason:<{}>",
                    ctx.rules.show(Kind::Opportunity, old.opportunity),
                    ctx.rules.reasons.opportunity_lost.join("|")
                )));
            }
            let (closed, copy) = old.close(close, *revise, ctx.rules, ctx.now)?;
            save(tx, ctx, text, Some(&old), &closed)?;
            if let Some(draft) = &copy {
                save(tx, ctx, text, None, draft)?;
            }
            let mut lost = None;
            if *close_opportunity {
                let opp_old: Opportunity = require(tx, ctx, closed.opportunity, None)?;
                let input = CloseInput {
                    reason: opp_reason.clone(),
                    date: close.date,
                    description: close.description.clone(),
                };
                let opp_new = opp_old.lose(&input, None, ctx.rules)?;
                save(tx, ctx, text, Some(&opp_old), &opp_new)?;
                lost = Some(opp_new);
            }
            Done::Closed(closed, copy, lost)
        }
        Command::QuoteWin {
            quote,
            date,
            description,
            close_opportunity,
            revenue,
        } => quote_win(
            tx,
            ctx,
            text,
            *quote,
            *date,
            description.clone(),
            *close_opportunity,
            *revenue,
        )?,
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Quote(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    match done {
        Done::Created(quote) => {
            let id = ctx.rules.show(Kind::Quote, quote.number);
            reply(
                ctx,
                format!(
                    "Created draft {id} from {}: {} line(s), total {}.",
                    ctx.rules.show(Kind::Opportunity, quote.opportunity),
                    quote.pricing.lines.len(),
                    quote
                        .pricing
                        .currency
                        .format(quote.pricing.totals().total_amount)
                ),
                quote,
                vec![
                    format!("/quote activate {id}"),
                    format!("/quote line add {id} sku:"),
                ],
            )
        }
        Done::Activated(new) => {
            let shown = quote_id(ctx, new);
            let base = ctx.rules.show(Kind::Quote, new.number);
            reply(
                ctx,
                format!(
                    "Activated {shown}: it is read-only now; total {}.",
                    new.pricing
                        .currency
                        .format(new.pricing.totals().total_amount)
                ),
                new,
                vec![
                    format!("/quote win {base}"),
                    format!("/quote revise {base}"),
                    format!("/quote close {base} reason:"),
                ],
            )
        }
        Done::Revised(closed, draft) => reply(
            ctx,
            format!(
                "Revised {}: it is closed as revised; {} is a draft to edit.",
                quote_id(ctx, closed),
                quote_id(ctx, draft)
            ),
            draft,
            vec![format!(
                "/quote activate {}",
                ctx.rules.show(Kind::Quote, draft.number)
            )],
        ),
        Done::Closed(closed, copy, lost) => {
            let mut msg = format!(
                "Closed {}: {}.",
                quote_id(ctx, closed),
                quote_state(&closed.state)
            );
            let mut next = Vec::new();
            if let Some(draft) = copy {
                msg.push_str(&format!(" {} is a draft to edit.", quote_id(ctx, draft)));
                next.push(format!(
                    "/quote activate {}",
                    ctx.rules.show(Kind::Quote, draft.number)
                ));
            }
            if let Some(opp) = lost {
                msg.push_str(&format!(
                    " {} is lost: {}.",
                    ctx.rules.show(Kind::Opportunity, opp.number),
                    opp_state(&opp.state)
                ));
            }
            reply(ctx, msg, closed, next)
        }
        Done::Won(won, order, opp) => {
            let order_id = ctx.rules.show(Kind::Order, order.number);
            let mut msg = format!(
                "Won {}: created order {order_id}, total {}.",
                quote_id(ctx, won),
                order
                    .pricing
                    .currency
                    .format(order.pricing.totals().total_amount)
            );
            if let Some((opp, revenue, how)) = opp {
                msg.push_str(&format!(
                    " {} is won: actual revenue {} ({how}).",
                    ctx.rules.show(Kind::Opportunity, opp.number),
                    opp.pricing.currency.format(*revenue)
                ));
            }
            reply(
                ctx,
                msg,
                order,
                vec![format!("/order fulfil {order_id} reason:complete")],
            )
        }
    }
}

fn quote_state(state: &QuoteState) -> String {
    render::quote_state(state)
}

fn quote_id(ctx: &Context, q: &Quote) -> String {
    render::quote_id(ctx.rules, q)
}

#[allow(clippy::too_many_arguments)]
fn quote_win(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    id: RecordId,
    date: chrono::NaiveDate,
    description: Option<String>,
    close_opportunity: Option<bool>,
    revenue: Option<Decimal>,
) -> Result<Done, CommandError> {
    let old: Quote = require(tx, ctx, id.number, id.revision)?;
    let opp_old: Opportunity = require(tx, ctx, old.opportunity, None)?;
    let order_no = next_number(tx, ctx, Kind::Order)?;
    let won = old.win(&opp_old, date, description.clone(), order_no, ctx.rules)?;
    let order = Order::from_quote(&won, order_no, ctx.rules, ctx.now);
    save(tx, ctx, text, Some(&old), &won)?;
    save(tx, ctx, text, None, &order)?;
    let is_open = matches!(opp_old.state, OppState::Open { .. });
    let mut opp = None;
    if close_opportunity.unwrap_or(is_open) {
        let (rev, how) = match revenue {
            Some(r) => (r, "as given"),
            None => computed_revenue(tx, &opp_old)?,
        };
        let opp_new = opp_old.win(rev, date, description, ctx.rules)?;
        save(tx, ctx, text, Some(&opp_old), &opp_new)?;
        opp = Some((opp_new, rev, how));
    }
    Ok(Done::Won(won, order, opp))
}
