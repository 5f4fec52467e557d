//! [`SledStore`]: the store ([`KvStore`]) on sled: opening it (the lock, its corruption errors,
//! the schema version, the instance id) and its page cache.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::disk_sync::DiskSync;
use crate::kv_store::KvStore;
use crate::schema::SchemaError;
use crate::sled_kv::SledKv;

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {path}: {source}")]
    Sled { path: String, source: sled::Error },
    /// The engine could not open the store (other than for the reasons below).
    #[error("cannot open the store at {path}: {detail}")]
    Engine { path: String, detail: String },
    /// The directory holds a store of the other engine.
    #[error(
        "the store at {path} was written by {found}, but the config asks for {asked}: set `[bridge] store = \"{found}\"` (or `c2c-bridge store migrate` it)"
    )]
    OtherEngine { path: String, found: &'static str, asked: &'static str },
    /// Another process (a running daemon) holds the store.
    #[error("the store at {path} is in use by another process (a running daemon?)")]
    InUse { path: String },
    /// The store's files cannot be read back: restarting will not help.
    #[error(
        "the store at {path} is damaged and cannot be opened (its file {file}: {detail}). \
         To recover: stop here, move {path} aside (keep it), and put back a copy of the stopped store's \
         directory from a backup, or load an export into a new store with `c2c-bridge store import`"
    )]
    Damaged { path: String, file: String, detail: String },
    #[error("the store at {path}: {source}")]
    Schema { path: String, source: SchemaError },
    #[error(
        "the store at {path} belongs to instance `{stored}`, but the config says `{configured}`; ids already issued name the stored one, so it cannot change"
    )]
    InstanceMismatch { path: String, stored: String, configured: String },
}

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
        let path = dir.display().to_string();
        if dir.join(crate::redb_kv::FILE).exists() {
            return Err(OpenError::OtherEngine { path, found: "redb", asked: "sled" });
        }
        // sled's log, non-empty once a store has been opened and closed.
        let existed = std::fs::metadata(dir.join("db")).is_ok_and(|m| m.len() > 0);
        let started = Instant::now();
        let db = loop {
            let opened =
                sled::Config::new().path(dir).cache_capacity(cache_bytes).mode(sled::Mode::HighThroughput).open();
            match opened {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock") && started.elapsed() < wait =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    return Err(OpenError::InUse { path });
                }
                Err(source @ (sled::Error::Corruption { .. } | sled::Error::ReportableBug(_))) => {
                    return Err(OpenError::Damaged { file: format!("{path}/db"), path, detail: source.to_string() });
                }
                Err(source) => return Err(OpenError::Sled { path, source }),
            }
        };
        let disk = DiskSync::open(dir).map_err(|e| OpenError::Sled { path: path.clone(), source: e.into() })?;
        let file = format!("{path}/db");
        KvStore::open_on(SledKv::new(db, disk), &path, &file, existed, instance_id)
    }
}
