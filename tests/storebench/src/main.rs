//! storebench: sled 0.34, redb 4 and fjall 3 on the bridge store's access pattern (issue 17).
//!
//! `cargo run --release -- [--messages N] [--group G] [--outcome-group O] [--recipients R]
//!  [--window W] [--per-conv K] [--cache-mib M] [--fjall-memtable-mib M] [--reads N]
//!  [--dir DIR] [--backends sled,redb,redb-lazy,fjall] [--seed S] [--refill] [--keep]`
//!
//! Defaults: 200,000 messages, groups of 256 (outcomes too), 1 recipient, 50 conversations open
//! at a time with 20 messages each, 16 MiB cache for every backend, fjall's default 64 MiB
//! memtable, 20,000 reads, seed 17, /tmp. `--refill` writes as many new messages as were deleted
//! before compacting; `--keep` keeps the stores. Results: RESULTS.md and logs/.
//!
//! The parent runs each backend in child processes of this same binary (so resident memory is
//! per backend), in a fresh directory under `--dir` (default /tmp), and prints one table.
//! Per backend, three children run one after the other on the same store:
//!
//! 1. `write`: N router-shaped messages in groups of G, one durable commit per group (per
//!    message: `m/{conv}/{seq}`, `c/{conv}` rewritten, one `n/` id-map entry, one `a/` dedupe
//!    answer, R outbox entries `o/{seq:016x}/{id}`; per group `meta/last_seq`), interleaved
//!    with delivered-outcome rewrites of outbox entries in durable groups of up to O; the most
//!    recent 5 % of messages are left pending. Then random point reads (a conversation and one
//!    of its messages), a full scan of the `o/` prefix, RSS, and a clean close.
//! 2. `reopen`: open the closed store in a fresh process and read one key (start-up), RSS,
//!    then the `o/` scan again.
//! 3. `delete`: delete every key of the oldest half of the conversations in durable groups,
//!    close, measure the disk; reopen, run the backend's compaction, close, measure again.
//!
//! Keys and values are generated from the seed and the message's seq only, so every backend
//! stores the same bytes. Values are JSON-like text (message 300–2,000 bytes, conversation
//! 300–800, outbox entry ~350, id-map and dedupe entries ~110).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Clone, Debug)]
struct Opts {
    messages: u64,
    group: u64,
    outcome_group: u64,
    recipients: u64,
    /// Conversations open at once; each gets `per_conv` messages, interleaved.
    window: u64,
    per_conv: u64,
    cache_mib: u64,
    /// fjall's memtable size per keyspace (its default: 64 MiB).
    fjall_memtable_mib: u64,
    reads: u64,
    seed: u64,
    dir: PathBuf,
    backends: Vec<String>,
    keep: bool,
    /// After the deletes, write as many new messages as were deleted, then compact.
    refill: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            messages: 200_000,
            group: 256,
            outcome_group: 256,
            recipients: 1,
            window: 50,
            per_conv: 20,
            cache_mib: 16,
            fjall_memtable_mib: 64,
            reads: 20_000,
            seed: 17,
            dir: PathBuf::from("/tmp"),
            backends: ["sled", "redb", "redb-lazy", "fjall"].map(String::from).to_vec(),
            keep: false,
            refill: false,
        }
    }
}

