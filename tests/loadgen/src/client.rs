//! The client: keep-alive HTTP/1.1 connections posting signed messages, closed-loop (as fast
//! as answers come back) or open-loop (at a fixed offered rate, latency measured from the
//! intended send time so a slow server cannot hide its queueing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use c2c_webhook::SigningSecret;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use crate::servers::Sink;

/// Where requests go.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub secret: SigningSecret,
}

/// The shape of the load.
#[derive(Clone)]
pub struct Load {
    pub connections: usize,
    pub duration: Duration,
    pub conversations: u64,
    padding: Arc<str>,
    /// The contact the messages are from.
    pub from: Arc<str>,
}

impl Load {
    pub fn new(connections: usize, duration: Duration, text_bytes: usize, conversations: u64) -> Self {
        Self {
            connections,
            duration,
            conversations,
            padding: "x".repeat(text_bytes.saturating_sub(24)).into(),
            from: "leeds-jo".into(),
        }
    }
}

/// Sequence numbers are global across phases, so every message of a run is unique.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// What a phase did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub completed: u64,
    /// 2xx answers.
    pub accepted: u64,
    /// 4xx answers.
    pub refused: u64,
    /// 5xx answers and connection errors.
    pub errors: u64,
    pub elapsed: Duration,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    errors: AtomicU64,
}

fn body(seq: u64, load: &Load) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "from": &*load.from,
        "partnership": "bench",
        "thread_key": format!("t{}", seq % load.conversations),
        "subject": "Benchmark",
        "text": format!("bench {seq} {}", load.padding),
    }))
    .expect("static JSON")
}

pub async fn connect(addr: SocketAddr) -> anyhow::Result<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(send)
}

/// Send message `seq` on `conn`; returns the status.
async fn send(
    conn: &mut http1::SendRequest<Full<Bytes>>,
    target: &Target,
    load: &Load,
    seq: u64,
) -> anyhow::Result<u16> {
    post_signed(conn, target, &format!("bench-{seq}"), Bytes::from(body(seq, load))).await
}

/// POST `body` signed as `target`'s city (Standard Webhooks) under `webhook-id` `id` on `conn`;
/// the status, once the answer's body is read.
pub async fn post_signed(
    conn: &mut http1::SendRequest<Full<Bytes>>,
    target: &Target,
    id: &str,
    body: Bytes,
) -> anyhow::Result<u16> {
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let signature = target.secret.sign(id, ts, &body);
    let req = Request::post(&target.path)
        .header("host", target.addr.to_string())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(body))?;
    conn.ready().await?;
    let resp = conn.send_request(req).await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

fn tally(c: &Counters, r: anyhow::Result<u16>) {
    match r {
        Ok(s) if (200..300).contains(&s) => c.accepted.fetch_add(1, Ordering::Relaxed),
        Ok(s) if (400..500).contains(&s) => c.refused.fetch_add(1, Ordering::Relaxed),
        _ => c.errors.fetch_add(1, Ordering::Relaxed),
    };
}

fn outcome(c: &Counters, elapsed: Duration) -> Outcome {
    let accepted = c.accepted.load(Ordering::Relaxed);
    let refused = c.refused.load(Ordering::Relaxed);
    let errors = c.errors.load(Ordering::Relaxed);
    Outcome { completed: accepted + refused + errors, accepted, refused, errors, elapsed }
}

/// Every connection sends its next request as soon as the previous one is answered.
pub async fn closed_loop(target: &Target, load: &Load, sink: Option<Arc<Sink>>) -> anyhow::Result<Outcome> {
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let deadline = start + load.duration;
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (target, load, counters, sink) = (target.clone(), load.clone(), counters.clone(), sink.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(target.addr).await?;
            while Instant::now() < deadline {
                let seq = SEQ.fetch_add(1, Ordering::Relaxed);
                if let Some(s) = &sink {
                    s.sent(seq, Instant::now());
                }
                let r = send(&mut conn, &target, &load, seq).await;
                if r.is_err() {
                    conn = connect(target.addr).await?;
                }
                tally(&counters, r);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(outcome(&counters, start.elapsed()))
}

/// Send exactly `count` messages as fast as answers come back.
pub async fn closed_loop_count(target: &Target, load: &Load, count: u64) -> anyhow::Result<Outcome> {
    let counters = Arc::new(Counters::default());
    let first = SEQ.fetch_add(count, Ordering::Relaxed);
    let next = Arc::new(AtomicU64::new(first));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (target, load, counters, next) = (target.clone(), load.clone(), counters.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(target.addr).await?;
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= first + count {
                    return anyhow::Ok(());
                }
                let r = send(&mut conn, &target, &load, seq).await;
                if r.is_err() {
                    conn = connect(target.addr).await?;
                }
                tally(&counters, r);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(outcome(&counters, start.elapsed()))
}

/// Messages are sent at `rate` per second, each at its scheduled time (spread over the
/// connections); latency counts from the scheduled time.
pub async fn open_loop(target: &Target, load: &Load, rate: u64, sink: Option<Arc<Sink>>) -> anyhow::Result<Outcome> {
    let counters = Arc::new(Counters::default());
    let total = rate * load.duration.as_secs();
    let first = SEQ.fetch_add(total, Ordering::Relaxed);
    let start = Instant::now() + Duration::from_millis(50);
    let n = load.connections as u64;
    let mut tasks = Vec::new();
    for w in 0..n {
        let (target, load, counters, sink) = (target.clone(), load.clone(), counters.clone(), sink.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(target.addr).await?;
            let mut i = w;
            while i < total {
                let at = start + Duration::from_nanos(i * 1_000_000_000 / rate);
                tokio::time::sleep_until(at.into()).await;
                let seq = first + i;
                if let Some(s) = &sink {
                    s.sent(seq, at);
                }
                let r = send(&mut conn, &target, &load, seq).await;
                if r.is_err() {
                    conn = connect(target.addr).await?;
                }
                tally(&counters, r);
                i += n;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(outcome(&counters, start.elapsed()))
}
