//! The second, sequential stage of routing: the group-commit pipeline.
//!
//! One task owns this stage, so conversation resolution and dedupe never race, and commit order
//! is a single sequence (`seq`) that deliveries follow. It takes every piece of work waiting in
//! its queue (up to a limit), processes them in memory, commits them with one durable write
//! (group commit), and only then answers each sender.
//!
//! What each piece of work becomes is built elsewhere: [`super::inbound`] (a post, step by
//! step), [`super::author`] (notices to an author about their deliveries), with the batch and
//! its lookups in [`super::batch`].
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use c2c_config::{CommitMode, Config};
use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, InstanceKey, MessageId, OutboxEntry, OutboxId, Recipient, Refusal,
    RefusalReason, Store, Threads,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::outbox::{Context, Queued};

use crate::clock::Clock;
use crate::followup::TimerChanges;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::router::batch::Batch;
use crate::router::prepare::Prepared;

/// The most pieces of work one group commit takes.
const MAX_BATCH: usize = 1024;

/// A piece of work for the committer.
#[derive(Debug)]
pub enum Work {
    /// An identified inbound message; the answer goes back on the channel.
    Inbound(Box<Prepared>, oneshot::Sender<Result<Accepted, Refusal>>),
    /// A delivery failed for good: record it and tell the author, in one commit; `done` is
    /// answered once that is durable.
    DeliveryFailed { entry: Box<OutboxEntry>, reason: String, done: oneshot::Sender<bool> },
    /// A delivery is delayed: record the entry (noticed) and tell the author, in one commit;
    /// `done` is answered once that is durable.
    DeliveryDelayed { entry: Box<OutboxEntry>, reason: String, deadline: c2c_core::Millis, done: oneshot::Sender<bool> },
    /// A follow-up timer fell due: act on it if it is still stored and due (see
    /// `router::followup`); `done` is answered once the commit is durable.
    Timer { key: c2c_core::TimerKey, done: oneshot::Sender<bool> },
    /// Write the next timer of every deliverable and digest (at start and after a reload).
    Plan { done: oneshot::Sender<bool> },
    /// Mark a deliverable done (the admin API, the CLI); the answer says what came of it.
    DeliverableDone { partnership: String, id: String, by: String, done: oneshot::Sender<Result<String, String>> },
    /// Close a conversation (the admin API): see `router::admin`.
    Close { conversation: ConversationId, done: oneshot::Sender<Result<super::admin::Closed, String>> },
    /// Schedule a delivery that failed for good again (the admin API): see `router::admin`.
    Retry { seq: u64, id: OutboxId, done: oneshot::Sender<Result<super::admin::Retried, String>> },
    /// Retention: forget those of `conversations` inactive since before `cutoff` that nothing
    /// keeps (see `router::retention`); answered with what was forgotten once durable.
    Expire {
        conversations: Vec<ConversationId>,
        cutoff: c2c_core::Millis,
        max_messages: usize,
        done: oneshot::Sender<Result<super::retention::Expired, String>>,
    },
    /// Retention: one piece of trimming a long conversation before it is forgotten (see
    /// `router::retention::TrimPiece`); answered with what was deleted once durable.
    Trim { piece: super::retention::TrimPiece, done: oneshot::Sender<Result<super::retention::Trimmed, String>> },
    /// Retention: delete the id-map entries among `natives` whose conversation is gone, the
    /// dedupe answers among `accepted` older than `dedupe_cutoff`, then the `tombstones`.
    ForgetIds {
        natives: Vec<c2c_core::NativeKey>,
        accepted: Vec<c2c_core::NativeKey>,
        dedupe_cutoff: Option<c2c_core::Millis>,
        tombstones: Vec<ConversationId>,
        done: oneshot::Sender<Result<super::retention::Forgotten, String>>,
    },
    /// A delivery started its endpoint's thread of a conversation (`Receipt::thread`): keep
    /// it; `done` is answered once durable.
    Thread { conversation: ConversationId, recipient: Recipient, ids: Vec<String>, done: oneshot::Sender<bool> },
}

