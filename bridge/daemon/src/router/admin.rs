//! Changes an admin asks for through the admin API, made by the committer like every other
//! change to the store: close a conversation (as a member's `/close` does: its debts settled,
//! their reminders ended), and schedule a delivery that failed for good again. (Marking a
//! deliverable done is in `deliverables`.) Each is answered once its commit is durable.

use c2c_core::{ConversationId, DeliveryStatus, Millis, OutboxId, StoreError};

use crate::router::batch::Batch;
use crate::router::committer::Committer;

/// What came of closing a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    /// No conversation has that id.
    NotFound,
    /// Closed now, at `at`.
    Closed { partnership: String, at: Millis },
    /// It already was, since `at`: nothing changed.
    AlreadyClosed { partnership: String, at: Millis },
}

/// What came of asking to retry a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retried {
    /// No outbox entry has that id (at that seq).
    NotFound,
    /// It has not failed for good (it is pending, or was delivered): nothing changed.
    NotFailed(DeliveryStatus),
    /// Scheduled again: the scheduler has it once the commit is durable.
    Scheduled,
}

impl Committer {
    /// Close conversation `id` (see [`Closed`]).
    pub(super) fn close(&mut self, batch: &mut Batch, id: ConversationId) -> Result<Closed, StoreError> {
        let conv = self.conversation(batch, id).map_err(|r| StoreError::new(r.detail, true))?;
        let Some(mut conv) = conv else { return Ok(Closed::NotFound) };
        if let Some(at) = conv.closed_at {
            return Ok(Closed::AlreadyClosed { partnership: conv.partnership, at });
        }
        let at = self.clock.now();
        conv.closed_at = Some(at);
        Self::settle_all(batch, &mut conv);
        let partnership = conv.partnership.clone();
        batch.conversations.insert(conv.id, conv);
        Ok(Closed::Closed { partnership, at })
    }

    /// Schedule the entry (`seq`, `id`) again if it failed for good: due now, its age counted
    /// from now (a delivery gives up by age: counted from its first commit, it would give up at
    /// its first failed attempt), its author told again if it is delayed or fails again. The
    /// commit hands it to the scheduler like a new entry; its attempts and last error stay.
    pub(super) fn retry(&mut self, batch: &mut Batch, seq: u64, id: &OutboxId) -> Result<Retried, StoreError> {
        // A retry earlier in this batch is newer than the store.
        let newer = batch.commit.outbox.iter().rev().find(|e| e.id == *id).cloned();
        let entry = match newer {
            Some(e) => Some(e),
            None => self.store.outbox_entry(seq, id)?,
        };
        let Some(mut entry) = entry else { return Ok(Retried::NotFound) };
        if entry.status != DeliveryStatus::PermanentFailure {
            return Ok(Retried::NotFailed(entry.status));
        }
        let now = self.clock.now();
        entry.status = DeliveryStatus::Scheduled;
        entry.next_due = now;
        entry.created_at = now;
        entry.updated_at = now;
        entry.delay_noticed_at = None;
        batch.commit.outbox.push(entry);
        Ok(Retried::Scheduled)
    }
}
