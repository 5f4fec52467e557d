//! The seam between the store's logic ([`crate::KvStore`]: the key layout, group commit, the
//! `Store` trait) and the engine that keeps the keys: ordered byte keys, atomic batches, and a
//! sync that makes everything applied so far durable. sled is the engine today
//! ([`crate::sled_kv`]); a second one (issue 17) implements this trait and nothing else.

use std::time::Duration;

use c2c_core::store::StoreResult;

/// One change in an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// What one sync did, for the slow-flush log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Synced {
    /// Bytes the engine wrote, if it says.
    pub bytes: usize,
    /// The engine's own flush.
    pub engine: Duration,
    /// What the store adds after it (sled: `fdatasync` of its log, blob files).
    pub sync: Duration,
}

/// What a scan calls for each record (key, value): whether to go on.
pub type EachRecord<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<bool> + 'a;

/// An ordered key-value engine.
pub trait Kv: Clone + Send + Sync + 'static {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;

    /// Apply `ops` atomically: after a crash, all or none of them (once synced: all).
    fn apply(&self, ops: Vec<Op>) -> StoreResult<()>;

    /// Every record from `from` on, in key order, while its key starts with `prefix`; `each`
    /// answers whether to go on.
    fn scan(&self, from: &[u8], prefix: &[u8], each: &mut EachRecord<'_>) -> StoreResult<()>;

    /// Make everything applied so far durable.
    fn sync(&self) -> StoreResult<Synced>;
}
