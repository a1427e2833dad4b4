//! The shape of the code, checked: dependencies between the crate's
//! top-level modules point one way (no cycle), the workflow core
//! (`domain`) imports nothing else of the crate, and only the sled store
//! names sled. Read from the sources, so a change that breaks the layering
//! fails here, not in a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a file without comments and without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    // Unit tests sit at the end of a file, in `mod tests`.
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`src/mail/imap.rs` -> `mail`).
fn module_of(src: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "main" && name != "lib").then_some(name)
}

/// Module -> the crate's other top-level modules it names (`crate::x`).
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources(src)
        .iter()
        .filter_map(|p| module_of(src, p))
        .collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in sources(src) {
        let Some(module) = module_of(src, &path) else {
            continue;
        };
        let text = code(&path);
        let entry = deps.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != module && modules.contains(&name) {
                entry.insert(name);
            }
        }
        // `use crate::{a, b}` names several at once.
        for (i, _) in text.match_indices("crate::{") {
            let rest = &text[i + "crate::{".len()..];
            let inside = &rest[..rest.find('}').unwrap_or(0)];
            for part in inside.split(',') {
                let name = part.trim().split("::").next().unwrap_or("").to_string();
                if name != module && modules.contains(&name) {
                    entry.insert(name);
                }
            }
        }
    }
    deps
}

/// A cycle through `from`, if there is one.
fn cycle(
    deps: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|m| m == from) {
        let mut c = path[i..].to_vec();
        c.push(from.to_string());
        return Some(c);
    }
    path.push(from.to_string());
    for next in deps.get(from).into_iter().flatten() {
        if let Some(c) = cycle(deps, next, path) {
            return Some(c);
        }
    }
    path.pop();
    None
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn module_dependencies_point_one_way_and_the_domain_imports_nothing_else() {
    let deps = dependencies(&src());
    assert!(deps.len() >= 10, "too few modules found: {deps:?}");
    assert_eq!(
        deps.get("domain"),
        Some(&BTreeSet::new()),
        "domain must not import the rest of the crate"
    );
    for module in deps.keys() {
        if let Some(c) = cycle(&deps, module, &mut Vec::new()) {
            panic!("a module cycle: {}", c.join(" -> "));
        }
    }
    // The one way in: adapters reach the store only through the core.
    for adapter in ["mail", "chat", "scheduler", "daemon"] {
        assert!(
            !deps.get(adapter).is_some_and(|d| d.contains("store")),
            "{adapter} names the store; it must go through core"
        );
    }
}

#[test]
fn only_the_sled_store_names_sled() {
    let src = src();
    let sled_dir = src.join("store").join("sled");
    for path in sources(&src) {
        if path.starts_with(&sled_dir) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            !text.contains("sled::"),
            "{} names sled; only src/store/sled may",
            path.display()
        );
    }
}
