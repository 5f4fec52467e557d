//! [`KvStore`]: the [`Store`] on an ordered key-value engine ([`crate::kv::Kv`]): the key layout
//! ([`crate::keys`]), group commit ([`GroupCommit`]), records as JSON. The engine only keeps
//! bytes; everything the bridge means by them is here.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use c2c_core::store::StoreResult;
use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, DeliverableState, Forget, Message, NativeKey, NativeRef,
    OutboxEntry, OutboxId, Staged, Store, StoreError, Timer, TimerKey, WeekTally,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::OpenError;
use crate::group::GroupCommit;
use crate::keys;
use crate::kv::{EachRecord, Kv, Op};
use crate::schema::{self, SchemaError};

/// The store on engine `K`. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct KvStore<K> {
    pub(crate) kv: K,
    pub(crate) instance: Arc<str>,
    group: Arc<GroupCommit>,
    /// Serialises applying batches, so the seq high-water mark only grows.
    write_lock: Arc<std::sync::Mutex<()>>,
    /// Commits that made an entry committed before pending again (under `write_lock`): an
    /// advance of `meta/outbox_low` that read the outbox before one of them does not write.
    repends: Arc<std::sync::atomic::AtomicU64>,
}

impl<K> std::fmt::Debug for KvStore<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl<K: Kv> KvStore<K> {
    /// The store on `kv`, whose records name `instance`.
    pub fn new(kv: K, instance: String) -> Self {
        Self {
            kv,
            instance: instance.into(),
            group: Arc::default(),
            write_lock: Arc::default(),
            repends: Arc::default(),
        }
    }

    /// The store on a just-opened engine: its schema version checked (or written, or
    /// migrated) and its instance id read (or given: `instance_id`, else a fresh `c2c-<ULID>`).
    /// `path` and `file` name the store in errors; `existed`: its files were there before.
    pub fn open_on(kv: K, path: &str, file: &str, existed: bool, instance_id: Option<&str>) -> Result<Self, OpenError> {
        let path = path.to_string();
        schema::ensure_current(&kv, existed).map_err(|source| match source {
            SchemaError::Missing => {
                OpenError::Damaged { path: path.clone(), file: file.to_string(), detail: source.to_string() }
            }
            source => OpenError::Schema { path: path.clone(), source },
        })?;
        let engine = |e: StoreError| OpenError::Engine { path: path.clone(), detail: e.to_string() };
        let stored = kv.get(keys::INSTANCE_ID).map_err(engine)?.map(|v| String::from_utf8_lossy(&v).into_owned());
        let instance = match (stored, instance_id) {
            (Some(stored), Some(configured)) if stored != configured => {
                return Err(OpenError::InstanceMismatch { path, stored, configured: configured.to_string() });
            }
            (Some(stored), _) => stored,
            (None, configured) => {
                let id = configured.map(str::to_string).unwrap_or_else(|| format!("c2c-{}", ulid::Ulid::new()));
                kv.apply(vec![Op::Put(keys::INSTANCE_ID.to_vec(), id.clone().into_bytes())]).map_err(engine)?;
                kv.sync().map_err(engine)?;
                id
            }
        };
        Ok(Self::new(kv, instance))
    }

