//! The delivery scheduler: the loop that drives [`Queues`] on the daemon's [`Clock`].
//!
//! It starts attempts through the connectors (up to `concurrency` at once), records each
//! outcome on its entry (status, attempts, next due time, last error) in the store, and hands
//! what the author must hear to the committer: a delay notice (written with the entry's
//! `delay_noticed_at`, so it is sent once whatever crashes) and a failure for good (written with
//! the `delivery_failed` notice). The rules (queues, probes of down endpoints, giving up by
//! age) are in [`super::queues`].
//!
//! At start, every entry still pending in the store is queued again, in commit order; on
//! shutdown, deliveries in flight are allowed to finish (up to a timeout) and nothing new is
//! started.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use c2c_config::Config;
use c2c_core::{
    Channel, Connector, Delivery, DeliveryError, DeliveryStatus, MessageKind, Millis, NativeKey, NativeRef,
    OutboxEntry, OutboxId, Receipt, Shutdown, Store,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::live::Live;
use crate::metrics::{BounceOutcome, EndpointQueue, Metrics};
use crate::outbox::backoff::RetrySchedule;
use crate::outbox::queues::{Attempt, EndpointKey, Overdue, QueueKey, Queues};
use crate::outbox::snapshot::{Published, Snapshot};
use crate::outbox::{Bounce, Queued, Signal};
use crate::router::Router;
use crate::router::recipients::configured_endpoints;

/// What one delivery attempt came to.
struct Outcome {
    key: QueueKey,
    /// The entry as read for the attempt, or why it could not be.
    entry: Result<OutboxEntry, DeliveryError>,
    /// When the message was received and what kind it is (for latency).
    received_at: Option<(Millis, MessageKind)>,
    result: Result<Receipt, DeliveryError>,
}

/// A notice handed to the committer has been recorded (or not).
enum NoticeDone {
    Delayed {
        key: QueueKey,
        seq: u64,
        recorded: bool,
    },
    /// A failure for good (with its `delivery_failed` notice), or a bounce.
    Failed,
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
    /// Due times, ages and give-ups are read on it.
    pub clock: Clock,
    /// Where the queues' state is published for the admin's status.
    pub published: Arc<Published>,
    /// How each channel continues its endpoints' threads: what a delivery's thread is, and
    /// where a thread a delivery started is kept (see `c2c_core::thread`).
    pub threads: c2c_core::Threads,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("schedule", &self.schedule).finish_non_exhaustive()
    }
}

/// The loop's state.
struct State {
    q: Queues,
    /// Outcomes not yet written to the store (written together, see [`OUTCOME_BATCH`]).
    outcomes: Vec<OutboxEntry>,
    outcome_natives: Vec<(NativeKey, NativeRef)>,
    /// When the oldest unwritten outcome must be written at the latest.
    outcomes_due: Option<tokio::time::Instant>,
    /// Notices on their way through the committer (at most [`MAX_NOTICES`]).
    notices: JoinSet<NoticeDone>,
    /// Down endpoints with overdue entries left over when [`MAX_NOTICES`] was reached.
    recheck: BTreeSet<EndpointKey>,
    /// The endpoints the config names (metric labels), and the config they come from.
    configured: Option<(Arc<Config>, HashSet<String>)>,
    /// Per channel, the last failed attempt, and when its last down endpoint came back (for
    /// the admin's status).
    last_errors: HashMap<Channel, (String, Millis)>,
    recovered_at: HashMap<Channel, Millis>,
}

/// Delivery outcomes are written to the store in groups of up to this many, or after
/// [`OUTCOME_DELAY`]: one store write per outcome costs more than the delivery itself. Each
/// group is then made durable by the store's next group flush. Losing outcomes not yet on disk
/// in a crash means those deliveries are made again under the same idempotency key; the window
/// is this delay plus one flush.
const OUTCOME_BATCH: usize = 256;
const OUTCOME_DELAY: Duration = Duration::from_millis(10);

