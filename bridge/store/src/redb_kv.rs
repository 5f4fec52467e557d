//! [`RedbKv`]: redb 4 as the store's engine ([`crate::kv::Kv`]), and [`RedbStore`], opening it.
//!
//! One table of byte keys in `DIR/store.redb`. Each applied batch is a write transaction
//! committed with `Durability::None` (atomic, not yet on disk); [`Kv::sync`] commits an empty
//! transaction with `Durability::Immediate`, which makes every earlier one durable: the group
//! commit's flush. Chosen by measurement (BENCHMARKS.md, "Choosing the second store backend"):
//! its memory is bounded by its cache and it opens in milliseconds at a million messages.
//! Not yet selectable in the daemon's config.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use c2c_core::StoreError;
use c2c_core::store::StoreResult;
use redb::{ReadableDatabase, TableDefinition};

use crate::kv::{EachRecord, Kv, Op, Synced};
use crate::kv_store::KvStore;
use crate::open::OpenError;

/// The store's one table.
const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");

/// The store's file in its directory.
pub const FILE: &str = "store.redb";

/// The store on redb.
pub type RedbStore = KvStore<RedbKv>;

/// One redb database.
#[derive(Clone)]
pub struct RedbKv {
    db: Arc<redb::Database>,
}

impl std::fmt::Debug for RedbKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbKv").finish_non_exhaustive()
    }
}

fn redb_error(e: impl Into<redb::Error>) -> StoreError {
    let e: redb::Error = e.into();
    // I/O errors may pass (a full disk gets space back); corruption and bugs do not.
    let retryable = matches!(e, redb::Error::Io(_));
    StoreError::new(e.to_string(), retryable)
}

impl RedbKv {
    fn write(&self, durability: redb::Durability, ops: Vec<Op>) -> StoreResult<()> {
        let mut tx = self.db.begin_write().map_err(redb_error)?;
        tx.set_durability(durability).map_err(|e| StoreError::new(e.to_string(), false))?;
        // The durable commit (the group flush) saves redb's allocator state, so opening after a
        // crash (which goes back to the last durable commit) does not walk the whole file: 5.6 s
        // at a million messages without it (BENCHMARKS.md). The batches in between are not
        // durable, so they need not.
        if matches!(durability, redb::Durability::Immediate) {
            tx.set_quick_repair(true);
        }
        {
            let mut table = tx.open_table(RECORDS).map_err(redb_error)?;
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        table.insert(k.as_slice(), v.as_slice()).map_err(redb_error)?;
                    }
                    Op::Delete(k) => {
                        table.remove(k.as_slice()).map_err(redb_error)?;
                    }
                }
            }
        }
        tx.commit().map_err(redb_error)
    }
}

impl Kv for RedbKv {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let tx = self.db.begin_read().map_err(redb_error)?;
        let table = match tx.open_table(RECORDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(redb_error(e)),
        };
        Ok(table.get(key).map_err(redb_error)?.map(|v| v.value().to_vec()))
    }

    fn apply(&self, ops: Vec<Op>) -> StoreResult<()> {
        self.write(redb::Durability::None, ops)
    }

    fn scan(&self, from: &[u8], prefix: &[u8], each: &mut EachRecord<'_>) -> StoreResult<()> {
        let tx = self.db.begin_read().map_err(redb_error)?;
        let table = match tx.open_table(RECORDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(redb_error(e)),
        };
        for item in table.range::<&[u8]>(from..).map_err(redb_error)? {
            let (k, v) = item.map_err(redb_error)?;
            if !k.value().starts_with(prefix) || !each(k.value(), v.value())? {
                break;
            }
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<Synced> {
        let start = Instant::now();
        self.write(redb::Durability::Immediate, Vec::new())?;
        Ok(Synced { bytes: 0, engine: start.elapsed(), sync: Default::default() })
    }
}

impl KvStore<RedbKv> {
    /// Open (or create) the redb store in `dir` (its file `store.redb`), with a page cache of
    /// `cache_bytes`; a new store takes `instance_id`, or a fresh `c2c-<ULID>`.
    pub fn open_redb(dir: &Path, instance_id: Option<&str>, cache_bytes: u64) -> Result<Self, OpenError> {
        let path = dir.display().to_string();
        let file = dir.join(FILE);
        if dir.join("conf").exists() || dir.join("db").exists() {
            return Err(OpenError::OtherEngine { path, found: "sled", asked: "redb" });
        }
        let existed = std::fs::metadata(&file).is_ok_and(|m| m.len() > 0);
        let engine = |detail: String| OpenError::Engine { path: path.clone(), detail };
        std::fs::create_dir_all(dir).map_err(|e| engine(e.to_string()))?;
        let mut builder = redb::Database::builder();
        builder.set_cache_size(cache_bytes as usize);
        let db = match builder.create(&file) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(OpenError::InUse { path }),
            Err(redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail))) => {
                return Err(OpenError::Damaged { path, file: file.display().to_string(), detail });
            }
            // Not a redb file at all (its header overwritten): as damaged as a corrupt one.
            Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
                if e.kind() == std::io::ErrorKind::InvalidData =>
            {
                return Err(OpenError::Damaged { path, file: file.display().to_string(), detail: e.to_string() });
            }
            Err(e) => return Err(engine(e.to_string())),
        };
        let file = file.display().to_string();
        KvStore::open_on(RedbKv { db: Arc::new(db) }, &path, &file, existed, instance_id)
    }
}
