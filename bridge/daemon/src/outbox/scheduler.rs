//! The delivery scheduler.
//!
//! Every outbox entry belongs to a queue keyed by (conversation, recipient endpoint). Only the
//! head of a queue is ever being delivered or waiting for its retry, so an endpoint receives a
//! conversation's messages in commit order even when one of them needs retries. Different
//! queues proceed independently, up to a concurrency limit.
//!
//! Each outcome is recorded on the entry (status, attempts, next due time, last error) in the
//! store. A delivery that fails for good is visible there and in metrics, and its author is told
//! on their own channel. At start, every entry still pending in the store is queued again, in
//! commit order; on shutdown, deliveries in flight are allowed to finish (up to a timeout) and
//! nothing new is started.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use c2c_config::Config;
use c2c_core::{
    Channel, Connector, ConversationId, Delivery, DeliveryError, DeliveryStatus, MessageKind, Millis, NativeKey,
    NativeRef, OutboxEntry, OutboxId, Receipt, Shutdown, Store, now_ms,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::live::Live;
use crate::metrics::{BounceOutcome, Metrics};
use crate::outbox::backoff::RetrySchedule;
use crate::outbox::{Bounce, Queued};
use crate::router::Router;

/// (conversation, endpoint): the unit of ordering.
type QueueKey = (ConversationId, String);

/// What one delivery attempt came to.
struct Outcome {
    key: QueueKey,
    item: Queued,
    /// When the message was received and what kind it is (for latency and notices).
    received_at: Option<(Millis, MessageKind)>,
    result: Result<Receipt, DeliveryError>,
}

/// Delivers outbox entries through the connectors.
pub struct Scheduler {
    pub store: Arc<dyn Store>,
    pub connectors: HashMap<Channel, Arc<dyn Connector>>,
    pub config: Live<Config>,
    pub router: Router,
    pub metrics: Arc<Metrics>,
    pub schedule: RetrySchedule,
    pub concurrency: usize,
    pub drain_timeout: Duration,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("schedule", &self.schedule).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Queues {
    queues: HashMap<QueueKey, VecDeque<Queued>>,
    /// Heads waiting for their due time.
    timers: BinaryHeap<Reverse<(Millis, QueueKey)>>,
    /// Heads due now, waiting for a free slot.
    ready: VecDeque<QueueKey>,
    depth: usize,
    /// Every entry in `queues`, so none is queued twice.
    queued: HashSet<OutboxId>,
    /// Outcomes not yet written to the store (written together, see [`OUTCOME_BATCH`]).
    outcomes: Vec<OutboxEntry>,
    outcome_natives: Vec<(NativeKey, NativeRef)>,
    /// When the oldest unwritten outcome must be written at the latest.
    outcomes_due: Option<tokio::time::Instant>,
    /// Failures for good on their way through the committer (with the notice to the author).
    failures: JoinSet<()>,
}

/// Delivery outcomes are written to the store in groups of up to this many, or after
/// [`OUTCOME_DELAY`]: one store write per outcome costs more than the delivery itself. Each
/// group is then made durable by the store's next group flush. Losing outcomes not yet on disk
/// in a crash means those deliveries are made again under the same idempotency key; the window
/// is this delay plus one flush.
const OUTCOME_BATCH: usize = 256;
const OUTCOME_DELAY: Duration = Duration::from_millis(10);

impl Queues {
    fn push(&mut self, item: Queued) {
        if !self.queued.insert(item.entry.id.clone()) {
            tracing::warn!(entry = %item.entry.id, "an outbox entry was queued twice; the second is ignored");
            return;
        }
        let key = (item.entry.conversation, item.entry.recipient.endpoint_key());
        let queue = self.queues.entry(key.clone()).or_default();
        let was_empty = queue.is_empty();
        let due = item.entry.next_due;
        queue.push_back(item);
        self.depth += 1;
        if was_empty {
            self.arm(key, due);
        }
    }

    /// Make the head of `key` wait for `due` (or be ready now).
    fn arm(&mut self, key: QueueKey, due: Millis) {
        if due <= now_ms() {
            self.ready.push_back(key);
        } else {
            self.timers.push(Reverse((due, key)));
        }
    }

    /// Remove the head of `key` and arm the next one, if any.
    fn pop(&mut self, key: &QueueKey) {
        let Some(queue) = self.queues.get_mut(key) else {
            return;
        };
        if let Some(done) = queue.pop_front() {
            self.queued.remove(&done.entry.id);
        }
        self.depth -= 1;
        match queue.front() {
            Some(next) => {
                let due = next.entry.next_due;
                self.arm(key.clone(), due);
            }
            None => {
                self.queues.remove(key);
            }
        }
    }

    /// Replace the head of `key` (after a failed attempt) and arm it for its new due time.
    fn retry(&mut self, key: &QueueKey, item: Queued) {
        let due = item.entry.next_due;
        if let Some(head) = self.queues.get_mut(key).and_then(|q| q.front_mut()) {
            *head = item;
            self.arm(key.clone(), due);
        }
    }

    /// Move every head whose time has come to `ready`; return when the next one is due.
    fn fire_timers(&mut self) -> Option<Millis> {
        let now = now_ms();
        while let Some(Reverse((due, _))) = self.timers.peek() {
            if *due > now {
                return Some(*due);
            }
            let Reverse((_, key)) = self.timers.pop().expect("peeked");
            self.ready.push_back(key);
        }
        None
    }
}

impl Scheduler {
    /// Deliver until `stop` is cancelled, then drain what is in flight. `resume` is what the
    /// store held undelivered at start (read before anything new could be committed, so no
    /// entry arrives both ways); `rx` brings entries the committer has just made durable.
    pub async fn run(
        self,
        resume: Vec<OutboxEntry>,
        mut rx: mpsc::UnboundedReceiver<Vec<Queued>>,
        mut bounces: mpsc::UnboundedReceiver<Bounce>,
        stop: Shutdown,
    ) {
        let mut q = Queues::default();
        if !resume.is_empty() {
            tracing::info!(entries = resume.len(), "resuming undelivered outbox entries");
        }
        for entry in resume {
            q.push(Queued { entry, context: None });
        }
        let mut inflight: JoinSet<Outcome> = JoinSet::new();
        let this = Arc::new(self);
        loop {
            let next_due = q.fire_timers();
            while inflight.len() < this.concurrency {
                let Some(key) = q.ready.pop_front() else {
                    break;
                };
                let Some(entry) = q.queues.get(&key).and_then(|queue| queue.front()).cloned() else {
                    continue;
                };
                let s = this.clone();
                inflight.spawn(async move {
                    // A panic in a connector (a bug) must not leave this queue's head waiting
                    // for an outcome forever: it becomes a failed attempt, retried with backoff.
                    let attempt = std::panic::AssertUnwindSafe(s.attempt(key.clone(), entry.clone()));
                    match futures::FutureExt::catch_unwind(attempt).await {
                        Ok(outcome) => outcome,
                        Err(_) => Outcome {
                            key,
                            item: entry,
                            received_at: None,
                            result: Err(DeliveryError::temporary("the delivery attempt panicked (a bug); retrying")),
                        },
                    }
                });
            }
            this.metrics.set_outbox_depth(q.depth);
            let sleep = next_due.map(|due| Duration::from_millis((due - now_ms()).max(0) as u64));
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(entries) = rx.recv() => {
                    for e in entries {
                        q.push(e);
                    }
                }
                Some(b) = bounces.recv() => this.bounced(&mut q, b),
                Some(_) = q.failures.join_next(), if !q.failures.is_empty() => {}
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    match done {
                        Ok(outcome) => this.record(&mut q, outcome).await,
                        Err(e) => tracing::error!(error = %e, "a delivery task failed; its entry stays pending until the next start"),
                    }
                }
                _ = tokio::time::sleep(sleep.unwrap_or(Duration::from_secs(3600))), if sleep.is_some() => {}
                _ = tokio::time::sleep_until(q.outcomes_due.unwrap_or_else(tokio::time::Instant::now)), if q.outcomes_due.is_some() => {
                    this.write_outcomes(&mut q).await;
                }
            }
            if q.outcomes.len() >= OUTCOME_BATCH {
                this.write_outcomes(&mut q).await;
            }
        }

        if !inflight.is_empty() {
            tracing::info!(in_flight = inflight.len(), "waiting for deliveries in flight");
        }
        let drain = async {
            while let Some(done) = inflight.join_next().await {
                if let Ok(outcome) = done {
                    this.record(&mut q, outcome).await;
                }
            }
            // Failures for good go through the committer, which stops after the scheduler.
            while q.failures.join_next().await.is_some() {}
        };
        if tokio::time::timeout(this.drain_timeout, drain).await.is_err() {
            tracing::warn!(
                "deliveries still in flight after the drain timeout; they will be retried at the next start"
            );
        }
        this.write_outcomes(&mut q).await;
        tracing::debug!(pending = q.depth, "scheduler stopped");
    }

    /// One delivery attempt of `item`.
    async fn attempt(&self, key: QueueKey, item: Queued) -> Outcome {
        let channel = item.entry.recipient.channel;
        let delivery = self.delivery(&item);
        let received_at = delivery.as_ref().ok().map(|d| (d.message.received_at, d.message.kind));
        let result = match (delivery, self.connectors.get(&channel)) {
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(DeliveryError::temporary(format!("no {channel} connector is configured"))),
            (Ok(d), Some(connector)) => connector.deliver(&d).await,
        };
        Outcome { key, item, received_at, result }
    }

    /// Everything a connector needs for `item`: from the context captured at commit time, or
    /// read from the store for entries resumed after a restart.
    fn delivery(&self, item: &Queued) -> Result<Delivery, DeliveryError> {
        let entry = &item.entry;
        let config = self.config.get();
        let partnership_language =
            config.partnership(&entry.partnership).map(|p| p.language.clone()).unwrap_or_else(|| "en".into());
        let recipient_name =
            entry.recipient.contact.as_deref().and_then(|c| config.contact(c)).map(|(_, c)| c.name.clone());
        if let Some(ctx) = &item.context {
            return Ok(Delivery {
                entry: entry.clone(),
                message: ctx.message.clone(),
                subject: ctx.subject.clone(),
                thread_key: ctx.thread_keys.get(&entry.recipient.city).cloned(),
                partnership_language,
                recipient_name,
            });
        }
        let store_err = |e: c2c_core::StoreError| DeliveryError::temporary(format!("reading the store: {e}"));
        let message = self
            .store
            .message(entry.conversation, entry.seq)
            .map_err(store_err)?
            .ok_or_else(|| DeliveryError::permanent("the message is missing from the store"))?;
        let conversation = self.store.conversation(entry.conversation).map_err(store_err)?;
        let (subject, thread_key) = match conversation {
            Some(c) => (c.subject.clone(), c.thread_keys.get(&entry.recipient.city).cloned()),
            None => (message.subject.clone(), None),
        };
        Ok(Delivery { entry: entry.clone(), message, subject, thread_key, partnership_language, recipient_name })
    }

    /// A delivery bounced after it was made: record it as failed for good, tell the author;
    /// answer the bounce once that is durable.
    fn bounced(&self, q: &mut Queues, b: Bounce) {
        let Bounce { report, done } = b;
        let entry = match self.store.outbox_entry(report.seq, &report.entry) {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::info!(entry = %report.entry, "a bounce names no delivery of ours; ignored");
                self.metrics.bounce(BounceOutcome::UnknownDelivery);
                let _ = done.send(true);
                return;
            }
            Err(e) => {
                tracing::error!(entry = %report.entry, error = %e,
                    "could not read a bounced delivery; the bounce is kept for later");
                let _ = done.send(false);
                return;
            }
        };
        if !report.names(&entry.recipient.address) {
            // Only the delivery's recipient's servers report on it: a report about others that
            // quotes our id is forged or misdirected, and must not fail a delivery that was made.
            tracing::warn!(entry = %entry.id, to = %entry.recipient.address, failed = ?report.failed_recipients,
                "a bounce quotes this delivery but names other recipients; ignored");
            self.metrics.bounce(BounceOutcome::OtherRecipient);
            let _ = done.send(true);
            return;
        }
        if entry.status == DeliveryStatus::PermanentFailure {
            self.metrics.bounce(BounceOutcome::AlreadyFailed);
            let _ = done.send(true);
            return;
        }
        self.metrics.bounce(BounceOutcome::Recorded);
        let reason = report.reason;
        let mut entry = entry;
        entry.status = DeliveryStatus::PermanentFailure;
        entry.updated_at = now_ms();
        entry.last_error = Some(reason.clone());
        tracing::warn!(entry = %entry.id, to = %entry.recipient.address, %reason, "delivery bounced");
        self.metrics.delivery(entry.recipient.channel, DeliveryStatus::PermanentFailure);
        self.fail_for_good(q, entry, reason, Some(done));
    }

    /// Hand a failure for good to the committer, which records it with the notice to the
    /// author; `done` (a bounce's) hears whether that became durable. Any earlier outcome of the
    /// entry not yet written is dropped: it would only be overwritten.
    fn fail_for_good(&self, q: &mut Queues, entry: OutboxEntry, reason: String, done: Option<oneshot::Sender<bool>>) {
        q.outcomes.retain(|o| o.id != entry.id);
        let router = self.router.clone();
        q.failures.spawn(async move {
            let recorded = router.failed_for_good(entry, reason).await;
            match done {
                Some(done) => {
                    let _ = done.send(recorded);
                }
                None if !recorded => {
                    tracing::warn!("a failed delivery was not recorded; it is attempted again at the next start")
                }
                None => {}
            }
        });
    }

    /// Write the outcomes gathered so far in one store write.
    async fn write_outcomes(&self, q: &mut Queues) {
        q.outcomes_due = None;
        if q.outcomes.is_empty() && q.outcome_natives.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut q.outcomes);
        let natives = std::mem::take(&mut q.outcome_natives);
        let staged = match self.store.update_deliveries(&entries, &natives).await {
            Ok(staged) => staged,
            Err(e) => {
                tracing::error!(entries = entries.len(), error = %e, "could not record delivery outcomes; those deliveries may be repeated after a restart");
                return;
            }
        };
        // Durable with the next group flush (milliseconds away), waited for off this loop so a
        // slow disk does not hold up the next deliveries. Until then a crash repeats them.
        let (store, metrics, n) = (self.store.clone(), self.metrics.clone(), entries.len());
        tokio::spawn(async move {
            match store.durable(staged).await {
                Ok(()) => metrics.outcomes_recorded(n),
                Err(e) => {
                    tracing::error!(entries = n, error = %e, "could not flush delivery outcomes; those deliveries may be repeated after a restart")
                }
            }
        });
    }

    /// Record an outcome and move the queue on.
    async fn record(&self, q: &mut Queues, outcome: Outcome) {
        let Outcome { key, item, received_at, result } = outcome;
        let Queued { mut entry, context } = item;
        let now = now_ms();
        let channel = entry.recipient.channel;
        entry.attempts += 1;
        entry.updated_at = now;
        let mut natives = Vec::new();
        let mut failed_for_good = None;
        match result {
            Ok(receipt) => {
                entry.status = DeliveryStatus::Delivered;
                entry.delivered_at = Some(now);
                entry.last_error = None;
                natives = receipt
                    .native_ids
                    .into_iter()
                    .map(|k| {
                        (
                            k,
                            NativeRef {
                                partnership: entry.partnership.clone(),
                                conversation: entry.conversation,
                                message: Some(entry.message),
                            },
                        )
                    })
                    .collect();
                if let Some((received, MessageKind::Post)) = received_at {
                    self.metrics.relay_latency((now - received).max(0) as f64 / 1000.0);
                }
                tracing::debug!(entry = %entry.id, to = %entry.recipient.address, %channel, attempts = entry.attempts, "delivered");
                q.pop(&key);
            }
            Err(DeliveryError::Temporary { reason, retry_after }) if !self.schedule.exhausted(entry.attempts) => {
                let mut wait = self.schedule.delay(entry.attempts, &mut rand::rng());
                if let Some(asked) = retry_after {
                    wait = wait.max(asked.min(self.schedule.max));
                }
                entry.status = DeliveryStatus::TemporaryFailure;
                entry.next_due = now + wait.as_millis() as Millis;
                tracing::info!(entry = %entry.id, to = %entry.recipient.address, %channel, attempts = entry.attempts,
                    retry_in_ms = wait.as_millis() as u64, %reason, "delivery failed; will retry");
                entry.last_error = Some(reason);
                q.retry(&key, Queued { entry: entry.clone(), context });
            }
            Err(e) => {
                let reason = match e {
                    DeliveryError::Temporary { reason, .. } => {
                        format!("gave up after {} attempts: {reason}", entry.attempts)
                    }
                    DeliveryError::Permanent { reason } => reason,
                };
                entry.status = DeliveryStatus::PermanentFailure;
                tracing::warn!(entry = %entry.id, to = %entry.recipient.address, %channel, attempts = entry.attempts,
                    %reason, "delivery failed for good");
                entry.last_error = Some(reason.clone());
                failed_for_good = Some(reason);
                q.pop(&key);
            }
        }
        self.metrics.delivery(channel, entry.status);
        if let Some(reason) = failed_for_good {
            self.fail_for_good(q, entry, reason, None);
            return;
        }
        q.outcomes.push(entry);
        q.outcome_natives.extend(natives);
        q.outcomes_due.get_or_insert_with(|| tokio::time::Instant::now() + OUTCOME_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use c2c_core::conformance::{sample_commit, sample_conversation};
    use c2c_core::{Delivery, Inbox};

    use super::*;
    use crate::router::tests::{harness, webhook};

    /// An email connector whose first attempt panics (a bug), then delivers.
    #[derive(Debug)]
    struct PanicsOnce {
        calls: AtomicU32,
        delivered: mpsc::UnboundedSender<String>,
    }

    #[async_trait]
    impl Connector for PanicsOnce {
        fn channel(&self) -> Channel {
            Channel::Email
        }

        async fn deliver(&self, d: &Delivery) -> Result<Receipt, DeliveryError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a bug in a connector");
            }
            let _ = self.delivered.send(d.entry.recipient.address.clone());
            Ok(Receipt::default())
        }
    }

    #[tokio::test]
    async fn a_panicking_delivery_is_retried_not_left_hanging() {
        let mut h = harness();
        let (tx, mut delivered) = mpsc::unbounded_channel();
        let connector = Arc::new(PanicsOnce { calls: AtomicU32::new(0), delivered: tx });
        let scheduler = Scheduler {
            store: Arc::new(h.store.clone()),
            connectors: HashMap::from([(Channel::Email, connector.clone() as Arc<dyn Connector>)]),
            config: h.config.clone(),
            router: h.router.clone(),
            metrics: h.metrics.clone(),
            schedule: RetrySchedule {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                jitter: 0.0,
                max_attempts: 5,
            },
            concurrency: 1,
            drain_timeout: Duration::from_secs(5),
        };
        let (entries_tx, entries_rx) = mpsc::unbounded_channel();
        let (_bounces_tx, bounces_rx) = mpsc::unbounded_channel();
        let stop = Shutdown::new();
        let running = tokio::spawn(scheduler.run(Vec::new(), entries_rx, bounces_rx, stop.clone()));

        // One post from Hangzhou goes to both Leeds contacts by email.
        h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "Please send the agenda.")).await.unwrap();
        entries_tx.send(h.outbox.recv().await.unwrap()).unwrap();
        let mut to = Vec::new();
        while to.len() < 2 {
            let next = tokio::time::timeout(Duration::from_secs(10), delivered.recv()).await;
            to.push(next.expect("every delivery made within 10 s").unwrap());
        }
        to.sort();
        assert_eq!(to, ["Jo.Smith@leeds.example", "sam@leeds.example"]);
        assert_eq!(connector.calls.load(Ordering::SeqCst), 3, "the attempt that panicked was made again");
        stop.cancel();
        running.await.unwrap();
    }

    #[test]
    fn an_entry_queued_twice_is_queued_once() {
        let conv = sample_conversation("p");
        let (_, _, entry) = sample_commit(&conv, 1);
        let mut q = Queues::default();
        q.push(Queued { entry: entry.clone(), context: None });
        q.push(Queued { entry: entry.clone(), context: None });
        assert_eq!(q.depth, 1);
        let key = (entry.conversation, entry.recipient.endpoint_key());
        q.pop(&key);
        assert_eq!(q.depth, 0);
        q.push(Queued { entry, context: None });
        assert_eq!(q.depth, 1, "once delivered and gone, the id may be queued again (a later resume)");
    }
}