/// Notices (delays, failures for good) in flight through the committer at most: after a long
/// outage thousands may fall due at once; each holds its entry until it is recorded.
const MAX_NOTICES: usize = 256;

/// How often the per-endpoint queue metrics are brought up to date.
const ENDPOINT_METRICS: Duration = Duration::from_secs(1);

/// Bytes of committed messages the queues may keep for entries about to be attempted (the rest
/// are read from the store when their turn comes). Counted as text bytes plus 512, which is less
/// than a kept entry takes in memory; at full webhook speed the queues keep a few hundred KiB,
/// and a burst to a slow channel (4,000 posts for SMTP at 160/s) no longer holds all of its
/// queue heads (with 32 MiB the email relay peaked 2–4 MiB higher, on a noisy measure; see
/// BENCHMARKS.md).
const HOT_BUDGET: usize = 4 << 20;

impl Scheduler {
    /// Empty queues on this scheduler's schedule.
    pub fn queues(&self) -> Queues {
        Queues::new(self.schedule.clone(), HOT_BUDGET)
    }

    /// The queues of everything the store holds undelivered, read one entry at a time (only a
    /// small handle of each is kept). Call it before anything new can be committed, so that no
    /// entry arrives both from here and from the committer.
    pub fn resume(&self) -> Result<Queues, c2c_core::StoreError> {
        let mut q = self.queues();
        let mut resumed = 0;
        self.store.each_pending(&mut |entry| {
            if q.push(&entry) {
                resumed += 1;
            } else {
                tracing::warn!(entry = %entry.id, "an outbox entry was queued twice; the second is ignored");
            }
        })?;
        if resumed > 0 {
            tracing::info!(entries = resumed, "resuming undelivered outbox entries");
        }
        Ok(q)
    }

