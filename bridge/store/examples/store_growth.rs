//! How the sled store's memory and disk grow with the number of messages it holds.
//!
//! `cargo run --release -p c2c-store --example store_growth -- [messages] [report every]`
//! (`STORE_GROWTH_TEXT_BYTES=N` pads each message's text to N bytes)
//!
//! Writes router-shaped commits (message, conversation, thread key, dedupe key, one outbox
//! entry) in groups of 64 over 1,000 conversations, then marks each outbox entry delivered (the
//! scheduler's outcome write), and prints the process's resident memory and the store's size on
//! disk every `report every` messages; at the end it reopens the store and prints what an idle
//! daemon would hold after a restart (open + reading the pending outbox).
//!
//! `… --example store_growth -- reopen DIR` opens an existing store in a fresh process and
//! prints the same (set `STORE_GROWTH_KEEP=1` on the first run to keep its store; its path is
//! printed). `STORE_GROWTH_ENGINE=redb` writes (and reopens) a redb store instead of a sled one;
//! a kept store can be moved to a config's `data_dir/store` to start the daemon on it.
//! `STORE_GROWTH_CONVERSATIONS=N` spreads the messages over N conversations instead of 1,000.
//! `STORE_GROWTH_RECENT_HALF=1` dates half the conversations (and their messages) now instead of
//! November 2023, so a daemon with `retention = "400d"` forgets the other half (the retention
//! measurement in BENCHMARKS.md). `STORE_GROWTH_ADVANCE=1` moves the start of the pending scan
//! along as it writes, as a running daemon does every second (`Store::advance_outbox_low`), so
//! the first start after the fill costs what it would after a daemon relayed those messages.

use std::time::Instant;

use c2c_core::conformance::{sample_commit, sample_conversation};
use c2c_core::{DeliveryStatus, Store as _};
use c2c_store::SledStore;
use c2c_store::redb_kv::RedbStore;

#[path = "common/measure.rs"]
mod measure;
use measure::{disk_bytes, rss_mib};

const GROUP: u64 = 64;

// The daemon's allocator, so resident memory reads as it would there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("reopen") {
        reopen(std::path::Path::new(raw.get(1).expect("reopen DIR")));
        return;
    }
    let args: Vec<u64> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    let messages = args.first().copied().unwrap_or(1_000_000);
    let every = args.get(1).copied().unwrap_or(100_000);
    let dir = tempfile::tempdir_in(std::env::var("STORE_GROWTH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let recent_half = std::env::var_os("STORE_GROWTH_RECENT_HALF").is_some();
    let now = c2c_core::now_ms();
    let conversations: u64 =
        std::env::var("STORE_GROWTH_CONVERSATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000).max(1);
    let convs: Vec<_> = (0..conversations)
        .map(|i| {
            let mut c = sample_conversation("bench");
            if recent_half && i % 2 == 0 {
                (c.started_at, c.last_post_at) = (now, Some(now));
            }
            c
        })
        .collect();
    // STORE_GROWTH_TEXT_BYTES: each message's text padded to this size (larger messages).
    let text_bytes: usize = std::env::var("STORE_GROWTH_TEXT_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    println!("| messages | seconds | RSS MiB | store on disk MiB | KiB on disk per message |");
    println!("|---|---|---|---|---|");
    let start = Instant::now();
    if redb() {
        fill(
            &RedbStore::open_redb(dir.path(), None, SledStore::DEFAULT_CACHE).unwrap(),
            messages,
            every,
            text_bytes,
            &convs,
            start,
            dir.path(),
        )
        .await;
    } else {
        fill(&SledStore::open(dir.path(), None).unwrap(), messages, every, text_bytes, &convs, start, dir.path()).await;
    }
    if std::env::var_os("STORE_GROWTH_KEEP").is_some() {
        let kept = dir.keep();
        eprintln!("store kept at {}", kept.display());
    } else {
        reopen(dir.path());
    }
}

/// Whether `STORE_GROWTH_ENGINE=redb` asks for a redb store.
fn redb() -> bool {
    std::env::var("STORE_GROWTH_ENGINE").is_ok_and(|e| e == "redb")
}

/// Write `messages` router-shaped messages into `store`, each marked delivered.
async fn fill(
    store: &dyn c2c_core::Store,
    messages: u64,
    every: u64,
    text_bytes: usize,
    convs: &[c2c_core::Conversation],
    start: Instant,
    dir: &std::path::Path,
) {
    let advance = std::env::var_os("STORE_GROWTH_ADVANCE").is_some();
    {
        let mut seq = 0;
        while seq < messages {
            let mut commit = c2c_core::Commit::default();
            let mut delivered = Vec::new();
            for _ in 0..GROUP {
                seq += 1;
                let (mut c, _, mut entry) = sample_commit(&convs[(seq % convs.len() as u64) as usize], seq);
                let recent = convs[(seq % convs.len() as u64) as usize].last_post_at.filter(|t| *t > 1_700_000_000_000);
                for m in &mut c.messages {
                    while m.text.len() < text_bytes {
                        m.text.push_str(" padding");
                    }
                    if let Some(t) = recent {
                        (m.received_at, m.committed_at) = (t, t);
                    }
                }
                for (_, a) in &mut c.accepted {
                    if recent.is_some() {
                        a.at = recent;
                    }
                }
                commit.extend(c);
                entry.status = DeliveryStatus::Delivered;
                entry.attempts = 1;
                delivered.push(entry);
            }
            store.commit(commit).await.unwrap();
            let staged = store.update_deliveries(&delivered, &[]).await.unwrap();
            store.durable(staged).await.unwrap();
            if advance && seq % (64 * GROUP) < GROUP {
                while store.advance_outbox_low(4096).unwrap() {}
            }
            if seq % every < GROUP {
                report(seq, start, dir);
            }
        }
    }
}

/// Open the store at `dir` as a restarted daemon would, and say what that cost.
fn reopen(dir: &std::path::Path) {
    let started = Instant::now();
    let pending = if redb() {
        RedbStore::open_redb(dir, None, SledStore::DEFAULT_CACHE).unwrap().pending_outbox().unwrap().len()
    } else {
        SledStore::open_waiting(dir, None, std::time::Duration::from_secs(10)).unwrap().pending_outbox().unwrap().len()
    };
    eprintln!(
        "opened in {:.1} s, {pending} entries pending; RSS after opening: {:.0} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib()
    );
}

fn report(seq: u64, start: Instant, dir: &std::path::Path) {
    let disk = disk_bytes(dir) as f64;
    println!(
        "| {seq} | {:.0} | {:.0} | {:.0} | {:.1} |",
        start.elapsed().as_secs_f64(),
        rss_mib(),
        disk / (1 << 20) as f64,
        disk / 1024.0 / seq as f64
    );
}
