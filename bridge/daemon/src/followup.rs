//! The follow-up loop: wakes when the next stored timer falls due and hands it to the
//! committer, which acts on it (a reminder, a rescheduled timer, or nothing if it went stale)
//! and deletes it in the same commit.
//!
//! The loop keeps every timer's due time in memory (a timer is small: a key and a time), read
//! from the store at start and kept current by the committer, which sends the timers each
//! durable group wrote or finished ([`TimerChanges`]). It waits on the daemon's [`Clock`] for
//! the earliest one, so a reminder goes out within moments of its due time, not at the next
//! sweep. A timer handed over is not handed over again until the committer has answered; if
//! that commit failed, it is tried again a little later. Overlapping or repeated hand-overs are
//! harmless anyway: the committer acts only on a timer still stored and due.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use c2c_core::{Millis, Shutdown, Store, Timer, TimerKey};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::router::Router;

/// What a durable commit changed in the timers.
#[derive(Debug, Default, Clone)]
pub struct TimerChanges {
    /// Written: new or moved.
    pub set: Vec<Timer>,
    /// Done: deleted.
    pub done: Vec<TimerKey>,
}

impl TimerChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.done.is_empty()
    }
}

/// Timers handed to the committer at once, at most.
const IN_FLIGHT: usize = 64;

/// How long a timer whose commit failed waits before it is handed over again.
const RETRY: Duration = Duration::from_secs(5);

/// The follow-up loop.
#[derive(Debug)]
pub struct FollowUp {
    pub store: Arc<dyn Store>,
    pub router: Router,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// The time up to which every due timer has been acted on (and its reminders handed to the
    /// scheduler): what tests wait for before they look.
    pub caught_up: tokio::sync::watch::Sender<Millis>,
}

/// The timers by due time.
#[derive(Default)]
struct Due {
    by_time: BTreeSet<(Millis, TimerKey)>,
    of: HashMap<TimerKey, Millis>,
}

impl Due {
    fn set(&mut self, key: TimerKey, due: Millis) {
        if let Some(old) = self.of.insert(key.clone(), due) {
            self.by_time.remove(&(old, key.clone()));
        }
        self.by_time.insert((due, key));
    }

    fn remove(&mut self, key: &TimerKey) {
        if let Some(old) = self.of.remove(key) {
            self.by_time.remove(&(old, key.clone()));
        }
    }

    fn apply(&mut self, changes: TimerChanges) {
        for t in changes.set {
            self.set(t.key, t.due);
        }
        for k in &changes.done {
            self.remove(k);
        }
    }
}

impl FollowUp {
    /// Every stored timer, read before the committer starts so that none is missed.
    pub fn resume(&self) -> Result<Vec<(TimerKey, Millis)>, c2c_core::StoreError> {
        let mut timers = Vec::new();
        self.store.each_timer(&mut |t| timers.push((t.key, t.due)))?;
        if !timers.is_empty() {
            tracing::info!(timers = timers.len(), "follow-up timers resumed");
        }
        Ok(timers)
    }

    /// Run until `stop`. `resumed` is what [`FollowUp::resume`] read; `changes` brings what each
    /// durable commit changed. Deliverables' next reminders and digests are planned first (the config may
    /// have changed while the daemon was stopped).
    pub async fn run(
        self,
        resumed: Vec<(TimerKey, Millis)>,
        mut changes: mpsc::UnboundedReceiver<TimerChanges>,
        stop: Shutdown,
    ) {
        let mut due = Due::default();
        for (k, t) in resumed {
            due.set(k, t);
        }
        if !self.router.plan_follow_up().await {
            tracing::warn!(
                "could not plan deliverable reminders and digests; they are planned again at the next reload or start"
            );
        }
        let mut inflight: JoinSet<(TimerKey, bool)> = JoinSet::new();
        let mut handed: HashSet<TimerKey> = HashSet::new();
        // A test's clock: every move is looked at, so `caught_up` follows it.
        let mut moves = self.clock.subscribe();
        loop {
            if let Some(m) = &mut moves {
                m.borrow_and_update();
            }
            let now = self.clock.now();
            // Hand over what is due, earliest first.
            let ready: Vec<TimerKey> = due
                .by_time
                .iter()
                .take_while(|(t, _)| *t <= now)
                .filter(|(_, k)| !handed.contains(k))
                .take(IN_FLIGHT.saturating_sub(inflight.len()))
                .map(|(_, k)| k.clone())
                .collect();
            for key in ready {
                handed.insert(key.clone());
                let router = self.router.clone();
                inflight.spawn(async move {
                    let ok = router.timer_due(key.clone()).await;
                    (key, ok)
                });
            }
            self.metrics.set_reminders_scheduled(due.of.len());
            let next = due.by_time.iter().find(|(_, k)| !handed.contains(k)).map(|(t, _)| *t);
            if inflight.is_empty() && next.is_none_or(|t| t > now) {
                self.caught_up.send_replace(now);
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(c) = changes.recv() => due.apply(c),
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    // What the commit changed was sent before its answer: take it first, so a
                    // timer it finished is not handed over again.
                    while let Ok(c) = changes.try_recv() {
                        due.apply(c);
                    }
                    match done {
                        Ok((key, ok)) => {
                            handed.remove(&key);
                            if !ok && let Some(t) = due.of.get(&key).copied() {
                                tracing::warn!(timer = %key, "a reminder could not be committed; trying again shortly");
                                due.set(key, t.max(now) + RETRY.as_millis() as Millis);
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "a follow-up task failed; its timer is tried again at the next start"),
                    }
                }
                _ = self.clock.sleep_until(next.unwrap_or(Millis::MAX)), if next.is_some() => {}
                Ok(()) = async { match &mut moves { Some(m) => m.changed().await, None => std::future::pending().await } } => {}
            }
        }
        inflight.shutdown().await;
        tracing::debug!("follow-up loop stopped");
    }
}
