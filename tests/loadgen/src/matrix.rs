//! `--mode matrix`: relay webhook → Matrix through the real Synapse, beside the rate at which a
//! plain matrix-nio client posts to the same room.
//!
//! Needs the test Synapse (`tests/matrix/synapse.sh start`). Gifu's system posts
//! `--matrix-messages` signed messages at full speed; the bridge posts each into Hangzhou's
//! portal room (unencrypted, so both sides do the same work); the phase ends when a reader has
//! seen the last one arrive (a /sync long-poll). Then `tests/matrix/post_rate.py` (matrix-nio)
//! posts as many messages to the same room, 1, 8 and 64 at a time (64 = the bridge's default
//! delivery concurrency).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench_config;
use crate::client::{Load, closed_loop_count};
use crate::daemon::Bridge;
use crate::servers::Sink;

fn register(repo: &Path, user: &str, password: &str) -> anyhow::Result<()> {
    let ok =
        Command::new("bash").arg(repo.join("tests/matrix/synapse.sh")).args(["register", user, password]).output()?;
    anyhow::ensure!(ok.status.success(), "register {user}: {}", String::from_utf8_lossy(&ok.stderr));
    Ok(())
}

/// Count the bot's messages in `room` as they arrive, until `n`; returns when the last came.
async fn wait_for(
    http: &reqwest::Client,
    hs: &str,
    token: &str,
    room: &str,
    bot: &str,
    since: &str,
    n: usize,
) -> anyhow::Result<Instant> {
    let mut since = since.to_string();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Without a filter a /sync returns only the last few timeline events of a busy room
    // (`limited`); ask for up to 1,000 of the bot's messages per response and check.
    let filter =
        json!({"room": {"rooms": [room], "timeline": {"limit": 1000, "types": ["m.room.message"], "senders": [bot]}}})
            .to_string();
    while seen < n {
        anyhow::ensure!(Instant::now() < deadline, "only {seen} of {n} messages arrived");
        let r: Value = http
            .get(reqwest::Url::parse_with_params(
                &format!("{hs}/_matrix/client/v3/sync"),
                &[("timeout", "10000"), ("since", since.as_str()), ("filter", filter.as_str())],
            )?)
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        since = r["next_batch"].as_str().unwrap_or(&since).to_string();
        let timeline = &r["rooms"]["join"][room]["timeline"];
        anyhow::ensure!(timeline["limited"] != true, "the reader's /sync skipped events (limited timeline)");
        if let Some(events) = timeline["events"].as_array() {
            seen += events.iter().filter(|e| e["type"] == "m.room.message" && e["sender"] == bot).count();
        }
    }
    Ok(Instant::now())
}

async fn login(http: &reqwest::Client, hs: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let r: Value = http
        .post(format!("{hs}/_matrix/client/v3/login"))
        .json(&json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    r["access_token"].as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("login {user}: {r}"))
}

async fn sync_token(http: &reqwest::Client, hs: &str, token: &str) -> anyhow::Result<String> {
    let r: Value = http.get(format!("{hs}/_matrix/client/v3/sync")).bearer_auth(token).send().await?.json().await?;
    Ok(r["next_batch"].as_str().unwrap_or_default().to_string())
}