/// A deliverable marked done: where the answer goes once durable, and the answer.
pub(super) type Marked = (oneshot::Sender<Result<String, String>>, Result<String, String>);

/// An answer to give once the batch is durable (`true`) or has failed (`false`).
pub(super) type After = Box<dyn FnOnce(bool) + Send>;

/// The answer to an admin's change: what came of it once durable, else why not.
fn after<T: Send + 'static>(done: oneshot::Sender<Result<T, String>>, outcome: T) -> After {
    Box::new(move |durable| {
        let _ = done.send(if durable { Ok(outcome) } else { Err("the bridge could not store it; try again".into()) });
    })
}

/// Where an inbound message's answer goes once its batch is durable.
pub(super) type Reply = oneshot::Sender<Result<Accepted, Refusal>>;

/// What a group hands on once it is durable: answers to senders, entries to the scheduler.
struct Handoff {
    answers: Vec<(Reply, Result<Accepted, Refusal>, c2c_core::Channel)>,
    /// Work answered `true` once durable: failed and delayed deliveries recorded (see
    /// [`Work::DeliveryFailed`], [`Work::DeliveryDelayed`]), timers acted on.
    done: Vec<oneshot::Sender<bool>>,
    /// Deliverables marked done, with the answer to give.
    marked: Vec<super::committer::Marked>,
    /// Answers to admins' changes.
    after: Vec<After>,
    queued: Vec<Queued>,
    outbox: mpsc::UnboundedSender<Vec<Queued>>,
    timers: TimerChanges,
    followup: Option<mpsc::UnboundedSender<TimerChanges>>,
    reminders: Vec<c2c_core::ReminderReason>,
    metrics: Arc<Metrics>,
}

impl Handoff {
    fn succeed(self) {
        // Counted before anything leaves: whoever sees an answer or a delivery of this group
        // finds it in the metrics.
        for (_, result, channel) in &self.answers {
            match result {
                Ok(a) if a.replay => self.metrics.replayed(*channel),
                Ok(_) => self.metrics.relayed(*channel),
                Err(r) => self.metrics.refused(*channel, r.reason),
            }
        }
        for reason in &self.reminders {
            self.metrics.reminder_sent(*reason);
        }
        if !self.queued.is_empty() {
            // The scheduler lives as long as the daemon; if it is gone we are stopping and the
            // entries are on disk for the next start.
            let _ = self.outbox.send(self.queued);
        }
        // Before the answers: the follow-up loop learns what a timer's commit did before it
        // hears that the commit is durable.
        if !self.timers.is_empty()
            && let Some(followup) = &self.followup
        {
            let _ = followup.send(self.timers);
        }
        for (reply, result, _) in self.answers {
            let _ = reply.send(result);
        }
        for done in self.done {
            let _ = done.send(true);
        }
        for (reply, result) in self.marked {
            let _ = reply.send(result);
        }
        for answer in self.after {
            answer(true);
        }
    }

    fn fail(self, e: &c2c_core::StoreError) {
        tracing::error!(error = %e, "commit failed; answering the group as unavailable so sources retry");
        for (reply, result, channel) in self.answers {
            let result = result.and_then(|_| {
                Err(Refusal::new(RefusalReason::Unavailable, "the bridge could not store the message; retry later"))
            });
            if let Err(r) = &result {
                self.metrics.refused(channel, r.reason);
            }
            let _ = reply.send(result);
        }
        for done in self.done {
            let _ = done.send(false);
        }
        for (reply, _) in self.marked {
            let _ = reply.send(Err("the bridge could not store it; try again".into()));
        }
        for answer in self.after {
            answer(false);
        }
    }
}

