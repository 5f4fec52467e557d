//! Helpers for the integration tests, which drive the real `c2c-bridge` binary over real HTTP
//! on loopback.
//!
//! # Layout
//! - [`daemon`]: start, stop (SIGTERM), kill (SIGKILL) and restart the binary on a config.
//! - [`sink`]: a city's system: receives the bridge's webhooks, verifies their signatures,
//!   answers with scripted statuses.
//! - [`post`]: signed posts to the bridge, as a city's system makes them.
//! - [`world`]: a test world of three webhook cities with its config file.
//! - [`link`]: a TCP link between two instances that a test cuts (connection refused) and heals.
//! - [`mail`]: the real mail server and officers using it through Python's smtplib/imaplib.
//! - [`matrix`]: the real Synapse and officers using it through matrix-nio.
//!
//! Waiting is always for an event (a request arriving, a health check answering) with a
//! generous deadline that only turns a hang into a failure.

pub mod daemon;
pub mod link;
pub mod mail;
pub mod matrix;
pub mod post;
pub mod sink;
pub mod world;

use std::time::Duration;

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A token no other call returns, in this run or another one (account names on the shared test
/// servers persist between runs). A free port is not one: the OS hands the same port out again.
pub fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:08x}{n}", rand::random::<u32>())
}

/// A fresh Standard Webhooks secret (`whsec_` + base64 of 32 random bytes).
pub fn new_secret() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// The `KEY=value` env file a server script wrote: `$override_var` if set, else
/// `$C2C_STATE_DIR/<sub>/env` (default state dir `~/.cache/c2c-bridge`).
pub fn server_env(override_var: &str, sub: &str, how_to_start: &str) -> std::collections::HashMap<String, String> {
    let path = std::env::var(override_var).map(std::path::PathBuf::from).unwrap_or_else(|_| {
        let state = std::env::var("C2C_STATE_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/c2c-bridge"));
        state.join(sub).join("env")
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: start it first ({how_to_start}; tests/run.sh does)", path.display()));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

/// The repository's root.
pub fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
