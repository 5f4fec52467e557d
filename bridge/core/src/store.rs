//! The store trait: what the router and the delivery scheduler need from durable storage.
//!
//! One backend ships (sled, in `c2c-store`); [`crate::memory::MemoryStore`] is a second one for
//! unit tests. Both are checked by the same conformance suite (feature `conformance`).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::connector::Accepted;
use crate::followup::{DeliverableState, Timer, TimerKey};
use crate::ids::{ConversationId, MessageId, OutboxId};
use crate::record::{Conversation, Message, OutboxEntry};
use crate::retention::{Forget, WeekTally};

/// A native id scoped to its channel, so ids from different protocols never collide:
/// `webhook:leeds:delivery:<webhook-id>`, `webhook:leeds:partnership:<id>:thread:<key>`,
/// `email:<message-id>`, `short:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NativeKey(pub String);

impl NativeKey {
    /// A webhook delivery id (`webhook-id`) received from a city's system.
    pub fn webhook_delivery(city: &str, webhook_id: &str) -> Self {
        Self(format!("webhook:{city}:delivery:{webhook_id}"))
    }

    /// An email Message-ID (without `<>`), ours or an officer's.
    pub fn email(message_id: &str) -> Self {
        Self(format!("email:{}", message_id.trim().trim_matches(['<', '>'])))
    }

    /// The conversation a partnership's digests go into (opened by the bridge with the first).
    pub fn digest(partnership: &str) -> Self {
        Self(format!("digest:{partnership}"))
    }

    /// A conversation's short id, as carried in subject tags.
    pub fn short(short_id: &str) -> Self {
        Self(format!("short:{}", short_id.to_ascii_uppercase()))
    }

    /// A thread key a city's system uses for one of its conversations in `partnership`: the same
    /// key used by the city in two partnerships names two conversations. (City and partnership
    /// ids hold no `:`, so the key cannot be confused with another city's, partnership's, or a
    /// [`NativeKey::legacy_webhook_thread`].)
    pub fn webhook_thread(city: &str, partnership: &str, thread_key: &str) -> Self {
        Self(format!("webhook:{city}:partnership:{partnership}:thread:{thread_key}"))
    }

