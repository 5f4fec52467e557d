//! How many messages per second the sled store makes durable, by group size.
//!
//! `cargo run --release -p c2c-store --example commit_rate -- [messages] [group sizes...]`
//!
//! Each message is committed the way the router commits one: the message, its conversation,
//! a thread key, a dedupe key and one outbox entry. A group of `g` messages is one `commit`
//! (one atomic batch, one flush); `g = 1` is one flush per message.

use std::time::Instant;

use c2c_core::Store as _;
use c2c_core::conformance::{sample_commit, sample_conversation};
use c2c_store::SledStore;

#[path = "common/measure.rs"]
mod measure;
use measure::{cpu_seconds, disk_bytes};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let messages: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let groups: Vec<u64> = if args.len() > 1 {
        args[1..].iter().filter_map(|a| a.parse().ok()).collect()
    } else {
        vec![1, 8, 32, 128, 512]
    };
    println!("| group size | messages | seconds | durable messages/s | flushes | CPU µs per message |");
    println!("|---|---|---|---|---|---|");
    for g in groups {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), None).unwrap();
        let convs: Vec<_> = (0..100).map(|_| sample_conversation("bench")).collect();
        let start = Instant::now();
        let cpu0 = cpu_seconds();
        let mut seq = 0;
        while seq < messages {
            let mut commit = c2c_core::Commit::default();
            for _ in 0..g {
                seq += 1;
                let (c, _, _) = sample_commit(&convs[(seq % 100) as usize], seq);
                commit.extend(c);
            }
            store.commit(commit).await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = (cpu_seconds() - cpu0) * 1e6 / seq as f64;
        let written = disk_bytes(dir.path());
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let wb: f64 =
            io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
        eprintln!(
            "group {g}: {:.1} KiB on disk per message; {:.1} KiB written per message (process total so far)",
            written as f64 / 1024.0 / seq as f64,
            wb / 1024.0 / seq as f64
        );
        println!("| {g} | {seq} | {secs:.2} | {:.0} | {} | {cpu:.0} |", seq as f64 / secs, store.flushes());
    }
}
