//! `leadline backup` and `leadline restore`: the whole store in one
//! portable, versioned, checksummed file, made while commands go on.
//!
//! The file is the store's keys and values in leadline's own key layout
//! ([`crate::command::keys`]), so it does not depend on the backend:
//!
//! ```text
//! leadline-backup format=1 schema=3 version=0.1.0\n
//! P <key len u32 LE> <key> <value len u32 LE> <value>   a key and its value
//! D <key len u32 LE> <key>                               a key removed
//! ...
//! E <summary len u32 LE> <summary JSON>                  what it holds
//! <SHA-256 of every byte before it>
//! ```
//!
//! A backup is consistent although commands go on meanwhile: the backend
//! reads every key without holding writers up, and hands over too every
//! write committed while it read ([`Backend::export`]); replayed in order
//! after the keys, they give the store as it was when the reading ended.
//!
//! OAuth sign-ins are left out (they are secrets and are not in the store):
//! after a restore, `leadline login` each OAuth account again.
//!
//! A restore checks the whole file (checksum, format, schema) before it
//! writes anything, writes into an empty store only (or, with `force`, one
//! it empties first), marks the store as being restored until the last key
//! is in (a store whose restore was cut short refuses to open), and ends
//! by counting the records it restored.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Backend, Durability};
use crate::command::keys;

/// The backup file format this leadline writes and reads.
pub const FORMAT: u32 = 1;

/// Keys written per group while restoring.
const RESTORE_GROUP: usize = 2_000;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub format: u32,
    /// The store's schema version.
    pub schema: u64,
    /// The leadline that wrote it.
    pub version: String,
    pub created: chrono::DateTime<chrono::Utc>,
    /// Keys in the store at the snapshot moment.
    pub keys: u64,
    /// Records per kind (`lead`, `quote` revisions...), history and
    /// timeline entries, outbox and inbox entries.
    pub counts: BTreeMap<String, u64>,
    /// The file's size in bytes (0 inside the file itself).
    #[serde(default)]
    pub bytes: u64,
}

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{path} is not a leadline backup, or it is damaged: {reason}; nothing was restored")]
    Damaged { path: PathBuf, reason: String },
    #[error("{path} was written by leadline {version} (backup format {format}, schema {schema}); this leadline {ours} reads backup format {FORMAT} and schema up to {readable}: upgrade leadline to restore it")]
    TooNew {
        path: PathBuf,
        version: String,
        format: u32,
        schema: u64,
        ours: &'static str,
        readable: u64,
    },
    #[error("the store at {0} is not empty; restore into an empty folder, or add --force to replace what is there")]
    NotEmpty(PathBuf),
    #[error("the store failed: {0}")]
    Store(String),
}

