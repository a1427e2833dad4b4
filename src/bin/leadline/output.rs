//! What `leadline` prints: replies and reports for people (or JSON with
//! `--json`), escaped so nothing from mail, CSV or input drives the
//! terminal; the exit code says how it went.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// Writes `text` (and a line break) to standard output, control characters
/// and escape sequences shown escaped (they may come from mail, CSV or
/// input). A reader that went away (`leadline cmd ... | head -1`) ends the
/// process quietly instead of a panic: every change was committed before
/// its reply is printed.
pub fn write_out(text: &str, newline: bool) {
    let text = leadline::redact::redact(text);
    let text = leadline::command::terminal_safe(&text);
    let mut out = std::io::stdout().lock();
    let written = if newline {
        writeln!(out, "{text}")
    } else {
        write!(out, "{text}")
    };
    if written.and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Writes a line to standard error, escaped like [`write_out`]; a closed
/// standard error is no panic.
pub fn write_err(text: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        leadline::command::terminal_safe(&leadline::redact::redact(text))
    );
}

/// What a tick ran; the report itself with `--json`.
pub fn print_tick(report: &serde_json::Value, json: bool) -> anyhow::Result<ExitCode> {
    let ran = report["ran"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?);
    } else if ran.is_empty() {
        outln!("nothing was due");
    } else {
        for r in ran {
            outln!("{}", r.as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A digest (as [`leadline::scheduler::digest::Digest::to_json`] gives it):
/// subject and text, the HTML with `--html`, all of it with `--json`.
pub fn print_digest(d: &serde_json::Value, json: bool, html: bool) -> ExitCode {
    let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    if json {
        outln!("{d}");
    } else if html {
        outln!("{}", field("html"));
    } else {
        outln!("Subject: {}\n\n{}", field("subject"), field("text"));
    }
    ExitCode::SUCCESS
}

/// An import's report; exits 1 when a row failed.
pub fn print_import(
    report: &serde_json::Value,
    text: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?);
    } else {
        out!("{text}");
    }
    let failed = report["failed"].as_array().is_some_and(|f| !f.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The daemon's answer without its `ok`, or its message as the error.
pub fn answered(mut v: serde_json::Value, otherwise: &str) -> anyhow::Result<serde_json::Value> {
    if v["ok"] != true {
        anyhow::bail!("{}", v["message"].as_str().unwrap_or(otherwise));
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("ok");
    }
    Ok(v)
}

/// Reads commands from standard input, one per line, until its end.
pub fn shell(mut run: impl FnMut(&str) -> std::io::Result<ExitCode>) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        outln!("leadline shell - type /help, or /quit to leave");
    }
    let mut input = stdin.lock();
    let mut raw = Vec::new();
    let mut number = 0;
    loop {
        if tty {
            out!("leadline> ");
        }
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        let Ok(line) = std::str::from_utf8(&raw) else {
            errln!("line {number}: not valid UTF-8 text; skipped");
            continue;
        };
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if matches!(t, "/quit" | "/exit" | "quit" | "exit") {
            break;
        }
        run(t)?;
    }
    Ok(())
}

/// Prints a daemon's answer like a local reply; the exit code says how it went.
pub fn print_answer(v: &serde_json::Value, json: bool) -> ExitCode {
    if json {
        outln!("{v}");
    }
    if v["ok"].as_bool() == Some(true) {
        if !json {
            outln!("{}", v["reply"].as_str().unwrap_or(""));
        }
        return ExitCode::SUCCESS;
    }
    errln!(
        "{}",
        v["message"].as_str().unwrap_or("the daemon gave no answer")
    );
    match v["error"].as_str() {
        Some("invalid") => ExitCode::from(2),
        Some("refused" | "not_found") => ExitCode::from(1),
        _ => ExitCode::from(3),
    }
}

/// A backup's contents in a line: keys, records per kind, size.
pub fn backup_summary(s: &leadline::store::backup::Summary) -> String {
    let counts: Vec<String> = s
        .counts
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    format!(
        "{} keys ({}), {:.1} MiB, schema {}",
        s.keys,
        counts.join(", "),
        s.bytes as f64 / (1024.0 * 1024.0),
        s.schema
    )
}

/// Writes a document the daemon (or this process) rendered: the PDF to
/// `out` (default: its own name here), the e-invoice XML to `xml`, and the
/// XRechnung XML beside the PDF when the customer is public; says what it
/// wrote.
pub fn write_document(
    d: &serde_json::Value,
    out: Option<&std::path::Path>,
    xml: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use base64::Engine;
    let name = d["file_name"].as_str().unwrap_or("document.pdf");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(d["pdf"].as_str().unwrap_or_default())
        .context("the document came back damaged")?;
    let out = out.map_or_else(|| std::path::PathBuf::from(name), |p| p.to_path_buf());
    let mut written = vec![out.clone()];
    write_file(&out, &pdf)?;
    if let (Some(path), Some(text)) = (xml, d["facturx"].as_str()) {
        write_file(path, text.as_bytes())?;
        written.push(path.to_path_buf());
    } else if let Some(path) = xml {
        anyhow::bail!(
            "{} is not an invoice: it has no e-invoice XML for {}",
            d["number"].as_str().unwrap_or(""),
            path.display()
        );
    }
    if let Some(text) = d["xrechnung"].as_str() {
        let path = out.with_file_name(format!(
            "XRechnung-{}.xml",
            d["number"].as_str().unwrap_or("invoice")
        ));
        write_file(&path, text.as_bytes())?;
        written.push(path);
    }
    if json {
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        outln!(
            "{}",
            serde_json::json!({"number": d["number"], "kind": d["kind"], "files": files, "totals": d["totals"]})
        );
    } else {
        for p in written {
            outln!("{}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` whole: to a file beside it first, then renamed.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let part = path.with_extension("partial");
    std::fs::write(&part, bytes).with_context(|| format!("cannot write {}", part.display()))?;
    std::fs::rename(&part, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
