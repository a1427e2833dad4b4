//! `leadline store check` and `leadline store repair`: what to do with a
//! store folder that will not open, or that an operator wants to verify.
//!
//! Check opens the store the normal way and reads every key: records must
//! decode, no journal entry may be left. Repair never changes the damaged
//! folder in place: it renames it aside (`DIR.damaged-TIMESTAMP`), opens a
//! copy of it with every snapshot file removed (sled then rebuilds its page
//! table from the log alone), and copies every key it can read into a fresh
//! store at the original path. This module must not interpret records
//! beyond checking that they decode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{sled_words, SledStore, StoreOptions};
use crate::store::StoreError;

/// What `store check` found.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Every key in the store.
    pub keys: usize,
    /// Records by kind (`lead`, `quote`...).
    pub records: BTreeMap<String, usize>,
    /// Keys whose record does not decode.
    pub unreadable: Vec<String>,
}

impl CheckReport {
    /// The report for people.
    pub fn render(&self) -> String {
        let mut out = format!("store is readable: {} keys", self.keys);
        for (kind, n) in &self.records {
            out.push_str(&format!(", {n} {kind}"));
        }
        if self.unreadable.is_empty() {
            out.push_str("\nno problems found");
        } else {
            out.push_str(&format!(
                "\n{} records do not decode: {}",
                self.unreadable.len(),
                self.unreadable.join(", ")
            ));
        }
        out
    }
}

/// Opens the store at `options.path` (replaying a journal entry a crash
/// left, as every open does) and reads every key.
///
/// Fails as [`SledStore::open`] does.
pub fn check(options: &StoreOptions) -> Result<CheckReport, StoreError> {
    let store = SledStore::open(options)?;
    let mut report = CheckReport::default();
    for item in store.db.iter() {
        let (key, value) = item.map_err(|e| StoreError::Failed(sled_words(&e)))?;
        report.keys += 1;
        let Some(rest) = key.strip_prefix(b"r/") else {
            continue;
        };
        let kind = rest.split(|b| *b == b'/').next().unwrap_or_default();
        let kind = String::from_utf8_lossy(kind).into_owned();
        if serde_json::from_slice::<serde_json::Value>(&value).is_err() {
            report
                .unreadable
                .push(String::from_utf8_lossy(&key).into_owned());
        }
        *report.records.entry(kind).or_default() += 1;
    }
    Ok(report)
}

/// What `store repair` did.
#[derive(Debug, Serialize)]
pub struct RepairReport {
    /// Where the damaged folder was kept, untouched.
    pub kept_at: PathBuf,
    /// Keys copied into the new store.
    pub keys: usize,
    /// Keys that could not be read (the scan stopped there).
    pub lost_reason: Option<String>,
    /// Whether a damaged journal entry was left out: a change that was
    /// never applied, so never acknowledged.
    pub dropped_journal: bool,
    /// The check of the new store.
    pub check: CheckReport,
}

impl RepairReport {
    /// The report for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "copied {} keys into a fresh store; the damaged folder is kept at {}\n",
            self.keys,
            self.kept_at.display()
        );
        if self.dropped_journal {
            out.push_str(
                "left out a damaged journal entry: a change that was never applied, so never acknowledged\n",
            );
        }
        if let Some(reason) = &self.lost_reason {
            out.push_str(&format!(
                "reading stopped early ({reason}): compare with a backup\n"
            ));
        }
        out.push_str(&self.check.render());
        out
    }
}

