//! An in-memory [`Store`]: a fake for unit tests of the router and scheduler, and a second
//! backend that keeps the conformance suite honest about what is backend-specific.
//!
//! Clones share the same data, so "reopening" a memory store is cloning it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::connector::Accepted;
use crate::followup::{DeliverableState, Timer, TimerKey};
use crate::ids::{ConversationId, MessageId, OutboxId};
use crate::record::{Conversation, Message, OutboxEntry};
use crate::retention::{Forget, WeekTally};
use crate::store::{Commit, NativeKey, NativeRef, Staged, Store, StoreResult};

#[derive(Debug, Default)]
struct Inner {
    messages: BTreeMap<MessageId, Message>,
    conversations: BTreeMap<ConversationId, Conversation>,
    natives: BTreeMap<NativeKey, NativeRef>,
    accepted: BTreeMap<NativeKey, Accepted>,
    outbox: BTreeMap<OutboxId, OutboxEntry>,
    state: BTreeMap<String, String>,
    timers: BTreeMap<TimerKey, Timer>,
    deliverables: BTreeMap<(String, String), DeliverableState>,
    forgotten: std::collections::BTreeSet<ConversationId>,
    weeks: BTreeMap<(String, String), WeekTally>,
    last_seq: u64,
}

/// A store that lives and dies with the process.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    instance: String,
    inner: Arc<Mutex<Inner>>,
    /// Make [`Store::durable`] fail, as a disk error would (for tests of what follows one).
    failing_flushes: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new("memory")
    }
}

impl MemoryStore {
    pub fn new(instance: impl Into<String>) -> Self {
        Self { instance: instance.into(), inner: Arc::default(), failing_flushes: Arc::default() }
    }

