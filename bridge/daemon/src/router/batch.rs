//! The records one committer batch builds before they are committed: the [`Batch`] (with the
//! batch's own view of conversations and ids, newer than the store's), lookups through it, and
//! the records every kind of work makes: bridge-written messages and outbox entries.

use std::collections::{HashMap, HashSet};

use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, DeliverableState, DeliveryStatus, LanguageTag, Message, MessageId,
    MessageKind, NativeKey, NativeRef, OutboxEntry, OutboxId, Recipient, Refusal, RefusalReason, Threads, Timer,
    TimerKey, WeekTally,
};
use tokio::sync::oneshot;

use crate::router::committer::{Committer, Reply};

/// Changes made by the work of one batch, before they are committed.
#[derive(Default)]
pub(crate) struct Batch {
    pub(super) commit: Commit,
    /// Conversations touched in this batch, newest state.
    pub(super) conversations: HashMap<ConversationId, Conversation>,
    pub(super) natives: HashMap<NativeKey, NativeRef>,
    pub(super) accepted: HashMap<NativeKey, Accepted>,
    /// Answers to send once the batch is durable.
    pub(super) answers: Vec<(Reply, Result<Accepted, Refusal>, c2c_core::Channel)>,
    /// Work answered `true` once the batch is durable (`false` if it fails).
    pub(super) done: Vec<oneshot::Sender<bool>>,
    /// Outbox entries recorded as updates, not new deliveries.
    pub(super) updated: HashSet<OutboxId>,
    /// Timers written (`Some`) or done (`None`) in this batch, newest state.
    pub(super) timers: HashMap<TimerKey, Option<Timer>>,
    /// Deliverables' state written in this batch.
    pub(super) deliverables: HashMap<(String, String), DeliverableState>,
    /// Deliverables marked done through [`super::committer::Work::DeliverableDone`], answered once durable.
    pub(super) marked: Vec<super::committer::Marked>,
    /// Answers to admins' changes (`router::admin`), given once the batch is durable (`true`)
    /// or has failed (`false`).
    pub(super) after: Vec<super::committer::After>,
    /// Reminders made in this batch (counted once it is durable).
    pub(super) reminders: Vec<c2c_core::ReminderReason>,
    /// Week tallies retention adds to in this batch, newest state (see `router::retention`).
    pub(super) weeks: HashMap<(String, String), WeekTally>,
    /// Conversations retention forgets in this batch.
    pub(super) forgotten: HashSet<ConversationId>,
}

impl Batch {
    /// Write `timer` (replacing one under its key).
    pub(super) fn set_timer(&mut self, timer: Timer) {
        self.timers.insert(timer.key.clone(), Some(timer));
    }

    /// Mark the timer under `key` done (deleted with this batch).
    pub(super) fn timer_done(&mut self, key: TimerKey) {
        self.timers.insert(key, None);
    }

    /// Move the batch's timers and deliverables into its commit.
    pub(super) fn close(&mut self) {
        for (key, timer) in self.timers.drain() {
            match timer {
                Some(t) => self.commit.timers.push(t),
                None => self.commit.timers_done.push(key),
            }
        }
        self.commit.deliverables.extend(self.deliverables.drain().map(|(_, d)| d));
        self.commit.weeks.extend(self.weeks.drain().map(|(_, w)| w));
    }
}

impl Committer {
    pub(super) fn store_error(e: c2c_core::StoreError) -> Refusal {
        tracing::error!(error = %e, "store read failed");
        Refusal::new(RefusalReason::Unavailable, "the bridge could not read its store; retry later")
    }

    pub(super) fn conversation(&self, batch: &Batch, id: ConversationId) -> Result<Option<Conversation>, Refusal> {
        if let Some(c) = batch.conversations.get(&id) {
            return Ok(Some(c.clone()));
        }
        self.store.conversation(id).map_err(Self::store_error)
    }

    /// A timer as this batch leaves it (`None` when done or never written).
    pub(super) fn timer(&self, batch: &Batch, key: &TimerKey) -> Result<Option<Timer>, c2c_core::StoreError> {
        match batch.timers.get(key) {
            Some(t) => Ok(t.clone()),
            None => self.store.timer(key),
        }
    }

    /// A deliverable's state as this batch leaves it (new when never written).
    pub(super) fn deliverable_state(
        &self,
        batch: &Batch,
        partnership: &str,
        id: &str,
    ) -> Result<DeliverableState, c2c_core::StoreError> {
        if let Some(d) = batch.deliverables.get(&(partnership.to_string(), id.to_string())) {
            return Ok(d.clone());
        }
        Ok(self.store.deliverable(partnership, id)?.unwrap_or_else(|| DeliverableState::new(partnership, id)))
    }

    pub(super) fn native(&self, batch: &Batch, key: &NativeKey) -> Result<Option<NativeRef>, Refusal> {
        if let Some(r) = batch.natives.get(key) {
            return Ok(Some(r.clone()));
        }
        self.store.native(key).map_err(Self::store_error)
    }

    /// A message written by the bridge in `conv`.
    pub(super) fn bridge_message(
        &mut self,
        conv: &Conversation,
        kind: MessageKind,
        text: String,
        lang: &str,
        now: i64,
    ) -> Message {
        Message {
            id: MessageId::new(),
            seq: self.seq(),
            kind,
            conversation: conv.id,
            partnership: conv.partnership.clone(),
            author: None,
            origin: c2c_core::Origin {
                channel: c2c_core::Channel::Webhook,
                city: None,
                address: self.bridge_name.clone(),
            },
            origin_instance: self.store.instance_id().to_string(),
            subject: conv.subject.clone(),
            text,
            html: None,
            attachments: Vec::new(),
            language: LanguageTag { code: lang.to_string(), confidence: 1.0, script: String::new() },
            received_at: now,
            committed_at: now,
            reminder: None,
        }
    }
}

/// One outbox entry per recipient of `message`, each added to its recipient's thread in `conv`
/// (see `c2c_core::thread`): channels that know a delivery's ids at commit (email's Message-ID,
/// a peer's `prev`) get the thread so far stamped on the entry.
pub(super) fn push_entries(
    commit: &mut Commit,
    message: &Message,
    to: Vec<Recipient>,
    now: i64,
    conv: &mut Conversation,
    threads: &Threads,
) {
    for (i, recipient) in to.into_iter().enumerate() {
        let mut entry = OutboxEntry {
            id: OutboxId::for_recipient(message.id, i),
            seq: message.seq,
            message: message.id,
            conversation: message.conversation,
            partnership: message.partnership.clone(),
            recipient,
            status: DeliveryStatus::Scheduled,
            attempts: 0,
            next_due: now,
            last_error: None,
            created_at: now,
            updated_at: now,
            delivered_at: None,
            references: Vec::new(),
            delay_noticed_at: None,
        };
        threads.note_outbound(conv, &mut entry, message);
        commit.outbox.push(entry);
    }
}
