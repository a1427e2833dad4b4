//! The README's examples, run as written, in order, on a fresh store: every
//! `leadline cmd|tick|digest|store check` line of its `sh` blocks must
//! succeed, and a plain block right after a `sh` block shows (part of) what
//! its last command prints.

use crate::helpers::Bin;

/// Shell words of one line, with `'...'` and `"..."` quoting, up to a `#`
/// comment.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    word.push(q);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Whether `leadline <args>` runs here as written: no servers, no daemon,
/// no files of the reader's (a `--config FILE` the README wrote before,
/// in a `toml` block that starts with `# FILE`, is fine).
fn runs_here(args: &[String]) -> bool {
    let args: Vec<String> = match args.first().map(String::as_str) {
        Some("--config") => args.iter().skip(2).cloned().collect(),
        _ => args.to_vec(),
    };
    match args.first().map(String::as_str) {
        Some("cmd" | "tick" | "digest" | "check-config" | "backup" | "export" | "document") => true,
        Some("store") => args.get(1).is_some_and(|a| a == "check"),
        Some("outbox") => args.len() == 1,
        _ => false,
    }
}

#[test]
fn every_readme_example_runs_in_order_on_a_fresh_store() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let b = Bin::new();
    let mut ran = Vec::new();
    let mut last_output = String::new();
    let mut block: Option<String> = None;
    let mut after_sh = false;
    let mut shown = Vec::new();
    // A toml block that starts with `# FILE`: the file the README's
    // examples then name with --config.
    let mut file: Option<(String, String)> = None;
    for line in readme.lines() {
        if let (Some("toml"), Some((name, text))) = (block.as_deref(), file.as_mut()) {
            if line.starts_with("```") {
                std::fs::write(b.dir.path().join(&*name), &*text).expect("write README file");
                file = None;
            } else {
                text.push_str(line);
                text.push('\n');
                if name.is_empty() {
                    *name = line.trim_start_matches('#').trim().to_string();
                }
            }
        }
        if block.is_none() && line == "```toml" {
            file = Some((String::new(), String::new()));
        }
        if let Some(lang) = line.strip_prefix("```") {
            match block.take() {
                Some(kind) => {
                    after_sh = kind == "sh";
                }
                None => {
                    // A plain block right after a sh block: its output.
                    if lang.is_empty() && after_sh {
                        block = Some("output".to_string());
                    } else {
                        block = Some(lang.to_string());
                    }
                    after_sh = false;
                }
            }
            continue;
        }
        match block.as_deref() {
            Some("sh") => {
                let words = shell_words(line.trim());
                if words.first().map(String::as_str) != Some("leadline") {
                    continue;
                }
                let args = &words[1..];
                if !runs_here(args) {
                    continue;
                }
                // Run in the test's folder (files the README writes, and
                // what the examples write, stay there); paths to the
                // project's own files (config/leadline.toml) are the
                // project's.
                let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
                let args: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let here = b.dir.path().join(a);
                        let project = root.join(a);
                        if a.contains('/') && !here.exists() && project.exists() {
                            project.display().to_string()
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                let out = b
                    .command()
                    .current_dir(b.dir.path())
                    .args(&args)
                    .output()
                    .expect("run leadline");
                assert!(
                    out.status.success(),
                    "README example failed: {line}\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                last_output = String::from_utf8_lossy(&out.stdout).to_string();
                ran.push(line.to_string());
            }
            Some("output") => {
                let want = line.trim();
                if !want.is_empty() {
                    assert!(
                        last_output.contains(want),
                        "the README shows '{want}' after {:?}, but it printed:\n{last_output}",
                        ran.last()
                    );
                    shown.push(want.to_string());
                }
            }
            _ => {}
        }
        if !line.starts_with("```") && block.is_none() && !line.trim().is_empty() {
            after_sh = false;
        }
    }
    // The quickstart, the timeline and the tax example all ran.
    assert!(ran.len() >= 40, "only {} examples ran: {ran:#?}", ran.len());
    for key in [
        "/quote win Q-1001",
        "/done ACT-1002",
        "/show Q-1002",
        "/find Schmidt Berlin",
    ] {
        assert!(ran.iter().any(|l| l.contains(key)), "{key} did not run");
    }
    assert!(
        shown.len() >= 6,
        "the worked example's output was not checked"
    );
    // The documents the README's comments name were written.
    for name in [
        "Angebot-Q-1001-2.pdf",
        "Rechnung-INV-1004.pdf",
        "INV-1004.xml",
        "Invoice-INV-1004.pdf",
        "XRechnung-INV-1004.xml",
    ] {
        assert!(b.dir.path().join(name).exists(), "{name} was not written");
    }
    // What the quickstart's comments promise.
    assert!(b.ok("/show INV-1001").contains("paid (Complete)"));
    assert!(b.ok("/show INV-1003").contains("cancels: INV-1002"));
    assert!(b.ok("/show SO-1001").contains("invoiced"));
}