/// The group's new outbox entries with what their deliveries need, so the scheduler does not
/// read back what was just written. `updated` are entries the group only records (a failure,
/// a delay notice sent): the scheduler has them already.
///
/// A context holds the thread of each recipient whose channel does not stamp its entries, as
/// the group left it; one still empty on a channel that learns threads from receipts is left
/// out, so the scheduler reads it when the delivery is made (an earlier delivery may have
/// started it by then).
fn queued_entries(
    commit: &Commit,
    conversations: &HashMap<ConversationId, Conversation>,
    updated: &HashSet<OutboxId>,
    threads: &Threads,
) -> Vec<Queued> {
    let mut recipients: HashMap<MessageId, Vec<&Recipient>> = HashMap::new();
    for e in &commit.outbox {
        recipients.entry(e.message).or_default().push(&e.recipient);
    }
    let mut contexts: HashMap<MessageId, Arc<Context>> = HashMap::new();
    for m in &commit.messages {
        let conv = conversations.get(&m.conversation);
        let (subject, conversation_instance) = match conv {
            Some(c) => (c.subject.clone(), c.origin_instance.clone()),
            None => (m.subject.clone(), m.origin_instance.clone()),
        };
        let mut snapshot = std::collections::BTreeMap::new();
        for r in recipients.get(&m.id).into_iter().flatten() {
            let Some(t) = threads.get(r.channel).filter(|t| !t.stamps()) else { continue };
            let key = threads.recipient_key(r);
            let thread = conv.map(|c| c.thread(&key)).unwrap_or_default();
            if !thread.is_empty() || !t.learns_from_receipts() {
                snapshot.insert(key, thread.to_vec());
            }
        }
        let context = Context { message: m.clone(), subject, conversation_instance, threads: snapshot };
        contexts.insert(m.id, Arc::new(context));
    }
    commit
        .outbox
        .iter()
        .filter(|e| e.status.is_pending() && !updated.contains(&e.id))
        .map(|e| Queued { entry: e.clone(), context: contexts.get(&e.message).cloned() })
        .collect()
}

/// The committer's state.
pub struct Committer {
    pub config: Live<Config>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub mode: CommitMode,
    /// New outbox entries go to the delivery scheduler once committed.
    pub outbox: mpsc::UnboundedSender<Vec<Queued>>,
    pub bridge_name: String,
    /// Cancelled when the store fails to stage or flush a group: nothing written after that can
    /// be trusted to reach the disk (sled refuses every write after an I/O error), so the
    /// daemon stops and a restart recovers from what is on disk.
    pub store_failed: c2c_core::Shutdown,
    pub(super) next_seq: u64,
    /// How each channel continues its endpoints' threads (see `c2c_core::thread`); the
    /// scheduler reads threads by the same rules.
    pub threads: Threads,
    /// Commit times are read on it.
    pub(super) clock: Clock,
    /// The follow-up loop hears of timers written and done, once durable.
    pub followup: Option<mpsc::UnboundedSender<TimerChanges>>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").field("next_seq", &self.next_seq).finish_non_exhaustive()
    }
}

impl Committer {
    pub fn new(
        config: Live<Config>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        outbox: mpsc::UnboundedSender<Vec<Queued>>,
        key: InstanceKey,
        clock: Clock,
    ) -> Result<Self, c2c_core::StoreError> {
        let cfg = config.get();
        let next_seq = store.last_seq()? + 1;
        let threads = crate::channels::threads(&cfg, &key);
        Ok(Self {
            threads,
            mode: cfg.bridge.commit,
            bridge_name: cfg.bridge.name.clone(),
            config,
            store,
            metrics,
            outbox,
            store_failed: c2c_core::Shutdown::new(),
            next_seq,
            clock,
            followup: None,
        })
    }

