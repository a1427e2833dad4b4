//! The opportunity family: `/opp win|lose|reopen` (P-13, P-14) and the
//! lines of opportunities, quotes and orders (`/<kind> line add|edit|remove`,
//! P-15, P-16): parsed, applied and explained side by side.

use super::apply::{computed_revenue, read_product, step as transition};
use super::args::{invalid, Args};
use super::parse::Command;
use super::records::Tx;
use super::records::{require, save};
use super::render;
use super::render::reply;

use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::fields::normalize_name;
use crate::domain::lines::{LineInput, Priced};
use crate::domain::opportunity::{OppState, Opportunity};
use crate::domain::order::Order;
use crate::domain::quote::Quote;
use crate::domain::Kind;
use crate::domain::{AnyRecord, Record, RecordId};
use rust_decimal::Decimal;

/// The opportunity family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "opp",
    actions: &[(Kind::Opportunity, "line"), (Kind::Quote, "line"), (Kind::Order, "line"), (Kind::Opportunity, "win"), (Kind::Opportunity, "lose"), (Kind::Opportunity, "reopen")],
    steps: &["opp new", "opp edit", "opp win", "opp lose", "opp reopen", "line"],
    help: &[
        ("/opp new name:\"...\" account:A-1001 contact:C-1001",
         "an opportunity without a lead"),
        ("/opp edit O-1001 probability:60 revenue:12000 followup:2026-12-10",
         "change an open opportunity (P-14)"),
        ("/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%",
         "add a product line (write-ins: name:\"...\" price:..)"),
        ("/opp line edit O-1001 1 qty:12   /opp line remove O-1001 1",
         "change or remove a line"),
        ("/opp win O-1001 [revenue:12000|compute] [date:..]",
         "close as won; revenue defaults to the won quotes' totals, else its lines' total, else its estimated revenue"),
        ("/opp lose O-1001 reason:out-sold [competitor:..]",
         "close as lost"),
        ("/opp reopen O-1001",
         "reopen a won or lost opportunity"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/opp win|lose|reopen` and `/<kind> line ...`.
///
/// Fails when an id, amount or line does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let Some(kind) = kind else {
        return Ok(None);
    };
    let base = args.name.trim_end_matches(&format!(" {word}")).to_string();
    let cmd = match (kind, word) {
        (Kind::Opportunity, "win") => {
            let opp = args.number(kind)?;
            let revenue = args.revenue()?;
            Command::OppWin {
                opp,
                revenue,
                date: args.date(&["date", "close_date", "on"])?,
                description: args.text(&["description", "desc", "note"])?,
            }
        }
        (Kind::Opportunity, "lose") => {
            let opp = args.number(kind)?;
            let competitor = args.text(&["competitor"])?;
            Command::OppLose {
                opp,
                close: args.close_input()?,
                competitor,
            }
        }
        (Kind::Opportunity, "reopen") => Command::OppReopen(args.number(kind)?),
        (Kind::Opportunity | Kind::Quote | Kind::Order, "line") => {
            let op = args.word().map(|w| normalize_name(&w)).unwrap_or_default();
            args.name = format!("{base} line {op}");
            let target = args.id(kind)?;
            match op.as_str() {
                "add" | "new" => Command::LineAdd {
                    target,
                    line: args.line_input()?,
                },
                "edit" | "set" | "change" => {
                    let no = args.line_no()?;
                    Command::LineEdit {
                        target,
                        no,
                        line: args.line_input()?,
                    }
                }
                "remove" | "rm" | "delete" | "del" => Command::LineRemove {
                    target,
                    no: args.line_no()?,
                },
                _ => return Err(invalid(format!("{base} line takes add, edit or remove, e.g. {base} line add ... sku:CHAIR-01 qty:2"))),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step an opportunity or line command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::New {
            kind: Kind::Opportunity,
            ..
        } => "opp new",
        Command::Edit { target, .. } if target.kind == Kind::Opportunity => "opp edit",
        Command::OppWin { .. } => "opp win",
        Command::OppLose { .. } => "opp lose",
        Command::OppReopen(_) => "opp reopen",
        Command::LineAdd { .. } | Command::LineEdit { .. } | Command::LineRemove { .. } => "line",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
pub enum Done {
    /// Won, with the actual revenue and how it was found.
    Won(Opportunity, Decimal, &'static str),
    Lost(Opportunity),
    Reopened(Opportunity),
    /// A line changed: what was done to which line, and the record after.
    Lines(LineChange, u32, AnyRecord),
}

/// What was done to a line.
#[derive(Debug, Clone, Copy)]
pub enum LineChange {
    Added,
    Changed,
    Removed,
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
        Command::OppWin {
            opp,
            revenue,
            date,
            description,
        } => {
            let old: Opportunity = require(tx, ctx, *opp, None)?;
            let (revenue, how) = match revenue {
                Some(r) => (*r, "as given"),
                None => computed_revenue(tx, &old)?,
            };
            let new = old.win(revenue, *date, description.clone(), ctx.rules)?;
            save(tx, ctx, text, Some(&old), &new)?;
            Done::Won(new, revenue, how)
        }
        Command::OppLose {
            opp,
            close,
            competitor,
        } => Done::Lost(transition(tx, ctx, text, *opp, None, |o: &Opportunity| {
            o.lose(close, competitor.clone(), ctx.rules)
        })?),
        Command::OppReopen(n) => {
            Done::Reopened(transition(tx, ctx, text, *n, None, |o: &Opportunity| {
                o.reopen(ctx.rules)
            })?)
        }
        Command::LineAdd { target, line } => lines(tx, ctx, text, *target, LineOp::Add(line))?,
        Command::LineEdit { target, no, line } => {
            lines(tx, ctx, text, *target, LineOp::Edit(*no, line))?
        }
        Command::LineRemove { target, no } => lines(tx, ctx, text, *target, LineOp::Remove(*no))?,
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Opportunity(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    match done {
        Done::Won(new, revenue, how) => reply(
            ctx,
            format!(
                "Won {} {}: actual revenue {} ({how}).",
                ctx.rules.show(Kind::Opportunity, new.number),
                new.name,
                new.pricing.currency.format(*revenue)
            ),
            new,
            vec![],
        ),
        Done::Lost(new) => {
            let id = ctx.rules.show(Kind::Opportunity, new.number);
            reply(
                ctx,
                format!("Lost {id} {}: {}.", new.name, opp_state(&new.state)),
                new,
                vec![format!("/opp reopen {id}")],
            )
        }
        Done::Reopened(new) => {
            let id = ctx.rules.show(Kind::Opportunity, new.number);
            reply(
                ctx,
                format!("Reopened {id} {}.", new.name),
                new,
                vec![format!("/quote new {id}")],
            )
        }
        Done::Lines(change, no, record) => {
            let id = ctx.rules.numbering.display(record.id());
            let what = match change {
                LineChange::Added => format!("Added line {no} to {id}"),
                LineChange::Changed => format!("Changed line {no} of {id}"),
                LineChange::Removed => format!("Removed line {no} from {id}"),
            };
            let p = match record {
                AnyRecord::Opportunity(o) => &o.pricing,
                AnyRecord::Quote(q) => &q.pricing,
                AnyRecord::Order(o) => &o.pricing,
                _ => return reply(ctx, format!("{what}."), record, vec![]),
            };
            reply(
                ctx,
                format!(
                    "{what}; total {} ({} line(s)).",
                    p.currency.format(p.totals().total_amount),
                    p.lines.len()
                ),
                record,
                vec![],
            )
        }
    }
}

pub(super) fn opp_state(state: &OppState) -> String {
    render::opp_state(state)
}

enum LineOp<'a> {
    Add(&'a LineInput),
    Edit(u32, &'a LineInput),
    Remove(u32),
}

fn lines(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    target: RecordId,
    op: LineOp,
) -> Result<Done, CommandError> {
    fn run<R: Record + Priced>(
        tx: &mut dyn Tx,
        ctx: &Context,
        text: &str,
        target: RecordId,
        op: LineOp,
    ) -> Result<Done, CommandError> {
        let old: R = require(tx, ctx, target.number, target.revision)?;
        old.ensure_lines_editable(ctx.rules)?;
        let mut new = old.clone();
        let (change, no) = match op {
            LineOp::Add(input) => {
                let product = match &input.sku {
                    Some(sku) => Some(read_product(tx, sku)?.ok_or_else(|| {
                        CommandError::NotFound(format!(
                            "there is no product {sku}; /product list shows the catalogue"
                        ))
                    })?),
                    None => None,
                };
                let no = new.pricing_mut().add_line(input, product.as_ref())?;
                (LineChange::Added, no)
            }
            LineOp::Edit(no, input) => {
                new.pricing_mut().edit_line(no, input)?;
                (LineChange::Changed, no)
            }
            LineOp::Remove(no) => {
                new.pricing_mut().remove_line(no)?;
                (LineChange::Removed, no)
            }
        };
        save(tx, ctx, text, Some(&old), &new)?;
        Ok(Done::Lines(change, no, new.into_any()))
    }
    match target.kind {
        Kind::Opportunity => run::<Opportunity>(tx, ctx, text, target, op),
        Kind::Quote => run::<Quote>(tx, ctx, text, target, op),
        Kind::Order => run::<Order>(tx, ctx, text, target, op),
        other => Err(CommandError::Invalid(format!(
            "{} have no lines to change",
            other.plural()
        ))),
    }
}
