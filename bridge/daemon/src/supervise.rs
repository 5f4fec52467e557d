//! The daemon's long-running tasks, watched.
//!
//! - A connector's inbound task (IMAP IDLE, Matrix sync) that fails, panics or ends before the
//!   daemon stops is started again after a backoff (1 s doubling to 1 min; back to 1 s once a run
//!   has lasted a minute), logged, counted in `c2c_connector_restarts_total{channel}`, and shown
//!   in `/healthz` as degraded until it runs again. Its connector's own health cannot say so: the
//!   task that would update it is the one that stopped.
//! - The committer and the scheduler have no safe restart (they hold the order of commits and
//!   deliveries): if either ends before it is asked to, [`critical`] cancels `died` and the
//!   daemon stops with an error. Nothing unwritten was acknowledged, so a restart (by the
//!   service manager) resumes from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c2c_core::{Channel, Connector, Inbox, Millis, Shutdown, now_ms};
use futures::FutureExt;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A run this long counts as healthy: the next failure starts the backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Which inbound tasks are down now, why and since when, and the last time each stopped.
#[derive(Debug, Default)]
pub struct Supervision {
    state: Mutex<Tasks>,
}

#[derive(Debug, Default)]
struct Tasks {
    /// Channel → why its task is not running, and since when.
    down: HashMap<Channel, (String, Millis)>,
    /// Channel → why its task last stopped, and when (kept once it runs again).
    last: HashMap<Channel, (String, Millis)>,
}

impl Supervision {
    /// Why `channel`'s inbound task is not running, if it is not.
    pub fn problem(&self, channel: Channel) -> Option<String> {
        self.down(channel).map(|(p, _)| p)
    }

    /// Why `channel`'s inbound task is not running and since when, if it is not.
    pub fn down(&self, channel: Channel) -> Option<(String, Millis)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).down.get(&channel).cloned()
    }

    /// Why `channel`'s inbound task last stopped, and when.
    pub fn last_problem(&self, channel: Channel) -> Option<(String, Millis)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).last.get(&channel).cloned()
    }

    fn set(&self, channel: Channel, problem: Option<String>) {
        let mut tasks = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match problem {
            Some(p) => {
                let now = now_ms();
                let since = tasks.down.get(&channel).map_or(now, |(_, since)| *since);
                tasks.last.insert(channel, (p.clone(), now));
                tasks.down.insert(channel, (p, since));
            }
            None => {
                tasks.down.remove(&channel);
            }
        }
    }
}

/// Run `connector`'s inbound task until `stop`, starting it again whenever it stops early.
pub fn inbound(
    connector: Arc<dyn Connector>,
    inbox: Arc<dyn Inbox>,
    stop: Shutdown,
    supervision: Arc<Supervision>,
    metrics: Arc<Metrics>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let channel = connector.channel();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = tokio::time::Instant::now();
            let (c, i, s) = (connector.clone(), inbox.clone(), stop.clone());
            // Its own task, so a panic ends only this run.
            let run = tokio::spawn(async move { c.run_inbound(i, s).await }).await;
            if stop.is_cancelled() {
                break;
            }
            let why = match run {
                Ok(Ok(())) => "it ended by itself".to_string(),
                Ok(Err(e)) => format!("it failed: {e}"),
                Err(e) if e.is_panic() => format!("it panicked: {}", panic_text(e.into_panic())),
                Err(e) => format!("it was cancelled: {e}"),
            };
            if started.elapsed() >= HEALTHY_RUN {
                backoff = FIRST_BACKOFF;
            }
            tracing::error!(%channel, problem = %why, retry_in = ?backoff, "inbound connector task stopped; starting it again");
            supervision.set(channel, Some(format!("inbound task restarting ({why})")));
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.cancelled() => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            metrics.connector_restarted(channel);
            supervision.set(channel, None);
        }
    })
}

