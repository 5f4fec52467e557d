//! Retention in the committer (see `c2c_core::retention` for the records, `crate::retention`
//! for the sweep that finds the candidates): forget conversations inactive for longer than
//! `retention` (their messages, outbox entries and record, folded into the report's week
//! tallies, a tombstone left), then the id-map entries that point to forgotten conversations,
//! and dedupe answers older than `dedupe_window`.
//!
//! The sweep reads the store to find candidates; the committer decides again here, on the
//! newest state (this batch's included), because a post may have arrived meanwhile. This work
//! is done after the rest of its batch, so a conversation the batch touched is never forgotten
//! by it. Each piece is one atomic commit: what is deleted and what is kept of it go together,
//! so a crash can neither lose the tally nor count it twice.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use c2c_config::Config;
use c2c_core::{
    ConversationId, Forget, Message, Millis, NativeKey, OutboxEntry, OutboxId, StoreError, Timer, WeekTally,
};

use crate::report::fold::Fold;
use crate::router::batch::Batch;
use crate::router::committer::Committer;

/// What one piece of retention work did, or would do once durable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub conversations: u64,
    pub messages: u64,
    pub deliveries: u64,
    pub id_map: u64,
    pub dedupe_answers: u64,
    pub tombstones: u64,
    /// Conversations inactive for longer than retention but kept: a delivery still pending, a
    /// reminder still due, or a deliverable not done whose reminders they carry.
    pub kept: u64,
}

impl Forgotten {
    pub fn add(&mut self, other: &Forgotten) {
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.deliveries += other.deliveries;
        self.id_map += other.id_map;
        self.dedupe_answers += other.dedupe_answers;
        self.tombstones += other.tombstones;
        self.kept += other.kept;
    }
}

/// What one piece of expiring did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expired {
    pub done: Forgotten,
    /// Conversations with more messages than a whole piece allows, left as they are after
    /// reading that many: the sweep trims them first (see [`TrimPiece`]).
    pub too_long: Vec<ConversationId>,
    /// Conversations not looked at because the piece's messages were used up before them: the
    /// sweep sends them again as a piece of their own.
    pub again: Vec<ConversationId>,
}

/// One piece of trimming a long conversation before it is forgotten (see `crate::retention`):
/// delete up to `max` of its messages from seq `from` to seq `to`, with their outbox entries,
/// folded into the week tallies, all but the seqs in `keep` (its first post, each city's first
/// post, its last post and last message, which the thread's figures need when it goes).
#[derive(Clone, Debug)]
pub struct TrimPiece {
    pub conversation: ConversationId,
    pub cutoff: Millis,
    pub from: u64,
    pub to: u64,
    pub keep: Arc<BTreeSet<u64>>,
    pub max: usize,
}

/// What one piece of trimming did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trimmed {
    /// What was deleted, and the seq the next piece starts from (`None`: `to` was reached).
    Piece { done: Forgotten, next: Option<u64> },
    /// Nothing: the conversation is gone, active again (a message since `cutoff`), or kept by
    /// a delivery pending, a reminder due or a deliverable not done.
    Stopped,
}

/// What a piece of retention deletes of one conversation: the seqs of its messages and the keys
/// of their outbox entries, each folded into the week tallies as it is added.
#[derive(Debug, Default)]
struct Deleting {
    messages: Vec<u64>,
    entries: Vec<(u64, OutboxId)>,
}

impl Deleting {
    /// Message `m`, with its entries `at`.
    fn add(&mut self, fold: &mut Fold<'_>, m: &Message, at: Vec<OutboxEntry>) {
        fold.message(m);
        self.messages.push(m.seq);
        for e in at {
            fold.entry(&e);
            self.entries.push((e.seq, e.id));
        }
    }

    /// Into `batch`'s deletions, as conversation `id`'s, counted in `done`.
    fn forget(self, batch: &mut Batch, id: ConversationId, done: &mut Forgotten) {
        done.messages += self.messages.len() as u64;
        done.deliveries += self.entries.len() as u64;
        let forget = &mut batch.commit.forget;
        forget.extend(self.messages.into_iter().map(|seq| Forget::Message { conversation: id, seq }));
        forget.extend(self.entries.into_iter().map(|(seq, id)| Forget::Outbox { seq, id }));
    }
}

