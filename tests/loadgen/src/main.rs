//! `c2c-loadgen`: how fast does c2c-bridge relay, compared with a bare HTTP echo endpoint?
//!
//! One run starts, on loopback: an echo server and a sink (a city's system that counts what it
//! receives) in this process, and the real `c2c-bridge` binary on a generated config (durable:
//! group commit, or one flush per message for the baseline). Then it measures, with the same
//! client (signed requests, keep-alive connections):
//!
//! 1. the echo server at full speed (requests/s): the yardstick for this machine;
//! 2. the bridge at full speed: accepted/s, relayed/s (delivered to the sink), latency from send
//!    to arrival at the sink;
//! 3. the bridge at fixed offered rates (open loop; latency from the intended send time);
//! 4. the bridge at full speed with `commit = "each"` (one fsync per message): the baseline
//!    group commit is compared with;
//!
//! and the daemon's RSS at rest and under load. Every relayed message is checked to arrive
//! exactly once. `--mode outage` measures instead the daemon's memory while a receiver is down
//! and its queue grows (`outage`); `--mode federation` what a message pays for crossing two
//! instances rather than staying within one (`federation`); `--mode killrounds` whether every
//! acknowledged message is delivered exactly once across `kill -9` rounds (`killrounds`).
//! `--prefill DIR` starts every bridge on a copy of a stopped daemon's store (for example the
//! million messages `store_growth` kept), so the relay is measured with that much stored.
//!
//! # Layout
//! - `client`: keep-alive HTTP/1.1 connections posting signed messages.
//! - `servers`: the echo server and the sink.
//! - `daemon`: the bridge process and its config.
//! - `stats`: latency percentiles.
//! - `steal`: CPU time the hypervisor took during each phase.
//! - `outage`: a deep queue against a receiver that is down.
//! - `federation`: across two instances against within one.
//! - `killrounds`: `kill -9` rounds under load, every acknowledged message checked.
//! - `forward`: two signed HTTP hops alone, the floor under the bridge's CPU per message.

mod bench_config;
mod client;
mod daemon;
mod email;
mod federation;
mod forward;
mod killrounds;
mod mailbox;
mod matrix;
mod outage;
mod servers;
mod stats;
mod steal;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::client::{Load, Target};
use crate::daemon::Bridge;
use crate::servers::Sink;