    /// A thread key as stores written before thread keys were scoped per partnership hold it
    /// (one per city, pointing at the conversation it was last used in). Only looked up, never
    /// written: the router believes it for the partnership its record names, and then writes the
    /// scoped key.
    pub fn legacy_webhook_thread(city: &str, thread_key: &str) -> Self {
        Self(format!("webhook:{city}:thread:{thread_key}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NativeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a native id points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeRef {
    pub partnership: String,
    pub conversation: ConversationId,
    pub message: Option<MessageId>,
}

/// Everything one group of inbound messages changes, applied atomically and durably.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub messages: Vec<Message>,
    /// New or updated conversations (the whole record; last write wins).
    pub conversations: Vec<Conversation>,
    pub natives: Vec<(NativeKey, NativeRef)>,
    /// Dedupe keys with the answer a replay gets.
    pub accepted: Vec<(NativeKey, Accepted)>,
    pub outbox: Vec<OutboxEntry>,
    /// Timers written (a timer with the key of a stored one replaces it).
    pub timers: Vec<Timer>,
    /// Timers done: deleted, in the same commit as what they did.
    pub timers_done: Vec<TimerKey>,
    /// Deliverables' state (the whole record; last write wins).
    pub deliverables: Vec<DeliverableState>,
    /// Records retention deletes (see [`crate::retention`]). Applied before everything else in
    /// the commit, so a record the same commit writes again is kept.
    pub forget: Vec<Forget>,
    /// Tombstones of conversations forgotten: id-map entries may still point to them.
    pub forgotten: Vec<ConversationId>,
    /// Report tallies of forgotten conversations (the whole record; last write wins).
    pub weeks: Vec<WeekTally>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.conversations.is_empty()
            && self.natives.is_empty()
            && self.accepted.is_empty()
            && self.outbox.is_empty()
            && self.timers.is_empty()
            && self.timers_done.is_empty()
            && self.deliverables.is_empty()
            && self.forget.is_empty()
            && self.forgotten.is_empty()
            && self.weeks.is_empty()
    }

    /// Append another commit's changes (later changes to the same record win).
    pub fn extend(&mut self, other: Commit) {
        self.messages.extend(other.messages);
        self.conversations.extend(other.conversations);
        self.natives.extend(other.natives);
        self.accepted.extend(other.accepted);
        self.outbox.extend(other.outbox);
        self.timers.extend(other.timers);
        self.timers_done.extend(other.timers_done);
        self.deliverables.extend(other.deliverables);
        self.forget.extend(other.forget);
        self.forgotten.extend(other.forgotten);
        self.weeks.extend(other.weeks);
    }
}

/// A commit applied in memory but not yet known to be durable; see [`Store::stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a staged commit is not durable until `Store::durable` returns"]
pub struct Staged(pub u64);

/// A store failure. `retryable` says whether the same operation may succeed later.
#[derive(Debug, thiserror::Error)]
#[error("store: {detail}")]
pub struct StoreError {
    pub detail: String,
    pub retryable: bool,
}

impl StoreError {
    pub fn new(detail: impl Into<String>, retryable: bool) -> Self {
        Self { detail: detail.into(), retryable }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Durable storage for messages, conversations, the cross-channel id map, dedupe keys and the
/// outbox.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// This instance's id, created with the store and kept for its life (federation).
    fn instance_id(&self) -> &str;

    /// The highest message/outbox sequence number committed so far (0 for an empty store).
    fn last_seq(&self) -> StoreResult<u64>;

    /// Apply `commit` atomically: readers see it at once, but it may not be on disk yet. Pair
    /// with [`Store::durable`] before acknowledging anything in it. Stage, then wait: a caller
    /// can route the next group while the previous one is being flushed. Staging may block until
    /// a running flush is done (sled's batches wait for it), so async callers run it on a
    /// blocking thread.
    fn stage(&self, commit: Commit) -> StoreResult<Staged>;

    /// Return once everything staged up to `staged` is durable on disk. Concurrent callers
    /// share flushes (group commit).
    async fn durable(&self, staged: Staged) -> StoreResult<()>;

    /// Stage `commit` and wait until it is durable.
    async fn commit(&self, commit: Commit) -> StoreResult<()> {
        let staged = self.stage(commit)?;
        self.durable(staged).await
    }

    /// Record delivery progress and the native ids a delivery produced, atomically. Like
    /// [`Store::stage`], it is applied but not yet durable when this returns; pass the result
    /// to [`Store::durable`] to wait for the flush that covers it. Until then a crash loses it,
    /// and the deliveries it records are made again under the same idempotency key (a repeat,
    /// never a lost message), so callers should make it durable soon, but need not wait.
    async fn update_deliveries(
        &self,
        entries: &[OutboxEntry],
        natives: &[(NativeKey, NativeRef)],
    ) -> StoreResult<Staged>;

    /// How many flushes (fsyncs) the store has issued since it was opened, for metrics.
    fn flushes(&self) -> u64 {
        0
    }

    /// Force everything written so far to disk.
    async fn flush(&self) -> StoreResult<()>;

    /// The answer given when this dedupe key was first accepted.
    fn accepted(&self, key: &NativeKey) -> StoreResult<Option<Accepted>>;
    fn native(&self, key: &NativeKey) -> StoreResult<Option<NativeRef>>;
    fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>>;
    /// All conversations, or those of one partnership.
    fn conversations(&self, partnership: Option<&str>) -> StoreResult<Vec<Conversation>>;
    /// One message, by its conversation and commit sequence number (what outbox entries and
    /// the id map carry).
    fn message(&self, conversation: ConversationId, seq: u64) -> StoreResult<Option<Message>>;
    /// The messages of a conversation in commit order.
    fn messages(&self, conversation: ConversationId) -> StoreResult<Vec<Message>>;
    /// [`Store::messages`] one at a time, without holding them all (a conversation can hold
    /// years of posts).
    fn each_message(&self, conversation: ConversationId, each: &mut dyn FnMut(Message)) -> StoreResult<()> {
        for m in self.messages(conversation)? {
            each(m);
        }
        Ok(())
    }
    /// The messages of a conversation from seq `from` on, one at a time in commit order, until
    /// `each` answers `false` (retention trims a long conversation a piece at a time).
    fn each_message_from(
        &self,
        conversation: ConversationId,
        from: u64,
        each: &mut dyn FnMut(Message) -> bool,
    ) -> StoreResult<()> {
        for m in self.messages(conversation)?.into_iter().filter(|m| m.seq >= from) {
            if !each(m) {
                break;
            }
        }
        Ok(())
    }
    /// Every outbox entry, or those of one partnership, in commit order (for reports; reads
    /// the whole outbox).
    fn outbox(&self, partnership: Option<&str>) -> StoreResult<Vec<OutboxEntry>>;
    /// [`Store::outbox`] one entry at a time, without holding them all (a report over years
    /// of a partnership's deliveries).
    fn each_outbox(&self, partnership: Option<&str>, each: &mut dyn FnMut(OutboxEntry)) -> StoreResult<()> {
        for e in self.outbox(partnership)? {
            each(e);
        }
        Ok(())
    }
    /// Every entry still to be delivered (scheduled or temporarily failed), in commit order.
    fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>>;
    /// [`Store::pending_outbox`] one entry at a time, without holding them all: after a long
    /// outage the queue can be deep, and the scheduler keeps only a small handle of each.
    fn each_pending(&self, each: &mut dyn FnMut(OutboxEntry)) -> StoreResult<()> {
        for e in self.pending_outbox()? {
            each(e);
        }
        Ok(())
    }
    /// Move the start of the pending scan ([`Store::each_pending`]) past the entries after it
    /// that are delivered or failed for good, reading at most `max` of them; `true` when it
    /// stopped at `max` (there may be more to pass). A daemon calls it while running, so its
    /// next start scans only what is still open instead of everything relayed since the last
    /// one. It never moves past an entry pending in the store, nor past one a commit made
    /// pending again meanwhile (an admin's retry). The default does nothing.
    fn advance_outbox_low(&self, max: usize) -> StoreResult<bool> {
        let _ = max;
        Ok(false)
    }
    /// One outbox entry.
    fn outbox_entry(&self, seq: u64, id: &OutboxId) -> StoreResult<Option<OutboxEntry>>;
    /// One outbox entry by its id alone, as an admin names it (`POST /api/outbox/{id}/retry`):
    /// a scan of the outbox, for rare admin actions, never for the delivery path.
    fn find_outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        Ok(self.outbox(None)?.into_iter().find(|e| e.id == *id))
    }

