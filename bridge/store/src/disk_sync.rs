//! What sled's `flush` leaves to chance, done after it.
//!
//! sled 0.34 makes its log writes durable with `sync_file_range` on Linux, which neither flushes
//! the drive's write cache nor the file's metadata, and it never syncs the separate files it
//! writes for large values (`blobs/`, e.g. a mail with big attachments). That survives a killed
//! process (the page cache is the kernel's) but not a power cut. So after every group flush the
//! store `fdatasync`s the log file, and syncs the blob files written since the previous sync and
//! the `blobs` directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Syncs one sled database's files.
#[derive(Debug)]
pub struct DiskSync {
    log: File,
    blobs: PathBuf,
    /// When the previous sync started: blob files modified since then are synced next time.
    since: Mutex<SystemTime>,
}

impl DiskSync {
    /// For the sled database in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            log: File::open(dir.join("db"))?,
            blobs: dir.join("blobs"),
            since: Mutex::new(SystemTime::UNIX_EPOCH),
        })
    }

    /// `fdatasync` the log; sync new blob files and the blob directory. Blocking.
    pub fn sync(&self) -> std::io::Result<()> {
        let started = SystemTime::now();
        self.log.sync_data()?;
        // A file's mtime can trail the clock a little; look back a second for safety.
        let since = *self.since.lock().unwrap_or_else(|p| p.into_inner()) - Duration::from_secs(1);
        let mut synced_any = false;
        if let Ok(entries) = std::fs::read_dir(&self.blobs) {
            for entry in entries.flatten() {
                let fresh = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= since);
                if fresh && let Ok(f) = File::open(entry.path()) {
                    f.sync_data()?;
                    synced_any = true;
                }
            }
        }
        if synced_any {
            File::open(&self.blobs)?.sync_all()?;
        }
        *self.since.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_a_sled_directory_with_and_without_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        db.insert("small", "v").unwrap();
        db.insert("large", vec![7u8; 1 << 20]).unwrap(); // over sled's blob threshold
        db.flush().unwrap();
        let sync = DiskSync::open(dir.path()).unwrap();
        sync.sync().unwrap();
        sync.sync().unwrap();
        assert!(std::fs::read_dir(dir.path().join("blobs")).unwrap().count() >= 1, "the large value is a blob file");
    }
}