impl Committer {
    /// The outbox entries of conversation `id` at message `seq`; on a read error `None`, the
    /// error kept in `failed` (for the store's callbacks, which cannot return one).
    fn entries_at(&self, id: ConversationId, seq: u64, failed: &mut Option<StoreError>) -> Option<Vec<OutboxEntry>> {
        match self.store.outbox_at(seq) {
            Ok(at) => Some(at.into_iter().filter(|e| e.conversation == id).collect()),
            Err(e) => {
                *failed = Some(e);
                None
            }
        }
    }

    /// The conversations that a deliverable not done keeps, as this batch leaves them.
    fn kept_by_deliverables(&self, batch: &Batch) -> Result<HashSet<ConversationId>, StoreError> {
        Ok(self
            .store
            .deliverables()?
            .into_iter()
            .chain(batch.deliverables.values().cloned())
            .filter(|d| d.done_at.is_none())
            .filter_map(|d| d.conversation)
            .collect())
    }

    /// Whether a reminder of conversation `id` is still due, as this batch leaves it.
    fn owes_a_reminder(&self, batch: &Batch, id: ConversationId) -> Result<bool, StoreError> {
        for prefix in Timer::conversation_prefixes(id) {
            let in_batch = batch.timers.iter().any(|(k, t)| t.is_some() && k.as_str().starts_with(&prefix));
            if in_batch || !self.store.timers_under(&prefix)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One piece of trimming (see [`TrimPiece`]), decided on the newest state: nothing is
    /// deleted unless the conversation would be forgotten now.
    pub(super) fn trim(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        piece: &TrimPiece,
    ) -> Result<Trimmed, StoreError> {
        let id = piece.conversation;
        if batch.conversations.contains_key(&id) || batch.forgotten.contains(&id) {
            return Ok(Trimmed::Stopped);
        }
        let Some(conv) = self.store.conversation(id)? else { return Ok(Trimmed::Stopped) };
        if conv.last_activity() >= piece.cutoff
            || self.owes_a_reminder(batch, id)?
            || self.kept_by_deliverables(batch)?.contains(&id)
        {
            return Ok(Trimmed::Stopped);
        }
        let mut fold = Fold::new(config.partnership(&conv.partnership), &conv);
        let mut gone = Deleting::default();
        let (mut read, mut next, mut stop, mut failed) = (0, None, false, None);
        self.store.each_message_from(id, piece.from, &mut |m| {
            if m.seq > piece.to {
                return false;
            }
            if read == piece.max {
                next = Some(m.seq);
                return false;
            }
            read += 1;
            if m.committed_at >= piece.cutoff {
                stop = true;
                return false;
            }
            if piece.keep.contains(&m.seq) {
                return true;
            }
            let Some(at) = self.entries_at(id, m.seq, &mut failed) else { return false };
            if at.iter().any(|e| e.status.is_pending()) {
                stop = true;
                return false;
            }
            gone.add(&mut fold, &m, at);
            true
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if stop {
            return Ok(Trimmed::Stopped);
        }
        for tally in fold.finish_messages() {
            self.add_tally(batch, tally)?;
        }
        let mut done = Forgotten::default();
        gone.forget(batch, id, &mut done);
        Ok(Trimmed::Piece { done, next })
    }

    /// Forget each of `ids` whose last activity is before `cutoff` and that nothing keeps,
    /// reading `max_messages` messages at most in all, so a piece never holds posts up for long
    /// whatever its conversations hold (their records' post counts, which the sweep packs pieces
    /// by, do not count notices): those after the budget ran out are sent back (`again`), and a
    /// first one longer than the whole budget is left for the sweep to trim (`too_long`).
    pub(super) fn expire(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        ids: &[ConversationId],
        cutoff: Millis,
        max_messages: usize,
    ) -> Result<Expired, StoreError> {
        let mut out = Forgotten::default();
        let (mut too_long, mut again) = (Vec::new(), Vec::new());
        let open_deliverables = self.kept_by_deliverables(batch)?;
        let mut budget = max_messages;
        for (i, &id) in ids.iter().enumerate() {
            // Touched by this batch (or forgotten already): active, or gone.
            if batch.conversations.contains_key(&id) || batch.forgotten.contains(&id) {
                continue;
            }
            let Some(conv) = self.store.conversation(id)? else { continue };
            // One message at a time (a conversation can hold years of posts): folded as it
            // comes, only the keys of what would be deleted kept.
            let partnership = config.partnership(&conv.partnership);
            let mut fold = Fold::new(partnership, &conv);
            let mut gone = Deleting::default();
            let (mut last, mut pending, mut failed, mut long) = (conv.last_activity(), false, None, false);
            self.store.each_message_from(id, 0, &mut |m| {
                if gone.messages.len() == budget {
                    long = true;
                    return false;
                }
                last = last.max(m.committed_at);
                let Some(at) = self.entries_at(id, m.seq, &mut failed) else { return false };
                pending |= at.iter().any(|e| e.status.is_pending());
                gone.add(&mut fold, &m, at);
                true
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if long {
                if budget == max_messages {
                    // Its reading used the piece up: the rest come back.
                    too_long.push(id);
                    again.extend_from_slice(&ids[i + 1..]);
                } else {
                    again.extend_from_slice(&ids[i..]);
                }
                break;
            }
            budget -= gone.messages.len();
            if last >= cutoff {
                continue;
            }
            if pending || self.owes_a_reminder(batch, id)? || open_deliverables.contains(&id) {
                out.kept += 1;
                continue;
            }
            for tally in fold.finish() {
                self.add_tally(batch, tally)?;
            }
            out.conversations += 1;
            gone.forget(batch, id, &mut out);
            batch.commit.forget.push(Forget::Conversation(id));
            batch.commit.forgotten.push(id);
            batch.forgotten.insert(id);
        }
        Ok(Expired { done: out, too_long, again })
    }

    /// Delete the id-map entries among `natives` that point to a conversation no longer stored,
    /// the dedupe answers among `accepted` older than `dedupe_cutoff` (or whose conversation is
    /// gone), and then the `tombstones` (the sweep sends them with the last of their entries).
    pub(super) fn forget_ids(
        &mut self,
        batch: &mut Batch,
        natives: &[NativeKey],
        accepted: &[NativeKey],
        dedupe_cutoff: Option<Millis>,
        tombstones: &[ConversationId],
    ) -> Result<Forgotten, StoreError> {
        let mut out = Forgotten::default();
        for key in natives {
            let current = match batch.natives.get(key) {
                Some(r) => Some(r.clone()),
                None => self.store.native(key)?,
            };
            if let Some(r) = current
                && !self.is_stored(batch, r.conversation)?
            {
                batch.commit.forget.push(Forget::Native(key.clone()));
                out.id_map += 1;
            }
        }
        for key in accepted {
            let current = match batch.accepted.get(key) {
                Some(a) => Some(a.clone()),
                None => self.store.accepted(key)?,
            };
            let Some(a) = current else { continue };
            let expired = dedupe_cutoff.is_some_and(|cut| a.accepted_at() < cut);
            if expired || !self.is_stored(batch, a.conversation)? {
                batch.commit.forget.push(Forget::Accepted(key.clone()));
                out.dedupe_answers += 1;
            }
        }
        for &id in tombstones {
            batch.commit.forget.push(Forget::Tombstone(id));
            out.tombstones += 1;
        }
        Ok(out)
    }

    /// Whether conversation `id` is stored as this batch leaves it.
    fn is_stored(&self, batch: &Batch, id: ConversationId) -> Result<bool, StoreError> {
        if batch.conversations.contains_key(&id) {
            return Ok(true);
        }
        if batch.forgotten.contains(&id) {
            return Ok(false);
        }
        Ok(self.store.conversation(id)?.is_some())
    }

    /// Add `tally` to its week's, as this batch leaves it.
    fn add_tally(&self, batch: &mut Batch, tally: WeekTally) -> Result<(), StoreError> {
        let key = (tally.partnership.clone(), tally.week.clone());
        if !batch.weeks.contains_key(&key) {
            let stored = self.store.week_tally(&key.0, &key.1)?.unwrap_or_else(|| WeekTally::new(&key.0, &key.1));
            batch.weeks.insert(key.clone(), stored);
        }
        batch.weeks.get_mut(&key).expect("inserted").add(&tally);
        Ok(())
    }
}
