//! The daily digest of one owner: overdue, due today, next 7 days,
//! follow-ups due, and a pipeline summary, rendered from the templates in
//! `templates/` (plain text and HTML).

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use crate::command::activities::{due_items, end_of_today, item_line};
use crate::command::records::load;
use crate::command::{keys, CommandError, Context, Tx};
use crate::domain::activity::start_of_day;
use crate::domain::invoice::Invoice;
use crate::domain::opportunity::Opportunity;
use crate::domain::{Currency, Kind};

/// The built-in templates.
const TEXT: &str = include_str!("../../templates/digest.txt");
const HTML: &str = include_str!("../../templates/digest.html");

/// Pipeline figures of one owner.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pipeline {
    pub open_opportunities: usize,
    /// Weighted revenue per currency, formatted.
    pub weighted: Vec<String>,
    pub active_quotes: usize,
    pub active_orders: usize,
    pub open_invoices: usize,
    /// Unpaid totals per currency, formatted.
    pub unpaid: Vec<String>,
    pub invoices_past_due: usize,
}

/// How many items each section has (its lines stop at 25).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub overdue: usize,
    pub today: usize,
    pub week: usize,
    pub followups: usize,
}

/// What a digest shows.
#[derive(Debug, Clone, Serialize)]
pub struct DigestData {
    pub owner: String,
    pub day: NaiveDate,
    pub counts: Counts,
    pub overdue: Vec<String>,
    pub today: Vec<String>,
    pub week: Vec<String>,
    pub followups: Vec<String>,
    pub pipeline: Pipeline,
}

/// A rendered digest.
#[derive(Debug, Clone)]
pub struct Digest {
    pub data: DigestData,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a digest could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] CommandError),
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("{0}")]
    Owner(String),
}

impl Digest {
    /// The digest as `leadline digest --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"subject": self.subject, "text": self.text, "html": self.html, "data": self.data})
    }
}

/// The digest `who` (a team member) would get at `now`, rendered with
/// the configured templates: what `leadline digest` shows.
///
/// Fails for a name not on the team, or when the store or a template fails.
pub fn preview(
    core: &crate::core::Leadline,
    now: DateTime<Utc>,
    who: &str,
) -> Result<Digest, DigestError> {
    let config = core.config();
    let owner = config.team.resolve_actor(who).map_err(DigestError::Owner)?;
    let ctx = config.context("scheduler", now, "scheduler");
    let data = core
        .read(|tx| gather(tx, &ctx, &owner))
        .map_err(CommandError::from)??;
    render(data, config.scheduler.templates.as_deref())
}

/// At most this many lines per section; the count says how many there are.
const SECTION_LINES: usize = 25;

