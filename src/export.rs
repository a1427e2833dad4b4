//! `leadline export`: every record of every kind (or the kinds asked for),
//! with every field, custom fields included, their lines, the products and
//! the history, as CSV, JSON or JSON lines: what a team needs to leave
//! leadline or to load its data elsewhere.
//!
//! One file per table: `lead`, `contact`, `account`, `opportunity`,
//! `quote` (every revision), `order`, `invoice`, `activity`; the lines of
//! opportunities, quotes, orders and invoices as `<kind>_lines` (the
//! record's id in the first column); `product`; `history`. Each row starts
//! with the record's id as people see it (`L-1001`, `Q-1001-2`).
//!
//! It reads one consistent moment of the store without holding commands
//! up ([`crate::store::Backend::export`]), keeping the records in memory
//! while it does (about the size of their JSON).
//!
//! CSV is written for spreadsheets: UTF-8 with a byte-order mark (Excel
//! reads it as UTF-8 then), nested fields as dotted columns
//! (`address.city`, `custom.budget`), and, for a team whose numbers are
//! German (`[team] locale = "de"`), `;` between fields and `,` in decimal
//! amounts, as German Excel and LibreOffice expect.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::command::keys;
use crate::command::team::NumberLocale;
use crate::core::Leadline;
use crate::domain::Kind;

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
}

