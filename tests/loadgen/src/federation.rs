//! `--mode federation`: what does a message pay for crossing two instances (issue 16), compared
//! with staying within one?
//!
//! Both setups run in one process, against the same sink, with the same client and message
//! sizes:
//!
//! - **within one**: one bridge hosts Leeds and Hangzhou (both on webhooks, one partnership),
//!   as in the webhook mode;
//! - **across two**: bridge A (`instance = "a"`) hosts Leeds, bridge B (`instance = "b"`) hosts
//!   Hangzhou; each declares the other's city `peer = "…"`, the same partnership with its own
//!   city's channel only, a key file of its own and the other as its one `[[peers]]` entry with
//!   its public key pinned. A post Leeds sends to A is committed on A, sent as a signed envelope
//!   to B's `POST /peer/v1/inbox`, committed again on B and delivered by B to Hangzhou's system.
//!
//! Leeds posts to `/hooks/leeds` (of the one bridge, or of A); the sink is Hangzhou's system.
//! For each setup: full speed (closed loop: relayed messages/s, latency send→sink) and a fixed
//! offered rate (open loop, latency from each message's scheduled send time), each on fresh
//! bridges and stores after a short warm-up (so the first envelope does not pay for A's first
//! connection to B). Every message is checked to arrive exactly once.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use c2c_webhook::signature::asymmetric::SecretKey;
use c2c_webhook::signature::key_file;

use crate::bench_config;
use crate::client::{self, Load, Target};
use crate::daemon::{self, Bridge};
use crate::servers::Sink;
use crate::steal;

/// What the benchmark is given.
pub struct Federation<'a> {
    pub bin: &'a Path,
    pub seconds: u64,
    pub connections: usize,
    pub text_bytes: usize,
    pub conversations: u64,
    /// The fixed offered rate (messages/s).
    pub rate: u64,
    /// The bridges' `commit_window` (their default when not given).
    pub commit_window: Option<&'a str>,
}

/// Messages sent (and waited for) before each measured phase.
const WARM_UP: u64 = 200;

/// The bridges of one setup.
enum Setup {
    Within(Bridge),
    Across { a: Bridge, b: Bridge, _keys: tempfile::TempDir },
}

impl Setup {
    async fn start(f: &Federation<'_>, sink: SocketAddr, across: bool) -> anyhow::Result<Setup> {
        if !across {
            return Ok(Setup::Within(
                Bridge::start(
                    f.bin,
                    sink,
                    "group",
                    &f.commit_window.map(|w| format!("commit_window = \"{w}\"\n")).unwrap_or_default(),
                )
                .await?,
            ));
        }
        let keys = tempfile::tempdir()?;
        let (key_a, key_b) = (SecretKey::generate()?, SecretKey::generate()?);
        let (file_a, file_b) = (keys.path().join("a.key"), keys.path().join("b.key"));
        key_file::write(&file_a, &key_a, false)?;
        key_file::write(&file_b, &key_b, false)?;
        // Both addresses first: each config names the other's.
        let (addr_a, addr_b) = (daemon::free_addr()?, daemon::free_addr()?);
        anyhow::ensure!(addr_a != addr_b, "the same free port twice");
        let commit = |instance: &str| {
            let window = f.commit_window.map(|w| format!("\ncommit_window = \"{w}\"")).unwrap_or_default();
            format!("instance = \"{instance}\"\ncommit = \"group\"{window}")
        };
        let config_a = [
            bench_config::bridge(addr_a, &commit("a"), ""),
            bench_config::city("leeds", &bench_config::webhook(sink, "leeds"), ""),
            bench_config::peer_city("hangzhou", "b"),
            bench_config::federation(&file_a, "b", addr_b, &key_b.public_key().to_string()),
            bench_config::partnership_local(("leeds", "hangzhou"), ("leeds", "webhook")),
        ]
        .concat();
        let config_b = [
            bench_config::bridge(addr_b, &commit("b"), ""),
            bench_config::city("hangzhou", &bench_config::webhook(sink, "hangzhou"), ""),
            bench_config::peer_city("leeds", "a"),
            bench_config::federation(&file_b, "a", addr_a, &key_a.public_key().to_string()),
            bench_config::partnership_local(("leeds", "hangzhou"), ("hangzhou", "webhook")),
        ]
        .concat();
        // The receiver first, so A finds B listening from its first envelope.
        let b = Bridge::start_on(f.bin, addr_b, Vec::new(), &config_b).await?;
        let a = Bridge::start_on(f.bin, addr_a, Vec::new(), &config_a).await?;
        Ok(Setup::Across { a, b, _keys: keys })
    }

    /// Where Leeds posts.
    fn target(&self) -> Target {
        match self {
            Setup::Within(b) => b.target("leeds"),
            Setup::Across { a, .. } => a.target("leeds"),
        }
    }

    /// The bridges, the one Leeds posts to first.
    fn bridges(&self) -> Vec<(&'static str, &Bridge)> {
        match self {
            Setup::Within(b) => vec![("bridge", b)],
            Setup::Across { a, b, .. } => vec![("A", a), ("B", b)],
        }
    }

