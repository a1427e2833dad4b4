//! Lead import from a CSV table (P-2).
//!
//! The header row names the columns; common English and German names map
//! to lead fields (`Vorname`, `E-Mail`, `PLZ`...), others through
//! `--map "Column=field"`. `;` or `,` separated, with or without a UTF-8
//! byte-order mark. Each row becomes one `lead new` command through the
//! same workflow core as the shell: a row that fails is reported with its
//! line number and reason and writes nothing; a row whose e-mail a lead
//! already has is reported as a duplicate and skipped.

use serde::{Deserialize, Serialize};
use std::io::Read;

use chrono::{DateTime, Utc};

use crate::command::{parse::CommandNew, CommandError, Context, FieldKey};
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
#[derive(Debug, Default, Serialize, Deserialize)]
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
    /// Adds what a later group of the same table did.
    pub fn merge(&mut self, other: ImportReport) {
        self.imported.extend(other.imported);
        self.duplicates.extend(other.duplicates);
        self.failed.extend(other.failed);
        if self.ignored_columns.is_empty() {
            self.ignored_columns = other.ignored_columns;
        }
        for note in other.notes {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
    }

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

/// One row as read: the line it starts on, and its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub line: usize,
    pub values: Vec<String>,
}

/// A table being read as it goes: its header first, then its rows a group
/// at a time, so a file of any length takes the memory of one group.
pub struct Table<R: Read> {
    pub headers: Vec<String>,
    csv: csv::Reader<std::io::Chain<std::io::Cursor<Vec<u8>>, std::io::BufReader<R>>>,
    next_line: usize,
    /// Whether values were read as Windows-1252.
    guessed: bool,
}

/// `raw` as text: UTF-8, else Windows-1252 (Excel's "CSV" on a German
/// Windows), noting that in `guessed`.
fn text(raw: &[u8], guessed: &mut bool) -> String {
    match std::str::from_utf8(raw) {
        Ok(t) => t.to_string(),
        Err(_) => {
            *guessed = true;
            encoding_rs::WINDOWS_1252.decode(raw).0.into_owned()
        }
    }
}

impl<R: Read> Table<R> {
    /// Reads the header: a byte-order mark is skipped, and the first line
    /// tells `;` from `,`.
    ///
    /// Fails when the table cannot be read or has no header.
    pub fn open(reader: R) -> Result<Table<R>, ImportError> {
        use std::io::BufRead as _;
        let read_failed = |e: std::io::Error| ImportError::Read(e.to_string());
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
        let mut guessed = false;
        let headers: Vec<String> = csv
            .byte_headers()
            .map_err(|e| ImportError::Read(e.to_string()))?
            .iter()
            .map(|h| text(h, &mut guessed).trim().to_string())
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(ImportError::NoHeader);
        }
        Ok(Table {
            headers,
            csv,
            next_line: 2,
            guessed,
        })
    }

    /// The next rows, at most `n`; rows that cannot be read go to
    /// `failed` with their line. `None` once the table has ended.
    pub fn rows(&mut self, n: usize, failed: &mut Vec<(usize, String)>) -> Option<Vec<Row>> {
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        let mut ended = false;
        while out.len() < n {
            match self.csv.read_byte_record(&mut record) {
                Ok(false) => {
                    ended = true;
                    break;
                }
                Ok(true) => {}
                Err(e) => {
                    // The line a row starts on: a quoted value may span lines.
                    let line = e.position().map_or(self.next_line, |p| p.line() as usize);
                    failed.push((line, format!("unreadable row: {e}")));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        ended = true;
                        break;
                    }
                    continue;
                }
            }
            let line = record
                .position()
                .map_or(self.next_line, |p| p.line() as usize);
            self.next_line = line + 1;
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            if record.len() != self.headers.len() {
                failed.push((
                    line,
                    format!("{} values for {} columns", record.len(), self.headers.len()),
                ));
                continue;
            }
            let values = record.iter().map(|v| text(v, &mut self.guessed)).collect();
            out.push(Row { line, values });
        }
        (!ended || !out.is_empty()).then_some(out)
    }

    /// What the report should say about how the table was read.
    pub fn notes(&self) -> Vec<String> {
        if self.guessed {
            vec![WINDOWS_1252_NOTE.to_string()]
        } else {
            Vec::new()
        }
    }
}

