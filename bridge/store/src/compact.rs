//! `c2c-bridge store compact`: give disk back. Neither engine shrinks its files when records
//! are deleted (sled never reuses the space; redb reuses freed pages but keeps its file's
//! size); a copy of the live records into a new store does. The copy is flushed, opened and
//! checked to hold exactly as many records before it replaces the old store.

use std::path::{Path, PathBuf};

use crate::kv::Kv;
use crate::redb_kv::RedbStore;
use crate::{OpenError, SledStore};

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    pub records: u64,
    /// The store directory's size on disk before and after, in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The old store, when kept.
    pub kept: Option<PathBuf>,
}

/// Why a compaction stopped (the store is as it was, unless said otherwise).
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("the copy holds {copied} records, the store {records}; the store was left as it was")]
    Count { records: u64, copied: u64 },
    #[error("{0}")]
    Io(String),
}

/// Compact the stopped sled store in `dir` (see [`compact_with`]).
pub fn compact(dir: &Path, keep_old: bool) -> Result<Compacted, CompactError> {
    let wait = std::time::Duration::from_secs(10);
    compact_with(dir, keep_old, &|d: &Path, instance: Option<&str>| SledStore::open_waiting(d, instance, wait))
}

/// Compact the stopped redb store in `dir` (see [`compact_with`]), opened with `cache_bytes`.
pub fn compact_redb(dir: &Path, keep_old: bool, cache_bytes: u64) -> Result<Compacted, CompactError> {
    compact_with(dir, keep_old, &|d: &Path, instance: Option<&str>| RedbStore::open_redb(d, instance, cache_bytes))
}

/// Compact the stopped store in `dir`, opened by `open`: copy it to `DIR.compacting`, check
/// the copy, move the store to `DIR.before-compact`, the copy to `dir`, and remove the old one
/// unless `keep_old`.
pub fn compact_with<K: Kv>(
    dir: &Path,
    keep_old: bool,
    open: crate::open::Opener<'_, K>,
) -> Result<Compacted, CompactError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "store".into());
    let copy = dir.with_file_name(format!("{name}.compacting"));
    let old = dir.with_file_name(format!("{name}.before-compact"));
    for leftover in [&copy, &old] {
        if leftover.exists() {
            return Err(CompactError::Io(format!(
                "{} exists (left by an earlier compaction?): look at it, remove it, and run this again",
                leftover.display()
            )));
        }
    }
    let bytes_before = du(dir);
    let store = open(dir, None)?;
    let instance = store.instance.to_string();
    let records = open(&copy, Some(&instance))
        .map_err(CompactError::from)
        .and_then(|new| store.copy_into(&new).map_err(|e| CompactError::Io(format!("copying the records: {e}"))))
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&copy);
        })?;
    drop(store);
    {
        let copied = open(&copy, Some(&instance))?;
        let report = copied.check();
        let n: u64 = report.counts.values().sum();
        if n != records || !report.is_clean() {
            drop(copied);
            let _ = std::fs::remove_dir_all(&copy);
            return Err(CompactError::Count { records, copied: n });
        }
    }
    let io = |what: &str, e: std::io::Error| CompactError::Io(format!("{what}: {e}"));
    std::fs::rename(dir, &old).map_err(|e| io(&format!("moving {} aside", dir.display()), e))?;
    std::fs::rename(&copy, dir)
        .map_err(|e| io(&format!("moving the copy into place (the store is now at {})", old.display()), e))?;
    let bytes_after = du(dir);
    let kept = if keep_old {
        Some(old)
    } else {
        std::fs::remove_dir_all(&old).map_err(|e| io(&format!("removing {}", old.display()), e))?;
        None
    };
    Ok(Compacted { records, bytes_before, bytes_after, kept })
}

/// The bytes a directory's files take on disk (allocated blocks), recursively.
pub fn du(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => du(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use c2c_core::Store;

    use super::*;

    #[tokio::test]
    async fn compaction_keeps_every_record_and_replaces_the_store() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("store");
        let store = SledStore::open(&dir, Some("c2c-test")).unwrap();
        let conv = c2c_core::conformance::sample_conversation("p");
        let (commit, message, _) = c2c_core::conformance::sample_commit(&conv, 1);
        store.durable(store.stage(commit).unwrap()).await.unwrap();
        let before = store.check();
        drop(store);

        let done = compact(&dir, false).unwrap();
        assert_eq!(done.records, before.counts.values().sum::<u64>());
        assert!(done.kept.is_none() && !top.path().join("store.before-compact").exists());
        let store = SledStore::open_waiting(&dir, Some("c2c-test"), std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(store.check(), before);
        assert_eq!(store.message(conv.id, message.seq).unwrap(), Some(message));
        drop(store);

        let done = compact(&dir, true).unwrap();
        assert_eq!(done.kept.as_deref(), Some(top.path().join("store.before-compact").as_path()));
        let err = compact(&dir, false).unwrap_err();
        assert!(err.to_string().contains("store.before-compact exists"), "{err}");
    }

    #[tokio::test]
    async fn a_redb_store_compacts_to_a_smaller_file_with_the_same_records() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("store");
        let store = RedbStore::open_redb(&dir, Some("c2c-test"), 1 << 20).unwrap();
        let conv = c2c_core::conformance::sample_conversation("p");
        let (mut all, mut forget) = (c2c_core::Commit::default(), Vec::new());
        for seq in 1..=1000 {
            let (mut commit, message, entry) = c2c_core::conformance::sample_commit(&conv, seq);
            commit.messages[0].text = "x".repeat(4000);
            all.extend(commit);
            if seq > 1 {
                forget.push(c2c_core::Forget::Message { conversation: conv.id, seq: message.seq });
                forget.push(c2c_core::Forget::Outbox { seq: entry.seq, id: entry.id });
            }
        }
        store.commit(all).await.unwrap();
        store.commit(c2c_core::Commit { forget, ..Default::default() }).await.unwrap();
        assert!(store.check().is_clean());
        let before = store.check();
        drop(store);

        let done = compact_redb(&dir, false, 1 << 20).unwrap();
        assert_eq!(done.records, before.counts.values().sum::<u64>());
        assert!(done.bytes_after * 2 < done.bytes_before, "{done:?}");
        let store = RedbStore::open_redb(&dir, Some("c2c-test"), 1 << 20).unwrap();
        assert_eq!(store.check(), before);
        assert_eq!(store.messages(conv.id).unwrap().len(), 1);
    }
}
