//! The bridge under test: its config and process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use c2c_webhook::SigningSecret;

use crate::bench_config;
use crate::client::Target;

/// The secret every benchmark city signs with (generated per run).
pub fn demo_secret() -> String {
    use base64::Engine;
    static SECRET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SECRET
        .get_or_init(|| {
            let key: [u8; 32] = rand::random();
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
        })
        .clone()
}

/// A running `c2c-bridge run`.
pub struct Bridge {
    child: Option<Child>,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    /// What it was started with, for a restart.
    bin: std::path::PathBuf,
    env: Vec<(String, String)>,
}

impl Bridge {
    /// The daemon's "slow store flush" warnings so far: how many, and the slowest line.
    pub fn slow_flushes(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default();
        let slow: Vec<&str> = log.lines().filter(|l| l.contains("slow store flush")).collect();
        let ms = |l: &str| -> u64 {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("ms="))
                .and_then(|v| v.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
                .unwrap_or(0)
        };
        match slow.iter().max_by_key(|l| ms(l)) {
            None => "slow store flushes (over 100 ms): 0".into(),
            Some(worst) => format!("slow store flushes (over 100 ms): {}; slowest: {}", slow.len(), worst.trim()),
        }
    }

    /// Start the bridge with Leeds (the sender) and Hangzhou (the receiver, at the sink) on
    /// webhooks; `commit` is "group" or "each"; `extra`: more `[bridge]` lines.
    pub async fn start(bin: &Path, sink: SocketAddr, commit: &str, extra: &str) -> anyhow::Result<Bridge> {
        let window = extra;
        Self::start_with(bin, Vec::new(), |addr| {
            [
                bench_config::bridge(addr, &format!("commit = \"{commit}\"\n{window}"), ""),
                bench_config::city("leeds", &bench_config::webhook(sink, "leeds"), ""),
                bench_config::city("hangzhou", &bench_config::webhook(sink, "hangzhou"), ""),
                bench_config::partnership(("leeds", "webhook"), ("hangzhou", "webhook")),
            ]
            .concat()
        })
        .await
    }

    /// Start the bridge on the config `make` writes for listen address `addr`, with `env`.
    pub async fn start_with(
        bin: &Path,
        env: Vec<(String, String)>,
        make: impl FnOnce(SocketAddr) -> String,
    ) -> anyhow::Result<Bridge> {
        let addr = free_addr()?;
        Self::start_on(bin, addr, env, &make(addr)).await
    }

