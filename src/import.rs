//! Lead import from a CSV table (P-2).
//!
//! The header row names the columns; common English and German names map
//! to lead fields (`Vorname`, `E-Mail`, `PLZ`...), others through
//! `--map "Column=field"`. `;` or `,` separated, with or without a UTF-8
//! byte-order mark. Each row becomes one `lead new` command through the
//! same workflow core as the shell: a row that fails is reported with its
//! line number and reason and writes nothing; a row whose e-mail a lead
//! already has is reported as a duplicate and skipped.

use serde::Serialize;
use std::io::Read;

use chrono::{DateTime, Utc};

use crate::command::{parse::CommandNew, CommandError, Context, FieldKey, Outcome};
use crate::core::{Answer, Leadline, Request};
use crate::domain::fields::normalize_name;
use crate::domain::{builtin_field, Kind, Rules};
use crate::store::Durability;

/// Rows committed together: one group, one journal entry.
const ROWS_PER_GROUP: usize = 500;

/// Why the import could not start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the table: {0}")]
    Read(String),
    #[error("the table has no header row")]
    NoHeader,
    #[error("column '{column}': {message}")]
    Mapping { column: String, message: String },
    #[error("no column maps to a lead field; name them like topic, first name, last name, e-mail, company, or use --map")]
    NothingMapped,
    #[error("store: {0}")]
    Store(String),
}

/// What an import did, row by row.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// (line, lead number)
    pub imported: Vec<(usize, u64)>,
    /// (line, e-mail, lead numbers that already have it)
    pub duplicates: Vec<(usize, String, Vec<u64>)>,
    /// (line, reason)
    pub failed: Vec<(usize, String)>,
    /// Columns that map to no field and were left out.
    pub ignored_columns: Vec<String>,
    /// What the reader of the report should know (an encoding guessed).
    pub notes: Vec<String>,
}

impl ImportReport {
    /// The report for people.
    pub fn render(&self, rules: &Rules) -> String {
        let mut out = format!(
            "imported {}, duplicates {}, failed {}\n",
            self.imported.len(),
            self.duplicates.len(),
            self.failed.len()
        );
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        if !self.ignored_columns.is_empty() {
            out.push_str(&format!(
                "ignored columns: {}\n",
                self.ignored_columns.join(", ")
            ));
        }
        let mut rows: Vec<(usize, String)> = self
            .duplicates
            .iter()
            .map(|(line, email, leads)| {
                let ids: Vec<String> = leads.iter().map(|n| rules.show(Kind::Lead, *n)).collect();
                (
                    *line,
                    format!("duplicate: {email} is already on {}", ids.join(", ")),
                )
            })
            .chain(self.failed.iter().cloned())
            .collect();
        rows.sort();
        for (line, text) in rows {
            out.push_str(&format!("line {line}: {text}\n"));
        }
        out
    }
}

/// Column names people use that are not field aliases already.
const HEADER_ALIASES: &[(&str, &str)] = &[
    ("betreff", "topic"),
    ("state", "region"),
    ("state_province", "region"),
    ("state/province", "region"),
    ("street_1", "street"),
    ("adresse", "street"),
    ("e_mail_adresse", "email"),
    ("email_address", "email"),
    ("telefonnummer", "business_phone"),
    ("telefon_geschäftlich", "business_phone"),
    ("telefon_(geschäftlich)", "business_phone"),
    ("mobilnummer", "mobile_phone"),
    ("homepage", "website"),
    ("organisation", "company"),
    ("organization", "company"),
    ("zip_code", "postal_code"),
    ("country/region", "country"),
    ("country_region", "country"),
    ("funktion", "job_title"),
];

/// Which field each column fills; `None` for ignored columns.
fn map_columns(
    headers: &[String],
    mapping: &[(String, String)],
    ctx: &Context,
) -> Result<Vec<Option<FieldKey>>, ImportError> {
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let chosen = mapping
            .iter()
            .find(|(c, _)| c.trim().eq_ignore_ascii_case(h.trim()))
            .map(|(_, f)| f.clone());
        let explicit = chosen.is_some();
        let name = chosen.unwrap_or_else(|| {
            let n = normalize_name(h);
            HEADER_ALIASES
                .iter()
                .find(|(a, _)| *a == n)
                .map(|(_, f)| f.to_string())
                .unwrap_or(n)
        });
        let key = if let Some(spec) = builtin_field(Kind::Lead, &name) {
            Some(FieldKey::Builtin(spec.name))
        } else if let Some(def) = ctx
            .rules
            .custom(Kind::Lead)
            .iter()
            .find(|d| d.name == normalize_name(&name))
        {
            Some(FieldKey::Custom(def.name.clone()))
        } else if explicit {
            return Err(ImportError::Mapping {
                column: h.clone(),
                message: format!("'{name}' is not a lead field"),
            });
        } else {
            None
        };
        if let Some(k) = &key {
            if out.iter().flatten().any(|o| o == k) {
                return Err(ImportError::Mapping {
                    column: h.clone(),
                    message: "another column already fills this field".to_string(),
                });
            }
        }
        out.push(key);
    }
    Ok(out)
}

/// The longest header line a table may have.
const MAX_HEADER: u64 = 1024 * 1024;

/// What the report says when values were read as Windows-1252.
const WINDOWS_1252_NOTE: &str = "the table is not UTF-8; it was read as Windows-1252 (Excel's \"CSV\" on Windows): check a few names with umlauts";