    /// Run until `stop` is cancelled; then refuse new work and finish what is queued.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Work>, stop: c2c_core::Shutdown) {
        let max = match self.mode {
            CommitMode::Group => MAX_BATCH,
            CommitMode::Each => 1,
        };
        let mut work = Vec::with_capacity(max);
        let mut closed = false;
        // The hand-off of the group before: the next one waits for it, so the scheduler gets
        // entries (and senders their answers) in commit order.
        let mut previous: Option<JoinHandle<()>> = None;
        loop {
            tokio::select! {
                n = rx.recv_many(&mut work, max) => {
                    if n == 0 {
                        break;
                    }
                    previous = self.process(std::mem::take(&mut work), previous.take()).await;
                }
                _ = stop.cancelled(), if !closed => {
                    // Senders now get an error (answered as "unavailable, retry"); what is
                    // already queued is still committed and answered.
                    rx.close();
                    closed = true;
                }
            }
        }
        if let Some(p) = previous {
            let _ = p.await;
        }
        tracing::debug!("committer stopped");
    }

    /// Route one group of work and stage it in the store. In group mode, waiting for the flush
    /// and handing off happen in a task, so the next group is routed and staged while this one
    /// is being flushed; in `each` mode, they happen before the next message is looked at.
    async fn process(&mut self, work: Vec<Work>, previous: Option<JoinHandle<()>>) -> Option<JoinHandle<()>> {
        let config = self.config.get();
        let mut batch = Batch::default();
        let mut messages = 0;
        // Retention's work goes last: it never forgets what the rest of the batch touched.
        let (retention, work): (Vec<Work>, Vec<Work>) = work
            .into_iter()
            .partition(|w| matches!(w, Work::Expire { .. } | Work::Trim { .. } | Work::ForgetIds { .. }));
        for w in work.into_iter().chain(retention) {
            match w {
                Work::Inbound(prepared, reply) => {
                    let channel = prepared.envelope.origin.channel;
                    let result = self.inbound(&config, &mut batch, *prepared);
                    messages += 1;
                    batch.answers.push((reply, result, channel));
                }
                Work::DeliveryFailed { entry, reason, done } => {
                    if let Err(e) = self.delivery_failed(&config, &mut batch, &entry, &reason) {
                        tracing::warn!(entry = %entry.id, error = %e, "could not tell the author about a failed delivery");
                    }
                    batch.done.push(done);
                }
                Work::DeliveryDelayed { entry, reason, deadline, done } => {
                    if let Err(e) = self.delivery_delayed(&config, &mut batch, &entry, &reason, deadline) {
                        tracing::warn!(entry = %entry.id, error = %e, "could not tell the author about a delayed delivery");
                    }
                    batch.done.push(done);
                }
                Work::Timer { key, done } => {
                    if let Err(e) = self.timer_due(&config, &mut batch, &key) {
                        tracing::warn!(timer = %key, error = %e, "could not act on a due timer; it is tried again");
                        // Whatever this attempt marked for the timer is dropped, so the commit
                        // cannot delete a timer whose reminder was not made. (Errors come from
                        // store reads, before any reminder is added to the batch.)
                        batch.timers.remove(&key);
                        let _ = done.send(false);
                        continue;
                    }
                    batch.done.push(done);
                }
                Work::Plan { done } => {
                    self.plan_digests(&config, &mut batch);
                    if let Err(e) = self.plan_deliverables(&config, &mut batch) {
                        tracing::warn!(error = %e, "could not plan deliverable reminders");
                        let _ = done.send(false);
                        continue;
                    }
                    batch.done.push(done);
                }
                Work::DeliverableDone { partnership, id, by, done } => {
                    let answer = self.mark_done(&config, &mut batch, &partnership, &id, &by);
                    batch.marked.push((done, answer));
                }
                Work::Close { conversation, done } => match self.close(&mut batch, conversation) {
                    Ok(closed) => batch.after.push(after(done, closed)),
                    Err(e) => {
                        tracing::warn!(%conversation, error = %e, "could not close a conversation");
                        let _ = done.send(Err(format!("the bridge could not read its store: {e}")));
                    }
                },
                Work::Thread { conversation, recipient, ids, done } => {
                    match self.note_thread(&mut batch, conversation, &recipient, ids) {
                        Ok(()) => batch.done.push(done),
                        Err(e) => {
                            tracing::warn!(%conversation, error = %e, "could not keep a delivery's thread");
                            let _ = done.send(false);
                        }
                    }
                }
                Work::Expire { conversations, cutoff, max_messages, done } => {
                    match self.expire(&config, &mut batch, &conversations, cutoff, max_messages) {
                        Ok(forgotten) => batch.after.push(after(done, forgotten)),
                        Err(e) => {
                            tracing::warn!(error = %e, "retention could not read the store; the next sweep tries again");
                            let _ = done.send(Err(format!("the bridge could not read its store: {e}")));
                        }
                    }
                }
                Work::Trim { piece, done } => match self.trim(&config, &mut batch, &piece) {
                    Ok(trimmed) => batch.after.push(after(done, trimmed)),
                    Err(e) => {
                        tracing::warn!(error = %e, "retention could not read the store; the next sweep tries again");
                        let _ = done.send(Err(format!("the bridge could not read its store: {e}")));
                    }
                },
                Work::ForgetIds { natives, accepted, dedupe_cutoff, tombstones, done } => {
                    match self.forget_ids(&mut batch, &natives, &accepted, dedupe_cutoff, &tombstones) {
                        Ok(forgotten) => batch.after.push(after(done, forgotten)),
                        Err(e) => {
                            tracing::warn!(error = %e, "retention could not read the store; the next sweep tries again");
                            let _ = done.send(Err(format!("the bridge could not read its store: {e}")));
                        }
                    }
                }
                Work::Retry { seq, id, done } => match self.retry(&mut batch, seq, &id) {
                    Ok(retried) => batch.after.push(after(done, retried)),
                    Err(e) => {
                        tracing::warn!(entry = %id, error = %e, "could not schedule a delivery again");
                        let _ = done.send(Err(format!("the bridge could not read its store: {e}")));
                    }
                },
            }
        }
        self.metrics.commit_batch(messages);
        batch.close();
        let Batch { mut commit, conversations, answers, done, marked, after, updated, reminders, .. } = batch;
        let queued = queued_entries(&commit, &conversations, &updated, &self.threads);
        commit.conversations = conversations.into_values().collect();
        let timers = TimerChanges { set: commit.timers.clone(), done: commit.timers_done.clone() };
        let handoff = Handoff {
            answers,
            done,
            marked,
            after,
            queued,
            outbox: self.outbox.clone(),
            timers,
            followup: self.followup.clone(),
            reminders,
            metrics: self.metrics.clone(),
        };
        let store = self.store.clone();
        let staging = std::time::Instant::now();
        // Off the async workers: staging may wait for a running flush (see `Store::stage`).
        let staged = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.stage(commit))
                .await
                .unwrap_or_else(|e| Err(c2c_core::StoreError::new(format!("staging task: {e}"), true)))
        };
        self.metrics.stage_time(staging.elapsed().as_secs_f64());
        let staged = match staged {
            Ok(staged) => staged,
            Err(e) => {
                handoff.fail(&e);
                self.store_failed.cancel();
                return previous;
            }
        };
        let metrics = self.metrics.clone();
        let store_failed = self.store_failed.clone();
        let finish = async move {
            let waited = std::time::Instant::now();
            let durable = store.durable(staged).await;
            metrics.durable_wait(waited.elapsed().as_secs_f64());
            if let Some(p) = previous {
                let _ = p.await;
            }
            match durable {
                Ok(()) => handoff.succeed(),
                Err(e) => {
                    handoff.fail(&e);
                    store_failed.cancel();
                }
            }
        };
        match self.mode {
            CommitMode::Group => Some(tokio::spawn(finish)),
            CommitMode::Each => {
                finish.await;
                None
            }
        }
    }

    pub(super) fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }
}