fn lines(
    tx: &dyn Tx,
    ctx: &Context,
    items: &[(DateTime<Utc>, Kind, u64)],
    follow_ups: bool,
) -> Result<Vec<String>, CommandError> {
    let mut out = Vec::new();
    for (_, kind, n) in items {
        if (*kind == Kind::Activity) == follow_ups {
            continue;
        }
        if let Some(l) = item_line(tx, ctx, *kind, *n)? {
            out.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    Ok(out)
}

fn count_index(
    tx: &dyn Tx,
    kind: Kind,
    state: &str,
    owner: &str,
) -> Result<Vec<u64>, CommandError> {
    let prefix = keys::index(kind, state, owner);
    Ok(tx
        .scan(&prefix, None, false, usize::MAX)?
        .iter()
        .filter_map(|(k, _)| {
            std::str::from_utf8(&k[prefix.len()..])
                .ok()?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect())
}

fn money(sums: BTreeMap<Currency, Decimal>) -> Vec<String> {
    sums.into_iter().map(|(c, v)| c.format(v)).collect()
}

/// Gathers the digest of `owner` as of `ctx.now`.
///
/// Fails when the store cannot be read.
pub fn gather(tx: &dyn Tx, ctx: &Context, owner: &str) -> Result<DigestData, CommandError> {
    let tz = ctx.team.zone_of(owner);
    let day = ctx.now.with_timezone(&tz).date_naive();
    let prefix = keys::owner_due(owner);
    let big = usize::MAX;
    // Activities and follow-ups alike; sections split them. A large backlog
    // is cut to SECTION_LINES lines per section after sorting by due time.
    let overdue = due_items(tx, &prefix, None, ctx.now, big)?;
    let today_end = end_of_today(ctx, owner);
    let today = due_items(tx, &prefix, Some(ctx.now), today_end, big)?;
    let week_end = start_of_day(day.checked_add_days(Days::new(8)).unwrap_or(day), tz);
    let week = due_items(tx, &prefix, Some(today_end), week_end, big)?;

    let mut follow: Vec<(DateTime<Utc>, Kind, u64)> =
        overdue.items.iter().chain(&today.items).copied().collect();
    follow.retain(|(_, k, _)| *k != Kind::Activity);
    let activities = |items: &[(DateTime<Utc>, Kind, u64)]| {
        items
            .iter()
            .filter(|(_, k, _)| *k == Kind::Activity)
            .count()
    };
    let counts = Counts {
        overdue: activities(&overdue.items),
        today: activities(&today.items),
        week: activities(&week.items),
        followups: follow.len(),
    };
    let keep = |items: &[(DateTime<Utc>, Kind, u64)]| -> Vec<(DateTime<Utc>, Kind, u64)> {
        items
            .iter()
            .filter(|(_, k, _)| *k == Kind::Activity)
            .take(SECTION_LINES)
            .copied()
            .collect()
    };

    let mut pipeline = Pipeline::default();
    let mut weighted: BTreeMap<Currency, Decimal> = BTreeMap::new();
    let opps = count_index(tx, Kind::Opportunity, "open", owner)?;
    pipeline.open_opportunities = opps.len();
    for n in opps {
        if let Some(o) = load::<Opportunity>(tx, n, None)? {
            if let Some(w) = o.weighted_revenue() {
                *weighted.entry(o.pricing.currency.clone()).or_default() += w;
            }
        }
    }
    pipeline.weighted = money(weighted);
    pipeline.active_quotes = count_index(tx, Kind::Quote, "active", owner)?.len();
    pipeline.active_orders = count_index(tx, Kind::Order, "active", owner)?.len();
    let invoices = count_index(tx, Kind::Invoice, "open", owner)?;
    pipeline.open_invoices = invoices.len();
    let mut unpaid: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for n in invoices {
        if let Some(i) = load::<Invoice>(tx, n, None)? {
            // What is still due: partly paid invoices count their balance.
            *unpaid.entry(i.pricing.currency.clone()).or_default() += i.balance();
            if i.due_date < day {
                pipeline.invoices_past_due += 1;
            }
        }
    }
    pipeline.unpaid = money(unpaid);

    Ok(DigestData {
        owner: owner.to_string(),
        day,
        counts,
        overdue: lines(tx, ctx, &keep(&overdue.items), false)?,
        today: lines(tx, ctx, &keep(&today.items), false)?,
        week: lines(tx, ctx, &keep(&week.items), false)?,
        followups: lines(
            tx,
            ctx,
            &follow.into_iter().take(SECTION_LINES).collect::<Vec<_>>(),
            true,
        )?,
        pipeline,
    })
}

fn template(dir: Option<&Path>, name: &str, builtin: &str) -> Result<String, DigestError> {
    match dir {
        None => Ok(builtin.to_string()),
        Some(d) => std::fs::read_to_string(d.join(name)).map_err(|e| DigestError::Template {
            name: d.join(name).display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Renders a digest with the templates in `dir` (the built-in ones when `None`).
///
/// Fails when a template cannot be read or rendered.
pub fn render(data: DigestData, dir: Option<&Path>) -> Result<Digest, DigestError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    let err = |name: &str| {
        let name = name.to_string();
        move |e: minijinja::Error| DigestError::Template {
            name: name.clone(),
            message: e.to_string(),
        }
    };
    let text_src = template(dir, "digest.txt", TEXT)?;
    let html_src = template(dir, "digest.html", HTML)?;
    env.add_template_owned("digest.txt", text_src)
        .map_err(err("digest.txt"))?;
    env.add_template_owned("digest.html", html_src)
        .map_err(err("digest.html"))?;
    let text = env
        .get_template("digest.txt")
        .and_then(|t| t.render(&data))
        .map_err(err("digest.txt"))?;
    let html = env
        .get_template("digest.html")
        .and_then(|t| t.render(&data))
        .map_err(err("digest.html"))?;
    // The same counts as the body's sections: follow-ups are their own.
    let mut subject = format!(
        "leadline digest for {}, {}: {} overdue, {} due today",
        data.owner, data.day, data.counts.overdue, data.counts.today
    );
    if data.counts.followups > 0 {
        let n = data.counts.followups;
        subject.push_str(&format!(
            ", {n} follow-up{} due",
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(Digest {
        data,
        subject,
        text,
        html,
    })
}