fn parse(args: &[String]) -> Opts {
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        let num = || v.replace('_', "").parse::<u64>().unwrap_or_else(|_| panic!("{} needs a number", args[i]));
        match args[i].as_str() {
            "--messages" => o.messages = num(),
            "--group" => o.group = num(),
            "--outcome-group" => o.outcome_group = num(),
            "--recipients" => o.recipients = num(),
            "--window" => o.window = num(),
            "--per-conv" => o.per_conv = num(),
            "--cache-mib" => o.cache_mib = num(),
            "--fjall-memtable-mib" => o.fjall_memtable_mib = num(),
            "--reads" => o.reads = num(),
            "--seed" => o.seed = num(),
            "--dir" => o.dir = PathBuf::from(&v),
            "--backends" => o.backends = v.split(',').map(String::from).collect(),
            "--keep" => {
                o.keep = true;
                i += 1;
                continue;
            }
            "--refill" => {
                o.refill = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    o
}

fn to_args(o: &Opts) -> Vec<String> {
    let mut a = vec![];
    for (k, v) in [
        ("--messages", o.messages),
        ("--group", o.group),
        ("--outcome-group", o.outcome_group),
        ("--recipients", o.recipients),
        ("--window", o.window),
        ("--per-conv", o.per_conv),
        ("--cache-mib", o.cache_mib),
        ("--fjall-memtable-mib", o.fjall_memtable_mib),
        ("--reads", o.reads),
        ("--seed", o.seed),
    ] {
        a.push(k.to_string());
        a.push(v.to_string());
    }
    a.push("--dir".into());
    a.push(o.dir.display().to_string());
    if o.refill {
        a.push("--refill".into());
    }
    a
}

// ---------------------------------------------------------------------------------------------
// The synthetic data: a function of (seed, seq) only

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

const WORDS: &[&str] = &[
    "the",
    "council",
    "reply",
    "street",
    "lamp",
    "broken",
    "since",
    "monday",
    "please",
    "send",
    "officer",
    "report",
    "water",
    "leak",
    "near",
    "school",
    "bus",
    "stop",
    "thank",
    "you",
    "we",
    "will",
    "check",
    "tomorrow",
    "morning",
    "partner",
    "city",
    "bridge",
    "message",
    "delivered",
    "hangzhou",
    "leeds",
    "park",
    "bench",
    "repair",
    "request",
    "update",
    "status",
    "closed",
    "open",
    "waste",
    "collection",
    "missed",
];

fn text(rng: &mut Rng, out: &mut String, len: usize) {
    while out.len() < len {
        out.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        out.push(' ');
    }
    out.truncate(len);
}

/// A 26-character id that sorts by `n` (like a ULID sorts by time).
fn ulid_like(tag: u64, n: u64, seed: u64) -> String {
    format!("01{:08X}{:016X}", n, mix(seed ^ tag.wrapping_mul(0x1000_0000_0000_0001) ^ n))
}

#[derive(Clone, Copy)]
struct Layout {
    messages: u64,
    window: u64,
    per_conv: u64,
    seed: u64,
    recipients: u64,
}

impl Layout {
    fn new(o: &Opts) -> Self {
        Self { messages: o.messages, window: o.window, per_conv: o.per_conv, seed: o.seed, recipients: o.recipients }
    }
    /// The conversation (index, in creation order) of message `seq` (1-based), and the
    /// message's number in it.
    fn conv_of(&self, seq: u64) -> (u64, u64) {
        let i = seq - 1;
        let block = self.window * self.per_conv;
        let (b, j) = (i / block, i % block);
        (b * self.window + j % self.window, j / self.window)
    }
    fn conversations(&self) -> u64 {
        let block = self.window * self.per_conv;
        let full = self.messages / block;
        let rest = self.messages % block;
        full * self.window + rest.min(self.window)
    }
    fn conv_id(&self, c: u64) -> String {
        ulid_like(1, c, self.seed)
    }
    fn msg_id(&self, seq: u64) -> String {
        ulid_like(2, seq, self.seed)
    }
    fn conv_key(&self, c: u64) -> Vec<u8> {
        format!("c/{}", self.conv_id(c)).into_bytes()
    }
    fn message_key(&self, seq: u64) -> Vec<u8> {
        format!("m/{}/{seq:016x}", self.conv_id(self.conv_of(seq).0)).into_bytes()
    }
    fn native_key(&self, seq: u64) -> Vec<u8> {
        format!("n/email:{:016x}.{:08x}@mail.leeds.example", mix(self.seed ^ seq ^ 0x4e), seq).into_bytes()
    }
    fn accepted_key(&self, seq: u64) -> Vec<u8> {
        format!("a/webhook:leeds:delivery:msg_{:016x}", mix(self.seed ^ seq ^ 0x41)).into_bytes()
    }
    fn outbox_key(&self, seq: u64, r: u64) -> Vec<u8> {
        format!("o/{seq:016x}/{}-{r}", self.msg_id(seq)).into_bytes()
    }
    fn message_value(&self, seq: u64) -> Vec<u8> {
        let mut rng = Rng(mix(self.seed ^ seq ^ 0x6d));
        let (c, n) = self.conv_of(seq);
        let len = rng.range(300, 2000) as usize;
        let mut s = format!(
            r#"{{"id":"{}","conversation":"{}","seq":{seq},"origin_instance":"c2c-01HZX3S2Q6","partnership":"hangzhou-leeds","from":{{"channel":"webhook","city":"leeds","name":"Officer {n}"}},"received_at":{},"lang":"en","text":""#,
            self.msg_id(seq),
            self.conv_id(c),
            1_764_000_000_000u64 + seq * 37,
        );
        let body = len.saturating_sub(s.len() + 2).max(16);
        let mut t = String::new();
        text(&mut rng, &mut t, body);
        s.push_str(&t);
        s.push_str("\"}");
        s.into_bytes()
    }
    fn conv_value(&self, seq: u64) -> Vec<u8> {
        let (c, n) = self.conv_of(seq);
        let mut rng = Rng(mix(self.seed ^ c ^ 0x63));
        let len = rng.range(300, 800) as usize;
        let mut s = format!(
            r#"{{"id":"{}","partnership":"hangzhou-leeds","short_id":"{:06X}","messages":{},"last_seq":{seq},"threads":[{{"endpoint":"leeds-webhook","key":"T-{c}"}},{{"endpoint":"hangzhou-email","key":"<{c}@mail.hangzhou.example>"}}],"subject":""#,
            self.conv_id(c),
            c & 0xFF_FFFF,
            n + 1,
        );
        let mut t = String::new();
        text(&mut rng, &mut t, len.saturating_sub(s.len() + 2).max(16));
        s.push_str(&t);
        s.push_str("\"}");
        s.into_bytes()
    }
    fn native_value(&self, seq: u64) -> Vec<u8> {
        format!(
            r#"{{"partnership":"hangzhou-leeds","conversation":"{}","message":"{}"}}"#,
            self.conv_id(self.conv_of(seq).0),
            self.msg_id(seq)
        )
        .into_bytes()
    }
    fn accepted_value(&self, seq: u64) -> Vec<u8> {
        format!(
            r#"{{"message":"{}","conversation":"{}","replay":false}}"#,
            self.msg_id(seq),
            self.conv_id(self.conv_of(seq).0)
        )
        .into_bytes()
    }
    fn outbox_value(&self, seq: u64, r: u64, delivered: bool) -> Vec<u8> {
        let status = if delivered {
            format!(r#""status":"delivered","attempts":1,"delivered_at":{}"#, 1_764_000_000_000u64 + seq * 37 + 900)
        } else {
            r#""status":"pending","attempts":0,"next_attempt_at":null"#.to_string()
        };
        format!(
            r#"{{"id":"{}-{r}","seq":{seq},"message":"{}","conversation":"{}","partnership":"hangzhou-leeds","endpoint":"hangzhou-email","target":{{"kind":"email","to":"officer{r}@hangzhou.example"}},{status},"last_error":null,"native":null}}"#,
            self.msg_id(seq),
            self.msg_id(seq),
            self.conv_id(self.conv_of(seq).0),
        )
        .into_bytes()
    }
    /// Every key and value message `seq` writes (the outbox entries pending).
    fn message_puts(&self, seq: u64, puts: &mut Vec<(Vec<u8>, Vec<u8>)>) {
        puts.push((self.message_key(seq), self.message_value(seq)));
        puts.push((self.conv_key(self.conv_of(seq).0), self.conv_value(seq)));
        puts.push((self.native_key(seq), self.native_value(seq)));
        puts.push((self.accepted_key(seq), self.accepted_value(seq)));
        for r in 0..self.recipients {
            puts.push((self.outbox_key(seq, r), self.outbox_value(seq, r, false)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The backends

trait Kv {
    /// Apply one atomic group; make it durable before returning if `durable`.
    fn write(&mut self, puts: &[(Vec<u8>, Vec<u8>)], dels: &[Vec<u8>], durable: bool) -> R<()>;
    fn get(&self, key: &[u8]) -> R<Option<Vec<u8>>>;
    /// Calls `each` for every key under `prefix`, in order; returns how many.
    fn scan(&self, prefix: &[u8], each: &mut dyn FnMut(&[u8], &[u8])) -> R<u64>;
    /// Whether a commit of group number `n` (from 0) must be durable (redb-lazy: every 10th).
    fn durable_group(&self, _n: u64) -> bool {
        true
    }
    /// The backend's compaction; returns what was done.
    fn compact(&mut self) -> R<String>;
    fn close(self: Box<Self>) -> R<()>;
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; 64]
}

struct Sled {
    db: sled::Db,
    /// The project's store fdatasyncs sled's log after every flush (bridge/store/src/disk_sync.rs).
    log: std::fs::File,
}

impl Sled {
    fn open(dir: &Path, o: &Opts) -> R<Self> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(o.cache_mib * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let log = std::fs::File::open(dir.join("db"))?;
        Ok(Self { db, log })
    }
}

impl Kv for Sled {
    fn write(&mut self, puts: &[(Vec<u8>, Vec<u8>)], dels: &[Vec<u8>], durable: bool) -> R<()> {
        let mut b = sled::Batch::default();
        for (k, v) in puts {
            b.insert(k.as_slice(), v.as_slice());
        }
        for k in dels {
            b.remove(k.as_slice());
        }
        self.db.apply_batch(b)?;
        if durable {
            self.db.flush()?;
            self.log.sync_data()?;
        }
        Ok(())
    }
    fn get(&self, key: &[u8]) -> R<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }
    fn scan(&self, prefix: &[u8], each: &mut dyn FnMut(&[u8], &[u8])) -> R<u64> {
        let mut n = 0;
        for item in self.db.scan_prefix(prefix) {
            let (k, v) = item?;
            each(&k, &v);
            n += 1;
        }
        Ok(n)
    }
    fn compact(&mut self) -> R<String> {
        Ok("none (sled 0.34 has no compaction)".into())
    }
    fn close(self: Box<Self>) -> R<()> {
        self.db.flush()?;
        self.log.sync_data()?;
        drop(self);
        Ok(())
    }
}

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

struct Redb {
    db: redb::Database,
    /// Durability::None per group and Durability::Immediate every `lazy` groups (0: always).
    lazy: u64,
}

impl Redb {
    fn open(dir: &Path, o: &Opts, lazy: u64) -> R<Self> {
        let path = dir.join("store.redb");
        let mut b = redb::Database::builder();
        b.set_cache_size((o.cache_mib * 1024 * 1024) as usize);
        let db = if path.exists() { b.open(&path)? } else { b.create(&path)? };
        Ok(Self { db, lazy })
    }
}

impl Kv for Redb {
    fn write(&mut self, puts: &[(Vec<u8>, Vec<u8>)], dels: &[Vec<u8>], durable: bool) -> R<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(if durable { redb::Durability::Immediate } else { redb::Durability::None })?;
        {
            let mut t = tx.open_table(TABLE)?;
            for (k, v) in puts {
                t.insert(k.as_slice(), v.as_slice())?;
            }
            for k in dels {
                t.remove(k.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }
    fn get(&self, key: &[u8]) -> R<Option<Vec<u8>>> {
        use redb::ReadableDatabase;
        let tx = self.db.begin_read()?;
        let t = tx.open_table(TABLE)?;
        Ok(t.get(key)?.map(|g| g.value().to_vec()))
    }
    fn scan(&self, prefix: &[u8], each: &mut dyn FnMut(&[u8], &[u8])) -> R<u64> {
        use redb::ReadableDatabase;
        let tx = self.db.begin_read()?;
        let t = tx.open_table(TABLE)?;
        let end = prefix_end(prefix);
        let mut n = 0;
        for item in t.range::<&[u8]>(prefix..end.as_slice())? {
            let (k, v) = item?;
            each(k.value(), v.value());
            n += 1;
        }
        Ok(n)
    }
    fn durable_group(&self, n: u64) -> bool {
        self.lazy == 0 || (n + 1) % self.lazy == 0
    }
    fn compact(&mut self) -> R<String> {
        let mut rounds = 0;
        while self.db.compact()? {
            rounds += 1;
        }
        Ok(format!("Database::compact() until it returned false ({rounds} rounds returned true)"))
    }
    fn close(self: Box<Self>) -> R<()> {
        // A last durable commit, so a lazy run's tail is on disk too.
        let mut tx = self.db.begin_write()?;
        tx.set_durability(redb::Durability::Immediate)?;
        tx.commit()?;
        self.db.close()?;
        Ok(())
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path, o: &Opts) -> R<Self> {
        let db = fjall::Database::builder(dir).cache_size(o.cache_mib * 1024 * 1024).open()?;
        let memtable = o.fjall_memtable_mib * 1024 * 1024;
        let ks = db.keyspace("kv", || fjall::KeyspaceCreateOptions::default().max_memtable_size(memtable))?;
        Ok(Self { db, ks })
    }
}

impl Kv for Fjall {
    fn write(&mut self, puts: &[(Vec<u8>, Vec<u8>)], dels: &[Vec<u8>], durable: bool) -> R<()> {
        let mut b = self.db.batch();
        for (k, v) in puts {
            b.insert(&self.ks, k.as_slice(), v.as_slice());
        }
        for k in dels {
            b.remove(&self.ks, k.as_slice());
        }
        b.commit()?;
        if durable {
            self.db.persist(fjall::PersistMode::SyncData)?;
        }
        Ok(())
    }
    fn get(&self, key: &[u8]) -> R<Option<Vec<u8>>> {
        Ok(self.ks.get(key)?.map(|v| v.to_vec()))
    }
    fn scan(&self, prefix: &[u8], each: &mut dyn FnMut(&[u8], &[u8])) -> R<u64> {
        let mut n = 0;
        for g in self.ks.prefix(prefix) {
            let (k, v) = g.into_inner()?;
            each(&k, &v);
            n += 1;
        }
        Ok(n)
    }
    fn compact(&mut self) -> R<String> {
        self.db.persist(fjall::PersistMode::SyncData)?;
        self.ks.rotate_memtable_and_wait()?;
        self.ks.major_compact()?;
        Ok("Keyspace::rotate_memtable_and_wait() then Keyspace::major_compact() (doc-hidden in 3.1)".into())
    }
    fn close(self: Box<Self>) -> R<()> {
        self.db.persist(fjall::PersistMode::SyncAll)?;
        drop(self);
        Ok(())
    }
}

fn open(backend: &str, dir: &Path, o: &Opts) -> R<Box<dyn Kv>> {
    std::fs::create_dir_all(dir)?;
    Ok(match backend {
        "sled" => Box::new(Sled::open(dir, o)?),
        "redb" => Box::new(Redb::open(dir, o, 0)?),
        "redb-lazy" => Box::new(Redb::open(dir, o, 10)?),
        "fjall" => Box::new(Fjall::open(dir, o)?),
        other => return Err(format!("unknown backend {other}").into()),
    })
}

// ---------------------------------------------------------------------------------------------
// Measurements of this process and its store

fn status_kib(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

fn rss_mib() -> f64 {
    status_kib("VmRSS:") / 1024.0
}

fn hwm_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// (apparent bytes, allocated bytes) of every file under `dir`.
fn disk(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut len, mut alloc) = (0, 0);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            let (l, a) = disk(&e.path());
            len += l;
            alloc += a;
        } else {
            len += m.len();
            alloc += m.blocks() * 512;
        }
    }
    (len, alloc)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One `key\tvalue` line for the parent.
fn out(k: &str, v: impl std::fmt::Display) {
    println!("{k}\t{v}");
}

// ---------------------------------------------------------------------------------------------
// The phases (each in its own child process)

/// What writing a range of messages took.
struct Written {
    took: Duration,
    cpu: f64,
    ingest_lat: Vec<Duration>,
    outcome_lat: Vec<Duration>,
    groups: u64,
    keys: u64,
    bytes: u64,
}

/// Messages `first..=last` in durable groups, each followed by the delivered outcomes of all
/// but the newest 5 % of `o.messages`.
fn write_messages(kv: &mut dyn Kv, lay: &Layout, o: &Opts, first: u64, last: u64) -> R<Written> {
    let pending_tail = o.messages / 20;
    let mut queue: std::collections::VecDeque<u64> = Default::default();
    let mut w = Written {
        took: Duration::ZERO,
        cpu: 0.0,
        ingest_lat: vec![],
        outcome_lat: vec![],
        groups: 0,
        keys: 0,
        bytes: 0,
    };
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut seq = first - 1;
    let mut puts = Vec::new();
    while seq < last {
        puts.clear();
        let end = (seq + o.group).min(last);
        for s in seq + 1..=end {
            lay.message_puts(s, &mut puts);
            queue.push_back(s);
        }
        puts.push((b"meta/last_seq".to_vec(), end.to_string().into_bytes()));
        seq = end;
        w.keys += puts.len() as u64;
        w.bytes += puts.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum::<u64>();
        let durable = kv.durable_group(w.groups) || seq == last;
        let t = Instant::now();
        kv.write(&puts, &[], durable)?;
        w.ingest_lat.push(t.elapsed());
        w.groups += 1;
        // The scheduler's outcomes: each delivered entry rewritten, in groups of up to O.
        while queue.len() as u64 > pending_tail {
            puts.clear();
            while (puts.len() as u64) < o.outcome_group && queue.len() as u64 > pending_tail {
                let s = queue.pop_front().unwrap();
                for r in 0..o.recipients {
                    puts.push((lay.outbox_key(s, r), lay.outbox_value(s, r, true)));
                }
            }
            w.keys += puts.len() as u64;
            w.bytes += puts.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum::<u64>();
            let durable = kv.durable_group(w.groups);
            let t = Instant::now();
            kv.write(&puts, &[], durable)?;
            w.outcome_lat.push(t.elapsed());
            w.groups += 1;
        }
    }
    w.took = start.elapsed();
    w.cpu = cpu_seconds() - cpu0;
    w.ingest_lat.sort();
    w.outcome_lat.sort();
    Ok(w)
}

fn phase_write(backend: &str, dir: &Path, o: &Opts) -> R<()> {
    let lay = Layout::new(o);
    let mut kv = open(backend, dir, o)?;
    let Written { took, cpu, ingest_lat, outcome_lat, groups, keys: keys_written, bytes: bytes_written } =
        write_messages(kv.as_mut(), &lay, o, 1, o.messages)?;
    out("messages", o.messages);
    out("write_s", format!("{:.2}", took.as_secs_f64()));
    out("write_msgs_per_s", format!("{:.0}", o.messages as f64 / took.as_secs_f64()));
    out("write_cpu_us_per_msg", format!("{:.0}", cpu * 1e6 / o.messages as f64));
    out("keys_written", keys_written);
    out("bytes_written", bytes_written);
    out("groups", groups);
    out("ingest_groups", ingest_lat.len());
    out("ingest_p50_ms", format!("{:.2}", ms(pct(&ingest_lat, 0.50))));
    out("ingest_p99_ms", format!("{:.2}", ms(pct(&ingest_lat, 0.99))));
    out("ingest_max_ms", format!("{:.2}", ms(pct(&ingest_lat, 1.0))));
    out("outcome_groups", outcome_lat.len());
    out("outcome_p99_ms", format!("{:.2}", ms(pct(&outcome_lat, 0.99))));
    out("rss_after_write_mib", format!("{:.0}", rss_mib()));

    point_reads(kv.as_ref(), &lay, o, "read")?;

    scan_pending(kv.as_ref(), o, "scan")?;
    out("rss_after_reads_mib", format!("{:.0}", rss_mib()));
    out("hwm_write_mib", format!("{:.0}", hwm_mib()));
    let t = Instant::now();
    kv.close()?;
    out("close_ms", format!("{:.0}", ms(t.elapsed())));
    let (len, alloc) = disk(dir);
    out("disk_bytes", len);
    out("disk_alloc_bytes", alloc);
    Ok(())
}

/// Random point reads: a conversation and one of its messages.
fn point_reads(kv: &dyn Kv, lay: &Layout, o: &Opts, name: &str) -> R<()> {
    let mut rng = Rng(o.seed ^ 0x7265_6164);
    let mut lat = Vec::with_capacity(o.reads as usize);
    for _ in 0..o.reads {
        let s = rng.range(1, o.messages);
        let t = Instant::now();
        let c = kv.get(&lay.conv_key(lay.conv_of(s).0))?;
        let m = kv.get(&lay.message_key(s))?;
        lat.push(t.elapsed());
        assert!(c.is_some() && m.is_some(), "message {s} or its conversation is missing");
    }
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
    out(&format!("{name}_mean_us"), format!("{:.1}", mean.as_secs_f64() * 1e6));
    out(&format!("{name}_p99_us"), format!("{:.1}", pct(&lat, 0.99).as_secs_f64() * 1e6));
    out(&format!("{name}_max_us"), format!("{:.0}", pct(&lat, 1.0).as_secs_f64() * 1e6));
    Ok(())
}

fn scan_pending(kv: &dyn Kv, o: &Opts, name: &str) -> R<()> {
    let t = Instant::now();
    let mut pending = 0u64;
    let needle = br#""status":"pending""#;
    let n = kv.scan(b"o/", &mut |_, v| {
        if v.windows(needle.len()).any(|w| w == needle) {
            pending += 1;
        }
    })?;
    out(&format!("{name}_ms"), format!("{:.0}", ms(t.elapsed())));
    out(&format!("{name}_entries"), n);
    out(&format!("{name}_pending"), pending);
    let expected = (o.messages / 20) * o.recipients;
    if pending != expected {
        out(&format!("{name}_warning"), format!("expected {expected} pending"));
    }
    Ok(())
}

fn phase_reopen(backend: &str, dir: &Path, o: &Opts) -> R<()> {
    let t = Instant::now();
    let kv = open(backend, dir, o)?;
    let opened = t.elapsed();
    let v = kv.get(b"meta/last_seq")?;
    let first = t.elapsed();
    assert_eq!(v.as_deref(), Some(o.messages.to_string().as_bytes()), "meta/last_seq after reopen");
    out("open_ms", format!("{:.0}", ms(opened)));
    out("startup_ms", format!("{:.0}", ms(first)));
    out("rss_after_open_mib", format!("{:.0}", rss_mib()));
    scan_pending(kv.as_ref(), o, "cold_scan")?;
    out("rss_after_scan_mib", format!("{:.0}", rss_mib()));
    point_reads(kv.as_ref(), &Layout::new(o), o, "reopen_read")?;
    out("hwm_reopen_mib", format!("{:.0}", hwm_mib()));
    kv.close()?;
    Ok(())
}

fn phase_delete(backend: &str, dir: &Path, o: &Opts) -> R<()> {
    let lay = Layout::new(o);
    let half = lay.conversations() / 2;
    let mut kv = open(backend, dir, o)?;
    let t = Instant::now();
    let mut dels = Vec::new();
    let (mut deleted, mut msgs, mut groups) = (0u64, 0u64, 0u64);
    let mut flush = |kv: &mut Box<dyn Kv>, dels: &mut Vec<Vec<u8>>, last: bool| -> R<()> {
        let durable = kv.durable_group(groups) || last;
        kv.write(&[], dels, durable)?;
        deleted += dels.len() as u64;
        dels.clear();
        groups += 1;
        Ok(())
    };
    for seq in 1..=o.messages {
        let (c, n) = lay.conv_of(seq);
        if c >= half {
            continue;
        }
        msgs += 1;
        dels.push(lay.message_key(seq));
        dels.push(lay.native_key(seq));
        dels.push(lay.accepted_key(seq));
        for r in 0..o.recipients {
            dels.push(lay.outbox_key(seq, r));
        }
        if n + 1 == o.per_conv {
            dels.push(lay.conv_key(c));
        }
        if dels.len() >= 4096 {
            flush(&mut kv, &mut dels, false)?;
        }
    }
    flush(&mut kv, &mut dels, true)?;
    out("deleted_messages", msgs);
    out("deleted_keys", deleted);
    out("delete_s", format!("{:.1}", t.elapsed().as_secs_f64()));
    kv.close()?;
    let (len, alloc) = disk(dir);
    out("disk_after_delete_bytes", len);
    out("disk_after_delete_alloc_bytes", alloc);
    if o.refill {
        // Retention's steady state: as many new messages as were deleted, before any compaction.
        let mut kv = open(backend, dir, o)?;
        let w = write_messages(kv.as_mut(), &lay, o, o.messages + 1, o.messages + msgs)?;
        out("refill_messages", msgs);
        out("refill_msgs_per_s", format!("{:.0}", msgs as f64 / w.took.as_secs_f64()));
        kv.close()?;
        let (len, alloc) = disk(dir);
        out("disk_after_refill_bytes", len);
        out("disk_after_refill_alloc_bytes", alloc);
    }
    let mut kv = open(backend, dir, o)?;
    let t = Instant::now();
    let what = kv.compact()?;
    out("compact_s", format!("{:.1}", t.elapsed().as_secs_f64()));
    out("compact_what", what);
    assert!(kv.get(&lay.message_key(o.messages))?.is_some(), "the newest message survived");
    assert!(kv.get(&lay.message_key(1))?.is_none(), "the oldest message is gone");
    kv.close()?;
    let (len, alloc) = disk(dir);
    out("disk_after_compact_bytes", len);
    out("disk_after_compact_alloc_bytes", alloc);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The parent

fn run_child(phase: &str, backend: &str, dir: &Path, o: &Opts) -> BTreeMap<String, String> {
    let exe = std::env::current_exe().expect("own path");
    let t = Instant::now();
    let output =
        Command::new(exe).arg("child").arg(phase).arg(backend).arg(dir).args(to_args(o)).output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut m = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once('\t') {
            m.insert(k.to_string(), v.to_string());
        }
    }
    eprintln!(
        "  {backend} {phase}: {:.1} s{}",
        t.elapsed().as_secs_f64(),
        if output.status.success() { "" } else { " FAILED" }
    );
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        m.insert("failed".into(), format!("{phase}: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    for (k, v) in &m {
        eprintln!("    {k} = {v}");
    }
    m
}

fn mib(v: Option<&String>) -> String {
    v.and_then(|s| s.parse::<f64>().ok()).map(|b| format!("{:.0}", b / 1048576.0)).unwrap_or("-".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let (phase, backend, dir) = (&args[1], &args[2], PathBuf::from(&args[3]));
        let o = parse(&args[4..]);
        let r = match phase.as_str() {
            "write" => phase_write(backend, &dir, &o),
            "reopen" => phase_reopen(backend, &dir, &o),
            "delete" => phase_delete(backend, &dir, &o),
            other => Err(format!("unknown phase {other}").into()),
        };
        if let Err(e) = r {
            eprintln!("{backend} {phase}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let o = parse(&args);
    let lay = Layout::new(&o);
    println!(
        "storebench: {} messages in {} conversations ({} open at a time, {} messages each), groups of {}, outcomes in groups of {}, {} recipient(s), cache {} MiB, fjall memtable {} MiB, seed {}, dir {}",
        o.messages,
        lay.conversations(),
        o.window,
        o.per_conv,
        o.group,
        o.outcome_group,
        o.recipients,
        o.cache_mib,
        o.fjall_memtable_mib,
        o.seed,
        o.dir.display()
    );
    let mut results = Vec::new();
    for b in &o.backends {
        let dir = o.dir.join(format!("c2c-storebench-{}-{b}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("{b} in {}", dir.display());
        let mut m = run_child("write", b, &dir, &o);
        if !m.contains_key("failed") {
            m.extend(run_child("reopen", b, &dir, &o));
        }
        if !m.contains_key("failed") {
            m.extend(run_child("delete", b, &dir, &o));
        }
        if !o.keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
        results.push((b.clone(), m));
    }
    let g = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or("-".into());
    println!();
    println!(
        "| backend | durable msg/s | CPU µs/msg | ingest group p50 / p99 / max ms | outcome group p99 ms | read conv+msg mean / p99 / max µs | same after reopen | pending scan ms (warm / new process) | disk MiB | disk bytes/msg | start-up ms (open + 1 read) | RSS after run MiB (peak) | RSS after reopen / after scan MiB | disk MiB after deleting half | after compaction MiB (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (b, m) in &results {
        let per_msg = m
            .get("disk_bytes")
            .and_then(|d| d.parse::<f64>().ok())
            .map(|d| format!("{:.0}", d / o.messages as f64))
            .unwrap_or("-".into());
        println!(
            "| {b} | {} | {} | {} / {} / {} | {} | {} / {} / {} | {} / {} / {} | {} / {} | {} | {} | {} | {} ({}) | {} / {} | {} | {} ({}) |",
            g(m, "write_msgs_per_s"),
            g(m, "write_cpu_us_per_msg"),
            g(m, "ingest_p50_ms"),
            g(m, "ingest_p99_ms"),
            g(m, "ingest_max_ms"),
            g(m, "outcome_p99_ms"),
            g(m, "read_mean_us"),
            g(m, "read_p99_us"),
            g(m, "read_max_us"),
            g(m, "reopen_read_mean_us"),
            g(m, "reopen_read_p99_us"),
            g(m, "reopen_read_max_us"),
            g(m, "scan_ms"),
            g(m, "cold_scan_ms"),
            mib(m.get("disk_bytes")),
            per_msg,
            g(m, "startup_ms"),
            g(m, "rss_after_reads_mib"),
            g(m, "hwm_write_mib"),
            g(m, "rss_after_open_mib"),
            g(m, "rss_after_scan_mib"),
            mib(m.get("disk_after_delete_bytes")),
            mib(m.get("disk_after_compact_bytes")),
            g(m, "compact_s"),
        );
    }
    if o.refill {
        println!();
        println!(
            "| backend | disk MiB after writing | after deleting half | after writing as many new messages (msg/s) | after compaction MiB (s) |"
        );
        println!("|---|---|---|---|---|");
        for (b, m) in &results {
            println!(
                "| {b} | {} | {} | {} ({}) | {} ({}) |",
                mib(m.get("disk_bytes")),
                mib(m.get("disk_after_delete_bytes")),
                mib(m.get("disk_after_refill_bytes")),
                g(m, "refill_msgs_per_s"),
                mib(m.get("disk_after_compact_bytes")),
                g(m, "compact_s"),
            );
        }
    }
    for (b, m) in &results {
        if let Some(f) = m.get("failed") {
            println!("\n{b} FAILED: {f}");
        }
        for (k, v) in m {
            if k.ends_with("_warning") {
                println!("\n{b}: {k}: {v}");
            }
        }
    }
}

// The daemon's allocator, so resident memory reads as it would there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
