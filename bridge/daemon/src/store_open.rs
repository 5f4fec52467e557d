//! The store the config names (`[bridge] store = "sled" | "redb"`), opened in one place: by
//! the daemon, by the commands that read a stopped daemon's store, and by the store tools.

use std::sync::Arc;
use std::time::Duration;

use c2c_config::{CommitMode, Config, StoreEngine};
use c2c_core::Store;
use c2c_store::open::wait_while_in_use;
use c2c_store::redb_kv::RedbStore;
use c2c_store::{OpenError, SledStore};

/// An opened store, on the engine the config names.
#[derive(Debug, Clone)]
pub enum Opened {
    Sled(SledStore),
    Redb(RedbStore),
}

impl Opened {
    /// Open `data_dir/store` on the config's engine, waiting up to `wait` for another holder
    /// (a previous process still exiting) to let go.
    pub fn open(config: &Config, wait: Duration) -> Result<Self, OpenError> {
        let dir = config.bridge.data_dir.join("store");
        let (instance, cache) = (config.bridge.instance.as_deref(), config.bridge.store_cache);
        match config.bridge.store {
            StoreEngine::Sled => SledStore::open_with_cache(&dir, instance, wait, cache).map(Opened::Sled),
            StoreEngine::Redb => {
                wait_while_in_use(wait, || RedbStore::open_redb(&dir, instance, cache)).map(Opened::Redb)
            }
        }
    }

    /// The store for the daemon, its flushes spaced as `commit` says.
    pub fn into_store(self, commit: CommitMode, window: Duration) -> Arc<dyn Store> {
        let group = commit == CommitMode::Group;
        match self {
            Opened::Sled(s) if group => Arc::new(s.with_commit_window(window)),
            Opened::Sled(s) => Arc::new(s),
            Opened::Redb(s) if group => Arc::new(s.with_commit_window(window)),
            Opened::Redb(s) => Arc::new(s),
        }
    }

    pub fn as_store(&self) -> &dyn Store {
        match self {
            Opened::Sled(s) => s,
            Opened::Redb(s) => s,
        }
    }

    /// `store check` (see `c2c_store::check`).
    pub fn check(&self) -> c2c_store::check::Report {
        match self {
            Opened::Sled(s) => s.check(),
            Opened::Redb(s) => s.check(),
        }
    }

    /// `store check --repair`.
    pub fn repair(&self) -> c2c_core::store::StoreResult<(c2c_store::check::Report, Vec<String>)> {
        match self {
            Opened::Sled(s) => s.repair(),
            Opened::Redb(s) => s.repair(),
        }
    }

    /// `store export`.
    pub fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, c2c_store::export::ExportError> {
        match self {
            Opened::Sled(s) => s.export(out),
            Opened::Redb(s) => s.export(out),
        }
    }
}
