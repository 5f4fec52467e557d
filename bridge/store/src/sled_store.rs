//! [`SledStore`]: the [`Store`] on sled.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use c2c_core::store::StoreResult;
use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, DeliverableState, Message, NativeKey, NativeRef, OutboxEntry,
    OutboxId, Staged, Store, StoreError, Timer, TimerKey,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::disk_sync::DiskSync;
use crate::group::GroupCommit;
use crate::keys;
use crate::schema::{self, SchemaError};

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {path}: {source}")]
    Sled { path: String, source: sled::Error },
    /// Another process (a running daemon) holds the store.
    #[error("the store at {path} is in use by another process (a running daemon?)")]
    InUse { path: String },
    /// The store's files cannot be read back: restarting will not help.
    #[error(
        "the store at {path} is damaged and cannot be opened (its file {path}/db: {detail}). \
         To recover: stop here, move {path} aside (keep it), and put back a copy of the stopped store's \
         directory from a backup, or load an export into a new store with `c2c-bridge store import`"
    )]
    Damaged { path: String, detail: String },
    #[error("the store at {path}: {source}")]
    Schema { path: String, source: SchemaError },
    #[error(
        "the store at {path} belongs to instance `{stored}`, but the config says `{configured}`; ids already issued name the stored one, so it cannot change"
    )]
    InstanceMismatch { path: String, stored: String, configured: String },
}

/// The sled-backed store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct SledStore {
    pub(crate) db: sled::Db,
    /// What sled's flush does not make durable (see [`DiskSync`]).
    disk: Arc<DiskSync>,
    pub(crate) instance: Arc<str>,
    group: Arc<GroupCommit>,
    /// Serialises applying batches, so the seq high-water mark only grows.
    write_lock: Arc<std::sync::Mutex<()>>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl SledStore {
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
                    return Err(OpenError::Damaged { path, detail: source.to_string() });
                }
                Err(source) => return Err(OpenError::Sled { path, source }),
            }
        };
        schema::ensure_current(&db, existed).map_err(|source| match source {
            SchemaError::Missing => OpenError::Damaged { path: path.clone(), detail: source.to_string() },
            source => OpenError::Schema { path: path.clone(), source },
        })?;
        let stored = db
            .get(keys::INSTANCE_ID)
            .map_err(|source| OpenError::Sled { path: path.clone(), source })?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let instance = match (stored, instance_id) {
            (Some(stored), Some(configured)) if stored != configured => {
                return Err(OpenError::InstanceMismatch { path, stored, configured: configured.to_string() });
            }
            (Some(stored), _) => stored,
            (None, configured) => {
                let id = configured.map(str::to_string).unwrap_or_else(|| format!("c2c-{}", ulid::Ulid::new()));
                db.insert(keys::INSTANCE_ID, id.as_bytes())
                    .and_then(|_| db.flush())
                    .map_err(|source| OpenError::Sled { path: path.clone(), source })?;
                id
            }
        };
        let disk = DiskSync::open(dir).map_err(|e| OpenError::Sled { path: path.clone(), source: e.into() })?;
        Ok(Self {
            db,
            disk: Arc::new(disk),
            instance: instance.into(),
            group: Arc::default(),
            write_lock: Arc::default(),
        })
    }

    /// Space flushes by at least `window` (see [`GroupCommit`]).
    pub fn with_commit_window(mut self, window: Duration) -> Self {
        self.group = Arc::new(GroupCommit::with_window(window));
        self
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> StoreResult<Option<T>> {
        match self.db.get(key).map_err(sled_error)? {
            None => Ok(None),
            Some(v) => decode(key, &v).map(Some),
        }
    }

    /// Every record under `prefix`, in key order, starting at `from` if given.
    fn scan<T: DeserializeOwned>(&self, prefix: &[u8], from: Option<Vec<u8>>) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        let iter = match from {
            Some(start) => self.db.range(start..),
            None => self.db.scan_prefix(prefix),
        };
        for item in iter {
            let (k, v) = item.map_err(sled_error)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    /// Read every record and say what is wrong (see [`crate::check`]).
    pub fn check(&self) -> crate::check::Report {
        let mut checker = crate::check::Checker::default();
        for item in self.db.iter() {
            match item {
                Ok((k, v)) => checker.record(&k, &v),
                Err(e) => {
                    checker.unreadable(format!("sled could not read on: {e}"));
                    break;
                }
            }
        }
        checker.finish()
    }

    /// [`SledStore::check`], then drop every record it found a problem with (one that does not
    /// decode, or points to a record that is not stored), durably. The report before, and the
    /// keys dropped.
    pub fn repair(&self) -> StoreResult<(crate::check::Report, Vec<String>)> {
        let mut checker = crate::check::Checker::repairing();
        for item in self.db.iter() {
            let (k, v) = item.map_err(sled_error)?;
            checker.record(&k, &v);
        }
        let (report, drop) = checker.finish_repair();
        let mut batch = sled::Batch::default();
        for key in &drop {
            batch.remove(key.as_slice());
        }
        self.db.apply_batch(batch).map_err(sled_error)?;
        sync_all(&self.db, &self.disk)?;
        Ok((report, drop.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect()))
    }

    fn meta_u64(&self, key: &[u8]) -> StoreResult<u64> {
        Ok(self
            .db
            .get(key)
            .map_err(sled_error)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(0))
    }
}

fn sled_error(e: sled::Error) -> StoreError {
    // I/O errors may pass (a full disk gets space back); corruption and bugs do not.
    let retryable = matches!(e, sled::Error::Io(_));
    StoreError::new(e.to_string(), retryable)
}

/// What one flush did: bytes sled wrote, and how long sled's flush and the sync after it took.
struct Flushed {
    bytes: usize,
    sled: Duration,
    sync: Duration,
}

/// sled's flush, then what it leaves out.
fn sync_all(db: &sled::Db, disk: &DiskSync) -> StoreResult<Flushed> {
    let start = Instant::now();
    let bytes = db.flush().map_err(sled_error)?;
    let sled = start.elapsed();
    disk.sync().map_err(|e| StoreError::new(format!("syncing the store's files: {e}"), true))?;
    Ok(Flushed { bytes, sled, sync: start.elapsed() - sled })
}

/// A flush slower than this is logged (a disk stall delays every acknowledgement behind it).
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::new(format!("encoding: {e}"), false))
}

fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(v)
        .map_err(|e| StoreError::new(format!("record {} is unreadable: {e}", String::from_utf8_lossy(key)), false))
}

#[async_trait]
impl Store for SledStore {
    fn instance_id(&self) -> &str {
        &self.instance
    }

    fn flushes(&self) -> u64 {
        self.group.flushes()
    }

    fn last_seq(&self) -> StoreResult<u64> {
        self.meta_u64(keys::LAST_SEQ)
    }

    fn stage(&self, commit: Commit) -> StoreResult<Staged> {
        let mut batch = sled::Batch::default();
        let mut max_seq = 0;
        for m in &commit.messages {
            max_seq = max_seq.max(m.seq);
            batch.insert(keys::message(m.conversation, m.seq), encode(m)?);
        }
        for c in &commit.conversations {
            batch.insert(keys::conversation(c.id), encode(c)?);
        }
        for (k, r) in &commit.natives {
            batch.insert(keys::native(k), encode(r)?);
        }
        for (k, a) in &commit.accepted {
            batch.insert(keys::accepted(k), encode(a)?);
        }
        for o in &commit.outbox {
            max_seq = max_seq.max(o.seq);
            batch.insert(keys::outbox(o.seq, &o.id), encode(o)?);
        }
        for t in &commit.timers {
            batch.insert(keys::timer(&t.key), encode(t)?);
        }
        for k in &commit.timers_done {
            batch.remove(keys::timer(k));
        }
        for d in &commit.deliverables {
            batch.insert(keys::deliverable(&d.partnership, &d.id), encode(d)?);
        }
        // Serialised so the seq high-water mark only grows and tickets follow apply order.
        let _g = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let last_seq = self.last_seq()?;
        if max_seq > last_seq {
            batch.insert(keys::LAST_SEQ, max_seq.to_string().as_bytes());
        }
        // An entry committed before, pending again (an admin's retry of a failed delivery), may
        // lie before where the pending scan starts: move the start back to it, so a restart
        // finds it. New entries are past it anyway.
        let again = commit.outbox.iter().filter(|o| o.seq <= last_seq && o.status.is_pending()).map(|o| o.seq).min();
        if let Some(seq) = again
            && seq < self.meta_u64(keys::OUTBOX_LOW)?
        {
            batch.insert(keys::OUTBOX_LOW, seq.to_string().as_bytes());
        }
        self.db.apply_batch(batch).map_err(sled_error)?;
        Ok(Staged(self.group.ticket()))
    }

    async fn durable(&self, staged: Staged) -> StoreResult<()> {
        let (db, disk) = (self.db.clone(), self.disk.clone());
        self.group
            .wait_durable(staged.0, || async move {
                let start = std::time::Instant::now();
                let flushed = tokio::task::spawn_blocking(move || sync_all(&db, &disk))
                    .await
                    .map_err(|e| StoreError::new(format!("flush task: {e}"), true))??;
                let took = start.elapsed();
                if took >= SLOW_FLUSH {
                    tracing::warn!(
                        ms = took.as_millis() as u64,
                        sled_flush_ms = flushed.sled.as_millis() as u64,
                        fdatasync_ms = flushed.sync.as_millis() as u64,
                        bytes = flushed.bytes,
                        "slow store flush: everything committed meanwhile waited for the disk"
                    );
                }
                Ok(())
            })
            .await
    }

