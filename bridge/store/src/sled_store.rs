//! [`SledStore`]: the store ([`KvStore`]) on sled: opening it (the lock, its corruption errors,
//! the schema version, the instance id) and its page cache.

use std::path::Path;
use std::time::Duration;

use crate::disk_sync::DiskSync;
use crate::kv_store::KvStore;
use crate::open::{OpenError, wait_while_in_use};
use crate::sled_kv::SledKv;

/// The store on sled (see [`KvStore`]).
pub type SledStore = KvStore<SledKv>;

impl KvStore<SledKv> {
    /// Open (or create) the store in `dir`. A new store takes `instance_id` as its instance id,
    /// or a fresh `c2c-<ULID>` when none is given; an existing store keeps its own.
    pub fn open(dir: &Path, instance_id: Option<&str>) -> Result<Self, OpenError> {
        Self::open_waiting(dir, instance_id, Duration::ZERO)
    }

    /// [`SledStore::open`], waiting up to `wait` for another holder of the store's lock file to
    /// let go (a previous process still exiting; sled also releases a dropped database's lock a
    /// little after the drop).
    pub fn open_waiting(dir: &Path, instance_id: Option<&str>, wait: Duration) -> Result<Self, OpenError> {
        Self::open_with_cache(dir, instance_id, wait, Self::DEFAULT_CACHE)
    }

    /// sled's page cache when none is given (`[bridge] store_cache` sets the daemon's).
    pub const DEFAULT_CACHE: u64 = 16 * 1024 * 1024;

    /// [`SledStore::open_waiting`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(
        dir: &Path,
        instance_id: Option<&str>,
        wait: Duration,
        cache_bytes: u64,
    ) -> Result<Self, OpenError> {
        wait_while_in_use(wait, || Self::open_once(dir, instance_id, cache_bytes))
    }

    fn open_once(dir: &Path, instance_id: Option<&str>, cache_bytes: u64) -> Result<Self, OpenError> {
        let path = dir.display().to_string();
        if dir.join(crate::redb_kv::FILE).exists() {
            return Err(OpenError::OtherEngine { path, found: "redb", asked: "sled" });
        }
        // sled's log, non-empty once a store has been opened and closed.
        let existed = std::fs::metadata(dir.join("db")).is_ok_and(|m| m.len() > 0);
        let opened = sled::Config::new().path(dir).cache_capacity(cache_bytes).mode(sled::Mode::HighThroughput).open();
        let db = match opened {
            Ok(db) => db,
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                return Err(OpenError::InUse { path });
            }
            Err(source @ (sled::Error::Corruption { .. } | sled::Error::ReportableBug(_))) => {
                return Err(OpenError::Damaged { file: format!("{path}/db"), path, detail: source.to_string() });
            }
            Err(source) => return Err(OpenError::Sled { path, source }),
        };
        let disk = DiskSync::open(dir).map_err(|e| OpenError::Sled { path: path.clone(), source: e.into() })?;
        let file = format!("{path}/db");
        KvStore::open_on(SledKv::new(db, disk), &path, &file, existed, instance_id)
    }
}