    /// Space flushes by at least `window` (see [`GroupCommit`]).
    pub fn with_commit_window(mut self, window: Duration) -> Self {
        self.group = Arc::new(GroupCommit::with_window(window));
        self
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> StoreResult<Option<T>> {
        match self.kv.get(key)? {
            None => Ok(None),
            Some(v) => decode(key, &v).map(Some),
        }
    }

    /// Every record under `prefix`, in key order.
    fn scan<T: DeserializeOwned>(&self, prefix: &[u8]) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.kv.scan(prefix, prefix, &mut |k, v| {
            out.push(decode(k, v)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The records under `prefix` after the key `after` (from the first: `None`), in key order.
    fn scan_after(&self, prefix: &str, after: Option<&[u8]>, each: &mut EachRecord<'_>) -> StoreResult<()> {
        let prefix = prefix.as_bytes();
        self.kv.scan(after.unwrap_or(prefix), prefix, &mut |k, v| {
            if after == Some(k) {
                return Ok(true);
            }
            each(k, v)
        })
    }

    /// Every record, in key order.
    pub(crate) fn each_record(&self, each: &mut EachRecord<'_>) -> StoreResult<()> {
        self.kv.scan(b"", b"", each)
    }

    /// Read every record and say what is wrong (see [`crate::check`]).
    pub fn check(&self) -> crate::check::Report {
        let mut checker = crate::check::Checker::default();
        if let Err(e) = self.each_record(&mut |k, v| {
            checker.record(k, v);
            Ok(true)
        }) {
            checker.unreadable(format!("the store could not be read on: {e}"));
        }
        checker.finish()
    }

    /// [`KvStore::check`], then drop every record it found a problem with (one that does not
    /// decode, or points to a record that is not stored), durably. The report before, and the
    /// keys dropped.
    pub fn repair(&self) -> StoreResult<(crate::check::Report, Vec<String>)> {
        let mut checker = crate::check::Checker::repairing();
        self.each_record(&mut |k, v| {
            checker.record(k, v);
            Ok(true)
        })?;
        let (report, drop) = checker.finish_repair();
        let names = drop.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
        self.kv.apply(drop.into_iter().map(Op::Delete).collect())?;
        self.kv.sync()?;
        Ok((report, names))
    }

    /// Copy every record into `to` (a store on another engine, `store migrate`), in batches,
    /// and make it durable there; how many.
    pub fn copy_into<B: Kv>(&self, to: &KvStore<B>) -> StoreResult<u64> {
        const BATCH: usize = 4096;
        let (mut batch, mut records, mut failed) = (Vec::with_capacity(BATCH), 0u64, None);
        self.each_record(&mut |k, v| {
            batch.push(Op::Put(k.to_vec(), v.to_vec()));
            records += 1;
            if batch.len() == BATCH
                && let Err(e) = to.kv.apply(std::mem::take(&mut batch))
            {
                failed = Some(e);
                return Ok(false);
            }
            Ok(true)
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        to.kv.apply(batch)?;
        to.kv.sync()?;
        Ok(records)
    }

    fn meta_u64(&self, key: &[u8]) -> StoreResult<u64> {
        Ok(self.kv.get(key)?.and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok())).unwrap_or(0))
    }
}

/// A flush slower than this is logged (a disk stall delays every acknowledgement behind it).
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::new(format!("encoding: {e}"), false))
}

/// The native key a record's key names (the key without its prefix).
fn key_after(key: &[u8], prefix: &str) -> NativeKey {
    NativeKey(String::from_utf8_lossy(&key[prefix.len()..]).into_owned())
}

fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(v)
        .map_err(|e| StoreError::new(format!("record {} is unreadable: {e}", String::from_utf8_lossy(key)), false))
}

#[async_trait]
impl<K: Kv> Store for KvStore<K> {
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
        let mut batch = Vec::new();
        // Deletions first: a record the same commit writes again is kept.
        for f in &commit.forget {
            batch.push(Op::Delete(match f {
                Forget::Message { conversation, seq } => keys::message(*conversation, *seq),
                Forget::Conversation(id) => keys::conversation(*id),
                Forget::Outbox { seq, id } => keys::outbox(*seq, id),
                Forget::Native(k) => keys::native(k),
                Forget::Accepted(k) => keys::accepted(k),
                Forget::Tombstone(id) => keys::forgotten(*id),
                Forget::Deliverable { partnership, id } => keys::deliverable(partnership, id),
            }));
        }
        for id in &commit.forgotten {
            batch.push(Op::Put(keys::forgotten(*id), b"{}".to_vec()));
        }
        for w in &commit.weeks {
            batch.push(Op::Put(keys::week(&w.partnership, &w.week), encode(w)?));
        }
        let mut max_seq = 0;
        for m in &commit.messages {
            max_seq = max_seq.max(m.seq);
            batch.push(Op::Put(keys::message(m.conversation, m.seq), encode(m)?));
        }
        for c in &commit.conversations {
            batch.push(Op::Put(keys::conversation(c.id), encode(c)?));
        }
        for (k, r) in &commit.natives {
            batch.push(Op::Put(keys::native(k), encode(r)?));
        }
        for (k, a) in &commit.accepted {
            batch.push(Op::Put(keys::accepted(k), encode(a)?));
        }
        for o in &commit.outbox {
            max_seq = max_seq.max(o.seq);
            batch.push(Op::Put(keys::outbox(o.seq, &o.id), encode(o)?));
        }
        for t in &commit.timers {
            batch.push(Op::Put(keys::timer(&t.key), encode(t)?));
        }
        for k in &commit.timers_done {
            batch.push(Op::Delete(keys::timer(k)));
        }
        for d in &commit.deliverables {
            batch.push(Op::Put(keys::deliverable(&d.partnership, &d.id), encode(d)?));
        }
        // Serialised so the seq high-water mark only grows and tickets follow apply order.
        let _g = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let last_seq = self.last_seq()?;
        if max_seq > last_seq {
            batch.push(Op::Put(keys::LAST_SEQ.to_vec(), max_seq.to_string().into_bytes()));
        }
        // An entry committed before, pending again (an admin's retry of a failed delivery), may
        // lie before where the pending scan starts: move the start back to it, so a restart
        // finds it. New entries are past it anyway.
        let again = commit.outbox.iter().filter(|o| o.seq <= last_seq && o.status.is_pending()).map(|o| o.seq).min();
        if let Some(seq) = again {
            self.repends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if seq < self.meta_u64(keys::OUTBOX_LOW)? {
                batch.push(Op::Put(keys::OUTBOX_LOW.to_vec(), seq.to_string().into_bytes()));
            }
        }
        self.kv.apply(batch)?;
        Ok(Staged(self.group.ticket()))
    }