/// Rebuilds the store at `options.path` from what its damaged folder still
/// holds; see the module documentation. A store that opens is left alone.
///
/// Fails when the store opens normally (nothing to repair), is in use, or
/// when not even its log can be read; the original folder is then back
/// where it was.
pub fn repair(
    options: &StoreOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RepairReport, StoreError> {
    let dir = options.path.clone();
    let io = |what: &str, e: std::io::Error| StoreError::Open {
        path: dir.clone(),
        reason: format!("{what}: {e}"),
    };
    if !dir.join("db").exists() {
        return Err(StoreError::Open {
            path: dir.clone(),
            reason: "there is no store in this folder".to_string(),
        });
    }
    match SledStore::open(options) {
        Ok(_) => {
            return Err(StoreError::Open {
                path: dir.clone(),
                reason:
                    "it opens normally: nothing to repair (leadline store check reads every record)"
                        .to_string(),
            })
        }
        Err(e @ (StoreError::Locked { .. } | StoreError::TooNew { .. })) => return Err(e),
        Err(_) => {}
    }
    let kept_at = sibling(&dir, &format!("damaged-{}", now.format("%Y%m%dT%H%M%SZ")));
    let work = sibling(&dir, "repairing");
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&dir, &work).map_err(|e| io("cannot copy the folder to work on", e))?;
    for entry in std::fs::read_dir(&work).map_err(|e| io("cannot read the copy", e))? {
        let entry = entry.map_err(|e| io("cannot read the copy", e))?;
        if entry.file_name().to_string_lossy().starts_with("snap.") {
            std::fs::remove_file(entry.path()).map_err(|e| io("cannot tidy the copy", e))?;
        }
    }
    let old = ::sled::Config::new()
        .path(&work)
        .open()
        .map_err(|e| StoreError::Open {
            path: dir.clone(),
            reason: format!(
                "not even its log can be read ({}); restore the folder from a backup",
                sled_words(&e)
            ),
        })?;
    std::fs::rename(&dir, &kept_at).map_err(|e| io("cannot move the damaged folder aside", e))?;
    super::private_folder(&dir)?;
    let copied = (|| {
        let new = ::sled::Config::new().path(&dir).open()?;
        let mut keys = 0;
        let mut lost_reason = None;
        let mut dropped_journal = false;
        for item in old.iter() {
            match item {
                // A journal entry that does not decode would stop the new
                // store from opening too.
                Ok((k, v))
                    if &*k == crate::command::keys::JOURNAL
                        && super::journal::decode(&v).is_err() =>
                {
                    dropped_journal = true;
                }
                Ok((k, v)) => {
                    new.insert(k, v)?;
                    keys += 1;
                }
                Err(e) => {
                    lost_reason = Some(sled_words(&e));
                    break;
                }
            }
        }
        new.flush()?;
        Ok::<_, ::sled::Error>((keys, lost_reason, dropped_journal))
    })();
    drop(old);
    let _ = std::fs::remove_dir_all(&work);
    let (keys, lost_reason, dropped_journal) = match copied {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::rename(&kept_at, &dir);
            return Err(StoreError::Open {
                path: dir.clone(),
                reason: format!("writing the new store failed: {}", sled_words(&e)),
            });
        }
    };
    // What lives beside sled's files (the OAuth2 sign-ins) comes along.
    for entry in std::fs::read_dir(&kept_at).map_err(|e| io("cannot read the damaged folder", e))? {
        let entry = entry.map_err(|e| io("cannot read the damaged folder", e))?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        let sled_file = ["db", "conf", "blobs", "leadline.sock"].contains(&name_text.as_ref())
            || name_text.starts_with("snap.");
        if !sled_file && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            copy_dir(&entry.path(), &dir.join(&name))
                .map_err(|e| io("cannot carry over a folder", e))?;
        } else if !sled_file {
            std::fs::copy(entry.path(), dir.join(&name))
                .map_err(|e| io("cannot carry over a file", e))?;
        }
    }
    let check = wait_for_release(|| check(options))?;
    Ok(RepairReport {
        kept_at,
        keys,
        lost_reason,
        dropped_journal,
        check,
    })
}

/// sled's IO threads may hold a just-dropped database's lock a moment.
pub(super) fn wait_for_release<T>(
    mut f: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tries = 0;
    loop {
        match f() {
            Err(StoreError::Locked { .. }) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// `DIR` -> `DIR.SUFFIX` beside it.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::metadata(from)?.permissions())?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