/// Imports leads from `reader`, made by `actor` at `now`, reading it as it
/// goes: a group of rows at a time ([`import_rows`]).
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
    let mut table = Table::open(reader)?;
    let mut report = ImportReport::default();
    let mut first = true;
    while let Some(rows) = table.rows(ROWS_PER_GROUP, &mut report.failed) {
        if first || !rows.is_empty() {
            let before = report.imported.len();
            report.merge(import_rows(
                core,
                &table.headers,
                rows,
                mapping,
                actor,
                now,
                before,
            )?);
            first = false;
        }
    }
    if first {
        // No rows at all: the mapping is still checked.
        report.merge(import_rows(
            core,
            &table.headers,
            Vec::new(),
            mapping,
            actor,
            now,
            0,
        )?);
    }
    report.notes.extend(table.notes());
    report.failed.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// Imports rows of a table with `headers`, as one group, made durable
/// before it returns: what `leadline import` sends the daemon, a group at
/// a time, and what [`import_leads`] runs.
///
/// Fails before importing anything when a mapping is wrong or nothing
/// maps to a lead field; fails when the store cannot be written, saying
/// how many leads are in: `before` (earlier groups') and this group's.
pub fn import_rows(
    core: &Leadline,
    headers: &[String],
    rows: Vec<Row>,
    mapping: &[(String, String)],
    actor: &str,
    now: DateTime<Utc>,
    before: usize,
) -> Result<ImportReport, ImportError> {
    let config = core.config();
    let ctx = &config.context(actor, now, "import");
    let columns = map_columns(headers, mapping, ctx)?;
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
        ..ImportReport::default()
    };
    let mut group = Vec::new();
    for row in rows {
        if row.values.len() != headers.len() {
            report.failed.push((
                row.line,
                format!("{} values for {} columns", row.values.len(), headers.len()),
            ));
            continue;
        }
        let mut values = Vec::new();
        for ((v, key), header) in row.values.into_iter().zip(&columns).zip(headers) {
            let Some(key) = key else { continue };
            if !v.trim().is_empty() {
                values.push((key.clone(), header.clone(), v));
            }
        }
        let cmd = match CommandNew::lead(values, ctx) {
            Ok(c) => c,
            Err(e) => {
                report.failed.push((row.line, e.to_string()));
                continue;
            }
        };
        let email = cmd.email();
        group.push((
            row.line,
            email,
            Request::system(
                cmd.into_command(),
                format!("import row {}", row.line),
                actor,
                "import",
                now,
            ),
        ));
    }
    run_group(core, group, &mut report, before)?;
    core.flush()
        .map_err(|e| ImportError::Store(e.to_string()))?;
    Ok(report)
}

/// Runs a group of import rows (line, e-mail, request) and reports each.
///
/// Fails when the store cannot be written.
fn run_group(
    core: &Leadline,
    rows: Vec<(usize, Option<String>, Request)>,
    report: &mut ImportReport,
    before: usize,
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
            Ok(outcome) => match (outcome.created(), outcome.duplicate()) {
                (Some(id), _) => report.imported.push((line, id.number)),
                (None, Some(existing)) => {
                    report
                        .duplicates
                        .push((line, email.unwrap_or_default(), existing.to_vec()))
                }
                (None, None) => {
                    return Err(ImportError::Store(format!(
                        "row {line}: an import row did {outcome:?}"
                    )))
                }
            },
            Err(CommandError::Store(e)) => {
                return Err(ImportError::Store(format!(
                    "{e}; the import stopped at line {line} ({} lead(s) before it were imported)",
                    before + report.imported.len()
                )))
            }
            Err(e) => report.failed.push((line, e.to_string())),
        }
    }
    Ok(())
}