    /// Start the bridge listening on `addr` (its `config` says so), with `env`: for instances
    /// whose configs name each other's addresses, picked with [`free_addr`] before either starts.
    pub async fn start_on(
        bin: &Path,
        addr: SocketAddr,
        env: Vec<(String, String)>,
        config: &str,
    ) -> anyhow::Result<Bridge> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, config)?;
        if let Some(store) = PREFILL.get() {
            copy_store(store, &dir.path().join("data/store"))?;
        }
        let mut bridge = Bridge { child: None, addr, dir, bin: bin.to_path_buf(), env };
        bridge.spawn().await?;
        Ok(bridge)
    }

    /// Start the process on this bridge's config and data, and wait until it listens.
    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("daemon.log"))?;
        let child = Command::new(&self.bin)
            .args(["run", "--config"])
            .arg(self.dir.path().join("bench.toml"))
            .env("C2C_BENCH_WHSEC", demo_secret())
            .env("C2C_BENCH_ADMIN_TOKEN", crate::bench_config::ADMIN_TOKEN)
            .envs(self.env.iter().cloned())
            .env("C2C_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let start = Instant::now();
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(60), "the bridge did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Stop (SIGTERM) and start again on the same config and store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn().await
    }

    /// `kill -9` the process (no chance to flush or answer anything) and reap it.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Start the process again (after [`Bridge::stop`] or [`Bridge::kill9`]) on the same config
    /// and store, and wait until it listens.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "the bridge is still running");
        self.spawn().await
    }

    /// The config file it runs on.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("bench.toml")
    }

    /// The file its stdout and stderr go to.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("daemon.log")
    }

    /// The environment it runs with (for the store tools, run on the same config).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("C2C_BENCH_WHSEC".to_string(), demo_secret()),
            ("C2C_BENCH_ADMIN_TOKEN".to_string(), crate::bench_config::ADMIN_TOKEN.to_string()),
        ];
        env.extend(self.env.iter().cloned());
        env
    }

    /// Stop (SIGTERM) and keep its directory (config, store, log) instead of removing it with
    /// `self`: for looking at a store after a failed run. Returns where it is.
    pub async fn stop_and_keep(mut self) -> anyhow::Result<std::path::PathBuf> {
        self.stop().await?;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir()?);
        Ok(dir.keep())
    }

    pub fn target(&self, city: &str) -> Target {
        Target {
            addr: self.addr,
            path: format!("/hooks/{city}"),
            secret: SigningSecret::parse(&demo_secret()).expect("a valid secret"),
        }
    }

    /// Mean messages per group commit so far, from the bridge's own metrics.
    pub async fn commit_stats(&self) -> String {
        let text = match fetch(self.addr, "/metrics").await {
            Ok(t) => t,
            Err(e) => return format!("metrics unavailable: {e}"),
        };
        let value = |name: &str| sample(&text, name);
        let (sum, count) = (value("c2c_commit_batch_messages_sum"), value("c2c_commit_batch_messages_count"));
        let flushes = value("c2c_store_flushes_total");
        // Waits for the disk: how many groups waited longer than 32 ms, and the worst bucket.
        // A histogram's tail: how many observations exceeded `limit` seconds, and the bucket
        // that holds the slowest.
        let tail = |name: &str, limit: f64| {
            let prefix = format!("{name}_bucket{{le=\"");
            let buckets: Vec<(f64, f64)> = text
                .lines()
                .filter_map(|l| l.strip_prefix(prefix.as_str()))
                .filter_map(|l| {
                    let (le, n) = l.split_once("\"} ")?;
                    Some((if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? }, n.trim().parse().ok()?))
                })
                .collect();
            let total = buckets.last().map(|b| b.1).unwrap_or(0.0);
            let within = buckets.iter().filter(|b| b.0 <= limit).map(|b| b.1).fold(0.0, f64::max);
            let worst = buckets.iter().find(|b| b.1 >= total).map(|b| b.0).unwrap_or(0.0);
            format!("{:.0} over {:.0} ms, all within {:.1} ms", total - within, limit * 1000.0, worst * 1000.0)
        };
        format!(
            "committer groups: {count:.0} ({:.1} messages each); store flushes: {flushes:.0} ({:.1} messages each)\n\
             writing groups: {}; waiting for the flush: {}",
            if count > 0.0 { sum / count } else { 0.0 },
            if flushes > 0.0 { sum / flushes } else { 0.0 },
            tail("c2c_commit_stage_seconds", 0.0105),
            tail("c2c_commit_durable_wait_seconds", 0.033),
        )
    }

    /// The metric lines whose series starts with `prefix` (name and labels, value).
    pub async fn metric_lines(&self, prefix: &str) -> Vec<String> {
        let text = fetch(self.addr, "/metrics").await.unwrap_or_default();
        text.lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
    }

    /// The daemon's log (warnings and errors only): how many lines, and the first.
    pub fn log_summary(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default();
        match log.lines().next() {
            None => "daemon log: empty".into(),
            Some(first) => format!("daemon log: {} lines; first: {}", log.lines().count(), first.trim()),
        }
    }

    /// The value of one metric line (name with labels, exactly as exposed), 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        sample(&fetch(self.addr, "/metrics").await.unwrap_or_default(), series)
    }

    /// Poll `/metrics` until `series` satisfies `ready` (10 minutes at most).
    pub async fn wait_metric(&self, series: &str, ready: impl Fn(f64) -> bool) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            let v = self.metric(series).await;
            if ready(v) {
                return Ok(());
            }
            anyhow::ensure!(start.elapsed() < Duration::from_secs(600), "{series} stuck at {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Resident set size now, KiB.
    pub fn rss_kib(&self) -> u64 {
        memory_of(self.pid()).rss
    }

    /// CPU seconds (user + system) the bridge has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// Sample RSS every 100 ms until stopped; the peak is returned.
    pub fn rss_sampler(&self) -> Sampler {
        let pid = self.pid();
        let peak = Arc::new(AtomicU64::new(0));
        let anon = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, a, s) = (peak.clone(), anon.clone(), stop.clone());
        let task = tokio::spawn(async move {
            loop {
                let now = memory_of(pid);
                p.fetch_max(now.rss, Ordering::Relaxed);
                a.fetch_max(now.anon, Ordering::Relaxed);
                if s.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Sampler { peak, anon, stop, task }
    }

    /// SIGTERM and wait.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
            let start = Instant::now();
            while child.try_wait()?.is_none() {
                if start.elapsed() > Duration::from_secs(30) {
                    child.kill()?;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A running RSS sampler.
pub struct Sampler {
    peak: Arc<AtomicU64>,
    anon: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// The highest resident set size a [`Sampler`] saw, and the highest of its anonymous part, KiB.
///
/// RSS counts the pages of the program's own file it has touched (code, read-only data) beside
/// what it allocated (`RssAnon`: heap, stacks); the kernel maps code pages in blocks around each
/// one executed, so the file part follows how the binary is laid out more than what the daemon
/// holds.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    pub rss: u64,
    pub anon: u64,
}

impl Sampler {
    pub async fn stop(self) -> Peak {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        Peak { rss: self.peak.load(Ordering::Relaxed), anon: self.anon.load(Ordering::Relaxed) }
    }
}

/// A loopback address with a port free now (for a bridge to listen on).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// KiB as MiB with one decimal, for reports: a whole number would hide whether a peak of
/// "30 MiB" is under or over a 30 MiB goal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// `VmRSS` and `RssAnon` of a process now (0 when it is gone), KiB.
fn memory_of(pid: u32) -> Peak {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Peak { rss: field("VmRSS:"), anon: field("RssAnon:") }
}

/// GET a path over a fresh connection.
async fn fetch(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let token = crate::bench_config::ADMIN_TOKEN;
    s.write_all(format!("GET {path} HTTP/1.0\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\r\n").as_bytes())
        .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

/// The value of the metric line `series` (name with labels, exactly as exposed) in `/metrics`
/// text, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse::<f64>().ok())).unwrap_or(0.0)
}

/// utime + stime of a /proc/.../stat file, in seconds.
pub fn cpu_of(stat_path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(stat_path) else { return 0.0 };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The store every bridge starts on (`--prefill`), copied in before it starts.
static PREFILL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Start every bridge of this run on a copy of the store in `dir`.
pub fn prefill(dir: std::path::PathBuf) {
    let _ = PREFILL.set(dir);
}

/// Copy a store directory (files only, one level: sled's and redb's layouts), with the 0700
/// mode the daemon wants.
fn copy_store(from: &Path, to: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    for dir in [to.parent().expect("data/store"), to] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let started = Instant::now();
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            bytes += std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        } else if entry.file_type()?.is_dir() {
            copy_store(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    eprintln!("prefilled the store with {} MiB in {:.1} s", bytes >> 20, started.elapsed().as_secs_f64());
    Ok(())
}
