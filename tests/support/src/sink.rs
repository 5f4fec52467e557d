//! A stand-in for cities' own systems: one HTTP server that receives the bridge's webhooks for
//! several cities (path `/{city}`), verifies each signature with that city's secret, and answers
//! with statuses the test scripts (204 by default).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use c2c_webhook::SigningSecret;
use c2c_webhook::wire::OutboundPost;
use tokio::sync::mpsc;

use crate::DEADLINE;

/// One request the sink received (reported when it arrives).
#[derive(Clone, Debug)]
pub struct Received {
    pub city: String,
    pub webhook_id: String,
    /// Whether the signature verified with the city's secret.
    pub verified: bool,
    pub post: OutboundPost,
    /// What the sink answered.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
    /// The raw request, for checks with other verifiers.
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

#[derive(Clone)]
struct SinkState {
    secrets: Arc<HashMap<String, SigningSecret>>,
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
    tx: mpsc::UnboundedSender<Received>,
    /// Cities whose requests are held (not answered) until released.
    held: tokio::sync::watch::Sender<HashSet<String>>,
}

/// The running sink.
#[derive(Debug)]
pub struct Sink {
    pub addr: std::net::SocketAddr,
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
    rx: mpsc::UnboundedReceiver<Received>,
    held: tokio::sync::watch::Sender<HashSet<String>>,
    task: tokio::task::JoinHandle<()>,
    /// webhook-ids [`Sink::next_delivered`] has returned, and how often one came again.
    delivered_ids: HashSet<String>,
    redelivered: usize,
}

impl Sink {
    /// Start on `port` (0 for any) for cities with these secrets.
    pub async fn start(port: u16, secrets: HashMap<String, SigningSecret>) -> Sink {
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(HashMap::new()));
        let held = tokio::sync::watch::Sender::new(HashSet::new());
        let state = SinkState { secrets: Arc::new(secrets), script: script.clone(), tx, held: held.clone() };
        let app = axum::Router::new().route("/{city}", axum::routing::post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Sink { addr, script, rx, held, task, delivered_ids: HashSet::new(), redelivered: 0 }
    }

    /// The URL the bridge should post `city`'s webhooks to.
    pub fn url(&self, city: &str) -> String {
        format!("http://{}/{city}", self.addr)
    }

    /// Answer the next requests for `city` with these statuses, then 204 again.
    pub fn script(&self, city: &str, statuses: &[u16]) {
        self.script.lock().unwrap().entry(city.to_string()).or_default().extend(statuses);
    }

    /// Hold requests for `city`: they are reported when they arrive but answered only after
    /// [`Sink::release`].
    pub fn hold(&self, city: &str) {
        self.held.send_modify(|h| {
            h.insert(city.to_string());
        });
    }

    pub fn release(&self, city: &str) {
        self.held.send_modify(|h| {
            h.remove(city);
        });
    }

    /// Forget what was scripted for `city`: answer 204 from now on.
    pub fn clear_script(&self, city: &str) {
        self.script.lock().unwrap().remove(city);
    }

    /// The next request, whatever it is.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(DEADLINE, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no webhook reached the sink within {DEADLINE:?}"))
            .expect("sink stopped")
    }

    /// The next new delivery: a request answered with a 2xx under a webhook-id not delivered
    /// before. A repeat of a delivered webhook-id is what a city's system deduplicates (the
    /// bridge promises at-least-once under a stable id: a delivery made just before a crash,
    /// whose outcome was not yet on disk, is made again); it is skipped here and counted in
    /// [`Sink::redelivered`], so a test states how many it accepts instead of reading a repeat
    /// as the next message.
    pub async fn next_delivered(&mut self) -> Received {
        loop {
            let r = self.next().await;
            if !(200..300).contains(&r.answered) {
                continue;
            }
            if self.delivered_ids.insert(r.webhook_id.clone()) {
                return r;
            }
            self.redelivered += 1;
        }
    }

    /// How many deliveries [`Sink::next_delivered`] skipped as repeats of a webhook-id it had
    /// already returned.
    pub fn redelivered(&self) -> usize {
        self.redelivered
    }

    /// Requests already received and not yet taken, without waiting.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(r) = self.rx.try_recv() {
            out.push(r);
        }
        out
    }

    /// Stop listening (the port refuses connections afterwards).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn receive(State(s): State<SinkState>, Path(city): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let webhook_id = h("webhook-id");
    let verified = s.secrets.get(&city).is_some_and(|secret| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        secret
            .verify(&webhook_id, &h("webhook-timestamp"), &h("webhook-signature"), &body, now, Duration::from_secs(300))
            .is_ok()
    });
    let Ok(post) = serde_json::from_slice::<OutboundPost>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let answered = s.script.lock().unwrap().get_mut(&city).and_then(|q| q.pop_front()).unwrap_or(204);
    let city_name = city.clone();
    let received = Received {
        city,
        webhook_id,
        verified,
        post,
        answered,
        at: std::time::Instant::now(),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: body.to_vec(),
    };
    let _ = s.tx.send(received);
    let mut held = s.held.subscribe();
    let _ = held.wait_for(|h| !h.contains(&city_name)).await;
    StatusCode::from_u16(answered).unwrap()
}
