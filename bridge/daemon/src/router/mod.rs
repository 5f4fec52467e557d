//! The router: from an inbound envelope to committed records and outbox entries.
//!
//! Two stages. [`prepare`] runs in the connector's task (identify the sender, sanitise,
//! tag the language); [`committer`] runs in one task (dedupe, conversation, agreed channel,
//! recipients, group commit). [`Router`] is the [`Inbox`] connectors submit to.
//!
//! # Layout
//! - [`prepare`]: the stateless stage.
//! - [`committer`]: the sequential stage and group commit; what it commits is built in `batch`
//!   (the batch, its lookups, bridge messages, outbox entries), `inbound` (a post, step by step),
//!   `resolve` (which conversation a post continues) and `author` (notices about deliveries);
//!   follow-up in `followup` (reply windows and their reminders), `deliverables` (deliverable
//!   and meeting reminders, marking done), `digest` (periodic summaries) and `commands`
//!   (`/close`, `/snooze 3d`, ...), `threads` (a thread a delivery started); [`admin`]: changes
//!   admins ask for (close a conversation, retry a failed delivery); [`retention`]: forgetting
//!   inactive conversations and expired dedupe answers.
//! - [`recipients`]: who receives what on which channel (every routing decision lives here).
//! - [`notice`]: what the bridge itself says, per language.

pub mod admin;
mod author;
mod batch;
mod commands;
pub mod committer;
mod deliverables;
mod digest;
mod followup;
mod inbound;
pub mod notice;
pub mod prepare;
pub mod recipients;
mod resolve;
pub mod retention;
mod threads;

use std::sync::Arc;

use async_trait::async_trait;
use c2c_config::Config;
use c2c_core::{
    Accepted, AttachmentDrop, BounceReport, Channel, Envelope, Inbox, OutboxEntry, Refusal, RefusalReason, Replica,
    Store,
};
use c2c_language::Tagger;
use tokio::sync::{mpsc, oneshot};

use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::{Bounce, Signal};
use committer::Work;

/// How many pieces of work may wait for the committer before submitters wait too
/// (back-pressure on connectors instead of unbounded memory).
const QUEUE: usize = 8192;

/// Text longer than this (bytes), or any HTML, is prepared on a blocking thread.
const INLINE_TEXT: usize = 16 * 1024;

/// The connectors' inbox.
#[derive(Clone)]
pub struct Router {
    config: Live<Config>,
    tagger: Live<Tagger>,
    metrics: Arc<Metrics>,
    tx: mpsc::Sender<Work>,
    /// Connectors' state (cursors, sync tokens) lives in the store.
    store: Arc<dyn Store>,
    /// Bounces (and peers heard from) go to the scheduler, the one writer of delivery status.
    bounces: mpsc::UnboundedSender<Signal>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

impl Router {
    /// A router and the receiving end of its committer queue.
    pub fn new(
        config: Live<Config>,
        tagger: Live<Tagger>,
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
        bounces: mpsc::UnboundedSender<Signal>,
    ) -> (Self, mpsc::Receiver<Work>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { config, tagger, metrics, tx, store, bounces }, rx)
    }

