//! [`SledKv`]: sled 0.34 as the store's engine ([`crate::kv::Kv`]), with what its flush leaves
//! out done after it ([`DiskSync`]).

use std::sync::Arc;
use std::time::Instant;

use c2c_core::StoreError;
use c2c_core::store::StoreResult;

use crate::disk_sync::DiskSync;
use crate::kv::{EachRecord, Kv, Op, Synced};

/// One sled database and the syncs its flush needs.
#[derive(Clone)]
pub struct SledKv {
    pub(crate) db: sled::Db,
    disk: Arc<DiskSync>,
}

impl std::fmt::Debug for SledKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledKv").finish_non_exhaustive()
    }
}

impl SledKv {
    pub fn new(db: sled::Db, disk: DiskSync) -> Self {
        Self { db, disk: Arc::new(disk) }
    }
}

pub(crate) fn sled_error(e: sled::Error) -> StoreError {
    // I/O errors may pass (a full disk gets space back); corruption and bugs do not.
    let retryable = matches!(e, sled::Error::Io(_));
    StoreError::new(e.to_string(), retryable)
}

impl Kv for SledKv {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.db.get(key).map_err(sled_error)?.map(|v| v.to_vec()))
    }

    fn apply(&self, ops: Vec<Op>) -> StoreResult<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch).map_err(sled_error)
    }

    fn scan(&self, from: &[u8], prefix: &[u8], each: &mut EachRecord<'_>) -> StoreResult<()> {
        for item in self.db.range(from..) {
            let (k, v) = item.map_err(sled_error)?;
            if !k.starts_with(prefix) || !each(&k, &v)? {
                break;
            }
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<Synced> {
        let start = Instant::now();
        let bytes = self.db.flush().map_err(sled_error)?;
        let engine = start.elapsed();
        self.disk.sync().map_err(|e| StoreError::new(format!("syncing the store's files: {e}"), true))?;
        Ok(Synced { bytes, engine, sync: start.elapsed() - engine })
    }
}