    /// Deliver until `stop` is cancelled, then drain what is in flight. `queues` holds what
    /// the store held undelivered at start ([`Scheduler::resume`]); `rx` brings entries the
    /// committer has just made durable.
    pub async fn run(
        self,
        queues: Queues,
        mut rx: mpsc::UnboundedReceiver<Vec<Queued>>,
        mut signals: mpsc::UnboundedReceiver<Signal>,
        stop: Shutdown,
    ) {
        let mut st = State {
            q: queues,
            outcomes: Vec::new(),
            outcome_natives: Vec::new(),
            outcomes_due: None,
            notices: JoinSet::new(),
            recheck: BTreeSet::new(),
            configured: None,
            last_errors: HashMap::new(),
            recovered_at: HashMap::new(),
        };
        let mut publish = tokio::time::interval(ENDPOINT_METRICS);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut inflight: JoinSet<Outcome> = JoinSet::new();
        let this = Arc::new(self);
        loop {
            let now = this.clock.now();
            while inflight.len() < this.concurrency {
                let Some(attempt) = st.q.next_attempt(now) else {
                    break;
                };
                let unwritten = st.outcomes.iter().rev().find(|o| o.id == attempt.id).cloned();
                let s = this.clone();
                inflight.spawn(async move {
                    let key = attempt.key.clone();
                    // A panic in a connector (a bug) must not leave this queue's head waiting
                    // for an outcome forever: it becomes a failed attempt, retried with backoff.
                    let attempt = std::panic::AssertUnwindSafe(s.attempt(attempt, unwritten));
                    match futures::FutureExt::catch_unwind(attempt).await {
                        Ok(outcome) => outcome,
                        Err(_) => Outcome {
                            key,
                            entry: Err(DeliveryError::temporary("the delivery attempt panicked (a bug); retrying")),
                            received_at: None,
                            result: Err(DeliveryError::temporary("the delivery attempt panicked (a bug); retrying")),
                        },
                    }
                });
            }
            this.metrics.set_outbox_depth(st.q.depth());
            // With every slot taken, a due probe waits for a slot (a finished attempt wakes the
            // loop), not for its timer, which has passed.
            let wakeup = (inflight.len() < this.concurrency).then(|| st.q.next_wakeup()).flatten();
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(entries) = rx.recv() => {
                    for e in entries {
                        let id = e.entry.id.clone();
                        if !st.q.push_hot(Box::new(e)) {
                            tracing::warn!(entry = %id, "an outbox entry was queued twice; the second is ignored");
                        }
                    }
                }
                Some(signal) = signals.recv() => match signal {
                    Signal::Bounce(b) => this.bounced(&mut st, b),
                    Signal::Heard(endpoint) => st.q.wake(&endpoint, this.clock.now()),
                },
                Some(done) = st.notices.join_next(), if !st.notices.is_empty() => {
                    match done {
                        Ok(NoticeDone::Delayed { key, seq, recorded }) => st.q.delay_noticed(&key, seq, recorded),
                        Ok(NoticeDone::Failed) => {}
                        Err(e) => tracing::error!(error = %e, "a notice task failed; its entry stays pending until the next start"),
                    }
                    this.recheck(&mut st);
                }
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    match done {
                        Ok(outcome) => this.record(&mut st, outcome),
                        Err(e) => tracing::error!(error = %e, "a delivery task failed; its entry stays pending until the next start"),
                    }
                }
                _ = this.clock.sleep_until(wakeup.unwrap_or(Millis::MAX)), if wakeup.is_some() => {}
                _ = publish.tick() => this.publish_endpoints(&mut st),
                _ = tokio::time::sleep_until(st.outcomes_due.unwrap_or_else(tokio::time::Instant::now)), if st.outcomes_due.is_some() => {
                    this.write_outcomes(&mut st).await;
                }
            }
            if st.outcomes.len() >= OUTCOME_BATCH {
                this.write_outcomes(&mut st).await;
            }
        }

        if !inflight.is_empty() {
            tracing::info!(in_flight = inflight.len(), "waiting for deliveries in flight");
        }
        let drain = async {
            while let Some(done) = inflight.join_next().await {
                if let Ok(outcome) = done {
                    this.record(&mut st, outcome);
                }
            }
            // Notices go through the committer, which stops after the scheduler.
            while st.notices.join_next().await.is_some() {}
        };
        if tokio::time::timeout(this.drain_timeout, drain).await.is_err() {
            tracing::warn!(
                "deliveries still in flight after the drain timeout; they will be retried at the next start"
            );
        }
        this.write_outcomes(&mut st).await;
        tracing::debug!(pending = st.q.depth(), "scheduler stopped");
    }

    /// One delivery attempt. `unwritten` is the entry's latest outcome not yet in the store.
    async fn attempt(&self, attempt: Attempt, unwritten: Option<OutboxEntry>) -> Outcome {
        let Attempt { key, seq, id, hot, .. } = attempt;
        let (entry, context) = match hot {
            Some(h) => (Ok(h.entry), h.context),
            None => (unwritten.map(Ok).unwrap_or_else(|| self.read_entry(seq, &id)), None),
        };
        let entry = match entry {
            Ok(e) => e,
            Err(e) => return Outcome { key, entry: Err(e.clone()), received_at: None, result: Err(e) },
        };
        let channel = entry.recipient.channel;
        let delivery = self.delivery(&entry, context.as_deref());
        let received_at = delivery.as_ref().ok().map(|d| (d.message.received_at, d.message.kind));
        let result = match (delivery, self.connectors.get(&channel)) {
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(DeliveryError::temporary(format!("no {channel} connector is configured"))),
            (Ok(d), Some(connector)) => match connector.deliver(&d).await {
                // A delivery that started its endpoint's thread: kept before the delivery is
                // recorded as made, so the next one to that endpoint, held behind this one,
                // continues it. If it cannot be kept the delivery still counts as made (it
                // was); the next one then starts a thread of its own.
                Ok(receipt) if !receipt.thread.is_empty() => {
                    let (conversation, recipient) = (entry.conversation, entry.recipient.clone());
                    if !self.router.note_thread(conversation, recipient, receipt.thread.clone()).await {
                        tracing::warn!(entry = %entry.id, "a delivery's thread could not be kept; the next one starts another");
                    }
                    Ok(receipt)
                }
                other => other,
            },
        };
        Outcome { key, entry: Ok(entry), received_at, result }
    }

    /// A pending entry's record, from the store.
    fn read_entry(&self, seq: u64, id: &OutboxId) -> Result<OutboxEntry, DeliveryError> {
        match self.store.outbox_entry(seq, id) {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(DeliveryError::permanent("the delivery is missing from the store")),
            Err(e) => Err(DeliveryError::temporary(format!("reading the store: {e}"))),
        }
    }

    /// Everything a connector needs for `entry`: from the context captured at commit time, or
    /// read from the store.
    fn delivery(
        &self,
        entry: &OutboxEntry,
        context: Option<&crate::outbox::Context>,
    ) -> Result<Delivery, DeliveryError> {
        let config = self.config.get();
        let partnership_language =
            config.partnership(&entry.partnership).map(|p| p.language.clone()).unwrap_or_else(|| "en".into());
        let recipient_name =
            entry.recipient.contact.as_deref().and_then(|c| config.contact(c)).map(|(_, c)| c.name.clone());
        let store_err = |e: c2c_core::StoreError| DeliveryError::temporary(format!("reading the store: {e}"));
        let stamped = self.threads.stamps(entry.recipient.channel);
        let key = (!stamped).then(|| self.threads.recipient_key(&entry.recipient));
        if let Some(ctx) = context {
            let thread = match &key {
                None => entry.references.clone(),
                Some(key) => match ctx.threads.get(key) {
                    Some(thread) => thread.clone(),
                    // Not known at commit: an earlier delivery may have started it since.
                    None => self
                        .store
                        .conversation(entry.conversation)
                        .map_err(store_err)?
                        .map(|c| c.thread(key).to_vec())
                        .unwrap_or_default(),
                },
            };
            return Ok(Delivery {
                entry: entry.clone(),
                message: ctx.message.clone(),
                subject: ctx.subject.clone(),
                conversation_instance: ctx.conversation_instance.clone(),
                thread,
                partnership_language,
                recipient_name,
            });
        }
        let message = self
            .store
            .message(entry.conversation, entry.seq)
            .map_err(store_err)?
            .ok_or_else(|| DeliveryError::permanent("the message is missing from the store"))?;
        let conversation = self.store.conversation(entry.conversation).map_err(store_err)?;
        let (subject, conversation_instance, thread) = match conversation {
            Some(c) => {
                let thread = key.map(|k| c.thread(&k).to_vec()).unwrap_or_else(|| entry.references.clone());
                (c.subject.clone(), c.origin_instance.clone(), thread)
            }
            None => (message.subject.clone(), message.origin_instance.clone(), entry.references.clone()),
        };
        Ok(Delivery {
            entry: entry.clone(),
            message,
            subject,
            conversation_instance,
            thread,
            partnership_language,
            recipient_name,
        })
    }

    /// A delivery bounced after it was made: record it as failed for good, tell the author;
    /// answer the bounce once that is durable.
    fn bounced(&self, st: &mut State, b: Bounce) {
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
        entry.updated_at = self.clock.now();
        entry.last_error = Some(reason.clone());
        tracing::warn!(entry = %entry.id, to = %entry.recipient.address, %reason, "delivery bounced");
        self.metrics.delivery(entry.recipient.channel, DeliveryStatus::PermanentFailure);
        self.fail_for_good(st, entry, reason, Some(done));
    }

    /// Hand a failure for good to the committer, which records it with the notice to the
    /// author; `done` (a bounce's) hears whether that became durable. Any earlier outcome of the
    /// entry not yet written is dropped: it would only be overwritten.
    fn fail_for_good(&self, st: &mut State, entry: OutboxEntry, reason: String, done: Option<oneshot::Sender<bool>>) {
        let before = st.outcomes.len();
        st.outcomes.retain(|o| o.id != entry.id);
        let superseded = before - st.outcomes.len();
        let (router, metrics) = (self.router.clone(), self.metrics.clone());
        st.notices.spawn(async move {
            let recorded = router.failed_for_good(entry, reason).await;
            if recorded {
                // The outcomes it replaced are on disk in their final form.
                metrics.outcomes_recorded(superseded);
            }
            match done {
                Some(done) => {
                    let _ = done.send(recorded);
                }
                None if !recorded => {
                    tracing::warn!("a failed delivery was not recorded; it is attempted again at the next start")
                }
                None => {}
            }
            NoticeDone::Failed
        });
    }

    /// The latest record of a queued entry: its unwritten outcome, else the store's.
    fn latest(&self, st: &State, seq: u64, id: &OutboxId) -> Result<OutboxEntry, DeliveryError> {
        match st.outcomes.iter().rev().find(|o| &o.id == id) {
            Some(e) => Ok(e.clone()),
            None => self.read_entry(seq, id),
        }
    }

    /// Hand what has waited too long at the down `endpoint` to the committer: delay notices
    /// and failures for good, as many as [`MAX_NOTICES`] allows (the rest at the next chance).
    fn overdue(&self, st: &mut State, endpoint: &EndpointKey) {
        let room = MAX_NOTICES.saturating_sub(st.notices.len());
        let now = self.clock.now();
        let (found, more) = st.q.overdue(endpoint, now, room);
        if more {
            st.recheck.insert(endpoint.clone());
        }
        for overdue in found {
            match overdue {
                Overdue::Delay { key, seq, id, reason } => {
                    let mut entry = match self.latest(st, seq, &id) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::error!(entry = %id, error = %e, "could not read a delayed delivery to tell its author");
                            st.q.delay_noticed(&key, seq, false);
                            continue;
                        }
                    };
                    // The notice's record of the entry replaces its unwritten outcomes.
                    let before = st.outcomes.len();
                    st.outcomes.retain(|o| o.id != id);
                    let superseded = before - st.outcomes.len();
                    entry.delay_noticed_at = Some(now);
                    entry.updated_at = now;
                    let deadline = entry.created_at + self.schedule.give_up_after.as_millis() as Millis;
                    tracing::info!(entry = %entry.id, to = %entry.recipient.address, %reason, "delivery delayed; telling its author");
                    let (router, metrics) = (self.router.clone(), self.metrics.clone());
                    st.notices.spawn(async move {
                        let recorded = router.delayed(entry, reason, deadline).await;
                        if recorded {
                            metrics.outcomes_recorded(superseded);
                        }
                        NoticeDone::Delayed { key, seq, recorded }
                    });
                }
                Overdue::GiveUp { seq, id, reason } => {
                    let mut entry = match self.latest(st, seq, &id) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::error!(entry = %id, error = %e, "could not read a delivery to give it up; it is retried at the next start");
                            continue;
                        }
                    };
                    entry.status = DeliveryStatus::PermanentFailure;
                    entry.updated_at = now;
                    entry.last_error = Some(reason.clone());
                    tracing::warn!(entry = %entry.id, to = %entry.recipient.address, %reason, "delivery failed for good");
                    self.metrics.delivery(entry.recipient.channel, DeliveryStatus::PermanentFailure);
                    self.fail_for_good(st, entry, reason, None);
                }
            }
        }
    }

    /// Look again at endpoints whose overdue entries did not all fit in [`MAX_NOTICES`].
    fn recheck(&self, st: &mut State) {
        while !st.recheck.is_empty() && st.notices.len() < MAX_NOTICES {
            let endpoint = st.recheck.pop_first().expect("not empty");
            if st.q.is_down(&endpoint) {
                self.overdue(st, &endpoint);
            }
        }
    }

    /// Per-endpoint queue metrics: depth, oldest entry's age, down or not. Endpoints the config
    /// does not name (left from an earlier config, or a Matrix room an author wrote from) are
    /// summed under `other`, so the labels stay bounded by the config. The admin's status gets
    /// the same per channel ([`Snapshot`]).
    fn publish_endpoints(&self, st: &mut State) {
        let config = self.config.get();
        if !st.configured.as_ref().is_some_and(|(c, _)| Arc::ptr_eq(c, &config)) {
            let names = configured_endpoints(&config);
            st.configured = Some((config, names));
        }
        let now = self.clock.now();
        let stats = st.q.endpoint_stats();
        self.publish_snapshot(st, &stats, now);
        let configured = &st.configured.as_ref().expect("set above").1;
        let mut by_label: BTreeMap<String, EndpointQueue> = BTreeMap::new();
        for s in stats {
            let label = if configured.contains(&*s.endpoint) { s.endpoint.to_string() } else { "other".into() };
            let age = s.oldest_created_at.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
            let e = by_label.entry(label.clone()).or_insert(EndpointQueue {
                endpoint: label,
                depth: 0,
                oldest_age_seconds: 0.0,
                down: false,
            });
            e.depth += s.depth;
            e.oldest_age_seconds = e.oldest_age_seconds.max(age);
            e.down |= s.down;
        }
        self.metrics.set_outbox_endpoints(&by_label.into_values().collect::<Vec<_>>());
    }

    /// The queues per channel, for the admin's status.
    fn publish_snapshot(&self, st: &mut State, stats: &[crate::outbox::queues::EndpointStats], now: Millis) {
        let previous = self.published.get();
        let mut snapshot = Snapshot { at: Some(now), depth: st.q.depth(), ..Snapshot::default() };
        for s in stats {
            let Some(channel) = s.endpoint.split_once(':').and_then(|(c, _)| c.parse::<Channel>().ok()) else {
                continue;
            };
            let c = snapshot.channels.entry(channel).or_default();
            c.depth += s.depth;
            if s.down {
                c.endpoints_down += 1;
                c.down_since = earliest(c.down_since, s.down_since);
            }
            snapshot.oldest_created_at = earliest(snapshot.oldest_created_at, s.oldest_created_at);
        }
        // A channel whose endpoints were down and are all back now recovered (to the second).
        for (channel, was) in &previous.channels {
            let down_now = snapshot.channels.get(channel).is_some_and(|c| c.endpoints_down > 0);
            if was.endpoints_down > 0 && !down_now {
                st.recovered_at.insert(*channel, now);
            }
        }
        for (channel, error) in &st.last_errors {
            snapshot.channels.entry(*channel).or_default().last_error = Some(error.clone());
        }
        for (channel, at) in &st.recovered_at {
            snapshot.channels.entry(*channel).or_default().recovered_at = Some(*at);
        }
        self.published.set(snapshot);
    }

    /// Write the outcomes gathered so far in one store write.
    async fn write_outcomes(&self, st: &mut State) {
        st.outcomes_due = None;
        if st.outcomes.is_empty() && st.outcome_natives.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut st.outcomes);
        let natives = std::mem::take(&mut st.outcome_natives);
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

    /// Record an outcome and move the queues on.
    fn record(&self, st: &mut State, outcome: Outcome) {
        let Outcome { key, entry, received_at, result } = outcome;
        let now = self.clock.now();
        let endpoint = key.1.clone();
        let mut entry = match entry {
            Ok(e) => e,
            Err(DeliveryError::Temporary { reason, retry_after }) => {
                tracing::error!(endpoint = %endpoint, %reason, "could not attempt a delivery; will retry");
                st.q.failed(&key, now, &reason, retry_after);
                self.overdue(st, &endpoint);
                return;
            }
            Err(DeliveryError::Permanent { reason }) => {
                tracing::error!(endpoint = %endpoint, %reason, "could not attempt a delivery; dropped from the queue");
                st.q.failed_for_good(&key, now);
                return;
            }
        };
        let channel = entry.recipient.channel;
        entry.attempts += 1;
        entry.updated_at = now;
        let natives: Vec<(NativeKey, NativeRef)>;
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
                if st.q.is_down(&endpoint) {
                    tracing::info!(%endpoint, "endpoint back: its queues wake");
                }
                st.q.delivered(&key);
            }
            Err(DeliveryError::Temporary { reason, retry_after }) => {
                st.last_errors.insert(channel, (reason.clone(), now));
                let was_down = st.q.is_down(&endpoint);
                let next = st.q.failed(&key, now, &reason, retry_after);
                entry.status = DeliveryStatus::TemporaryFailure;
                entry.next_due = next;
                let retry_in_ms = (next - now).max(0) as u64;
                if was_down {
                    tracing::info!(entry = %entry.id, %endpoint, attempts = entry.attempts, retry_in_ms, %reason,
                        "delivery failed; the endpoint is still down");
                } else {
                    tracing::warn!(entry = %entry.id, %endpoint, attempts = entry.attempts, retry_in_ms, %reason,
                        "delivery failed; the endpoint is down: its deliveries wait, one probe at a time");
                }
                entry.last_error = Some(reason);
                st.outcomes.push(entry);
                st.outcomes_due.get_or_insert_with(|| tokio::time::Instant::now() + OUTCOME_DELAY);
                self.metrics.delivery(channel, DeliveryStatus::TemporaryFailure);
                self.overdue(st, &endpoint);
                return;
            }
            Err(DeliveryError::Permanent { reason }) => {
                st.last_errors.insert(channel, (reason.clone(), now));
                entry.status = DeliveryStatus::PermanentFailure;
                tracing::warn!(entry = %entry.id, to = %entry.recipient.address, %channel, attempts = entry.attempts,
                    %reason, "delivery failed for good");
                entry.last_error = Some(reason.clone());
                st.q.failed_for_good(&key, now);
                self.metrics.delivery(channel, entry.status);
                self.fail_for_good(st, entry, reason, None);
                return;
            }
        }
        self.metrics.delivery(channel, entry.status);
        st.outcomes.push(entry);
        st.outcome_natives.extend(natives);
        st.outcomes_due.get_or_insert_with(|| tokio::time::Instant::now() + OUTCOME_DELAY);
    }
}