    /// Record `entry` as failed for good and tell its author, in one commit; `true` once that
    /// is durable. Until then the store still has the entry pending, so a crash means one more
    /// attempt (and the notice after it), never a failure nobody is told about.
    pub async fn failed_for_good(&self, entry: OutboxEntry, reason: String) -> bool {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::DeliveryFailed { entry: Box::new(entry), reason, done }).await.is_err() {
            tracing::warn!("committer stopped; a failed delivery stays pending until the next start");
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

impl Router {
    /// Record `entry` as noticed (its `delay_noticed_at` set) with the `delayed` notice to its
    /// author, in one commit; `true` once that is durable. `reason` is why its endpoint fails,
    /// `deadline` when the bridge gives up. A crash before it means the notice is made at the
    /// next check after the restart; after it, the entry's record says it was sent.
    pub async fn delayed(&self, entry: OutboxEntry, reason: String, deadline: c2c_core::Millis) -> bool {
        let (done, answer) = oneshot::channel();
        let work = Work::DeliveryDelayed { entry: Box::new(entry), reason, deadline, done };
        if self.tx.send(work).await.is_err() {
            tracing::warn!("committer stopped; a delay notice is made again after the next start");
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

impl Router {
    /// Keep the thread a delivery to `recipient` started in `conversation` (`Receipt::thread`);
    /// `true` once durable. Until then the delivery is not recorded as made, so the next one to
    /// that endpoint cannot start a second thread.
    pub async fn note_thread(
        &self,
        conversation: c2c_core::ConversationId,
        recipient: c2c_core::Recipient,
        ids: Vec<String>,
    ) -> bool {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Thread { conversation, recipient, ids, done }).await.is_err() {
            tracing::warn!("committer stopped; a delivery's thread is not kept");
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Act on the follow-up timer `key` (if still stored and due); `true` once durable.
    pub async fn timer_due(&self, key: c2c_core::TimerKey) -> bool {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Timer { key, done }).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Write each deliverable's next reminder timer and each digest's next one; `true` once
    /// durable.
    pub async fn plan_follow_up(&self) -> bool {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Plan { done }).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Mark a deliverable done on behalf of `by` (`admin`, `cli`): a sentence saying what came
    /// of it, or why not.
    pub async fn deliverable_done(&self, partnership: &str, id: &str, by: &str) -> Result<String, String> {
        let (done, answer) = oneshot::channel();
        let work = Work::DeliverableDone {
            partnership: partnership.to_string(),
            id: id.to_string(),
            by: by.to_string(),
            done,
        };
        if self.tx.send(work).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }

    /// Close conversation `id` as a member's `/close` does (its debts settled, their reminders
    /// ended); answered once durable, or with why not.
    pub async fn close_conversation(&self, id: c2c_core::ConversationId) -> Result<admin::Closed, String> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Close { conversation: id, done }).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }

    /// Retention: forget those of `conversations` inactive since before `cutoff` that nothing
    /// keeps, leaving any with more than `max_messages` messages to be trimmed first; what was
    /// forgotten, once durable.
    pub async fn expire(
        &self,
        conversations: Vec<c2c_core::ConversationId>,
        cutoff: c2c_core::Millis,
        max_messages: usize,
    ) -> Result<retention::Expired, String> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Expire { conversations, cutoff, max_messages, done }).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }

    /// Retention: one piece of trimming a long conversation before it is forgotten; what was
    /// deleted, once durable.
    pub async fn trim(&self, piece: retention::TrimPiece) -> Result<retention::Trimmed, String> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Trim { piece, done }).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }

    /// Retention: delete the id-map entries among `natives` whose conversation is gone, the
    /// dedupe answers among `accepted` older than `dedupe_cutoff` (or whose conversation is
    /// gone), then the `tombstones`; what was deleted, once durable.
    pub async fn forget_ids(
        &self,
        natives: Vec<c2c_core::NativeKey>,
        accepted: Vec<c2c_core::NativeKey>,
        dedupe_cutoff: Option<c2c_core::Millis>,
        tombstones: Vec<c2c_core::ConversationId>,
    ) -> Result<retention::Forgotten, String> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::ForgetIds { natives, accepted, dedupe_cutoff, tombstones, done }).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }

    /// Schedule the delivery (`seq`, `id`) again if it failed for good; answered once durable
    /// (the scheduler has it then), or with why not.
    pub async fn retry_delivery(&self, seq: u64, id: c2c_core::OutboxId) -> Result<admin::Retried, String> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Work::Retry { seq, id, done }).await.is_err() {
            return Err("the bridge is stopping".into());
        }
        answer.await.unwrap_or_else(|_| Err("the bridge is stopping".into()))
    }
}