pub async fn run(bin: &Path, messages: u64, connections: usize, text_bytes: usize) -> anyhow::Result<()> {
    let env = crate::servers::server_env("synapse", "tests/matrix/synapse.sh start")?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let hs = env["C2C_SYNAPSE_URL"].clone();
    let server = env["C2C_SYNAPSE_SERVER_NAME"].clone();
    let tag = std::process::id();
    let (bot, reader, password) = (format!("bench-bot-{tag}"), format!("bench-reader-{tag}"), format!("pw-{tag}"));
    register(&repo, &bot, &password)?;
    register(&repo, &reader, &password)?;
    let (bot_id, reader_id) = (format!("@{bot}:{server}"), format!("@{reader}:{server}"));
    println!("# c2c-loadgen --mode matrix: {messages} messages, {connections} connections, {text_bytes}-byte texts");

    let sink = Sink::start().await?;
    let (b, r, h) = (bot_id.clone(), reader_id.clone(), hs.clone());
    let mut bridge = Bridge::start_with(bin, vec![("C2C_BENCH_MATRIX_PW".into(), password.clone())], |addr| {
        [
            bench_config::bridge(
                addr,
                "",
                &format!(
                    r#"
[connectors.matrix]
homeserver = "{h}"
user = "{b}"
password_env = "C2C_BENCH_MATRIX_PW"
store_dir = "matrix"
encrypt_new_rooms = false
"#
                ),
            ),
            bench_config::city("hangzhou", "", &format!("matrix = \"{r}\"")),
            bench_config::city("gifu", &bench_config::webhook(sink.addr, "gifu"), ""),
            bench_config::partnership(("hangzhou", "matrix"), ("gifu", "webhook")),
        ]
        .concat()
    })
    .await?;

    // The reader (Hangzhou's officer) accepts the portal room's invite.
    let out = Command::new(&env["C2C_MATRIX_PYTHON"])
        .arg(repo.join("tests/matrix/officer.py"))
        .args(["--homeserver", &hs, "--user", &reader_id, "--password", &password, "--store"])
        .arg(std::env::temp_dir().join(format!("c2c-bench-reader-{tag}")))
        .args(["wait-invite", "--timeout", "60"])
        .output()?;
    let invite: Value = serde_json::from_slice(&out.stdout)?;
    let room = invite["room_id"].as_str().ok_or_else(|| anyhow::anyhow!("no invite: {invite}"))?.to_string();
    let http = reqwest::Client::new();
    let token = login(&http, &hs, &reader_id, &password).await?;

    // The bridge: webhook in, Matrix out, until the reader has seen the last one.
    let since = sync_token(&http, &hs, &token).await?;
    let mut load = Load::new(connections, Duration::ZERO, text_bytes, 1000);
    load.from = "gifu-sato".into();
    let start = Instant::now();
    let sent = closed_loop_count(&bridge.target("gifu"), &load, messages).await?;
    anyhow::ensure!(sent.accepted == messages, "{} of {messages} accepted", sent.accepted);
    let done = wait_for(&http, &hs, &token, &room, &bot_id, &since, messages as usize).await?;
    let bridge_rate = messages as f64 / done.duration_since(start).as_secs_f64();
    bridge.stop().await?;
    println!(
        "\n## bridge: webhook → Matrix room (seen by a reader)\n{messages} messages in {:.2}s: {bridge_rate:.0} msg/s",
        done.duration_since(start).as_secs_f64()
    );

    // matrix-nio posting to the same room.
    let mut nio = Vec::new();
    for concurrency in [1, 8, 64] {
        let out = Command::new(&env["C2C_MATRIX_PYTHON"])
            .arg(repo.join("tests/matrix/post_rate.py"))
            .args(["--homeserver", &hs, "--user", &reader_id, "--password", &password, "--room", &room])
            .args(["--count", &messages.to_string(), "--concurrency", &concurrency.to_string()])
            .args(["--text-bytes", &text_bytes.to_string()])
            .output()?;
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| anyhow::anyhow!("post_rate.py: {e}: {}", String::from_utf8_lossy(&out.stderr)))?;
        let rate = v["per_second"].as_f64().unwrap_or(0.0);
        println!("\n## matrix-nio posting, {concurrency} at a time\n{messages} messages: {rate:.0} msg/s");
        nio.push((concurrency, rate));
    }
    println!("\n| measure | value |\n|---|---|\n| bridge, webhook → Matrix | {bridge_rate:.0} msg/s |");
    for (c, rate) in &nio {
        println!(
            "| matrix-nio, {c} at a time | {rate:.0} msg/s |\n| bridge / nio ({c} at a time) | {:.2} |",
            bridge_rate / rate
        );
    }
    Ok(())
}