/// Run a task the daemon cannot do without. If it ends (or panics) before `stop` is cancelled,
/// `died` is cancelled: the daemon then stops with an error.
pub fn critical<F>(name: &'static str, task: F, stop: Shutdown, died: Shutdown) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let result = std::panic::AssertUnwindSafe(task).catch_unwind().await;
        if stop.is_cancelled() && result.is_ok() {
            return;
        }
        match result {
            Ok(()) => tracing::error!(task = name, "a critical task ended before the daemon stopped; stopping"),
            Err(p) => tracing::error!(task = name, panic = %panic_text(p), "a critical task panicked; stopping"),
        }
        died.cancel();
    })
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use c2c_core::{Accepted, BounceReport, Delivery, DeliveryError, Envelope, Receipt, Refusal, RefusalReason};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Panics on its first run, fails on its second, then runs until stopped.
    #[derive(Debug, Default)]
    struct Flaky {
        runs: AtomicUsize,
        /// Signalled when the third run starts.
        third: tokio::sync::Notify,
    }

    #[async_trait]
    impl Connector for Flaky {
        fn channel(&self) -> Channel {
            Channel::Email
        }
        async fn run_inbound(&self, _: Arc<dyn Inbox>, stop: Shutdown) -> Result<(), c2c_core::ConnectorError> {
            match self.runs.fetch_add(1, Ordering::SeqCst) {
                0 => panic!("boom"),
                1 => Err(c2c_core::ConnectorError { channel: Channel::Email, detail: "server gone".into() }),
                _ => {
                    self.third.notify_one();
                    stop.cancelled().await;
                    Ok(())
                }
            }
        }
        async fn deliver(&self, _: &Delivery) -> Result<Receipt, DeliveryError> {
            Ok(Receipt::default())
        }
    }

    #[derive(Debug)]
    struct NoInbox;

    #[async_trait]
    impl Inbox for NoInbox {
        async fn submit(&self, _: Envelope) -> Result<Accepted, Refusal> {
            Err(Refusal::new(RefusalReason::Unavailable, "test"))
        }
        fn count_refusal(&self, _: Channel, _: RefusalReason) {}
        async fn bounce(&self, _: BounceReport) -> bool {
            false
        }
        async fn load_state(&self, _: &str) -> Option<String> {
            None
        }
        async fn save_state(&self, _: &str, _: &str) -> bool {
            false
        }
    }

    /// A panic and then an error each restart the task after its backoff (on a clock the test
    /// controls), counted, and shown as a problem while it waits; the third run stays up.
    #[tokio::test(start_paused = true)]
    async fn an_inbound_task_that_panics_or_fails_is_started_again() {
        let flaky = Arc::new(Flaky::default());
        let (supervision, metrics, stop) =
            (Arc::new(Supervision::default()), Arc::new(Metrics::new()), Shutdown::new());
        let task = inbound(flaky.clone(), Arc::new(NoInbox), stop.clone(), supervision.clone(), metrics.clone());
        // Wait for the first run's panic to be reported.
        while supervision.problem(Channel::Email).is_none() {
            tokio::task::yield_now().await;
        }
        assert!(supervision.problem(Channel::Email).unwrap().contains("panicked: boom"));
        // Paused clock: time moves only when every task waits, so the 1 s and 2 s backoffs pass.
        flaky.third.notified().await;
        assert_eq!(supervision.problem(Channel::Email), None, "running again");
        let text = metrics.render();
        assert!(text.contains("c2c_connector_restarts_total{channel=\"email\"} 2"), "{text}");
        stop.cancel();
        task.await.unwrap();
        assert_eq!(flaky.runs.load(Ordering::SeqCst), 3, "not started again once stopped");
    }

    #[tokio::test]
    async fn a_critical_task_that_dies_stops_the_daemon_and_one_asked_to_stop_does_not() {
        let (stop, died) = (Shutdown::new(), Shutdown::new());
        critical("committer", async { panic!("store poisoned") }, stop.clone(), died.clone()).await.unwrap();
        assert!(died.is_cancelled());

        let (stop, died) = (Shutdown::new(), Shutdown::new());
        let s = stop.clone();
        let t = critical("scheduler", async move { s.cancelled().await }, stop.clone(), died.clone());
        stop.cancel();
        t.await.unwrap();
        assert!(!died.is_cancelled());
    }
}
