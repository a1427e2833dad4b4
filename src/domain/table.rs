//! Test support for the state machines' transition tables: one check of a
//! step's outcome against the table's cell, and the fixtures they share.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

use super::lines::Line;
use super::{ClosingInput, Refusal};

/// A table cell: `Ok(the new state)` or `Err(words the refusal contains)`.
pub type Cell<'a> = Result<&'a str, &'a str>;

/// Checks one step's outcome (`got`, its new state named by `state`)
/// against the cell `want`.
pub fn check<T: std::fmt::Debug>(
    name: &str,
    step: &str,
    got: Result<T, Refusal>,
    want: Cell<'_>,
    state: impl Fn(&T) -> String,
) {
    match (got, want) {
        (Ok(new), Ok(s)) => assert_eq!(state(&new), s, "{name} + {step}"),
        (Err(e), Err(words)) => assert!(
            e.message().contains(words),
            "{name} + {step}: {}",
            e.message()
        ),
        (got, want) => panic!("{name} + {step}: got {got:?}, want {want:?}"),
    }
}

/// A decimal from a literal.
pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("test literal")
}

/// The day the tables run on.
pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).expect("date")
}

/// Line 1: `quantity` chairs at 100.00, 19% tax.
pub fn chairs(quantity: &str) -> Line {
    Line {
        no: 1,
        sku: None,
        description: "Chair".into(),
        quantity: d(quantity),
        unit_price: d("100"),
        discount: None,
        tax_rate: d("19"),
    }
}

/// A closing step's input with `reason`, on [`day`].
pub fn input(reason: &str) -> ClosingInput {
    ClosingInput {
        reason: Some(reason.into()),
        date: day(),
        description: None,
    }
}