#[derive(Debug, Parser)]
#[command(name = "c2c-loadgen", about = "Benchmark c2c-bridge's webhook relay against a bare echo endpoint")]
struct Args {
    /// The c2c-bridge binary to measure (build it with --release).
    #[arg(long)]
    bridge_bin: PathBuf,
    /// Seconds per full-speed phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per fixed-rate phase (default: --seconds).
    #[arg(long)]
    rate_seconds: Option<u64>,
    /// Fixed offered rates to measure (messages/s).
    #[arg(long, value_delimiter = ',', default_value = "1000,2000")]
    rates: Vec<u64>,
    /// Conversations the messages are spread over (deliveries within one are sequential).
    #[arg(long, default_value_t = 1000)]
    conversations: u64,
    /// Size of each message's text in bytes.
    #[arg(long, default_value_t = 400)]
    text_bytes: usize,
    /// The bridge's `commit_window` (its default when not given).
    #[arg(long)]
    commit_window: Option<String>,
    /// The bridge's `store_cache` (its default when not given), e.g. `64MiB`.
    #[arg(long)]
    store_cache: Option<String>,
    /// The bridge's store engine (`sled` or `redb`, the daemon's default for a new store).
    #[arg(long)]
    store: Option<String>,
    /// A stopped daemon's store directory (e.g. one `store_growth` kept) copied in as each
    /// bridge's store before it starts: the relay measured with that much already stored. Its
    /// engine must be the one `--store` names.
    #[arg(long)]
    prefill: Option<PathBuf>,
    /// Skip the one-flush-per-message baseline.
    #[arg(long)]
    no_baseline: bool,
    /// `webhook` (relay to a webhook sink, against an echo endpoint), `email` (relay to a
    /// mailbox through the test Postfix, against smtp-source), `matrix` (relay to a room on
    /// the test Synapse, against matrix-nio), `outage` (queue messages to a receiver that is
    /// down and watch the daemon's memory; see `outage.rs`), or `federation` (a message across
    /// two instances against within one; see `federation.rs`), or `killrounds` (`kill -9` the
    /// daemon mid-flow, round after round, and check every acknowledged message arrives exactly
    /// once; see `killrounds.rs`), or `forward` (two signed HTTP hops alone, then the bridge on
    /// the same load: the floor under its CPU per message; see `forward.rs`).
    #[arg(long, default_value = "webhook", value_parser = ["webhook", "email", "matrix", "outage", "federation", "killrounds", "forward"])]
    mode: String,
    /// Rounds for `--mode killrounds` (one `kill -9` each).
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// The seed of `--mode killrounds`'s kill moments (printed; a new one when not given).
    #[arg(long)]
    seed: Option<u64>,
    /// `--mode killrounds` kills the daemon between 100 ms and this many ms after a round's load
    /// starts.
    #[arg(long, default_value_t = 3000)]
    kill_window_ms: u64,
    /// `--mode killrounds`: the receiver answers each delivery after 0 to this many ms (so the
    /// outbox holds a backlog when the daemon is killed).
    #[arg(long, default_value_t = 40)]
    sink_delay_ms: u64,
    /// `--mode killrounds`: the receiver answers the first attempt of about this many in a
    /// hundred deliveries 503 (so retries are pending when the daemon is killed).
    #[arg(long, default_value_t = 2)]
    sink_fail_percent: u64,
    /// `--mode killrounds`: also run `store check` on the store as each kill left it, before
    /// the restart (the daemon then starts on a store the check has opened and recovered).
    #[arg(long)]
    check_after_kill: bool,
    /// `--mode killrounds`: mixed load, one sender posting as Leeds to Gifu's officer on email
    /// through the test Postfix (`tests/mail/mail-server.sh start` first).
    #[arg(long)]
    kill_email: bool,
    /// The fixed offered rate (messages/s) for `--mode federation`.
    #[arg(long, default_value_t = 500)]
    federation_rate: u64,
    /// Messages for `--mode outage`.
    #[arg(long, default_value_t = 100_000)]
    outage_messages: u64,
    /// `[bridge.delivery]` lines for `--mode outage` (`\n` between them).
    #[arg(long, default_value = "max_backoff = \"5s\"\ngive_up_after = \"7d\"\ndelay_warning_after = \"0s\"")]
    delivery: String,
    /// Messages for `--mode email`.
    #[arg(long, default_value_t = 2000)]
    email_messages: u64,
    /// Messages for `--mode matrix`.
    #[arg(long, default_value_t = 1000)]
    matrix_messages: u64,
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some(forward::CHILD) {
        return forward::child(&raw.next().unwrap_or_default());
    }
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    if let Some(store) = &args.prefill {
        daemon::prefill(store.clone());
    }
    if args.mode == "matrix" {
        return matrix::run(&args.bridge_bin, args.matrix_messages, args.connections, args.text_bytes).await;
    }
    if args.mode == "outage" {
        return outage::run(outage::Outage {
            bin: &args.bridge_bin,
            messages: args.outage_messages,
            connections: args.connections,
            text_bytes: args.text_bytes,
            conversations: args.conversations,
            delivery: &args.delivery.replace("\\n", "\n"),
        })
        .await;
    }
    if args.mode == "federation" {
        return federation::run(federation::Federation {
            bin: &args.bridge_bin,
            seconds: args.seconds,
            connections: args.connections,
            text_bytes: args.text_bytes,
            conversations: args.conversations,
            rate: args.federation_rate,
            commit_window: args.commit_window.as_deref(),
        })
        .await;
    }
    if args.mode == "killrounds" {
        // Named, not left to the daemon's default: the figures are per engine.
        let store = args.store.clone().ok_or_else(|| anyhow::anyhow!("--mode killrounds needs --store sled|redb"))?;
        anyhow::ensure!(store == "sled" || store == "redb", "--store is sled or redb, not {store}");
        let seed = args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
        });
        args.store = Some(store.clone());
        let bridge_extra = bridge_lines(&args);
        return killrounds::run(killrounds::KillRounds {
            bin: &args.bridge_bin,
            rounds: args.rounds,
            store: &store,
            seed,
            connections: args.connections,
            conversations: args.conversations,
            text_bytes: args.text_bytes,
            kill_window_ms: args.kill_window_ms,
            bridge_extra,
            sink_delay_ms: args.sink_delay_ms,
            sink_fail_percent: args.sink_fail_percent,
            check_after_kill: args.check_after_kill,
            email: args.kill_email,
        })
        .await;
    }
    if args.mode == "forward" {
        let full = Duration::from_secs(args.seconds);
        println!(
            "# c2c-loadgen --mode forward: {} connections, {}-byte texts, {}s phases",
            args.connections, args.text_bytes, args.seconds
        );
        let sink = Sink::start().await?;
        let load = Load::new(args.connections, full, args.text_bytes, args.conversations);
        let floor = forward::two_hops(&sink, &load).await?;
        println!(
            "\n## two signed hops alone (verify, parse, sign, post; no store, routing or tag)\n{}",
            floor.describe()
        );
        let mut bridge = Bridge::start(&args.bridge_bin, sink.addr, "group", &bridge_lines(&args)).await?;
        let relay = full_speed(&bridge, &sink, &args, full, "forward").await?;
        bridge.stop().await?;
        println!("\n## the bridge, same load (durable, group commit)\n{}", relay.describe());
        println!(
            "\n## summary\n| | msg/s | CPU per message |\n|---|---|---|\n| two hops alone | {:.0} | {:.0} µs |\n| the bridge | {:.0} | {:.0} µs |\n| the bridge's own work (difference) | | {:.0} µs |",
            floor.per_s,
            floor.cpu_us,
            relay.relayed_per_s,
            relay.bridge_cpu_us,
            relay.bridge_cpu_us - floor.cpu_us
        );
        return Ok(());
    }
    if args.mode == "email" {
        return email::run(&args.bridge_bin, args.email_messages, args.connections, args.text_bytes).await;
    }
    let full = Duration::from_secs(args.seconds);
    println!(
        "# c2c-loadgen: {} connections, {}-byte texts, {} conversations, {}s phases",
        args.connections, args.text_bytes, args.conversations, args.seconds
    );
    println!("machine: {} cores; {}", std::thread::available_parallelism()?.get(), cpu_model());

    // 1. Echo yardstick.
    let echo = servers::start_echo().await?;
    let secret = c2c_webhook::SigningSecret::parse(&daemon::demo_secret())?;
    let echo_target = Target { addr: echo, path: "/echo".into(), secret: secret.clone() };
    let cpu = steal::CpuTimes::now();
    let r = client::closed_loop(
        &echo_target,
        &Load::new(args.connections, full, args.text_bytes, args.conversations),
        None,
    )
    .await?;
    let echo_rps = r.completed as f64 / r.elapsed.as_secs_f64();
    let echo_steal = steal::describe(cpu);
    println!(
        "\n## echo (bare axum endpoint, same client, same signed body)\nrequests/s: {echo_rps:.0}\nCPU stolen by the hypervisor: {echo_steal}"
    );
    let mut steals = vec![("echo".to_string(), echo_steal)];

    // 2-3. The bridge, group commit.
    let sink = Sink::start().await?;
    let mut bridge = Bridge::start(&args.bridge_bin, sink.addr, "group", &bridge_lines(&args)).await?;
    // At rest: started, listening, nothing sent yet.
    let rss_rest = bridge.rss_kib();
    let cpu = steal::CpuTimes::now();
    let group = full_speed(&bridge, &sink, &args, full, "group").await?;
    let rss_load = group.rss_peak;
    steals.push(("full speed".into(), steal::describe(cpu)));
    println!("\n## relay, durable, group commit (full speed)\n{}", group.describe());
    println!("CPU stolen by the hypervisor: {}", steals[1].1);
    println!("relay / echo: {:.2}", group.relayed_per_s / echo_rps);
    println!("{}", bridge.commit_stats().await);
    println!("{}", bridge.slow_flushes());
    bridge.stop().await?;

    // Each fixed rate on a fresh bridge and store, so one phase's aftermath (sled cleaning up
    // after a burst) does not land in the next one's figures.
    let mut fixed = Vec::new();
    for &rate in &args.rates {
        sink.reset();
        let mut bridge = Bridge::start(&args.bridge_bin, sink.addr, "group", &bridge_lines(&args)).await?;
        let t = bridge.target("leeds");
        let secs = Duration::from_secs(args.rate_seconds.unwrap_or(args.seconds));
        let load = Load::new(args.connections.max(8), secs, args.text_bytes, args.conversations);
        let cpu = steal::CpuTimes::now();
        let r = client::open_loop(&t, &load, rate, Some(sink.clone())).await?;
        let relayed = sink.wait_for(r.accepted, Duration::from_secs(60)).await;
        let stolen = steal::describe(cpu);
        let lat = sink.latencies();
        println!(
            "\n## relay at {rate} msg/s offered ({}s)\naccepted: {} (refused {}, errors {}), relayed: {relayed}, duplicates: {}\nlatency send→sink: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
            args.rate_seconds.unwrap_or(args.seconds),
            r.accepted,
            r.refused,
            r.errors,
            sink.duplicates(),
            lat.p(50.0),
            lat.p(99.0),
            lat.p(99.9),
            lat.max(),
        );
        println!("CPU stolen by the hypervisor: {stolen}");
        println!("{}", bridge.commit_stats().await);
        println!("{}", bridge.slow_flushes());
        steals.push((format!("{rate} msg/s"), stolen));
        fixed.push((rate, lat.p(50.0), lat.p(99.0)));
        bridge.stop().await?;
    }

    // 4. Baseline: one flush per message.
    let mut baseline = None;
    if !args.no_baseline {
        sink.reset();
        let mut each = Bridge::start(&args.bridge_bin, sink.addr, "each", &args.store_cache_line()).await?;
        let cpu = steal::CpuTimes::now();
        let b = full_speed(&each, &sink, &args, full, "each").await?;
        let stolen = steal::describe(cpu);
        println!("\n## relay, durable, one flush per message (baseline, full speed)\n{}", b.describe());
        println!("CPU stolen by the hypervisor: {stolen}");
        steals.push(("baseline".into(), stolen));
        each.stop().await?;
        baseline = Some(b);
    }

    println!("\n## summary");
    println!("| measure | value |\n|---|---|");
    println!("| echo requests/s | {echo_rps:.0} |");
    println!("| relayed msg/s, group commit | {:.0} |", group.relayed_per_s);
    println!("| relay / echo | {:.2} |", group.relayed_per_s / echo_rps);
    println!("| latency at full speed p50 / p99 | {:.1} / {:.1} ms |", group.p50, group.p99);
    for (rate, p50, p99) in &fixed {
        println!("| latency at {rate} msg/s offered p50 / p99 | {p50:.1} / {p99:.1} ms |");
    }
    if let Some(b) = &baseline {
        println!("| relayed msg/s, one flush per message | {:.0} |", b.relayed_per_s);
        println!("| group commit / per-message flush | {:.1}× |", group.relayed_per_s / b.relayed_per_s);
    }
    println!(
        "| daemon RSS at rest / peak under load | {} / {} MiB |",
        daemon::mib(rss_rest),
        daemon::mib(rss_load.rss)
    );
    println!(
        "| of it anonymous (heap, stacks) at the peak, the rest the binary's pages | {} MiB |",
        daemon::mib(rss_load.anon)
    );
    let names: Vec<&str> = steals.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<&str> = steals.iter().map(|(_, v)| v.as_str()).collect();
    println!("| CPU stolen by the hypervisor ({}) | {} |", names.join(" / "), values.join(" / "));
    Ok(())
}