    /// SIGTERM each bridge (the sender first) and wait; their directories and the keys go with
    /// `self`.
    async fn stop(self) -> anyhow::Result<()> {
        match self {
            Setup::Within(mut b) => b.stop().await,
            Setup::Across { mut a, mut b, _keys } => {
                a.stop().await?;
                b.stop().await
            }
        }
    }

    /// What each bridge says about its commits, its deliveries and its log.
    async fn describe(&self) -> String {
        let mut out = vec![format!("counters since each bridge started ({WARM_UP} warm-up messages included):")];
        for (name, bridge) in self.bridges() {
            out.push(format!("{name}: {}", bridge.commit_stats().await.replace('\n', "; ")));
            let attempts = bridge.metric_lines("c2c_deliveries_total{").await;
            out.push(format!("{name}: delivery attempts: {}", attempts.join(", ")));
            out.push(format!("{name}: {}", bridge.log_summary()));
        }
        out.join("\n")
    }
}

/// What one phase measured.
struct Phase {
    accepted: u64,
    refused: u64,
    errors: u64,
    relayed: u64,
    duplicates: u64,
    /// Messages accepted per second while the client sent.
    accepted_per_s: f64,
    /// Relayed messages per second, until the last arrival.
    relayed_per_s: f64,
    /// From the client's last answer to the sink's last arrival.
    drain: Duration,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    /// CPU time per relayed message: the bridge(s), and this process (client + sink).
    bridges_cpu_us: f64,
    self_cpu_us: f64,
    steal: String,
}

impl Phase {
    fn lost(&self) -> u64 {
        self.accepted.saturating_sub(self.relayed)
    }

    fn describe(&self) -> String {
        format!(
            "accepted: {} ({:.0}/s; refused {}, errors {}), relayed: {} ({:.0}/s; the last {:.2} s after the client's last answer), duplicates: {}, lost: {}\n\
             latency send→sink: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms\n\
             CPU per relayed message: bridge(s) {:.0} µs, client+sink {:.0} µs; CPU stolen by the hypervisor: {}",
            self.accepted,
            self.accepted_per_s,
            self.refused,
            self.errors,
            self.relayed,
            self.relayed_per_s,
            self.drain.as_secs_f64(),
            self.duplicates,
            self.lost(),
            self.p50,
            self.p99,
            self.p999,
            self.max,
            self.bridges_cpu_us,
            self.self_cpu_us,
            self.steal
        )
    }
}

/// Full speed, or a fixed offered rate.
#[derive(Clone, Copy)]
enum Pace {
    Full,
    Rate(u64),
}

pub async fn run(f: Federation<'_>) -> anyhow::Result<()> {
    println!(
        "# c2c-loadgen --mode federation: {} connections, {}-byte texts, {} conversations, {}s phases, {} msg/s offered",
        f.connections, f.text_bytes, f.conversations, f.seconds, f.rate
    );
    println!("machine: {} cores; {}", std::thread::available_parallelism()?.get(), crate::cpu_model());
    let sink = Sink::start().await?;
    let mut results = Vec::new();
    for (across, pace) in
        [(false, Pace::Full), (true, Pace::Full), (false, Pace::Rate(f.rate)), (true, Pace::Rate(f.rate))]
    {
        let setup = Setup::start(&f, sink.addr, across).await?;
        let measured = phase(&f, &sink, &setup, pace).await;
        let heading = match pace {
            Pace::Full => "full speed".to_string(),
            Pace::Rate(r) => format!("{r} msg/s offered ({}s)", f.seconds),
        };
        let setup_name = if across { "across two instances" } else { "within one instance" };
        let stats = setup.describe().await;
        setup.stop().await?;
        let measured = measured?;
        println!("\n## {setup_name}, {heading}\n{}\n{stats}", measured.describe());
        results.push(measured);
    }
    let [within_full, across_full, within_rate, across_rate] =
        <[Phase; 4]>::try_from(results).map_err(|_| anyhow::anyhow!("four phases were measured"))?;

    let ratio = |a: f64, w: f64| if w > 0.0 { format!("{:.2}×", a / w) } else { "n/a".into() };
    println!("\n## summary");
    println!("| measure | within one instance | across two instances | across / within |\n|---|---|---|---|");
    println!(
        "| accepted msg/s at full speed (answers to the client) | {:.0} | {:.0} | {} |",
        within_full.accepted_per_s,
        across_full.accepted_per_s,
        ratio(across_full.accepted_per_s, within_full.accepted_per_s)
    );
    println!(
        "| relayed msg/s at full speed | {:.0} | {:.0} | {} |",
        within_full.relayed_per_s,
        across_full.relayed_per_s,
        ratio(across_full.relayed_per_s, within_full.relayed_per_s)
    );
    println!(
        "| latency at full speed, p50 / p99 | {:.1} / {:.1} ms | {:.1} / {:.1} ms | p99 {} |",
        within_full.p50,
        within_full.p99,
        across_full.p50,
        across_full.p99,
        ratio(across_full.p99, within_full.p99)
    );
    println!(
        "| last arrival after the client's last answer, full speed | {:.2} s | {:.2} s | |",
        within_full.drain.as_secs_f64(),
        across_full.drain.as_secs_f64()
    );
    println!(
        "| latency at {} msg/s offered, p50 / p99 / p99.9 | {:.1} / {:.1} / {:.1} ms | {:.1} / {:.1} / {:.1} ms | p99 {} |",
        f.rate,
        within_rate.p50,
        within_rate.p99,
        within_rate.p999,
        across_rate.p50,
        across_rate.p99,
        across_rate.p999,
        ratio(across_rate.p99, within_rate.p99)
    );
    println!(
        "| CPU per relayed message at full speed, bridge(s) / client+sink | {:.0} / {:.0} µs | {:.0} / {:.0} µs | bridge(s) {} |",
        within_full.bridges_cpu_us,
        within_full.self_cpu_us,
        across_full.bridges_cpu_us,
        across_full.self_cpu_us,
        ratio(across_full.bridges_cpu_us, within_full.bridges_cpu_us)
    );
    println!(
        "| duplicates / lost, full speed; {} msg/s | {} / {}; {} / {} | {} / {}; {} / {} | |",
        f.rate,
        within_full.duplicates,
        within_full.lost(),
        within_rate.duplicates,
        within_rate.lost(),
        across_full.duplicates,
        across_full.lost(),
        across_rate.duplicates,
        across_rate.lost()
    );
    println!(
        "| CPU steal, full speed / {} msg/s | {} / {} | {} / {} | |",
        f.rate, within_full.steal, within_rate.steal, across_full.steal, across_rate.steal
    );
    let clean =
        [&within_full, &across_full, &within_rate, &across_rate].iter().all(|p| p.duplicates == 0 && p.lost() == 0);
    anyhow::ensure!(clean, "some messages were duplicated or lost (see above)");
    Ok(())
}

