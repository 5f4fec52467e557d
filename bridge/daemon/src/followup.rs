//! The follow-up loop: wakes when the next stored timer falls due and hands it to the
//! committer, which acts on it (a reminder, a rescheduled timer, or nothing if it went stale)
//! and deletes it in the same commit.
//!
//! The loop keeps the earliest timers' due times in memory (at most [`HELD`]; see
//! [`crate::followup_due`]), read from the store at start and kept current by the committer,
//! which sends the timers each durable group wrote or finished ([`TimerChanges`]); when those
//! held run out and more are stored, it reads the store again. It waits on the daemon's [`Clock`] for
//! the earliest one, so a reminder goes out within moments of its due time, not at the next
//! sweep. A timer handed over is not handed over again until the committer has answered; if
//! that commit failed, it is tried again a little later. Overlapping or repeated hand-overs are
//! harmless anyway: the committer acts only on a timer still stored and due.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use c2c_core::{Millis, Shutdown, Store, Timer, TimerKey};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::followup_due::DueTimers;
pub use crate::followup_due::HELD;
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

impl FollowUp {
    /// The stored timers (the earliest [`HELD`] in memory), read before the committer starts
    /// so that none is missed.
    pub fn resume(&self) -> Result<DueTimers, c2c_core::StoreError> {
        self.resume_holding(HELD)
    }

    /// [`FollowUp::resume`], holding at most `held` timers in memory (tests hold a few).
    pub fn resume_holding(&self, held: usize) -> Result<DueTimers, c2c_core::StoreError> {
        let due = DueTimers::read(self.store.as_ref(), held)?;
        if due.stored() > 0 {
            tracing::info!(timers = due.stored(), held = due.held(), "follow-up timers resumed");
        }
        Ok(due)
    }

    /// Run until `stop`. `due` is what [`FollowUp::resume`] read; `changes` brings what each
    /// durable commit changed. Deliverables' next reminders and digests are planned first (the config may
    /// have changed while the daemon was stopped).
    pub async fn run(self, mut due: DueTimers, mut changes: mpsc::UnboundedReceiver<TimerChanges>, stop: Shutdown) {
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
            // Every held timer acted on, and more stored: read the earliest of them (with nothing
            // in flight, whose timers, still stored, would be read again).
            if due.partial() && inflight.is_empty() && due.held() == 0 {
                let (store, held) = (self.store.clone(), due.capacity());
                let read = tokio::task::spawn_blocking(move || DueTimers::read(store.as_ref(), held))
                    .await
                    .unwrap_or_else(|e| Err(c2c_core::StoreError::new(format!("reading the timers: {e}"), true)));
                match read {
                    Ok(read) => {
                        due = read;
                        tracing::debug!(stored = due.stored(), held = due.held(), "follow-up timers read again");
                        // What commits changed while the store was read (applying it again is harmless).
                        while let Ok(c) = changes.try_recv() {
                            due.apply(c);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the follow-up timers; trying again shortly");
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(RETRY) => continue,
                        }
                    }
                }
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
            self.metrics.set_reminders_scheduled(due.stored());
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
                                due.postpone(key, t.max(now) + RETRY.as_millis() as Millis);
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
