//! `--mode outage`: does the daemon's memory stay flat while a receiver is down and its queue
//! grows?
//!
//! Hangzhou's system (the sink) answers 503 to everything. Leeds posts `--outage-messages`
//! messages to Hangzhou in five equal steps, spread over `--conversations`; after each step,
//! once the daemon reports them all queued (`c2c_outbox_depth`), the daemon's RSS is read. Then
//! the daemon is restarted (it reads the whole queue back from the store) and its RSS read
//! again; then the sink comes back and the time to deliver everything, the peak RSS meanwhile,
//! and duplicates are reported. The `[bridge.delivery]` lines come from `--delivery`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench_config;
use crate::client::{self, Load};
use crate::daemon::{self, Bridge};
use crate::servers::Sink;

/// What the benchmark is given.
pub struct Outage<'a> {
    pub bin: &'a Path,
    pub messages: u64,
    pub connections: usize,
    pub text_bytes: usize,
    pub conversations: u64,
    /// Lines for `[bridge.delivery]`.
    pub delivery: &'a str,
}

const DEPTH: &str = "c2c_outbox_depth";
const RETRIES: &str = "c2c_deliveries_total{channel=\"webhook\",status=\"temporary_failure\"}";

pub async fn run(o: Outage<'_>) -> anyhow::Result<()> {
    println!(
        "# c2c-loadgen --mode outage: {} messages of {} bytes over {} conversations to a receiver that is down, {} connections",
        o.messages, o.text_bytes, o.conversations, o.connections
    );
    println!(
        "machine: {} cores; [bridge.delivery] {}",
        std::thread::available_parallelism()?.get(),
        o.delivery.replace('\n', "; ")
    );
    let sink = Sink::start().await?;
    sink.set_down(true);
    let delivery = format!("\n[bridge.delivery]\n{}\n", o.delivery);
    let mut bridge = Bridge::start_with(o.bin, Vec::new(), |addr| {
        [
            bench_config::bridge(addr, &delivery, ""),
            bench_config::city("leeds", &bench_config::webhook(sink.addr, "leeds"), ""),
            bench_config::city("hangzhou", &bench_config::webhook(sink.addr, "hangzhou"), ""),
            bench_config::partnership(("leeds", "webhook"), ("hangzhou", "webhook")),
        ]
        .concat()
    })
    .await?;
    let started = Instant::now();
    let rest = bridge.rss_kib();
    println!("\n| queued | daemon RSS | attempts made (all 503) | elapsed |\n|---|---|---|---|");
    println!("| 0 | {} MiB | 0 | 0 s |", daemon::mib(rest));

    let target = bridge.target("leeds");
    let load = Load::new(o.connections, Duration::ZERO, o.text_bytes, o.conversations);
    let steps = 5;
    let step = o.messages / steps;
    let sampler = bridge.rss_sampler();
    let mut rss_steps = Vec::new();
    for i in 1..=steps {
        let r = client::closed_loop_count(&target, &load, step).await?;
        anyhow::ensure!(r.accepted == step, "only {} of {step} accepted ({} errors)", r.accepted, r.errors);
        let queued = i * step;
        bridge.wait_metric(DEPTH, |d| d >= queued as f64).await?;
        let rss = bridge.rss_kib();
        rss_steps.push(rss);
        println!(
            "| {queued} | {} MiB | {:.0} | {:.0} s |",
            daemon::mib(rss),
            bridge.metric(RETRIES).await,
            started.elapsed().as_secs_f64()
        );
    }
    let queued = steps * step;
    let peak_queueing = sampler.stop().await.rss;
    println!("peak RSS while queueing: {} MiB", daemon::mib(peak_queueing));
    // The first step warms the store's cache and buffers; what each further entry costs is the
    // slope after it.
    if let (Some(first), Some(last)) = (rss_steps.first(), rss_steps.last()) {
        let per_entry = (*last as f64 - *first as f64) * 1024.0 / ((steps - 1) * step) as f64;
        println!("RSS growth per queued message after the first step: {per_entry:.0} bytes");
    }

    // A restart reads the whole queue back.
    let stopping = Instant::now();
    bridge.restart().await?;
    bridge.wait_metric(DEPTH, |d| d >= queued as f64).await?;
    println!(
        "after a restart ({:.1} s to stop, start and queue {queued} again): RSS {} MiB",
        stopping.elapsed().as_secs_f64(),
        daemon::mib(bridge.rss_kib())
    );

    // The receiver comes back.
    sink.reset();
    let refused = sink.refused();
    sink.set_down(false);
    let back = Instant::now();
    let sampler = bridge.rss_sampler();
    let arrived = sink.wait_for(queued, Duration::from_secs(1800)).await;
    let drain = sink.last_arrival().unwrap_or_else(Instant::now).duration_since(back);
    let peak_drain = sampler.stop().await.rss;
    bridge.wait_metric(DEPTH, |d| d == 0.0).await?;
    println!(
        "receiver back: {arrived} of {queued} delivered in {:.1} s ({:.0}/s), duplicates {}, peak RSS {} MiB; RSS after {} MiB; {refused} attempts were refused while it was down",
        drain.as_secs_f64(),
        arrived as f64 / drain.as_secs_f64(),
        sink.duplicates(),
        daemon::mib(peak_drain),
        daemon::mib(bridge.rss_kib()),
    );
    anyhow::ensure!(arrived == queued, "lost deliveries: {arrived} of {queued}");
    bridge.stop().await?;
    Ok(())
}