/// The earlier of two times, either of which may be unknown.
fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use c2c_core::{Delivery, Inbox};

    use super::*;
    use crate::router::tests::{harness, webhook};

    /// A scheduler on the harness's store and router, retrying after a millisecond, with
    /// `connectors`.
    pub(crate) fn test_scheduler(
        h: &crate::router::tests::Harness,
        connectors: HashMap<Channel, Arc<dyn Connector>>,
        concurrency: usize,
    ) -> Scheduler {
        Scheduler {
            store: Arc::new(h.store.clone()),
            connectors,
            config: h.config.clone(),
            router: h.router.clone(),
            metrics: h.metrics.clone(),
            schedule: RetrySchedule {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                jitter: 0.0,
                give_up_after: Duration::from_secs(3600),
                delay_warning_after: None,
            },
            concurrency,
            drain_timeout: Duration::from_secs(5),
            clock: crate::clock::Clock::wall(),
            published: Default::default(),
            threads: crate::channels::threads(&h.config.get(), &c2c_core::InstanceKey::new([7; 32])),
        }
    }

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
        let connectors = HashMap::from([(Channel::Email, connector.clone() as Arc<dyn Connector>)]);
        let scheduler = test_scheduler(&h, connectors, 1);
        let (entries_tx, entries_rx) = mpsc::unbounded_channel();
        let (_bounces_tx, bounces_rx) = mpsc::unbounded_channel();
        let stop = Shutdown::new();
        let queues = scheduler.queues();
        let running = tokio::spawn(scheduler.run(queues, entries_rx, bounces_rx, stop.clone()));

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
}