/// What one full-speed phase measured.
struct FullSpeed {
    accepted: u64,
    relayed: u64,
    accepted_per_s: f64,
    relayed_per_s: f64,
    p50: f64,
    p99: f64,
    max: f64,
    duplicates: u64,
    /// The daemon's peak RSS and the peak of its anonymous part.
    rss_peak: daemon::Peak,
    /// CPU time per relayed message: the bridge, and this process (client + sink).
    bridge_cpu_us: f64,
    self_cpu_us: f64,
}

impl FullSpeed {
    fn describe(&self) -> String {
        format!(
            "accepted: {} ({:.0}/s), relayed: {} ({:.0}/s), duplicates: {}\nlatency send→sink: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; daemon peak RSS {} MiB (anonymous {} MiB)\nCPU per relayed message: bridge {:.0} µs, client+sink {:.0} µs",
            self.accepted,
            self.accepted_per_s,
            self.relayed,
            self.relayed_per_s,
            self.duplicates,
            self.p50,
            self.p99,
            self.max,
            daemon::mib(self.rss_peak.rss),
            daemon::mib(self.rss_peak.anon),
            self.bridge_cpu_us,
            self.self_cpu_us
        )
    }
}

async fn full_speed(
    bridge: &Bridge,
    sink: &Arc<Sink>,
    args: &Args,
    full: Duration,
    label: &str,
) -> anyhow::Result<FullSpeed> {
    sink.reset();
    let t = bridge.target("leeds");
    let load = Load::new(args.connections, full, args.text_bytes, args.conversations);
    let start = Instant::now();
    let sampler = bridge.rss_sampler();
    let cpu_bridge = bridge.cpu_seconds();
    let cpu_self = daemon::cpu_of("/proc/self/stat");
    let r = client::closed_loop(&t, &load, Some(sink.clone())).await?;
    let relayed = sink.wait_for(r.accepted, Duration::from_secs(120)).await;
    let until_relayed = sink.last_arrival().unwrap_or_else(Instant::now).duration_since(start);
    let rss_peak = sampler.stop().await;
    let bridge_cpu_us = (bridge.cpu_seconds() - cpu_bridge) * 1e6 / relayed.max(1) as f64;
    let self_cpu_us = (daemon::cpu_of("/proc/self/stat") - cpu_self) * 1e6 / relayed.max(1) as f64;
    let lat = sink.latencies();
    anyhow::ensure!(relayed >= r.accepted, "{label}: only {relayed} of {} accepted messages were relayed", r.accepted);
    Ok(FullSpeed {
        accepted: r.accepted,
        relayed,
        accepted_per_s: r.accepted as f64 / r.elapsed.as_secs_f64(),
        relayed_per_s: relayed as f64 / until_relayed.as_secs_f64(),
        p50: lat.p(50.0),
        p99: lat.p(99.0),
        max: lat.max(),
        duplicates: sink.duplicates(),
        rss_peak,
        bridge_cpu_us,
        self_cpu_us,
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

impl Args {
    /// `store_cache = "..."` when one is given.
    fn store_cache_line(&self) -> String {
        let cache = self.store_cache.as_ref().map(|c| format!("store_cache = \"{c}\"\n")).unwrap_or_default();
        let engine = self.store.as_ref().map(|e| format!("store = \"{e}\"\n")).unwrap_or_default();
        format!("{cache}{engine}")
    }
}

/// The `[bridge]` lines the options ask for.
fn bridge_lines(args: &Args) -> String {
    let window = args.commit_window.as_ref().map(|w| format!("commit_window = \"{w}\"\n")).unwrap_or_default();
    format!("{window}{}", args.store_cache_line())
}
