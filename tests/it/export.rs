//! `leadline export`: every record with its fields, lines, products and
//! history, as spreadsheets (German or English) and JSON, with or without
//! the daemon.

use crate::helpers::{stdout_of, Bin};

const CUSTOM: &str = "[[process.custom_fields.lead]]\nname = \"industry\"\ntype = \"choice\"\nchoices = [\"Retail\", \"Public sector\"]\n";

fn journey(b: &Bin, cfg: &std::path::Path) {
    for line in [
        "/lead new topic:\"Bürostühle\" last:Müller email:m@contoso.example industry:Retail",
        "/qualify L-1001",
        "/product new CHAIR-1 price:199.50 name:\"Bürostuhl, ergonomisch\"",
        "/opp line add O-1001 sku:CHAIR-1 qty:3",
        "/quote new O-1001",
        "/note O-1001 \"Kunde möchte; drei Stühle\"",
    ] {
        stdout_of(
            b.configured(cfg).args(["cmd", line]).output().expect("run"),
            line,
        );
    }
}

fn csv_rows(
    path: &std::path::Path,
    delimiter: u8,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let bytes = std::fs::read(path).expect("read export");
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "{}: no byte-order mark",
        path.display()
    );
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(&bytes[3..]);
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header[0], "id");
    r.records()
        .map(|row| {
            let row = row.expect("row");
            header
                .iter()
                .cloned()
                .zip(row.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_german_team_gets_semicolons_and_decimal_commas_and_every_field() {
    let b = Bin::new();
    let cfg = b.file("de.toml", CUSTOM);
    journey(&b, &cfg);
    let out = b.dir.path().join("out");
    let said = stdout_of(
        b.configured(&cfg)
            .args(["export", "--out"])
            .arg(&out)
            .output()
            .expect("export"),
        "export",
    );
    assert!(said.contains("quote_lines.csv: 1 row(s)"), "{said}");
    let leads = csv_rows(&out.join("lead.csv"), b';');
    assert_eq!(leads[0]["id"], "L-1001");
    assert_eq!(leads[0]["topic"], "Bürostühle");
    assert_eq!(leads[0]["custom.industry"], "Retail");
    let lines = csv_rows(&out.join("quote_lines.csv"), b';');
    assert_eq!(lines[0]["id"], "Q-1001-1");
    assert_eq!(lines[0]["unit_price"], "199,5");
    assert_eq!(lines[0]["quantity"], "3");
    let products = csv_rows(&out.join("product.csv"), b';');
    assert_eq!(products[0]["name"], "Bürostuhl, ergonomisch");
    let activities = csv_rows(&out.join("activity.csv"), b';');
    assert!(
        activities[0]
            .values()
            .any(|v| v == "Kunde möchte; drei Stühle"),
        "{activities:?}"
    );
    let history = csv_rows(&out.join("history.csv"), b';');
    assert!(history
        .iter()
        .any(|h| h["id"] == "L-1001" && h["command"] == "/qualify L-1001"));
}

#[test]
fn an_english_team_gets_commas_and_json_goes_through_the_daemon() {
    let b = Bin::new();
    let cfg = b.file("en.toml", &format!("[team]\nlocale = \"en\"\n{CUSTOM}"));
    journey(&b, &cfg);
    let out = b.dir.path().join("en");
    stdout_of(
        b.configured(&cfg)
            .args(["export", "quotes", "--out"])
            .arg(&out)
            .output()
            .expect("export"),
        "export",
    );
    let lines = csv_rows(&out.join("quote_lines.csv"), b',');
    assert_eq!(lines[0]["unit_price"], "199.5");
    assert!(!out.join("lead.csv").exists(), "only quotes were asked for");

    let _d = crate::daemon::Daemon::start_with(b.configured(&cfg));
    let json = b.dir.path().join("json");
    stdout_of(
        b.configured(&cfg)
            .args(["export", "--format", "json", "--out"])
            .arg(&json)
            .output()
            .expect("export"),
        "export through the daemon",
    );
    let leads: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json.join("lead.json")).expect("lead.json"))
            .expect("json");
    assert_eq!(leads[0]["custom"]["industry"]["text"], "Retail");
    assert_eq!(leads[0]["state"], "qualified");
    let out = b
        .configured(&cfg)
        .args(["export", "--format", "xlsx"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a format"));
}

/// LibreOffice (headless) opens a German export as a German user's
/// LibreOffice would (`;`, UTF-8, German number format) and reads the
/// amounts as numbers and the umlauts as they are: converted back to an
/// English CSV with text quoted, `199,5` comes out as the bare number
/// `199.5` (a `199.5` in the German file would stay the text `"199.5"`).
#[test]
fn libreoffice_reads_a_german_export_with_numbers_and_umlauts_intact() {
    let b = Bin::new();
    let cfg = b.file("de.toml", CUSTOM);
    journey(&b, &cfg);
    let out = b.dir.path().join("out");
    stdout_of(
        b.configured(&cfg)
            .args(["export", "--out"])
            .arg(&out)
            .output()
            .expect("export"),
        "export",
    );
    let converted = b.dir.path().join("converted");
    let profile = b.dir.path().join("lo-profile");
    let run = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--infilter=CSV:59,34,76,1,,1031",
            "--convert-to",
            // English, and every text cell quoted: a number is bare.
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,true",
            "--outdir",
        ])
        .arg(&converted)
        .arg(out.join("quote_lines.csv"))
        .output()
        .expect("soffice (the test command installs libreoffice-calc-nogui)");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let back = std::fs::read_to_string(converted.join("quote_lines.csv")).expect("converted");
    let mut r = csv::Reader::from_reader(back.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let row: Vec<String> = r
        .records()
        .next()
        .expect("a row")
        .expect("a row")
        .iter()
        .map(String::from)
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| h == name).expect(name)].clone();
    assert_eq!(cell("unit_price"), "199.5", "{back}");
    // Read as a number, not as the text "199,5" (which would be quoted).
    assert!(
        back.lines().nth(1).is_some_and(|l| l.ends_with(",199.5")),
        "{back}"
    );
    assert_eq!(cell("quantity"), "3", "{back}");
    assert!(back.contains("Bürostuhl"), "{back}");
}