impl Router {
    /// Hand a prepared post to the committer and wait for its answer (once durable), or count
    /// the refusal that preparing it gave.
    async fn commit_prepared(
        &self,
        channel: Channel,
        prepared: Result<prepare::Prepared, Refusal>,
    ) -> Result<Accepted, Refusal> {
        let prepared = match prepared {
            Ok(p) => p,
            Err(refusal) => {
                self.metrics.refused(channel, refusal.reason);
                return Err(refusal);
            }
        };
        let (reply, answer) = oneshot::channel();
        let unavailable = || Refusal::new(RefusalReason::Unavailable, "the bridge is shutting down; retry later");
        if self.tx.send(Work::Inbound(Box::new(prepared), reply)).await.is_err() {
            self.metrics.refused(channel, RefusalReason::Unavailable);
            return Err(unavailable());
        }
        // The committer counts what it decides.
        answer.await.unwrap_or_else(|_| Err(unavailable()))
    }
}

#[async_trait]
impl Inbox for Router {
    async fn submit(&self, envelope: Envelope) -> Result<Accepted, Refusal> {
        let channel = envelope.origin.channel;
        self.metrics.received(channel);
        let (config, tagger) = (self.config.get(), self.tagger.get());
        let prepared = if envelope.html.is_some() || envelope.text.len() > INLINE_TEXT {
            // Sanitising HTML and tagging long text take CPU time proportional to their size:
            // not on an async worker, where they would hold up other connections.
            tokio::task::spawn_blocking(move || prepare::prepare(&config, &tagger, envelope)).await.unwrap_or_else(
                |e| {
                    tracing::error!(error = %e, "preparing a message failed (a bug)");
                    Err(Refusal::new(RefusalReason::Unavailable, "the bridge could not read the message; retry later"))
                },
            )
        } else {
            prepare::prepare(&config, &tagger, envelope)
        };
        self.commit_prepared(channel, prepared).await
    }

    async fn submit_replica(&self, replica: Replica) -> Result<Accepted, Refusal> {
        let channel = replica.envelope.origin.channel;
        self.metrics.received(channel);
        // Its HTML is sanitised again: off the async workers, as for a post.
        let config = self.config.get();
        let prepared = if replica.envelope.html.is_some() {
            tokio::task::spawn_blocking(move || prepare::prepare_replica(&config, replica)).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "preparing a replica failed (a bug)");
                Err(Refusal::new(RefusalReason::Unavailable, "the bridge could not read the message; retry later"))
            })
        } else {
            prepare::prepare_replica(&config, replica)
        };
        self.commit_prepared(channel, prepared).await
    }

    fn count_refusal(&self, channel: Channel, reason: RefusalReason) {
        self.metrics.refused(channel, reason);
    }

    fn count_attachment_dropped(&self, channel: Channel, reason: AttachmentDrop) {
        self.metrics.attachment_dropped(channel, reason);
    }

    fn count_attachment_bytes(&self, channel: Channel, bytes: u64) {
        self.metrics.attachment_bytes(channel, bytes);
    }

    fn heard_from(&self, channel: Channel, address: &str, clock_skew: i64) {
        if channel == Channel::Peer {
            self.metrics.peer_skew(address, clock_skew);
        }
        // Nothing to do once the scheduler has stopped.
        let _ = self.bounces.send(Signal::Heard(format!("{channel}:{address}")));
    }

    async fn redeliver(&self, seq: u64, entry: c2c_core::OutboxId) -> bool {
        // As an admin's retry: only a delivery that failed for good changes.
        matches!(self.retry_delivery(seq, entry).await, Ok(admin::Retried::Scheduled))
    }

    async fn bounce(&self, report: BounceReport) -> bool {
        let (done, answer) = oneshot::channel();
        if self.bounces.send(Signal::Bounce(Bounce { report, done })).is_err() {
            tracing::warn!("scheduler stopped; a bounce was not recorded");
            return false;
        }
        answer.await.unwrap_or(false)
    }

    async fn load_state(&self, key: &str) -> Option<String> {
        match self.store.state(key) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(key, error = %e, "reading connector state");
                None
            }
        }
    }

    async fn save_state(&self, key: &str, value: &str) -> bool {
        match self.store.set_state(key, value).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(key, error = %e, "saving connector state");
                false
            }
        }
    }
}

#[cfg(test)]
mod replica_tests;
#[cfg(test)]
pub(crate) mod tests;
