//! CSV import of leads (P-2) through the binary.

use crate::helpers::Bin;

#[test]
fn german_and_english_headers_map_to_lead_fields() {
    let b = Bin::new();
    let csv = b.file(
        "leads.csv",
        "\u{feff}Thema;Vorname;Nachname;E-Mail;Firma;PLZ;Ort;Land;Telefon\n\
         Bürostühle;Anna;Schmidt;anna@contoso.example;Contoso GmbH;10115;Berlin;Deutschland;+49 30 123\n\
         Schreibtische;Jonas;Meier;jonas@fabrikam.example;Fabrikam AG;80331;München;Deutschland;\n",
    );
    let out = b.run(&["import", "leads", csv.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 2, duplicates 0, failed 0"),
        "{stdout}"
    );
    let shown = b.ok("/show L-1001");
    assert!(
        shown.contains("Bürostühle")
            && shown.contains("Anna Schmidt")
            && shown.contains("10115 Berlin"),
        "{shown}"
    );
    assert!(b.ok("/show L-1002").contains("München"));
    assert!(b
        .ok("/history L-1001")
        .contains("me via import: import row 2"));
}

#[test]
fn failing_rows_are_reported_by_line_and_write_nothing_and_duplicates_are_skipped() {
    let b = Bin::new();
    b.ok("/lead new topic:Existing last:X email:taken@x.example");
    let csv = b.file(
        "leads.csv",
        "Topic,First Name,Last Name,Email,Company,Budget,Est Close,Comment\n\
         Chairs,Anna,Schmidt,anna@contoso.example,Contoso,5000,2027-01-31,hello\n\
         Desks,Bad,Mail,not-an-email,Fabrikam,,,\n\
         Lamps,Dup,Licate,TAKEN@x.example,Litware,,,\n\
         Tables,Neg,Budget,neg@x.example,Litware,-5,,\n\
         ,,NoTopic,no@x.example,,,,\n\
         Sofas,Late,Date,late@x.example,Litware,,31.02.2027,\n\
         Short,row\n\
         Again,Anna,Twice,anna@contoso.example,Contoso,,,\n",
    );
    let out = b.run(&["import", "leads", csv.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "failed rows make the exit code 1"
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("imported 1, duplicates 2, failed 5"),
        "{report}"
    );
    assert!(report.contains("ignored columns: Comment"), "{report}");
    assert!(
        report.contains("line 3: Email: 'not-an-email' is not an e-mail address"),
        "{report}"
    );
    assert!(
        report.contains("line 4: duplicate: taken@x.example is already on L-1001"),
        "{report}"
    );
    assert!(
        report.contains("line 5: Budget: '-5' is negative"),
        "{report}"
    );
    assert!(report.contains("line 6: a lead needs a topic"), "{report}");
    assert!(
        report.contains("line 7: Est Close: '31.02.2027' is not a date"),
        "{report}"
    );
    assert!(
        report.contains("line 8: 2 values for 8 columns"),
        "{report}"
    );
    assert!(
        report.contains("line 9: duplicate: anna@contoso.example is already on L-1002"),
        "{report}"
    );
    // Exactly one new lead, numbered without gaps.
    assert!(b.ok("/show L-1002").contains("Chairs"));
    let out = b.run(&["cmd", "/show L-1003"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(b.ok("/show L-1002").contains("estimated close: 2027-01-31"));
}

#[test]
fn columns_can_be_mapped_by_hand_and_a_wrong_mapping_stops_before_importing() {
    let b = Bin::new();
    let csv = b.file("leads.csv", "Betreff,Kontakt,Kanal\nChairs,Schmidt,Messe\n");
    let file = csv.to_str().expect("utf-8 path");
    let out = b.run(&[
        "import",
        "leads",
        file,
        "--map",
        "Kontakt=last",
        "--map",
        "Kanal=wrongfield",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("column 'Kanal': 'wrongfield' is not a lead field"));
    assert_eq!(
        b.run(&["cmd", "/show L-1001"]).status.code(),
        Some(1),
        "nothing was imported"
    );
    let out = b.run(&[
        "import",
        "leads",
        file,
        "--map",
        "Kontakt=last",
        "--map",
        "Kanal=source",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = b.ok("/show L-1001");
    assert!(
        shown.contains("Chairs") && shown.contains("Schmidt") && shown.contains("source: Messe"),
        "{shown}"
    );
}

#[test]
fn a_german_semicolon_file_with_thousands_separators_imports_the_right_amounts() {
    let b = Bin::new();
    let csv = b.file(
        "leads.csv",
        "Thema;Nachname;Firma;Budget\n\
         Bürostühle;Schmidt;Contoso GmbH;12.500,00\n\
         Tische;Weber;Fabrikam;20.000\n\
         Lampen;Meier;Litware;1.234\n",
    );
    let out = b.run(&["import", "leads", csv.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 3, duplicates 0, failed 0"),
        "{stdout}"
    );
    assert!(b.ok("/show L-1001").contains("12,500.00 EUR"));
    assert!(b.ok("/show L-1002").contains("20,000.00 EUR"));
    assert!(b.ok("/show L-1003").contains("1,234.00 EUR"));
}

/// Imports "Bürostühle;Müller;Köln" as Excel on Windows saves it
/// (Windows-1252); returns what the import printed.
fn import_excel_table(b: &Bin) -> String {
    let mut bytes = b"Thema;Nachname;Ort\n".to_vec();
    bytes.extend_from_slice(b"B\xfcrost\xfchle;M\xfcller;K\xf6ln\n");
    let path = b.dir.path().join("excel.csv");
    std::fs::write(&path, bytes).expect("write");
    let out = b.run(&["import", "leads", path.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains("imported 1, duplicates 0, failed 0"),
        "{stdout}"
    );
    stdout
}

#[test]
fn a_windows_1252_table_from_excel_is_decoded_with_a_note() {
    let b = Bin::new();
    let stdout = import_excel_table(&b);
    assert!(stdout.contains("read as Windows-1252"), "{stdout}");
    let shown = b.ok("/show L-1001");
    assert!(
        shown.contains("Bürostühle") && shown.contains("Müller") && shown.contains("Köln"),
        "{shown}"
    );
}

#[test]
fn line_numbers_count_the_lines_a_quoted_value_spans() {
    let b = Bin::new();
    let csv = b.file(
        "leads.csv",
        "Topic,Last Name,Comment,Email\n\
         Chairs,Schmidt,\"first line\nsecond line\nthird\",anna@x.example\n\
         Desks,Meier,,not-an-email\n",
    );
    let out = b.run(&["import", "leads", csv.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 1, duplicates 0, failed 1"),
        "{stdout}"
    );
    // Desks starts on line 5 of the file, not "row 3".
    assert!(stdout.contains("line 5"), "{stdout}");
}

#[test]
fn an_endless_file_is_refused_and_a_windows_1252_table_goes_through_the_daemon() {
    let b = Bin::new();
    let out = b.run(&["import", "leads", "/dev/zero"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero is not a file"), "{err}");
    // A file over the limit is refused before a row of it is imported.
    let big = b.dir.path().join("big.csv");
    let f = std::fs::File::create(&big).expect("create");
    std::io::Write::write_all(&mut &f, b"Topic,Last Name\nA,B\n").expect("write");
    f.set_len(33 * 1024 * 1024).expect("grow");
    let out = b.run(&["import", "leads", big.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than 32 MiB"), "{err}");
    assert!(b.fails("/show L-1001", 1).contains("no lead"));
    // Not UTF-8: its bytes travel to the daemon (in base64) and are read
    // there as Windows-1252.
    let _d = crate::daemon::Daemon::start(&b);
    import_excel_table(&b);
    assert!(b.ok("/show L-1001").contains("Bürostühle"));
}

#[test]
fn a_long_table_goes_a_group_at_a_time_with_line_numbers_and_duplicates_across_groups() {
    let b = Bin::new();
    let mut csv = String::from("Topic,Last Name,E-Mail\n");
    for i in 2..=1201 {
        match i {
            // A value with a line break: line numbers after it count it.
            700 => csv.push_str(&format!("\"Two\nlines\",L{i},p{i}@x.example\n")),
            // The e-mail of line 10, in a later group.
            900 => csv.push_str("Again,Weber,p10@x.example\n"),
            1100 => csv.push_str("Broken,,\n"),
            _ => csv.push_str(&format!("T{i},L{i},p{i}@x.example\n")),
        }
    }
    let path = b.file("long.csv", &csv);
    let _d = crate::daemon::Daemon::start(&b);
    let out = b.run(&["--json", "import", "leads", path.to_str().expect("utf-8")]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(
        report["imported"].as_array().map(Vec::len),
        Some(1198),
        "{report}"
    );
    assert_eq!(report["duplicates"][0][0], 901, "{report}");
    assert_eq!(report["failed"][0][0], 1101, "{report}");
    assert_eq!(out.status.code(), Some(1), "a failed row is exit 1");
}