impl Format {
    /// `csv`, `json` or `jsonl`.
    ///
    /// Fails naming the formats.
    pub fn parse(text: &str) -> Result<Format, String> {
        match text {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(format!("'{other}' is not a format; use csv, json or jsonl")),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

/// A file written, and its rows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Written {
    pub file: PathBuf,
    pub rows: usize,
}

/// The tables `kinds` name: all when empty. `product` and `history` are
/// tables too.
///
/// Fails naming an unknown one.
pub fn tables(kinds: &[String]) -> Result<Vec<String>, String> {
    let all: Vec<String> = Kind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .chain(["product".to_string(), "history".to_string()])
        .collect();
    if kinds.is_empty() {
        return Ok(all);
    }
    kinds
        .iter()
        .map(|k| {
            let lower = k.to_lowercase();
            let name = match Kind::from_word(&lower) {
                Some(kind) => kind.name().to_string(),
                None => lower.strip_suffix('s').unwrap_or(&lower).to_string(),
            };
            if all.contains(&name) {
                Ok(name)
            } else {
                Err(format!(
                    "'{k}' is not a kind to export; kinds: {}",
                    all.join(", ")
                ))
            }
        })
        .collect()
}

/// Writes the tables in `wanted` ([`tables`]) into `dir` in `format`.
///
/// Fails when the store cannot be read or a file cannot be written.
pub fn export(
    core: &Leadline,
    wanted: &[String],
    format: Format,
    dir: &Path,
) -> Result<Vec<Written>, String> {
    let rules = &core.config().process;
    let locale = core.config().team.locale;
    // The store at one moment: the keys of the wanted tables.
    let mut keyed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let prefixes: Vec<Vec<u8>> = wanted
        .iter()
        .map(|t| match t.as_str() {
            "product" => keys::PRODUCTS.to_vec(),
            "history" => keys::HISTORY.to_vec(),
            kind => Kind::from_word(kind).map_or_else(Vec::new, keys::records),
        })
        .collect();
    core.export(&mut |key, value| {
        if prefixes.iter().any(|p| key.starts_with(p)) {
            match value {
                Some(v) => keyed.insert(key.to_vec(), v.to_vec()),
                None => keyed.remove(key),
            };
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;

    let mut out = Vec::new();
    for (table, prefix) in wanted.iter().zip(&prefixes) {
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (key, value) in keyed.range(prefix.clone()..) {
            if !key.starts_with(prefix) {
                break;
            }
            let Ok(Value::Object(mut record)) = serde_json::from_slice::<Value>(value) else {
                continue;
            };
            let id = row_id(rules, table, key, &record);
            // Lines go to their own table, each with its record's id.
            let found = record
                .get_mut("pricing")
                .and_then(|p| p.as_object_mut())
                .and_then(|p| p.remove("lines"))
                .or_else(|| record.remove("lines"));
            if let Some(Value::Array(items)) = found {
                for item in items {
                    let mut line = Map::new();
                    line.insert("id".into(), Value::String(id.clone()));
                    if let Value::Object(fields) = item {
                        line.extend(fields);
                    }
                    lines.push(line);
                }
            }
            let mut row = Map::new();
            row.insert("id".into(), Value::String(id));
            row.extend(record);
            rows.push(row);
        }
        out.push(write_table(dir, table, &rows, format, locale)?);
        if !lines.is_empty() {
            out.push(write_table(
                dir,
                &format!("{table}_lines"),
                &lines,
                format,
                locale,
            )?);
        }
    }
    Ok(out)
}

/// The id people see for the row of `key`.
fn row_id(
    rules: &crate::domain::Rules,
    table: &str,
    key: &[u8],
    record: &Map<String, Value>,
) -> String {
    let text = String::from_utf8_lossy(key);
    match table {
        "product" => text.trim_start_matches("p/").to_string(),
        "history" => {
            // h/<kind>/<number>/<seq>: the record's id.
            let mut parts = text.split('/').skip(1);
            let kind = parts.next().and_then(Kind::from_word);
            let number = parts.next().and_then(|n| n.parse::<u64>().ok());
            match (kind, number) {
                (Some(k), Some(n)) => rules.show(k, n),
                _ => text.to_string(),
            }
        }
        kind => {
            let number = record.get("number").and_then(Value::as_u64).unwrap_or(0);
            let shown =
                Kind::from_word(kind).map_or_else(|| number.to_string(), |k| rules.show(k, number));
            match record.get("revision").and_then(Value::as_u64) {
                Some(r) if kind == "quote" => format!("{shown}-{r}"),
                _ => shown,
            }
        }
    }
}

/// Writes one table.
fn write_table(
    dir: &Path,
    table: &str,
    rows: &[Map<String, Value>],
    format: Format,
    locale: NumberLocale,
) -> Result<Written, String> {
    let file = dir.join(format!("{table}.{}", format.extension()));
    let failed = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", file.display());
    let bytes = encode(rows, format, locale).map_err(|e| failed(&e))?;
    std::fs::write(&file, bytes).map_err(|e| failed(&e))?;
    Ok(Written {
        file,
        rows: rows.len(),
    })
}

/// One table's rows as the bytes of a file in `format` (what `leadline
/// export` writes and the web view's lists download).
///
/// Fails when a row does not encode.
pub fn encode(
    rows: &[Map<String, Value>],
    format: Format,
    locale: NumberLocale,
) -> Result<Vec<u8>, String> {
    let failed = |e: &dyn std::fmt::Display| e.to_string();
    let mut bytes = Vec::new();
    match format {
        Format::Json => {
            bytes = serde_json::to_vec_pretty(rows).map_err(|e| failed(&e))?;
            bytes.push(b'\n');
        }
        Format::Jsonl => {
            for row in rows {
                serde_json::to_writer(&mut bytes, row).map_err(|e| failed(&e))?;
                bytes.push(b'\n');
            }
        }
        Format::Csv => {
            let german = locale == NumberLocale::De;
            let flat: Vec<BTreeMap<String, String>> =
                rows.iter().map(|r| flatten(r, german)).collect();
            // Columns: `id` first, then every column any row has.
            let mut columns: BTreeSet<String> = BTreeSet::new();
            for r in &flat {
                columns.extend(r.keys().cloned());
            }
            columns.remove("id");
            let header: Vec<String> = std::iter::once("id".to_string()).chain(columns).collect();
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
            let mut w = csv::WriterBuilder::new()
                .delimiter(if german { b';' } else { b',' })
                .from_writer(&mut bytes);
            w.write_record(&header).map_err(|e| failed(&e))?;
            for r in &flat {
                w.write_record(header.iter().map(|c| r.get(c).map_or("", String::as_str)))
                    .map_err(|e| failed(&e))?;
            }
            w.flush().map_err(|e| failed(&e))?;
        }
    }
    Ok(bytes)
}

/// A row's fields as CSV cells: nested objects as dotted columns, lists as
/// JSON, decimals with `,` for German spreadsheets.
fn flatten(row: &Map<String, Value>, german: bool) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &Value, german: bool, out: &mut BTreeMap<String, String>) {
        match value {
            // A custom field's typed value (`{"text": "Retail"}`): the
            // value is the cell.
            Value::Object(fields)
                if prefix.starts_with("custom.")
                    && fields.len() == 1
                    && fields.keys().all(|k| {
                        ["text", "date", "amount", "number", "currency", "ref"]
                            .contains(&k.as_str())
                    }) =>
            {
                if let Some(inner) = fields.values().next() {
                    walk(prefix, inner, german, out);
                }
            }
            Value::Object(fields) => {
                for (k, v) in fields {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, german, out);
                }
            }
            Value::Null => {}
            Value::String(s) => {
                out.insert(prefix.to_string(), decimal(s, german));
            }
            Value::Array(_) => {
                out.insert(prefix.to_string(), value.to_string());
            }
            other => {
                out.insert(prefix.to_string(), decimal(&other.to_string(), german));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", &Value::Object(row.clone()), german, &mut out);
    out
}

/// A decimal number (`1234.5`) as a German spreadsheet reads it (`1234,5`);
/// anything else as it is.
fn decimal(text: &str, german: bool) -> String {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let is_decimal = digits.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    });
    if german && is_decimal {
        text.replace('.', ",")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_flatten_and_german_decimals_get_a_comma() {
        let row: Map<String, Value> = serde_json::from_str(
            r#"{"id":"Q-1001-1","pricing":{"freight":"12.50","currency":"EUR"},"custom":{"budget":"1500","industry":{"text":"Retail"},"size":{"number":"2.5"}},"tags":["a","b"],"topic":"Version 2.0 chairs","number":1001}"#,
        )
        .expect("json");
        let de = flatten(&row, true);
        assert_eq!(de["pricing.freight"], "12,50");
        assert_eq!(de["custom.budget"], "1500");
        assert_eq!(de["custom.industry"], "Retail");
        assert_eq!(de["custom.size"], "2,5");
        assert_eq!(de["tags"], r#"["a","b"]"#);
        assert_eq!(de["topic"], "Version 2.0 chairs");
        assert_eq!(de["number"], "1001");
        let en = flatten(&row, false);
        assert_eq!(en["pricing.freight"], "12.50");
        assert_eq!(decimal("-0.19", true), "-0,19");
        assert_eq!(decimal("1.2.3", true), "1.2.3");
        assert_eq!(
            tables(&["leads".into(), "History".into()]),
            Ok(vec!["lead".into(), "history".into()])
        );
        assert!(tables(&["orderz".into()]).is_err());
    }
}