/// What a key counts as in a [`Summary`].
fn counted(key: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.split('/');
    match (parts.next()?, parts.next()) {
        ("r", Some(kind)) => Some(kind.to_string()),
        ("h", _) => Some("history".to_string()),
        ("p", _) => Some("product".to_string()),
        ("q", Some(queue)) => Some(queue.to_string()),
        ("m", Some(box_)) => Some(box_.to_string()),
        _ => None,
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn entry(out: &mut impl Write, key: &[u8], value: Option<&[u8]>) -> std::io::Result<()> {
    out.write_all(if value.is_some() { b"P" } else { b"D" })?;
    out.write_all(&(key.len() as u32).to_le_bytes())?;
    out.write_all(key)?;
    if let Some(v) = value {
        out.write_all(&(v.len() as u32).to_le_bytes())?;
        out.write_all(v)?;
    }
    Ok(())
}

/// Writes a backup of `backend` (schema `schema`) to `file`, through a
/// temporary file beside it that is synced and then renamed.
///
/// Fails when the store cannot be read or the file cannot be written; no
/// partial file is left at `file`.
pub fn write(backend: &dyn Backend, schema: u64, file: &Path) -> Result<Summary, BackupError> {
    let failed = |e: std::io::Error| BackupError::File {
        path: file.to_path_buf(),
        reason: e.to_string(),
    };
    let mut tmp_name = file.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".partial");
    let tmp = file.with_file_name(tmp_name);
    let made = (|| {
        let f = std::fs::File::create(&tmp).map_err(failed)?;
        let mut out = Hashing {
            inner: BufWriter::with_capacity(1 << 20, f),
            hash: Sha256::new(),
            bytes: 0,
        };
        let version = env!("CARGO_PKG_VERSION");
        writeln!(
            out,
            "leadline-backup format={FORMAT} schema={schema} version={version}"
        )
        .map_err(failed)?;
        // Which keys the file holds so far, to count what it restores:
        // the writes replayed after the snapshot's keys may add or remove
        // some. Hashes, not the keys, so a large store costs 8 bytes a key.
        let mut present: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let mut total: i64 = 0;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        backend
            .export(&mut |key, value| {
                if key == keys::JOURNAL || key == keys::RESTORING {
                    return Ok(());
                }
                let id = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    key.hash(&mut h);
                    h.finish()
                };
                let change = match value {
                    Some(_) if present.insert(id) => 1,
                    None if present.remove(&id) => -1,
                    _ => 0,
                };
                total += change;
                if change != 0 {
                    if let Some(c) = counted(key) {
                        *counts.entry(c).or_default() += change;
                    }
                }
                entry(&mut out, key, value).map_err(|e| e.to_string())
            })
            .map_err(|e| BackupError::Store(e.0))?;
        let mut summary = Summary {
            format: FORMAT,
            schema,
            version: version.to_string(),
            created: chrono::Utc::now(),
            keys: u64::try_from(total).unwrap_or(0),
            counts: counts
                .into_iter()
                .map(|(k, v)| (k, u64::try_from(v).unwrap_or(0)))
                .collect(),
            bytes: 0,
        };
        let meta = serde_json::to_vec(&summary).map_err(|e| failed(std::io::Error::other(e)))?;
        out.write_all(b"E").map_err(failed)?;
        out.write_all(&(meta.len() as u32).to_le_bytes())
            .map_err(failed)?;
        out.write_all(&meta).map_err(failed)?;
        let digest = out.hash.clone().finalize();
        let mut inner = out.inner;
        inner.write_all(&digest).map_err(failed)?;
        let f = inner.into_inner().map_err(|e| failed(e.into_error()))?;
        f.sync_all().map_err(failed)?;
        summary.bytes = out.bytes + digest.len() as u64;
        Ok(summary)
    })();
    match made {
        Ok(summary) => {
            std::fs::rename(&tmp, file).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                failed(e)
            })?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// One entry read back.
enum Entry {
    Change(Vec<u8>, Option<Vec<u8>>),
    End(Summary),
}

/// Reads a backup's entries in order, checking its structure.
struct Reader<R: Read> {
    input: R,
    path: PathBuf,
}

impl<R: Read> Reader<R> {
    fn damaged(&self, reason: impl Into<String>) -> BackupError {
        BackupError::Damaged {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, BackupError> {
        // Grown as it is read: a damaged length must not allocate gigabytes.
        let mut buf = Vec::with_capacity(n.min(1 << 20));
        let got = (&mut self.input)
            .take(n as u64)
            .read_to_end(&mut buf)
            .map_err(|_| self.damaged("it cannot be read"))?;
        if got != n {
            return Err(self.damaged("it ends too early (cut short?)"));
        }
        Ok(buf)
    }

    fn len(&mut self) -> Result<usize, BackupError> {
        let b = self.exact(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn next(&mut self) -> Result<Entry, BackupError> {
        let tag = self.exact(1)?[0];
        match tag {
            b'P' | b'D' => {
                let klen = self.len()?;
                let key = self.exact(klen)?;
                let value = if tag == b'P' {
                    let vlen = self.len()?;
                    Some(self.exact(vlen)?)
                } else {
                    None
                };
                Ok(Entry::Change(key, value))
            }
            b'E' => {
                let n = self.len()?;
                let meta = self.exact(n)?;
                let summary = serde_json::from_slice(&meta)
                    .map_err(|e| self.damaged(format!("its summary does not read: {e}")))?;
                Ok(Entry::End(summary))
            }
            other => Err(self.damaged(format!("unknown entry tag {other}"))),
        }
    }
}

/// Reads the first line: the format, schema and version.
fn header(
    input: &mut impl std::io::BufRead,
    path: &Path,
) -> Result<(u32, u64, String), BackupError> {
    let damaged = |reason: &str| BackupError::Damaged {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    use std::io::BufRead as _;
    let mut line = Vec::new();
    input
        .by_ref()
        .take(200)
        .read_until(b'\n', &mut line)
        .map_err(|e| damaged(&e.to_string()))?;
    let text = std::str::from_utf8(&line).map_err(|_| damaged("it does not start as one"))?;
    let rest = text
        .trim_end()
        .strip_prefix("leadline-backup ")
        .ok_or_else(|| damaged("it does not start as one"))?;
    let mut format = None;
    let mut schema = None;
    let mut version = String::new();
    for part in rest.split(' ') {
        match part.split_once('=') {
            Some(("format", v)) => format = v.parse().ok(),
            Some(("schema", v)) => schema = v.parse().ok(),
            Some(("version", v)) => version = v.to_string(),
            _ => {}
        }
    }
    match (format, schema) {
        (Some(f), Some(s)) => Ok((f, s, version)),
        _ => Err(damaged("its first line has no format or schema")),
    }
}

/// Checks a backup whole: its first line (format and schema this leadline
/// reads), its checksum, and every entry; returns what it holds.
///
/// Fails when it is too new, cut short, altered or not a backup.
pub fn verify(file: &Path, readable_schema: u64) -> Result<Summary, BackupError> {
    let opened = std::fs::File::open(file).map_err(|e| BackupError::File {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let mut input = BufReader::with_capacity(1 << 20, opened);
    let (format, schema, version) = header(&mut input, file)?;
    if format > FORMAT || schema > readable_schema {
        return Err(BackupError::TooNew {
            path: file.to_path_buf(),
            version,
            format,
            schema,
            ours: env!("CARGO_PKG_VERSION"),
            readable: readable_schema,
        });
    }
    let damaged = |reason: &str| BackupError::Damaged {
        path: file.to_path_buf(),
        reason: reason.to_string(),
    };
    if size < 32 {
        return Err(damaged("it ends too early (cut short?)"));
    }
    // Hash everything but the last 32 bytes while reading the entries.
    let mut hash = Sha256::new();
    let line = format!("leadline-backup format={format} schema={schema} version={version}\n");
    hash.update(line.as_bytes());
    let body = size
        .checked_sub(32 + line.len() as u64)
        .ok_or_else(|| damaged("it ends too early (cut short?)"))?;
    struct Tee<'a, R: Read> {
        inner: R,
        hash: &'a mut Sha256,
    }
    impl<R: Read> Read for Tee<'_, R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
    }
    let summary = {
        let mut reader = Reader {
            input: Tee {
                inner: (&mut input).take(body),
                hash: &mut hash,
            },
            path: file.to_path_buf(),
        };
        loop {
            match reader.next()? {
                Entry::Change(..) => {}
                Entry::End(summary) => break summary,
            }
        }
    };
    let mut stated = [0u8; 32];
    input
        .read_exact(&mut stated)
        .map_err(|_| damaged("it ends too early (cut short?)"))?;
    if hash.finalize().as_slice() != stated {
        return Err(damaged("its checksum does not match (altered or damaged)"));
    }
    Ok(Summary {
        bytes: size,
        ..summary
    })
}

/// Whether the store holds anything (a fresh store holds only its schema
/// and the stamp of its empty report sums).
fn is_empty(backend: &dyn Backend) -> Result<bool, BackupError> {
    let mut any = false;
    backend
        .export(&mut |key, _| {
            if key != keys::SCHEMA && key != keys::JOURNAL && key != keys::FACTS_BUILT {
                any = true;
                // Enough is known: stop reading.
                return Err(String::new());
            }
            Ok(())
        })
        .or_else(|e| if any { Ok(()) } else { Err(e) })
        .map_err(|e| BackupError::Store(e.0))?;
    Ok(!any)
}

/// Restores `file` into `backend` (just opened on the target folder, at
/// `path`): checks the file whole first; refuses a store that is not empty
/// unless `force` (which empties it first).
///
/// Fails before writing anything when the file is damaged, too new, or the
/// store is not empty; fails with the store's error when it cannot write.
pub fn restore(
    backend: &dyn Backend,
    path: &Path,
    file: &Path,
    readable_schema: u64,
    force: bool,
) -> Result<Summary, BackupError> {
    let summary = verify(file, readable_schema)?;
    if !is_empty(backend)? {
        if !force {
            return Err(BackupError::NotEmpty(path.to_path_buf()));
        }
        let mut existing = Vec::new();
        backend
            .export(&mut |key, value| {
                if value.is_some() {
                    existing.push(key.to_vec());
                }
                Ok(())
            })
            .map_err(|e| BackupError::Store(e.0))?;
        write_group(backend, existing.into_iter().map(|k| (k, None)).collect())?;
    }
    // Marked until the last key is in: a store whose restore was cut short
    // does not open as if it were whole. The empty store's stamp of its
    // report sums goes: the backup's sums come with their own.
    write_group(
        backend,
        vec![
            (keys::RESTORING.to_vec(), Some(b"1".to_vec())),
            (keys::FACTS_BUILT.to_vec(), None),
        ],
    )?;
    let opened = std::fs::File::open(file).map_err(|e| BackupError::File {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut input = BufReader::with_capacity(1 << 20, opened);
    header(&mut input, file)?;
    let mut reader = Reader {
        input,
        path: file.to_path_buf(),
    };
    let mut group = Vec::with_capacity(RESTORE_GROUP);
    while let Entry::Change(key, value) = reader.next()? {
        group.push((key, value));
        if group.len() == RESTORE_GROUP {
            write_group(backend, std::mem::take(&mut group))?;
        }
    }
    group.push((keys::RESTORING.to_vec(), None));
    write_group(backend, group)?;
    backend.flush().map_err(|e| BackupError::Store(e.0))?;
    Ok(summary)
}

/// Copies every key of `from` into `to` (just opened, and empty; `name`
/// says where it is): records, history, timelines, outbox, inbox,
/// counters and report sums, as they are at one moment of `from`, then
/// counts both.
///
/// Fails before writing when `to` is not empty; when a store fails; and
/// when the counts of the copy differ from the source's. A copy cut short
/// leaves `to` marked unfinished: it does not open until copied again.
pub fn copy(
    from: &dyn Backend,
    to: &dyn Backend,
    name: &Path,
) -> Result<BTreeMap<String, u64>, BackupError> {
    if !is_empty(to)? {
        return Err(BackupError::Store(format!(
            "{} is not empty (or holds a copy cut short); copy into a new, empty store",
            name.display()
        )));
    }
    write_group(
        to,
        vec![
            (keys::RESTORING.to_vec(), Some(b"1".to_vec())),
            (keys::FACTS_BUILT.to_vec(), None),
        ],
    )?;
    let mut group = Vec::with_capacity(RESTORE_GROUP);
    let mut failed = None;
    from.export(&mut |key, value| {
        if key == keys::JOURNAL || key == keys::RESTORING {
            return Ok(());
        }
        group.push((key.to_vec(), value.map(<[u8]>::to_vec)));
        if group.len() == RESTORE_GROUP {
            if let Err(e) = write_group(to, std::mem::take(&mut group)) {
                let words = e.to_string();
                failed = Some(e);
                return Err(words);
            }
        }
        Ok(())
    })
    .map_err(|e| failed.take().unwrap_or(BackupError::Store(e.0)))?;
    group.push((keys::RESTORING.to_vec(), None));
    write_group(to, group)?;
    to.flush().map_err(|e| BackupError::Store(e.0))?;
    let (source, copied) = (counts(from)?, counts(to)?);
    if source != copied {
        return Err(BackupError::Store(format!(
            "the copy holds {copied:?}, the source {source:?}"
        )));
    }
    Ok(copied)
}

/// Writes one group of raw changes and waits until it is durable.
fn write_group(
    backend: &dyn Backend,
    group: Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> Result<(), BackupError> {
    let mut group = Some(group);
    let ticket = backend
        .commit(
            1,
            &mut |_, tx| {
                for (k, v) in group.take().unwrap_or_default() {
                    match v {
                        Some(v) => tx.put(k, v),
                        None => tx.remove(k),
                    }
                }
                true
            },
            Durability::Flush,
        )
        .map_err(|e| BackupError::Store(e.0))?;
    backend
        .make_durable(ticket)
        .map_err(|e| BackupError::Store(e.0))
}

/// The records, history, timeline, outbox and inbox entries per kind in
/// `backend` now, counted as a [`Summary`] counts them.
pub fn counts(backend: &dyn Backend) -> Result<BTreeMap<String, u64>, BackupError> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    backend
        .export(&mut |key, value| {
            if value.is_some() && key != keys::JOURNAL {
                if let Some(c) = counted(key) {
                    *out.entry(c).or_default() += 1;
                }
            }
            Ok(())
        })
        .map_err(|e| BackupError::Store(e.0))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_length_is_refused_without_reading_or_allocating_it() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("b.backup");
        let mut bytes = b"leadline-backup format=1 schema=3 version=0.1.0\n".to_vec();
        bytes.push(b'P');
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 40]);
        std::fs::write(&file, &bytes).expect("write");
        let e = verify(&file, 3).expect_err("damaged");
        assert!(e.to_string().contains("cut short"), "{e}");
        std::fs::write(&file, b"something else\n").expect("write");
        let e = verify(&file, 3).expect_err("not a backup");
        assert!(e.to_string().contains("not a leadline backup"), "{e}");
        std::fs::write(&file, b"leadline-backup format=1 schema=9 version=9.0.0\n").expect("write");
        let e = verify(&file, 3).expect_err("too new");
        assert!(
            e.to_string().contains("leadline 9.0.0") && e.to_string().contains("upgrade"),
            "{e}"
        );
    }
}