    /// From now on, every flush fails (or, with `false`, succeeds again).
    pub fn fail_flushes(&self, fail: bool) {
        self.failing_flushes.store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn instance_id(&self) -> &str {
        &self.instance
    }

    fn last_seq(&self) -> StoreResult<u64> {
        Ok(self.lock().last_seq)
    }

    fn stage(&self, commit: Commit) -> StoreResult<Staged> {
        let mut inner = self.lock();
        for f in commit.forget {
            match f {
                Forget::Message { conversation, seq } => {
                    inner.messages.retain(|_, m| !(m.conversation == conversation && m.seq == seq));
                }
                Forget::Conversation(id) => {
                    inner.conversations.remove(&id);
                }
                Forget::Outbox { seq, id } => {
                    if inner.outbox.get(&id).is_some_and(|e| e.seq == seq) {
                        inner.outbox.remove(&id);
                    }
                }
                Forget::Native(k) => {
                    inner.natives.remove(&k);
                }
                Forget::Accepted(k) => {
                    inner.accepted.remove(&k);
                }
                Forget::Tombstone(id) => {
                    inner.forgotten.remove(&id);
                }
                Forget::Deliverable { partnership, id } => {
                    inner.deliverables.remove(&(partnership, id));
                }
            }
        }
        inner.forgotten.extend(commit.forgotten);
        for w in commit.weeks {
            inner.weeks.insert((w.partnership.clone(), w.week.clone()), w);
        }
        for m in commit.messages {
            inner.last_seq = inner.last_seq.max(m.seq);
            inner.messages.insert(m.id, m);
        }
        for c in commit.conversations {
            inner.conversations.insert(c.id, c);
        }
        inner.natives.extend(commit.natives);
        inner.accepted.extend(commit.accepted);
        for o in commit.outbox {
            inner.last_seq = inner.last_seq.max(o.seq);
            inner.outbox.insert(o.id.clone(), o);
        }
        for t in commit.timers {
            inner.timers.insert(t.key.clone(), t);
        }
        for k in commit.timers_done {
            inner.timers.remove(&k);
        }
        for d in commit.deliverables {
            inner.deliverables.insert((d.partnership.clone(), d.id.clone()), d);
        }
        Ok(Staged(0))
    }

    async fn durable(&self, _staged: Staged) -> StoreResult<()> {
        if self.failing_flushes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::StoreError::new("flushing: Input/output error (os error 5)", true));
        }
        Ok(())
    }

    async fn update_deliveries(
        &self,
        entries: &[OutboxEntry],
        natives: &[(NativeKey, NativeRef)],
    ) -> StoreResult<Staged> {
        let mut inner = self.lock();
        for e in entries {
            inner.outbox.insert(e.id.clone(), e.clone());
        }
        inner.natives.extend(natives.iter().cloned());
        Ok(Staged(0))
    }

    async fn flush(&self) -> StoreResult<()> {
        Ok(())
    }

    fn accepted(&self, key: &NativeKey) -> StoreResult<Option<Accepted>> {
        Ok(self.lock().accepted.get(key).cloned())
    }

    fn native(&self, key: &NativeKey) -> StoreResult<Option<NativeRef>> {
        Ok(self.lock().natives.get(key).cloned())
    }

    fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        Ok(self.lock().conversations.get(&id).cloned())
    }

    fn conversations(&self, partnership: Option<&str>) -> StoreResult<Vec<Conversation>> {
        Ok(self
            .lock()
            .conversations
            .values()
            .filter(|c| partnership.is_none_or(|p| c.partnership == p))
            .cloned()
            .collect())
    }

    fn message(&self, conversation: ConversationId, seq: u64) -> StoreResult<Option<Message>> {
        Ok(self.lock().messages.values().find(|m| m.conversation == conversation && m.seq == seq).cloned())
    }

    fn messages(&self, conversation: ConversationId) -> StoreResult<Vec<Message>> {
        let mut v: Vec<Message> =
            self.lock().messages.values().filter(|m| m.conversation == conversation).cloned().collect();
        v.sort_by_key(|m| m.seq);
        Ok(v)
    }

    fn outbox(&self, partnership: Option<&str>) -> StoreResult<Vec<OutboxEntry>> {
        let mut v: Vec<OutboxEntry> =
            self.lock().outbox.values().filter(|o| partnership.is_none_or(|p| o.partnership == p)).cloned().collect();
        v.sort_by(|a, b| (a.seq, &a.id).cmp(&(b.seq, &b.id)));
        Ok(v)
    }

    fn timer(&self, key: &TimerKey) -> StoreResult<Option<Timer>> {
        Ok(self.lock().timers.get(key).cloned())
    }

    fn each_timer(&self, each: &mut dyn FnMut(Timer)) -> StoreResult<()> {
        let timers: Vec<Timer> = self.lock().timers.values().cloned().collect();
        timers.into_iter().for_each(each);
        Ok(())
    }

    fn deliverable(&self, partnership: &str, id: &str) -> StoreResult<Option<DeliverableState>> {
        Ok(self.lock().deliverables.get(&(partnership.to_string(), id.to_string())).cloned())
    }

    fn deliverables(&self) -> StoreResult<Vec<DeliverableState>> {
        Ok(self.lock().deliverables.values().cloned().collect())
    }

    fn outbox_entry(&self, seq: u64, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        Ok(self.lock().outbox.get(id).filter(|e| e.seq == seq).cloned())
    }

    fn each_conversation(
        &self,
        after: Option<ConversationId>,
        each: &mut dyn FnMut(Conversation) -> bool,
    ) -> StoreResult<()> {
        let all: Vec<Conversation> =
            self.lock().conversations.values().filter(|c| after.is_none_or(|a| c.id > a)).cloned().collect();
        for c in all {
            if !each(c) {
                break;
            }
        }
        Ok(())
    }

    fn each_native(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, NativeRef) -> bool,
    ) -> StoreResult<()> {
        let all: Vec<(NativeKey, NativeRef)> = self
            .lock()
            .natives
            .iter()
            .filter(|(k, _)| after.is_none_or(|a| *k > a))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        for (k, r) in all {
            if !each(k, r) {
                break;
            }
        }
        Ok(())
    }

    fn each_accepted(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, Accepted) -> bool,
    ) -> StoreResult<()> {
        let all: Vec<(NativeKey, Accepted)> = self
            .lock()
            .accepted
            .iter()
            .filter(|(k, _)| after.is_none_or(|a| *k > a))
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        for (k, a) in all {
            if !each(k, a) {
                break;
            }
        }
        Ok(())
    }

    fn outbox_at(&self, seq: u64) -> StoreResult<Vec<OutboxEntry>> {
        let mut v: Vec<OutboxEntry> = self.lock().outbox.values().filter(|o| o.seq == seq).cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    fn timers_under(&self, prefix: &str) -> StoreResult<Vec<Timer>> {
        Ok(self.lock().timers.values().filter(|t| t.key.as_str().starts_with(prefix)).cloned().collect())
    }

    fn forgotten(&self) -> StoreResult<Vec<ConversationId>> {
        Ok(self.lock().forgotten.iter().copied().collect())
    }

    fn week_tallies(&self, partnership: &str) -> StoreResult<Vec<WeekTally>> {
        Ok(self.lock().weeks.values().filter(|w| w.partnership == partnership).cloned().collect())
    }

    fn week_tally(&self, partnership: &str, week: &str) -> StoreResult<Option<WeekTally>> {
        Ok(self.lock().weeks.get(&(partnership.to_string(), week.to_string())).cloned())
    }

    fn state(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.lock().state.get(key).cloned())
    }

    async fn set_state(&self, key: &str, value: &str) -> StoreResult<()> {
        self.lock().state.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        let mut v: Vec<OutboxEntry> = self.lock().outbox.values().filter(|o| o.status.is_pending()).cloned().collect();
        v.sort_by(|a, b| (a.seq, &a.id).cmp(&(b.seq, &b.id)));
        Ok(v)
    }
}

#[cfg(test)]
mod conformance_tests {
    use super::MemoryStore;

    crate::store_conformance_tests!({
        let store = MemoryStore::new("memory-instance");
        move || store.clone()
    });
}