/// Warm `setup` up, then measure one phase on it.
async fn phase(f: &Federation<'_>, sink: &Arc<Sink>, setup: &Setup, pace: Pace) -> anyhow::Result<Phase> {
    let target = setup.target();
    sink.reset();
    let warm =
        client::closed_loop_count(&target, &Load::new(4, Duration::ZERO, f.text_bytes, f.conversations), WARM_UP)
            .await?;
    let got = sink.wait_for(warm.accepted, Duration::from_secs(60)).await;
    anyhow::ensure!(
        warm.accepted == WARM_UP && got == WARM_UP,
        "warm-up: {} of {WARM_UP} accepted, {got} arrived",
        warm.accepted
    );
    sink.reset();

    let bridges = setup.bridges();
    let cpu_of_bridges = || bridges.iter().map(|(_, b)| b.cpu_seconds()).sum::<f64>();
    let duration = Duration::from_secs(f.seconds);
    let (cpu_bridges, cpu_self, cpu) = (cpu_of_bridges(), daemon::cpu_of("/proc/self/stat"), steal::CpuTimes::now());
    let start = Instant::now();
    let r = match pace {
        Pace::Full => {
            let load = Load::new(f.connections, duration, f.text_bytes, f.conversations);
            client::closed_loop(&target, &load, Some(sink.clone())).await?
        }
        Pace::Rate(rate) => {
            let load = Load::new(f.connections.max(8), duration, f.text_bytes, f.conversations);
            client::open_loop(&target, &load, rate, Some(sink.clone())).await?
        }
    };
    let answered = Instant::now();
    let relayed = sink.wait_for(r.accepted, Duration::from_secs(120)).await;
    let last = sink.last_arrival().unwrap_or_else(Instant::now);
    let until_relayed = last.duration_since(start);
    let bridges_cpu_us = (cpu_of_bridges() - cpu_bridges) * 1e6 / relayed.max(1) as f64;
    let self_cpu_us = (daemon::cpu_of("/proc/self/stat") - cpu_self) * 1e6 / relayed.max(1) as f64;
    let steal = steal::describe(cpu);
    // A repeat could only come from a delivery still in an outbox: wait until every bridge's is
    // empty before counting duplicates.
    for (_, b) in &bridges {
        b.wait_metric("c2c_outbox_depth", |v| v == 0.0).await?;
    }
    let lat = sink.latencies();
    Ok(Phase {
        accepted: r.accepted,
        refused: r.refused,
        errors: r.errors,
        relayed,
        duplicates: sink.duplicates(),
        accepted_per_s: r.accepted as f64 / r.elapsed.as_secs_f64(),
        relayed_per_s: relayed as f64 / until_relayed.as_secs_f64(),
        drain: last.saturating_duration_since(answered),
        p50: lat.p(50.0),
        p99: lat.p(99.0),
        p999: lat.p(99.9),
        max: lat.max(),
        bridges_cpu_us,
        self_cpu_us,
        steal,
    })
}