/// Imports leads from `reader`, made by `actor` at `now`.
///
/// Fails before importing anything when the table cannot be read, has no
/// header, or a mapping is wrong; row errors are reported, not fatal.
pub fn import_leads(
    core: &Leadline,
    reader: impl Read,
    mapping: &[(String, String)],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    use std::io::BufRead as _;
    let config = core.config();
    let ctx = &config.context(actor, now, "import");
    let read_failed = |e: std::io::Error| ImportError::Read(e.to_string());
    // The table is read as it goes, a group of rows at a time: only the
    // header line is read ahead (to tell `;` from `,`).
    let mut input = std::io::BufReader::with_capacity(64 * 1024, reader);
    if input
        .fill_buf()
        .map_err(read_failed)?
        .starts_with(b"\xEF\xBB\xBF")
    {
        input.consume(3);
    }
    let mut first_line = Vec::new();
    input
        .by_ref()
        .take(MAX_HEADER + 1)
        .read_until(b'\n', &mut first_line)
        .map_err(read_failed)?;
    if first_line.len() as u64 > MAX_HEADER {
        return Err(ImportError::Read(format!(
            "its first line is longer than {} KiB; is it a table?",
            MAX_HEADER / 1024
        )));
    }
    let semicolons = first_line.iter().filter(|b| **b == b';').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(if semicolons > commas { b';' } else { b',' })
        .flexible(true)
        .from_reader(std::io::Cursor::new(first_line).chain(input));
    // Excel on a German Windows saves "CSV" as Windows-1252: a value that
    // is not UTF-8 is read as such, and the report says so, rather than
    // refusing every row with an umlaut.
    let notes = Vec::new();
    let mut guessed = false;
    let mut text = |raw: &[u8]| -> String {
        match std::str::from_utf8(raw) {
            Ok(t) => t.to_string(),
            Err(_) => {
                guessed = true;
                encoding_rs::WINDOWS_1252.decode(raw).0.into_owned()
            }
        }
    };
    let headers: Vec<String> = csv
        .byte_headers()
        .map_err(|e| ImportError::Read(e.to_string()))?
        .iter()
        .map(|h| text(h).trim().to_string())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(ImportError::NoHeader);
    }
    let columns = map_columns(&headers, mapping, ctx)?;
    if columns.iter().all(Option::is_none) {
        return Err(ImportError::NothingMapped);
    }
    let mut report = ImportReport {
        ignored_columns: headers
            .iter()
            .zip(&columns)
            .filter(|(_, c)| c.is_none())
            .map(|(h, _)| h.clone())
            .collect(),
        notes,
        ..ImportReport::default()
    };
    let mut next_line = 2;
    let mut rows = Vec::new();
    for row in csv.byte_records() {
        // The line a row starts on: a quoted value may span lines.
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(next_line, |p| p.line() as usize);
                report.failed.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = row.position().map_or(next_line, |p| p.line() as usize);
        next_line = line + 1;
        if row.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if row.len() != headers.len() {
            report.failed.push((
                line,
                format!("{} values for {} columns", row.len(), headers.len()),
            ));
            continue;
        }
        let mut values = Vec::new();
        for ((raw, key), header) in row.iter().zip(&columns).zip(&headers) {
            let Some(key) = key else { continue };
            let v = text(raw);
            if !v.trim().is_empty() {
                values.push((key.clone(), header.clone(), v));
            }
        }
        let cmd = match CommandNew::lead(values, ctx) {
            Ok(c) => c,
            Err(e) => {
                report.failed.push((line, e.to_string()));
                continue;
            }
        };
        let email = cmd.email();
        rows.push((
            line,
            email,
            Request::system(
                cmd.into_command(),
                format!("import row {line}"),
                actor,
                "import",
                now,
            ),
        ));
        if rows.len() == ROWS_PER_GROUP {
            import_rows(core, std::mem::take(&mut rows), &mut report)?;
        }
    }
    import_rows(core, rows, &mut report)?;
    if guessed {
        report.notes.push(WINDOWS_1252_NOTE.to_string());
    }
    core.flush()
        .map_err(|e| ImportError::Store(e.to_string()))?;
    // Rows refused when read and rows refused when run, in line order.
    report.failed.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// Runs a group of import rows (line, e-mail, request) and reports each.
///
/// Fails when the store cannot be written.
fn import_rows(
    core: &Leadline,
    rows: Vec<(usize, Option<String>, Request)>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    let (lines, requests): (Vec<(usize, Option<String>)>, Vec<Request>) = rows
        .into_iter()
        .map(|(line, email, r)| ((line, email), r))
        .unzip();
    let answers: Vec<Answer> = core
        .run_all(requests, Durability::Deferred)
        .map_err(|e| ImportError::Store(e.to_string()))?;
    for ((line, email), answer) in lines.into_iter().zip(answers) {
        match answer {
            Ok(reply) => match reply.outcome {
                Outcome::Created(id) => report.imported.push((line, id.number)),
                Outcome::Duplicate(existing) => {
                    report
                        .duplicates
                        .push((line, email.unwrap_or_default(), existing))
                }
                other => {
                    return Err(ImportError::Store(format!(
                        "row {line}: an import row did {other:?}"
                    )))
                }
            },
            Err(CommandError::Store(e)) => {
                return Err(ImportError::Store(format!(
                    "{e}; the import stopped at line {line} ({} lead(s) before it were imported)",
                    report.imported.len()
                )))
            }
            Err(e) => report.failed.push((line, e.to_string())),
        }
    }
    Ok(())
}
