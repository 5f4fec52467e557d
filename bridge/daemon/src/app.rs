//! `c2c-bridge run`: wire the parts together, serve, reload on SIGHUP, drain on SIGTERM.
//!
//! Start order: config (and its secrets) → store → language tagger → router and committer →
//! connectors → the undelivered outbox entries read → committer and scheduler (which resumes
//! them) → inbound connectors → HTTP listener. Stop: stop accepting HTTP (requests in flight
//! finish) and inbound connectors, let deliveries in flight finish (failures for good go
//! through the committer, with the notice to their author), let the committer finish what is
//! queued, flush.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use c2c_config::{Config, ConfigErrors};
use c2c_core::{Inbox, InstanceKey, Shutdown, Store};
use c2c_language::Tagger;

use crate::admins::Admins;
use crate::channels;
use crate::clock::Clock;
use crate::followup::FollowUp;
use crate::http::{self, HttpState};
use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::{RetrySchedule, Scheduler};
use crate::reload::Reloadable;
use crate::router::Router;
use crate::router::committer::Committer;
use crate::serve;
use crate::supervise;

/// The daemon could not start because of its configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadConfig(pub ConfigErrors);

/// Load and validate the config, including its secrets.
pub fn load_config(path: &Path) -> Result<Config, BadConfig> {
    let config = Config::load(path).map_err(BadConfig)?;
    config.check_secrets().map_err(BadConfig)?;
    Ok(config)
}

/// Where the instance key is kept among the store's small state.
const INSTANCE_KEY: &str = "bridge/instance_key";

/// The instance key, made on first start and kept in the store (durable before it is used), so
/// Message-IDs and return paths handed out before a restart are still recognised after it.
async fn instance_key(store: &dyn Store) -> anyhow::Result<InstanceKey> {
    if let Some(hex) = store.state(INSTANCE_KEY)? {
        return InstanceKey::from_hex(&hex)
            .ok_or_else(|| anyhow::anyhow!("the store's instance key ({INSTANCE_KEY}) is damaged"));
    }
    let key = InstanceKey::new(rand::random());
    store.set_state(INSTANCE_KEY, &key.to_hex()).await?;
    Ok(key)
}

