//! Room on the disk: a full disk must neither make a refused change count
//! nor keep the store shut once space is back.
//!
//! sled 0.34 takes an I/O error while writing its log as fatal: from then
//! on every operation of that open database fails, and what it had buffered
//! may or may not have reached the disk (a change answered as failed could
//! come back at the next start). So the store never lets sled run out of
//! space:
//! - before a group is journaled, the free space is checked; below
//!   [`Space::min_free`] the group is refused before anything is written
//!   (nothing of it is applied, ever), and writes go on by themselves once
//!   space is free again;
//! - a reserve file of [`Space::reserve`] bytes sits in the data folder;
//!   opening a store on a full disk deletes it first, so sled has room to
//!   open and the store can be read; it is made again when there is room;
//! - if a sync still finds the disk full (another program filled it
//!   between the check and the sync), the reserve is deleted and the sync
//!   tried once more. sled keeps its first write error, so this rarely
//!   saves the group: its answer then says the change may or may not be
//!   kept (never that it failed), writes are refused until a restart, and
//!   the restart has the reserve's room to open in.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The reserve file's name in the data folder.
const RESERVE_FILE: &str = "space.reserve";

/// The free-space rules of one store folder.
#[derive(Debug)]
pub(super) struct Space {
    dir: PathBuf,
    /// Below this many free bytes, writes are refused.
    min_free: u64,
    /// The reserve file's size.
    reserve: u64,
    /// Whether the last check found the disk full (for `status`).
    full: AtomicBool,
    /// Whether the reserve file is in place (so a commit does not look).
    reserved: AtomicBool,
}

/// Bytes free for an unprivileged writer on the file system of `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

impl Space {
    pub(super) fn new(dir: &Path, min_free: u64, reserve: u64) -> Space {
        Space {
            dir: dir.to_path_buf(),
            min_free,
            reserve,
            full: AtomicBool::new(false),
            reserved: AtomicBool::new(dir.join(RESERVE_FILE).exists()),
        }
    }

    fn reserve_path(&self) -> PathBuf {
        self.dir.join(RESERVE_FILE)
    }

    /// Before sled opens: on a full disk, gives the reserve back so sled
    /// has room to open (the store can then be read; writes wait for space).
    pub(super) fn before_open(&self) {
        if let Ok(free) = free_bytes(&self.dir) {
            if free < self.min_free {
                self.release("opening the store on a full disk");
            }
        }
    }

    /// Checks there is room for a group, and keeps the reserve in place.
    ///
    /// Fails, before anything is written, when the disk is full.
    pub(super) fn check(&self) -> Result<(), String> {
        let Ok(free) = free_bytes(&self.dir) else {
            // Cannot tell: let the write try (sled reports a real error).
            return Ok(());
        };
        if free < self.min_free {
            if !self.full.swap(true, Ordering::SeqCst) {
                tracing::error!(
                    "store: the disk holding {} is full ({} MiB free, {} MiB needed); writes are refused until there is room, and go on by themselves then",
                    self.dir.display(),
                    mib(free),
                    mib(self.min_free)
                );
            }
            return Err(self.full_words(free));
        }
        if self.full.swap(false, Ordering::SeqCst) {
            tracing::info!("store: there is room on the disk again; writes go on");
        }
        if !self.reserved.load(Ordering::SeqCst)
            && free >= self.min_free.saturating_add(self.reserve)
        {
            self.make_reserve();
        }
        Ok(())
    }

    fn full_words(&self, free: u64) -> String {
        format!(
            "the disk holding the store is full ({} MiB free, leadline needs {} MiB); nothing was saved. Free some space; writes go on by themselves then",
            mib(free),
            mib(self.min_free)
        )
    }

    /// What `status` says: the disk is full, or nothing.
    pub(super) fn problem(&self) -> Option<String> {
        let free = free_bytes(&self.dir).ok()?;
        (free < self.min_free).then(|| self.full_words(free))
    }

    /// Deletes the reserve (a sync found the disk full); whether there was
    /// one to give back.
    pub(super) fn release(&self, why: &str) -> bool {
        self.reserved.store(false, Ordering::SeqCst);
        match std::fs::remove_file(self.reserve_path()) {
            Ok(()) => {
                tracing::warn!(
                    "store: {why}: gave back the {} MiB reserve",
                    mib(self.reserve)
                );
                true
            }
            Err(_) => false,
        }
    }

    fn make_reserve(&self) {
        let made = (|| {
            use std::io::Write;
            let path = self.reserve_path();
            let tmp = path.with_extension("new");
            let mut f = std::fs::File::create(&tmp)?;
            let chunk = vec![0u8; 1024 * 1024];
            let mut left = self.reserve;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                f.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        match made {
            Ok(()) => self.reserved.store(true, Ordering::SeqCst),
            Err(e) => {
                let _ = std::fs::remove_file(self.reserve_path().with_extension("new"));
                tracing::warn!("store: cannot make the space reserve: {e}; going on without it");
                // Not tried again on every commit: writing it is 16 MiB.
                self.reserved.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Whether a sled error is the disk being full.
pub(super) fn is_full(e: &::sled::Error) -> bool {
    matches!(e, ::sled::Error::Io(io) if io.raw_os_error() == Some(28) // ENOSPC
        || io.kind() == std::io::ErrorKind::StorageFull)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_less_room_than_needed_is_refused_in_words_and_the_reserve_is_made_when_there_is_room(
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let free = free_bytes(dir.path()).expect("statvfs");
        let tight = Space::new(dir.path(), free.saturating_mul(2), 1024 * 1024);
        let e = tight.check().expect_err("more room needed than there is");
        assert!(e.contains("disk holding the store is full") && e.contains("nothing was saved"));
        assert!(tight.problem().is_some());
        let roomy = Space::new(dir.path(), 1, 1024 * 1024);
        roomy.check().expect("room");
        let reserve = std::fs::metadata(dir.path().join(RESERVE_FILE)).expect("reserve made");
        assert_eq!(reserve.len(), 1024 * 1024);
        assert!(roomy.release("test"));
        assert!(!roomy.release("test"), "released twice");
    }
}