    async fn update_deliveries(
        &self,
        entries: &[OutboxEntry],
        natives: &[(NativeKey, NativeRef)],
    ) -> StoreResult<Staged> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.insert(keys::outbox(e.seq, &e.id), encode(e)?);
        }
        for (k, r) in natives {
            batch.insert(keys::native(k), encode(r)?);
        }
        // Off the async workers: apply_batch waits for sled's write lock, which a running flush
        // holds until its log writes are on disk.
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.apply_batch(batch))
            .await
            .map_err(|e| StoreError::new(format!("delivery update task: {e}"), true))?
            .map_err(sled_error)?;
        Ok(Staged(self.group.ticket()))
    }

    async fn flush(&self) -> StoreResult<()> {
        let (db, disk) = (self.db.clone(), self.disk.clone());
        tokio::task::spawn_blocking(move || sync_all(&db, &disk))
            .await
            .map_err(|e| StoreError::new(format!("flush task: {e}"), true))?
            .map(|_| ())
    }

    fn accepted(&self, key: &NativeKey) -> StoreResult<Option<Accepted>> {
        self.get(&keys::accepted(key))
    }

    fn native(&self, key: &NativeKey) -> StoreResult<Option<NativeRef>> {
        self.get(&keys::native(key))
    }

    fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.get(&keys::conversation(id))
    }

    fn conversations(&self, partnership: Option<&str>) -> StoreResult<Vec<Conversation>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(keys::CONVERSATIONS) {
            let (k, v) = item.map_err(sled_error)?;
            let c: Conversation = decode(&k, &v)?;
            if partnership.is_none_or(|p| c.partnership == p) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn message(&self, conversation: ConversationId, seq: u64) -> StoreResult<Option<Message>> {
        self.get(&keys::message(conversation, seq))
    }

    fn messages(&self, conversation: ConversationId) -> StoreResult<Vec<Message>> {
        self.scan(&keys::conversation_messages(conversation), None)
    }

    fn outbox(&self, partnership: Option<&str>) -> StoreResult<Vec<OutboxEntry>> {
        let all: Vec<OutboxEntry> = self.scan(keys::OUTBOX.as_bytes(), None)?;
        Ok(all.into_iter().filter(|o| partnership.is_none_or(|p| o.partnership == p)).collect())
    }

    fn outbox_entry(&self, seq: u64, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        self.get(&keys::outbox(seq, id))
    }

    fn find_outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        // Keys only, until the one that ends in `/{id}`: no record is decoded on the way.
        let suffix = format!("/{id}");
        for item in self.db.scan_prefix(keys::OUTBOX) {
            let (k, v) = item.map_err(sled_error)?;
            if k.ends_with(suffix.as_bytes()) {
                return decode(&k, &v).map(Some);
            }
        }
        Ok(None)
    }

    fn timer(&self, key: &TimerKey) -> StoreResult<Option<Timer>> {
        self.get(&keys::timer(key))
    }

    fn each_timer(&self, each: &mut dyn FnMut(Timer)) -> StoreResult<()> {
        for item in self.db.scan_prefix(keys::TIMERS) {
            let (k, v) = item.map_err(sled_error)?;
            each(decode(&k, &v)?);
        }
        Ok(())
    }

    fn deliverable(&self, partnership: &str, id: &str) -> StoreResult<Option<DeliverableState>> {
        self.get(&keys::deliverable(partnership, id))
    }

    fn deliverables(&self) -> StoreResult<Vec<DeliverableState>> {
        self.scan(keys::DELIVERABLES.as_bytes(), None)
    }

    fn state(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.db.get(keys::state(key)).map_err(sled_error)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    async fn set_state(&self, key: &str, value: &str) -> StoreResult<()> {
        self.db.insert(keys::state(key), value.as_bytes()).map_err(sled_error)?;
        let staged = Staged(self.group.ticket());
        self.durable(staged).await
    }

    fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        let mut pending = Vec::new();
        self.each_pending(&mut |e| pending.push(e))?;
        Ok(pending)
    }

    fn each_pending(&self, each: &mut dyn FnMut(OutboxEntry)) -> StoreResult<()> {
        let low = self.meta_u64(keys::OUTBOX_LOW)?;
        let mut first_pending = None;
        let mut after_scanned = low;
        for item in self.db.range(keys::outbox_from(low)..) {
            let (k, v) = item.map_err(sled_error)?;
            if !k.starts_with(keys::OUTBOX.as_bytes()) {
                break;
            }
            let entry: OutboxEntry = decode(&k, &v)?;
            after_scanned = entry.seq + 1;
            if entry.status.is_pending() {
                first_pending.get_or_insert(entry.seq);
                each(entry);
            }
        }
        // Next time, start at the first entry still pending, or after everything this scan saw
        // (entries committed meanwhile have higher seqs: commits are applied in seq order).
        let next_low = first_pending.unwrap_or(after_scanned);
        if next_low > low {
            self.db.insert(keys::OUTBOX_LOW, next_low.to_string().as_bytes()).map_err(sled_error)?;
        }
        Ok(())
    }
}
