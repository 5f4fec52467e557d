//! The echo server (the yardstick) and the sink (a fast city system that counts arrivals).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;

use crate::stats::Latencies;

/// A bare endpoint that answers every POST with its body.
pub async fn start_echo() -> anyhow::Result<SocketAddr> {
    let app =
        axum::Router::new().route("/echo", axum::routing::post(|body: Bytes| async move { (StatusCode::OK, body) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// Most messages one run can track.
const CAPACITY: usize = 8_000_000;

/// Receives the bridge's deliveries and measures latency against the send times the client
/// recorded.
pub struct Sink {
    pub addr: SocketAddr,
    base: Instant,
    /// Nanoseconds after `base` each message was (scheduled to be) sent, +1 (0 = unknown).
    sent_at: Vec<AtomicU64>,
    /// Times each message arrived.
    seen: Vec<AtomicU8>,
    arrived: AtomicU64,
    duplicates: AtomicU64,
    latencies: Mutex<Vec<f64>>,
    last: Mutex<Option<Instant>>,
    /// Answer 503 to everything (a city's system that is down).
    down: std::sync::atomic::AtomicBool,
    /// Requests answered while down.
    refused: AtomicU64,
}

impl Sink {
    pub async fn start() -> anyhow::Result<Arc<Sink>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let sink = Arc::new(Sink {
            addr,
            base: Instant::now(),
            sent_at: (0..CAPACITY).map(|_| AtomicU64::new(0)).collect(),
            seen: (0..CAPACITY).map(|_| AtomicU8::new(0)).collect(),
            arrived: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
            last: Mutex::new(None),
            down: Default::default(),
            refused: AtomicU64::new(0),
        });
        let app = axum::Router::new().route("/{city}", axum::routing::post(receive)).with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }

    /// Record when message `seq` was (scheduled to be) sent.
    pub fn sent(&self, seq: u64, at: Instant) {
        if let Some(slot) = self.sent_at.get(seq as usize) {
            slot.store(at.duration_since(self.base).as_nanos() as u64 + 1, Ordering::Relaxed);
        }
    }

    /// Forget the counters and latencies of the previous phase.
    pub fn reset(&self) {
        self.arrived.store(0, Ordering::SeqCst);
        self.duplicates.store(0, Ordering::SeqCst);
        self.latencies.lock().unwrap().clear();
        *self.last.lock().unwrap() = None;
    }

    /// Wait until `n` messages arrived (or `timeout`); returns how many did.
    pub async fn wait_for(&self, n: u64, timeout: Duration) -> u64 {
        let start = Instant::now();
        while self.arrived.load(Ordering::SeqCst) < n && start.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.arrived.load(Ordering::SeqCst)
    }

    /// Be down (answer 503 to everything) or up.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Requests answered 503 because the sink was down.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::SeqCst)
    }

    pub fn latencies(&self) -> Latencies {
        Latencies::new(self.latencies.lock().unwrap().clone())
    }

    pub fn last_arrival(&self) -> Option<Instant> {
        *self.last.lock().unwrap()
    }
}

/// One delivery: find the message's sequence number in its text (`bench SEQ …`), count it and
/// its latency.
async fn receive(State(sink): State<Arc<Sink>>, body: Bytes) -> StatusCode {
    let now = Instant::now();
    if sink.down.load(Ordering::SeqCst) {
        sink.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Ok(post) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let seq = post["text"]
        .as_str()
        .and_then(|t| t.strip_prefix("bench "))
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    let Some(seq) = seq.filter(|s| *s < CAPACITY) else {
        // Not a benchmark message (e.g. a notice): accept and ignore.
        return StatusCode::NO_CONTENT;
    };
    if sink.seen[seq].fetch_add(1, Ordering::SeqCst) > 0 {
        sink.duplicates.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NO_CONTENT;
    }
    let sent = sink.sent_at[seq].load(Ordering::Relaxed);
    if sent > 0 {
        let ms = (now.duration_since(sink.base).as_nanos() as u64).saturating_sub(sent - 1) as f64 / 1e6;
        sink.latencies.lock().unwrap().push(ms);
    }
    *sink.last.lock().unwrap() = Some(now);
    sink.arrived.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// The `KEY=value` env file a test server script wrote (`$C2C_STATE_DIR/<sub>/env`, default state
/// dir `~/.cache/c2c-bridge`).
pub fn server_env(sub: &str, how_to_start: &str) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let state = std::env::var("C2C_STATE_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/c2c-bridge")
    });
    let path = state.join(sub).join("env");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e} (run {how_to_start} first)", path.display()))?;
    Ok(text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// A city's system as `--mode killrounds` needs it: it records every delivery by the message it
/// carries (the key in its text, `kill KEY …`) and by its `webhook-id` (the idempotency key a
/// city's system deduplicates on), and the city it reached. It can be slow and flaky, so that
/// the bridge's outbox holds a backlog when the daemon is killed: each delivery is answered
/// after 0 to `delay_ms` (the same for the same `webhook-id`), and the first attempt of about
/// `fail_percent` in a hundred `webhook-id`s is answered 503 (not recorded: the bridge must
/// retry it). Everything else is recorded on arrival, before its answer: a receiver that saw
/// it even if the bridge dies before the answer.
#[derive(Debug)]
pub struct KeyedSink {
    pub addr: SocketAddr,
    delay_ms: u64,
    fail_percent: u64,
    state: Mutex<Arrivals>,
}

/// What a [`KeyedSink`] received.
#[derive(Debug, Default)]
pub struct Arrivals {
    /// Message key → webhook-id → (arrivals under that id, the city path it arrived at).
    pub by_key: std::collections::HashMap<String, std::collections::HashMap<String, (u32, String)>>,
    /// Every delivery of a message with a key, repeats included (503s not).
    pub raw: u64,
    /// Deliveries without a key in their text (notices), or without a webhook-id.
    pub other: u64,
    /// Deliveries answered 503 (their `webhook-id`s: each is refused once).
    pub refused: std::collections::HashSet<String>,
}

impl KeyedSink {
    pub async fn start(delay_ms: u64, fail_percent: u64) -> anyhow::Result<Arc<KeyedSink>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let sink = Arc::new(KeyedSink { addr, delay_ms, fail_percent, state: Mutex::new(Arrivals::default()) });
        let app = axum::Router::new().route("/{city}", axum::routing::post(receive_keyed)).with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }

    /// Look at what arrived so far (under the lock: keep `f` short).
    pub fn with<T>(&self, f: impl FnOnce(&Arrivals) -> T) -> T {
        f(&self.state.lock().unwrap())
    }
}

/// A stable hash of a `webhook-id` (the same in every run).
fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

async fn receive_keyed(
    State(sink): State<Arc<KeyedSink>>,
    axum::extract::Path(city): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> StatusCode {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let post = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
    let key = post["text"].as_str().and_then(|t| t.strip_prefix("kill ")).and_then(|t| t.split(' ').next());
    let (Some(key), Some(id)) = (key, id) else {
        sink.state.lock().unwrap().other += 1;
        return StatusCode::NO_CONTENT;
    };
    let hash = id_hash(&id);
    {
        let mut state = sink.state.lock().unwrap();
        if hash % 100 < sink.fail_percent && state.refused.insert(id.clone()) {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        state.raw += 1;
        let slot = state.by_key.entry(key.to_string()).or_default().entry(id).or_insert((0, city));
        slot.0 += 1;
    }
    if sink.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis((hash >> 8) % (sink.delay_ms + 1))).await;
    }
    StatusCode::NO_CONTENT
}