/// Run the daemon until SIGTERM/SIGINT.
pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    // Everything the daemon creates (the store's files, the Matrix store, any temporary file)
    // is its own user's only, whatever umask it was started with: 0700 directories, 0600 files.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let config = load_config(config_path)?;
    private_dir(&config.bridge.data_dir)?;
    let store_dir = config.bridge.data_dir.join("store");
    let store = crate::store_open::Opened::open(&config, Duration::from_secs(10))?
        .into_store(config.bridge.commit, config.bridge.commit_window);
    tracing::info!(instance = store.instance_id(), store = %store_dir.display(), engine = ?config.bridge.store,
        summary = %config.summary(), "starting");
    let key = instance_key(store.as_ref()).await?;

    let tagger = Tagger::new(config.languages_mentioned());
    if !tagger.unsupported().is_empty() {
        tracing::info!(languages = ?tagger.unsupported(), "these configured languages are not known to the tagger; no message is tagged with them");
    }
    let admins = Live::new(Admins::load(&config).map_err(BadConfig)?);
    if admins.get().is_empty() {
        tracing::info!("no admin is configured ([bridge] admin_token_* or [[admins]]): the admin API is off");
    }
    let delivery = &config.bridge.delivery;
    let schedule = RetrySchedule {
        initial: delivery.initial_backoff,
        max: delivery.max_backoff,
        jitter: delivery.jitter,
        give_up_after: delivery.give_up_after,
        delay_warning_after: delivery.delay_warning_after,
    };
    if let Some(n) = delivery.max_attempts {
        tracing::warn!(
            max_attempts = n,
            give_up_after = %crate::outbox::queues::human(delivery.give_up_after),
            "[bridge.delivery] max_attempts is deprecated and ignored: deliveries give up by age (give_up_after); remove it from the config"
        );
    }
    if let Some(window) = config.bridge.dedupe_window
        && window < delivery.give_up_after
    {
        tracing::warn!(
            dedupe_window = %crate::outbox::queues::human(window),
            give_up_after = %crate::outbox::queues::human(delivery.give_up_after),
            "[bridge] dedupe_window is shorter than [bridge.delivery] give_up_after: a peer that retries as long as this bridge does could have a late retry taken as a new message; make the window longer than any sender retries"
        );
    }
    let concurrency = config.bridge.delivery.concurrency;
    let drain_timeout = config.bridge.delivery.drain_timeout;
    let listen = config.bridge.listen;
    let request_timeout = config.bridge.request_timeout;
    let max_connections = config.bridge.max_connections;
    let per_client = config.bridge.max_connections_per_client.unwrap_or((max_connections / 4).max(1));

    let config = Live::new(config);
    let tagger = Live::new(tagger);
    let metrics = Arc::new(Metrics::new());
    let clock = Clock::wall();
    let (bounce_tx, bounce_rx) = tokio::sync::mpsc::unbounded_channel();
    let (router, work_rx) = Router::new(config.clone(), tagger.clone(), metrics.clone(), store.clone(), bounce_tx);
    let (outbox_tx, outbox_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut committer =
        Committer::new(config.clone(), store.clone(), metrics.clone(), outbox_tx, key.clone(), clock.clone())?;
    let (followup_tx, followup_rx) = tokio::sync::mpsc::unbounded_channel();
    committer.followup = Some(followup_tx);
    let store_failed = committer.store_failed.clone();

    let inbox: Arc<dyn Inbox> = Arc::new(router.clone());
    let channels::Built { connectors, routes, cities, matrix: matrix_connector, peer_keys } =
        channels::build(&config, config_path, store.instance_id(), key, inbox.clone()).await?;

    // The scheduler publishes its queues' state here for the admin's status.
    let deliveries = Arc::new(crate::outbox::snapshot::Published::default());
    let scheduler = Scheduler {
        store: store.clone(),
        connectors: connectors.clone(),
        config: config.clone(),
        router: router.clone(),
        metrics: metrics.clone(),
        schedule,
        concurrency,
        drain_timeout,
        clock: clock.clone(),
        published: deliveries.clone(),
        threads: committer.threads.clone(),
    };

    // Stop signals, one per stage, so each stage drains before the next stops.
    let stop_inbound = Shutdown::new();
    let stop_committer = Shutdown::new();
    let stop_scheduler = Shutdown::new();
    let stop_followup = Shutdown::new();

    let followup = FollowUp {
        store: store.clone(),
        router: router.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
        caught_up: tokio::sync::watch::Sender::new(0),
    };
    // The stored timers, read before the committer starts, so a timer written from here on
    // reaches the loop only through the committer.
    let timers = followup.resume().context("reading the follow-up timers")?;
    // What is undelivered now, read before the committer and the connectors start, so an entry
    // committed from here on reaches the scheduler only through the committer.
    let resume = scheduler.resume().context("reading the undelivered outbox entries")?;
    // If the committer, the scheduler or the follow-up loop ends unasked, the daemon stops (see
    // `supervise`).
    let died = Shutdown::new();
    let committer_task = supervise::critical(
        "committer",
        committer.run(work_rx, stop_committer.clone()),
        stop_committer.clone(),
        died.clone(),
    );
    let scheduler_task = supervise::critical(
        "scheduler",
        scheduler.run(resume, outbox_rx, bounce_rx, stop_scheduler.clone()),
        stop_scheduler.clone(),
        died.clone(),
    );
    let followup_task = supervise::critical(
        "follow-up",
        followup.run(timers, followup_rx, stop_followup.clone()),
        stop_followup.clone(),
        died.clone(),
    );
    // Store upkeep (retention, the pending-scan mark) needs nothing to finish: either, cut
    // short, leaves the store consistent.
    let stop_upkeep = Shutdown::new();
    let sweep = crate::retention::Sweep {
        store: store.clone(),
        router: router.clone(),
        config: config.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
        read_per_step: crate::retention::READ_PER_STEP,
        posts_per_piece: crate::retention::POSTS_PER_PIECE,
    };
    let retention_task = tokio::spawn(sweep.run(stop_upkeep.clone()));
    let low_mark_task = tokio::spawn(crate::outbox::low_mark::run(store.clone(), stop_upkeep.clone()));
    let supervision = Arc::new(supervise::Supervision::default());
    let inbound_tasks: Vec<_> = connectors
        .values()
        .map(|c| {
            supervise::inbound(c.clone(), inbox.clone(), stop_inbound.clone(), supervision.clone(), metrics.clone())
        })
        .collect();

    let reloadable = Arc::new(Reloadable::new(
        config_path.to_path_buf(),
        config.clone(),
        tagger.clone(),
        cities.clone(),
        admins.clone(),
        matrix_connector,
        router.clone(),
    ));
    let state = HttpState {
        metrics: metrics.clone(),
        store: store.clone(),
        config: config.clone(),
        connectors: connectors.values().cloned().collect(),
        admins,
        supervision,
        router: router.clone(),
        clock: clock.clone(),
        reload: Some(reloadable.clone()),
        deliveries: deliveries.clone(),
        started_at: clock.now(),
        peer_keys,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(%listen, "listening");
    let http_stop = stop_inbound.clone();
    serve::check_open_files_limit(max_connections);
    let limits = serve::Limits { max_connections, per_client, header_timeout: request_timeout };
    let app = http::app(state, routes, request_timeout);
    let server = tokio::spawn(serve::serve(listener, app, limits, http_stop, metrics.clone()));

    let stopped_by = wait_for_stop(&reloadable, &store_failed, &died).await;

    tracing::info!("stopping: no new messages are accepted; finishing what is in flight");
    stop_inbound.cancel();
    match tokio::time::timeout(drain_timeout, server).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "HTTP server task failed"),
        Err(_) => tracing::warn!("HTTP requests still open after the drain timeout"),
    }
    for t in inbound_tasks {
        let _ = t.await;
    }
    stop_upkeep.cancel();
    let _ = retention_task.await;
    let _ = low_mark_task.await;
    stop_followup.cancel();
    let _ = followup_task.await;
    // The scheduler first: a delivery failing for good while it drains is recorded, with the
    // notice to its author, through the committer.
    stop_scheduler.cancel();
    let _ = scheduler_task.await;
    stop_committer.cancel();
    let _ = committer_task.await;
    if stopped_by == Stop::StoreFailed {
        anyhow::bail!(
            "stopped because the store could not write to disk (see the error above); nothing unwritten was acknowledged, and a restart resumes from what is on disk"
        );
    }
    if stopped_by == Stop::TaskDied {
        store.flush().await?;
        anyhow::bail!(
            "stopped because the committer, the scheduler or the follow-up loop stopped unexpectedly (see the error above); nothing unwritten was acknowledged, and a restart resumes from what is on disk"
        );
    }
    store.flush().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Why the daemon stops.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Signal,
    StoreFailed,
    /// The committer, the scheduler or the follow-up loop ended unasked (logged where it happened).
    TaskDied,
}

/// Wait for SIGTERM or SIGINT, or a store failure; reload the config on SIGHUP meanwhile.
async fn wait_for_stop(reloadable: &Reloadable, store_failed: &Shutdown, died: &Shutdown) -> Stop {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    let mut hup = signal(SignalKind::hangup()).expect("installing a SIGHUP handler");
    loop {
        tokio::select! {
            _ = term.recv() => return Stop::Signal,
            _ = int.recv() => return Stop::Signal,
            // Logged either way; an admin who wants the problems listed asks POST /api/reload.
            _ = hup.recv() => { let _ = reloadable.reload("SIGHUP"); }
            _ = store_failed.cancelled() => {
                tracing::error!("the store failed to write; stopping (a restart recovers from what is on disk)");
                return Stop::StoreFailed;
            }
            _ = died.cancelled() => return Stop::TaskDied,
        }
    }
}

/// Create `dir` (and its parents) if needed and make it readable by this user only (0700),
/// whatever the umask: it holds every message relayed and the connectors' state.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating data_dir {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making data_dir {} private (0700)", dir.display()))
}