    /// One timer, by its key.
    fn timer(&self, key: &TimerKey) -> StoreResult<Option<Timer>>;
    /// Every timer not yet done, one at a time (read at start by the follow-up loop).
    fn each_timer(&self, each: &mut dyn FnMut(Timer)) -> StoreResult<()>;
    /// One deliverable's state.
    fn deliverable(&self, partnership: &str, id: &str) -> StoreResult<Option<DeliverableState>>;
    /// Every deliverable state the store holds.
    fn deliverables(&self) -> StoreResult<Vec<DeliverableState>>;

    /// Every conversation after `after` (all: `None`) in id order, one at a time, until `each`
    /// answers `false`: retention reads them all in steps, without holding them all, and
    /// without one long read.
    fn each_conversation(
        &self,
        after: Option<ConversationId>,
        each: &mut dyn FnMut(Conversation) -> bool,
    ) -> StoreResult<()>;
    /// Every id-map entry after `after` in key order, as [`Store::each_conversation`].
    fn each_native(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, NativeRef) -> bool,
    ) -> StoreResult<()>;
    /// Every dedupe answer after `after` in key order, as [`Store::each_conversation`].
    fn each_accepted(
        &self,
        after: Option<&NativeKey>,
        each: &mut dyn FnMut(NativeKey, Accepted) -> bool,
    ) -> StoreResult<()>;
    /// The outbox entries of the message committed with `seq` (one per recipient).
    fn outbox_at(&self, seq: u64) -> StoreResult<Vec<OutboxEntry>>;
    /// The timers whose keys start with `prefix` (see [`Timer::conversation_prefixes`]).
    fn timers_under(&self, prefix: &str) -> StoreResult<Vec<Timer>>;
    /// The tombstones of conversations retention forgot whose id-map entries may remain.
    fn forgotten(&self) -> StoreResult<Vec<ConversationId>>;
    /// The report tallies of a partnership's forgotten conversations, by week.
    fn week_tallies(&self, partnership: &str) -> StoreResult<Vec<WeekTally>>;
    /// One week's tally.
    fn week_tally(&self, partnership: &str, week: &str) -> StoreResult<Option<WeekTally>>;

    /// A connector's own small state (an IMAP UIDVALIDITY and last UID, a Matrix sync token).
    fn state(&self, key: &str) -> StoreResult<Option<String>>;
    /// Set a connector's state; durable when this returns.
    async fn set_state(&self, key: &str, value: &str) -> StoreResult<()>;
}
