//! The real daemon as a child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::DEADLINE;

/// The daemon could not bind its port: something else took it first.
#[derive(Debug)]
pub struct PortTaken(String);

impl std::fmt::Display for PortTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the port of {} was taken before c2c-bridge could listen on it", self.0)
    }
}

/// A running `c2c-bridge run`.
#[derive(Debug)]
pub struct Daemon {
    bin: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    pub base_url: String,
    child: Option<Child>,
}

impl Daemon {
    /// Start `bin run --config config` with `env`, logging to `log` (appended across restarts),
    /// and wait until `/healthz` answers.
    pub async fn start(bin: &Path, config: &Path, listen: &str, env: Vec<(String, String)>, log: &Path) -> Daemon {
        match Self::try_start(bin, config, listen, env, log).await {
            Ok(d) => d,
            Err(taken) => panic!("{taken}"),
        }
    }

    /// [`Daemon::start`], or `Err` when `listen`'s port was taken before the daemon could bind it.
    pub async fn try_start(
        bin: &Path,
        config: &Path,
        listen: &str,
        env: Vec<(String, String)>,
        log: &Path,
    ) -> Result<Daemon, PortTaken> {
        let mut d = Daemon {
            bin: bin.to_path_buf(),
            config: config.to_path_buf(),
            env,
            log: log.to_path_buf(),
            base_url: format!("http://{listen}"),
            child: None,
        };
        d.try_spawn().await?;
        Ok(d)
    }

    async fn spawn(&mut self) {
        if let Err(taken) = self.try_spawn().await {
            panic!("{taken}");
        }
    }

    async fn try_spawn(&mut self) -> Result<(), PortTaken> {
        // Only what this run of the daemon logs counts (the log is appended across restarts).
        let from = std::fs::metadata(&self.log).map(|m| m.len() as usize).unwrap_or(0);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(&self.bin)
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("C2C_LOG", "info,c2c_bridge=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting c2c-bridge");
        self.child = Some(child);
        self.wait_healthy(from).await
    }

    /// Wait until this daemon has bound its port (its own log says `listening`: another process
    /// on the port would answer `/healthz` too) and answers.
    async fn wait_healthy(&mut self, from: usize) -> Result<(), PortTaken> {
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            // The daemon's own info line (`c2c_bridge::app: listening`), not the bind error
            // (`c2c-bridge: listening on …: Address already in use`).
            let ours = self
                .log_text()
                .get(from..)
                .unwrap_or("")
                .lines()
                .any(|l| l.contains("c2c_bridge::app") && l.contains("listening"));
            // Any answer means the daemon is up; 503 only says a connector is not connected (yet).
            if ours
                && let Ok(r) = client.get(format!("{}/healthz", self.base_url)).send().await
                && (r.status().is_success() || r.status().as_u16() == 503)
            {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = self.log_text();
                if log.get(from..).unwrap_or("").contains("Address already in use") {
                    self.child = None;
                    return Err(PortTaken(self.base_url.clone()));
                }
                panic!("c2c-bridge exited with {status} before it was healthy; log:\n{log}");
            }
            assert!(start.elapsed() < DEADLINE, "c2c-bridge not healthy after {DEADLINE:?}; log:\n{}", self.log_text());
            // Readiness poll: there is no event to await from outside the process.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to drain or flush.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal_term();
        self.wait_exit().await
    }

    /// Send SIGTERM without waiting.
    pub fn signal_term(&self) {
        let child = self.child.as_ref().expect("running");
        let ok = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        assert!(ok.success());
    }

    /// Send SIGHUP (reload the config).
    pub fn signal_hup(&self) {
        let child = self.child.as_ref().expect("running");
        let ok = Command::new("kill").arg("-HUP").arg(child.id().to_string()).status().unwrap();
        assert!(ok.success());
    }

    /// Wait until the log contains `needle` (the daemon's own report of an event).
    pub async fn wait_log(&self, needle: &str) {
        self.wait_log_times(needle, 1).await;
    }

    /// Wait until the log contains `needle` at least `times` times (e.g. the second reload).
    pub async fn wait_log_times(&self, needle: &str, times: usize) {
        let start = Instant::now();
        while self.log_text().matches(needle).count() < times {
            assert!(
                start.elapsed() < DEADLINE,
                "`{needle}` not logged {times} times within {DEADLINE:?}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait for the process to exit (without blocking the test's runtime, which may be serving
    /// the sink the daemon is talking to).
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < DEADLINE, "c2c-bridge did not stop after SIGTERM; log:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Start again on the same config and data.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn().await;
    }

    /// Run another command of the binary (e.g. `conversations`) and return its output.
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap()
    }

    /// [`Daemon::command`] for one that should end by itself: killed (and the test failed) if it
    /// has not exited after `limit`. The exit is waited for on a thread of its own.
    pub fn command_within(&self, args: &[&str], limit: Duration) -> std::process::Output {
        let child = Command::new(&self.bin)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        let (exited, exit) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait_with_output());
        });
        match exit.recv_timeout(limit) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-KILL").arg(&pid).status();
                let out = exit.recv().unwrap().unwrap();
                panic!("`{}` still ran after {limit:?}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
            }
        }
    }

    /// GET a path of the daemon and return the body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.base_url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The value of one metric sample line of `/metrics` (0 when absent).
    pub async fn metric(&self, sample: &str) -> f64 {
        sample_value(&self.metrics_text().await, sample)
    }

    /// `/metrics`, with the admin token it needs (the world's `C2C_TEST_ADMIN_TOKEN`).
    async fn metrics_text(&self) -> String {
        let token = self.env.iter().find(|(k, _)| k == "C2C_TEST_ADMIN_TOKEN").map(|(_, v)| v.as_str());
        let (status, text) = self.get("/metrics", token).await;
        assert_eq!(status, 200, "/metrics: {text}");
        text
    }

    /// Wait until the metric `sample` satisfies `ready` (the daemon's own report that something
    /// happened), and return its value.
    pub async fn wait_metric(&self, sample: &str, ready: impl Fn(f64) -> bool) -> f64 {
        let start = Instant::now();
        loop {
            let v = self.metric(sample).await;
            if ready(v) {
                return v;
            }
            assert!(start.elapsed() < DEADLINE, "{sample} stayed at {v} for {DEADLINE:?}");
            // Polling the daemon's own report: it offers no event to await from outside the process.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Wait until every delivery the daemon has committed is done and its outcome is on disk:
    /// the outbox is empty and every delivered or retried attempt counted in
    /// `c2c_deliveries_total` is counted in `c2c_delivery_outcomes_recorded_total` too. From
    /// then on a `kill -9` repeats no delivery, and what a delivery returned (a Matrix event
    /// id a reply can point at) is known to the daemon.
    pub async fn settled(&self) {
        let start = Instant::now();
        loop {
            let text = self.metrics_text().await;
            let attempts: f64 = text
                .lines()
                .filter(|l| {
                    l.starts_with("c2c_deliveries_total{")
                        && (l.contains("status=\"delivered\"") || l.contains("status=\"temporary_failure\""))
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            let recorded = sample_value(&text, "c2c_delivery_outcomes_recorded_total");
            let depth = sample_value(&text, "c2c_outbox_depth");
            if depth == 0.0 && recorded == attempts {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "deliveries not settled after {DEADLINE:?}: outbox depth {depth}, {recorded} of {attempts} outcomes recorded"
            );
            // Polling the daemon's own report (as wait_metric).
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The value of `sample` in a `/metrics` text (0 when absent).
fn sample_value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of the c2c-bridge log ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