    async fn durable(&self, staged: Staged) -> StoreResult<()> {
        let kv = self.kv.clone();
        self.group
            .wait_durable(staged.0, || async move {
                let start = std::time::Instant::now();
                let flushed = tokio::task::spawn_blocking(move || kv.sync())
                    .await
                    .map_err(|e| StoreError::new(format!("flush task: {e}"), true))??;
                let took = start.elapsed();
                if took >= SLOW_FLUSH {
                    tracing::warn!(
                        ms = took.as_millis() as u64,
                        engine_flush_ms = flushed.engine.as_millis() as u64,
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
        let mut batch = Vec::new();
        for e in entries {
            batch.push(Op::Put(keys::outbox(e.seq, &e.id), encode(e)?));
        }
        for (k, r) in natives {
            batch.push(Op::Put(keys::native(k), encode(r)?));
        }
        // Off the async workers: applying may wait for the engine's write lock, which a running
        // flush holds until its writes are on disk (sled).
        let kv = self.kv.clone();
        tokio::task::spawn_blocking(move || kv.apply(batch))
            .await
            .map_err(|e| StoreError::new(format!("delivery update task: {e}"), true))??;
        Ok(Staged(self.group.ticket()))
    }

    async fn flush(&self) -> StoreResult<()> {
        let kv = self.kv.clone();
        tokio::task::spawn_blocking(move || kv.sync())
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
        let prefix = keys::CONVERSATIONS.as_bytes();
        self.kv.scan(prefix, prefix, &mut |k, v| {
            let c: Conversation = decode(k, v)?;
            if partnership.is_none_or(|p| c.partnership == p) {
                out.push(c);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    fn message(&self, conversation: ConversationId, seq: u64) -> StoreResult<Option<Message>> {
        self.get(&keys::message(conversation, seq))
    }

    fn messages(&self, conversation: ConversationId) -> StoreResult<Vec<Message>> {
        self.scan(&keys::conversation_messages(conversation))
    }

    fn each_message(&self, conversation: ConversationId, each: &mut dyn FnMut(Message)) -> StoreResult<()> {
        let prefix = keys::conversation_messages(conversation);
        self.kv.scan(&prefix, &prefix, &mut |k, v| {
            each(decode(k, v)?);
            Ok(true)
        })
    }

    fn each_message_from(
        &self,
        conversation: ConversationId,
        from: u64,
        each: &mut dyn FnMut(Message) -> bool,
    ) -> StoreResult<()> {
        let prefix = keys::conversation_messages(conversation);
        self.kv.scan(&keys::message(conversation, from), &prefix, &mut |k, v| Ok(each(decode(k, v)?)))
    }

    fn outbox(&self, partnership: Option<&str>) -> StoreResult<Vec<OutboxEntry>> {
        let mut out = Vec::new();
        self.each_outbox(partnership, &mut |o| out.push(o))?;
        Ok(out)
    }

    fn each_outbox(&self, partnership: Option<&str>, each: &mut dyn FnMut(OutboxEntry)) -> StoreResult<()> {
        let prefix = keys::OUTBOX.as_bytes();
        self.kv.scan(prefix, prefix, &mut |k, v| {
            let o: OutboxEntry = decode(k, v)?;
            if partnership.is_none_or(|p| o.partnership == p) {
                each(o);
            }
            Ok(true)
        })
    }

    fn outbox_entry(&self, seq: u64, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        self.get(&keys::outbox(seq, id))
    }

    fn find_outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        // Keys only, until the one that ends in `/{id}`: no record is decoded on the way.
        let suffix = format!("/{id}");
        let mut found = None;
        let prefix = keys::OUTBOX.as_bytes();
        self.kv.scan(prefix, prefix, &mut |k, v| {
            if k.ends_with(suffix.as_bytes()) {
                found = Some(decode(k, v)?);
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }

    fn timer(&self, key: &TimerKey) -> StoreResult<Option<Timer>> {
        self.get(&keys::timer(key))
    }

    fn each_timer(&self, each: &mut dyn FnMut(Timer)) -> StoreResult<()> {
        let prefix = keys::TIMERS.as_bytes();
        self.kv.scan(prefix, prefix, &mut |k, v| {
            each(decode(k, v)?);
            Ok(true)
        })
    }

    fn deliverable(&self, partnership: &str, id: &str) -> StoreResult<Option<DeliverableState>> {
        self.get(&keys::deliverable(partnership, id))
    }

    fn deliverables(&self) -> StoreResult<Vec<DeliverableState>> {
        self.scan(keys::DELIVERABLES.as_bytes())
    }

    fn each_conversation(
        &self,
        after: Option<ConversationId>,
        each: &mut dyn FnMut(Conversation) -> bool,
    ) -> StoreResult<()> {
        let from = after.map(keys::conversation);
        self.scan_after(keys::CONVERSATIONS, from.as_deref(), &mut |k, v| Ok(each(decode(k, v)?)))
    }

    fn each_native(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, NativeRef) -> bool,
    ) -> StoreResult<()> {
        let from = after.map(keys::native);
        self.scan_after(keys::NATIVES, from.as_deref(), &mut |k, v| {
            Ok(each(key_after(k, keys::NATIVES), decode(k, v)?))
        })
    }

    fn each_accepted(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, Accepted) -> bool,
    ) -> StoreResult<()> {
        let from = after.map(keys::accepted);
        self.scan_after(keys::ACCEPTED, from.as_deref(), &mut |k, v| {
            Ok(each(key_after(k, keys::ACCEPTED), decode(k, v)?))
        })
    }

    fn outbox_at(&self, seq: u64) -> StoreResult<Vec<OutboxEntry>> {
        self.scan(&keys::outbox_from(seq))
    }

    fn timers_under(&self, prefix: &str) -> StoreResult<Vec<Timer>> {
        self.scan(&keys::timer(&TimerKey(prefix.to_string())))
    }

    fn forgotten(&self) -> StoreResult<Vec<ConversationId>> {
        let mut out = Vec::new();
        let prefix = keys::FORGOTTEN.as_bytes();
        self.kv.scan(prefix, prefix, &mut |k, _| {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).parse().map_err(|_| {
                StoreError::new(
                    format!("record {} is unreadable: not a conversation id", String::from_utf8_lossy(k)),
                    false,
                )
            })?;
            out.push(id);
            Ok(true)
        })?;
        Ok(out)
    }

    fn week_tallies(&self, partnership: &str) -> StoreResult<Vec<WeekTally>> {
        self.scan(&keys::weeks(partnership))
    }

    fn week_tally(&self, partnership: &str, week: &str) -> StoreResult<Option<WeekTally>> {
        self.get(&keys::week(partnership, week))
    }

    fn state(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.kv.get(&keys::state(key))?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    async fn set_state(&self, key: &str, value: &str) -> StoreResult<()> {
        self.kv.apply(vec![Op::Put(keys::state(key), value.as_bytes().to_vec())])?;
        let staged = Staged(self.group.ticket());
        self.durable(staged).await
    }

    fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        let mut pending = Vec::new();
        self.each_pending(&mut |e| pending.push(e))?;
        Ok(pending)
    }

    fn advance_outbox_low(&self, max: usize) -> StoreResult<bool> {
        use std::sync::atomic::Ordering::SeqCst;
        let lock = || self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (low, repends) = {
            let _g = lock();
            (self.meta_u64(keys::OUTBOX_LOW)?, self.repends.load(SeqCst))
        };
        // Read without the lock (commits go on meanwhile): the first entry still pending, or the
        // last one read when `max` is reached, or past the end.
        let (mut next, mut read, mut full) = (low, 0, false);
        self.kv.scan(&keys::outbox_from(low), keys::OUTBOX.as_bytes(), &mut |k, v| {
            let entry: OutboxEntry = decode(k, v)?;
            if entry.status.is_pending() {
                next = entry.seq;
                return Ok(false);
            }
            if read == max {
                // Entries of one seq sort together: start there again next time.
                next = entry.seq;
                full = true;
                return Ok(false);
            }
            read += 1;
            next = entry.seq + 1;
            Ok(true)
        })?;
        // Written only if no commit made an entry pending again since the read began (one before
        // `next` would otherwise be passed over) and nothing else moved the mark.
        let _g = lock();
        if next > low && self.repends.load(SeqCst) == repends && self.meta_u64(keys::OUTBOX_LOW)? == low {
            self.kv.apply(vec![Op::Put(keys::OUTBOX_LOW.to_vec(), next.to_string().into_bytes())])?;
        }
        // (More entries of one seq than `max` would never pass: say there is no more to do.)
        Ok(full && next > low)
    }

    fn each_pending(&self, each: &mut dyn FnMut(OutboxEntry)) -> StoreResult<()> {
        let low = self.meta_u64(keys::OUTBOX_LOW)?;
        let mut first_pending = None;
        let mut after_scanned = low;
        self.kv.scan(&keys::outbox_from(low), keys::OUTBOX.as_bytes(), &mut |k, v| {
            let entry: OutboxEntry = decode(k, v)?;
            after_scanned = entry.seq + 1;
            if entry.status.is_pending() {
                first_pending.get_or_insert(entry.seq);
                each(entry);
            }
            Ok(true)
        })?;
        // Next time, start at the first entry still pending, or after everything this scan saw
        // (entries committed meanwhile have higher seqs: commits are applied in seq order).
        let next_low = first_pending.unwrap_or(after_scanned);
        if next_low > low {
            self.kv.apply(vec![Op::Put(keys::OUTBOX_LOW.to_vec(), next_low.to_string().into_bytes())])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use c2c_core::conformance::{sample_commit, sample_conversation};
    use c2c_core::{DeliveryStatus, OutboxEntry, Store};

    use crate::keys;

    /// The mark moves while running, so the next start reads from there; a retry moves it back
    /// (and counts as a re-pend, which keeps a step that read before it from writing), and it
    /// does not pass the retried entry again.
    #[tokio::test]
    async fn the_pending_scan_mark_moves_past_what_is_done_and_not_past_a_retry() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::SledStore::open(dir.path(), Some("c2c-test")).unwrap();
        let conv = sample_conversation("p");
        let mut entries = Vec::new();
        for seq in 1..=10 {
            let (commit, _, entry) = sample_commit(&conv, seq);
            s.commit(commit).await.unwrap();
            entries.push(OutboxEntry { status: DeliveryStatus::Delivered, ..entry });
        }
        let staged = s.update_deliveries(&entries[..7], &[]).await.unwrap();
        s.durable(staged).await.unwrap();
        assert!(s.advance_outbox_low(3).unwrap(), "stopped at 3: more to do");
        assert_eq!(s.meta_u64(keys::OUTBOX_LOW).unwrap(), 4);
        while s.advance_outbox_low(3).unwrap() {}
        assert_eq!(s.meta_u64(keys::OUTBOX_LOW).unwrap(), 8, "up to the first entry still pending");

        let repends = s.repends.load(std::sync::atomic::Ordering::SeqCst);
        let retried = OutboxEntry { status: DeliveryStatus::Scheduled, ..entries[4].clone() };
        s.commit(c2c_core::Commit { outbox: vec![retried], ..Default::default() }).await.unwrap();
        assert_eq!(s.repends.load(std::sync::atomic::Ordering::SeqCst), repends + 1);
        assert_eq!(s.meta_u64(keys::OUTBOX_LOW).unwrap(), 5, "moved back to the retried entry");
        let staged = s.update_deliveries(&entries[7..], &[]).await.unwrap();
        s.durable(staged).await.unwrap();
        while s.advance_outbox_low(100).unwrap() {}
        assert_eq!(s.meta_u64(keys::OUTBOX_LOW).unwrap(), 5, "not past the retried entry");
    }
}
