//! `--mode forward`: the floor under the bridge's CPU per message on this machine.
//!
//! A relay of a webhook is at least two signed HTTP hops. This mode measures them alone: a
//! child process (this binary, run as `c2c-loadgen __forwarder SINK`) takes each signed POST,
//! checks its Standard Webhooks signature, reads its JSON, signs a body with the same text and
//! POSTs it to the sink with reqwest (the bridge's HTTP client, set up as the bridge sets it
//! up), and answers 202 once the sink has answered. No store, no routing, no language tag, no
//! queue. Then the bridge runs the same load (`main.rs`), and both CPU figures per message are
//! printed side by side, measured the same way (`/proc/PID/stat` of the process, over the phase).
//!
//! The forwarder uses glibc's malloc (the bridge links jemalloc), and answers after the
//! delivery rather than before it: it is a yardstick for the HTTP stack's share, not a bridge.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use c2c_webhook::SigningSecret;
use tokio::io::AsyncBufReadExt;

use crate::client::{self, Load, Target};
use crate::daemon;
use crate::servers::Sink;

/// The first argument that makes this binary the forwarder child.
pub const CHILD: &str = "__forwarder";

/// Where the child finds the secret it checks and signs with.
const SECRET_ENV: &str = "C2C_BENCH_WHSEC";

/// What the client posts (see `client::body`); the forwarder reads it as the bridge would.
#[derive(serde::Deserialize)]
struct Post {
    from: String,
    thread_key: String,
    subject: String,
    text: String,
}

/// What it posts on (the fields the sink reads, and a sender).
#[derive(serde::Serialize)]
struct Out<'a> {
    from: &'a str,
    thread_key: &'a str,
    subject: &'a str,
    text: &'a str,
}

struct Forwarder {
    secret: SigningSecret,
    client: reqwest::Client,
    sink: reqwest::Url,
}

/// The child: serve on a free loopback port, print it, forward until stdin closes.
pub fn child(sink: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let forwarder = Arc::new(Forwarder {
            // The parent's secret (each run makes its own).
            secret: SigningSecret::parse(&std::env::var(SECRET_ENV)?)?,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(256)
                .tcp_nodelay(true)
                .build()?,
            sink: reqwest::Url::parse(&format!("http://{sink}/leeds"))?,
        });
        let app = axum::Router::new().route("/hooks/{city}", axum::routing::post(forward)).with_state(forwarder);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        // The parent closes stdin (or dies): stop.
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await?;
        Ok(())
    })
}

async fn forward(State(f): State<Arc<Forwarder>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let now = c2c_now();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    if f.secret.verify(id, timestamp, signature, &body, now, Duration::from_secs(300)).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(post) = serde_json::from_slice::<Post>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(out) = serde_json::to_vec(&Out {
        from: &post.from,
        thread_key: &post.thread_key,
        subject: &post.subject,
        text: &post.text,
    }) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let out_id = format!("{id}-out");
    let signature = f.secret.sign(&out_id, now, &out);
    let sent = f
        .client
        .post(f.sink.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &out_id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(out)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => StatusCode::ACCEPTED,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn c2c_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// What the two hops alone did at full speed.
pub struct Floor {
    pub forwarded: u64,
    pub per_s: f64,
    /// CPU time per message: the forwarder, and this process (client + sink).
    pub cpu_us: f64,
    pub self_cpu_us: f64,
}

impl Floor {
    pub fn describe(&self) -> String {
        format!(
            "forwarded: {} ({:.0}/s)\nCPU per message: forwarder {:.0} µs, client+sink {:.0} µs",
            self.forwarded, self.per_s, self.cpu_us, self.self_cpu_us
        )
    }
}

/// The forwarder (a child process) at full speed under `load`, delivering to `sink`.
pub async fn two_hops(sink: &Arc<Sink>, load: &Load) -> anyhow::Result<Floor> {
    sink.reset();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg(CHILD)
        .arg(sink.addr.to_string())
        .env(SECRET_ENV, daemon::demo_secret())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("the forwarder's stdout"))?;
    let line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the forwarder ended before it listened"))?;
    let addr: SocketAddr = line.trim().parse()?;
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("the forwarder's pid"))?;
    let target = Target { addr, path: "/hooks/leeds".into(), secret: SigningSecret::parse(&daemon::demo_secret())? };
    let stat = format!("/proc/{pid}/stat");
    let (cpu_child, cpu_self, start) = (daemon::cpu_of(&stat), daemon::cpu_of("/proc/self/stat"), Instant::now());
    let r = client::closed_loop(&target, load, Some(sink.clone())).await?;
    anyhow::ensure!(
        r.accepted > 0,
        "the forwarder accepted nothing: {} refused (4xx), {} errors (5xx or connection)",
        r.refused,
        r.errors
    );
    let forwarded = sink.wait_for(r.accepted, Duration::from_secs(60)).await;
    anyhow::ensure!(forwarded >= r.accepted, "only {forwarded} of {} accepted messages arrived", r.accepted);
    let per = |cpu: f64| cpu * 1e6 / forwarded as f64;
    Ok(Floor {
        forwarded,
        per_s: forwarded as f64 / start.elapsed().as_secs_f64(),
        cpu_us: per(daemon::cpu_of(&stat) - cpu_child),
        self_cpu_us: per(daemon::cpu_of("/proc/self/stat") - cpu_self),
    })
}
