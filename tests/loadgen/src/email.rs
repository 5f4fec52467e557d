//! `--mode email`: relay webhook → email through the real Postfix, beside Postfix's own rate.
//!
//! Needs the test mail servers (`tests/mail/mail-server.sh start`). Hangzhou's system posts
//! `--email-messages` signed messages at full speed; the bridge mails each to Jo at Leeds
//! through Postfix's submission port (STARTTLS + AUTH), and the phase ends when the last one is
//! in Jo's Maildir. Then `smtp-source` (from Debian's postfix package) sends as many mails of
//! the same size to Postfix directly, and that phase ends the same way. Both rates count mails
//! delivered into the mailbox; smtp-source's own accept rate is shown too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench_config;
use crate::client::{Load, closed_loop_count};
use crate::daemon::{self, Bridge};
use crate::servers::Sink;

pub(crate) fn add_user(repo: &Path, address: &str, password: &str) -> anyhow::Result<()> {
    let ok = Command::new("bash")
        .arg(repo.join("tests/mail/mail-server.sh"))
        .args(["add-user", address, password])
        .status()?;
    anyhow::ensure!(ok.success(), "add-user {address} failed");
    Ok(())
}

/// Mails in a Maildir (new + cur).
fn count(maildir: &Path) -> usize {
    ["new", "cur"].iter().map(|d| std::fs::read_dir(maildir.join(d)).map(|r| r.count()).unwrap_or(0)).sum()
}

fn mean_size(maildir: &Path) -> u64 {
    let sizes: Vec<u64> = std::fs::read_dir(maildir.join("new"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .collect();
    if sizes.is_empty() { 0 } else { sizes.iter().sum::<u64>() / sizes.len() as u64 }
}

async fn wait_count(maildir: &Path, target: usize, timeout: Duration) -> anyhow::Result<Instant> {
    let start = Instant::now();
    loop {
        if count(maildir) >= target {
            return Ok(Instant::now());
        }
        anyhow::ensure!(start.elapsed() < timeout, "only {} of {target} mails arrived", count(maildir));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn run(bin: &Path, messages: u64, connections: usize, text_bytes: usize) -> anyhow::Result<()> {
    let env = crate::servers::server_env("mail", "tests/mail/mail-server.sh start")?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tag = std::process::id();
    let bridge_addr = format!("bridge-bench-{tag}@c2c.test");
    let jo = format!("jo-bench-{tag}@leeds.test");
    let password = format!("bench-{tag}");
    add_user(&repo, &bridge_addr, &password)?;
    add_user(&repo, &jo, &password)?;
    let state = PathBuf::from(&env["C2C_MAIL_STATE"]);
    let local = jo.split('@').next().unwrap_or_default();
    let maildir = state.join("maildirs/leeds.test").join(local).join("Maildir");
    println!("# c2c-loadgen --mode email: {messages} messages, {connections} connections, {text_bytes}-byte texts");

    let sink = Sink::start().await?;
    let (b, j) = (bridge_addr.clone(), jo.clone());
    let mut bridge = Bridge::start_with(bin, vec![("C2C_BENCH_MAIL_PW".into(), password.clone())], |addr| {
        [
            bench_config::bridge(addr, "", &bench_config::email_connector(&env, &b)),
            bench_config::city("leeds", "", &format!("email = \"{j}\"")),
            bench_config::city("hangzhou", &bench_config::webhook(sink.addr, "hangzhou"), ""),
            bench_config::partnership(("leeds", "email"), ("hangzhou", "webhook")),
        ]
        .concat()
    })
    .await?;

    // The bridge: webhook in, mail out, until the last one is in Jo's mailbox.
    let before = count(&maildir);
    let mut load = Load::new(connections, Duration::ZERO, text_bytes, 1000);
    load.from = "hz-li".into();
    let start = Instant::now();
    let sampler = bridge.rss_sampler();
    let sent = closed_loop_count(&bridge.target("hangzhou"), &load, messages).await?;
    anyhow::ensure!(
        sent.accepted == messages,
        "{} of {messages} accepted ({} refused, {} errors)",
        sent.accepted,
        sent.refused,
        sent.errors
    );
    let accepted_in = start.elapsed();
    // When Postfix had accepted the last of the bridge's mails (the bridge's delivered counter).
    let series = r#"c2c_deliveries_total{channel="email",status="delivered"}"#;
    while bridge.metric(series).await < messages as f64 {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(600), "the bridge did not deliver every mail");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let smtp_secs = start.elapsed().as_secs_f64();
    let peak = sampler.stop().await;
    let done = wait_count(&maildir, before + messages as usize, Duration::from_secs(600)).await?;
    let bridge_secs = done.duration_since(start).as_secs_f64();
    let size = mean_size(&maildir);
    bridge.stop().await?;
    println!(
        "\n## bridge: webhook → SMTP submission (STARTTLS + AUTH) → Jo's mailbox\naccepted {messages} in {:.2}s; Postfix accepted the last after {smtp_secs:.2}s ({:.0}/s); all delivered to the mailbox after {bridge_secs:.2}s: {:.0} mails/s; mean mail size {size} bytes; the daemon's peak RSS {} MiB (anonymous {} MiB)",
        accepted_in.as_secs_f64(),
        messages as f64 / smtp_secs,
        messages as f64 / bridge_secs,
        daemon::mib(peak.rss),
        daemon::mib(peak.anon)
    );

    // Postfix on its own: smtp-source, mails of the same size, 20 parallel sessions.
    let before = count(&maildir);
    let start = Instant::now();
    let out = Command::new("smtp-source")
        .args(["-c", "-s", "20", "-l", &size.to_string(), "-m", &messages.to_string()])
        .args(["-f", "bench@hangzhou.test", "-t", &jo, &format!("127.0.0.1:{}", env["C2C_MAIL_SMTP_PORT"])])
        .output()?;
    anyhow::ensure!(out.status.success(), "smtp-source: {}", String::from_utf8_lossy(&out.stderr));
    let accepted = start.elapsed().as_secs_f64();
    let done = wait_count(&maildir, before + messages as usize, Duration::from_secs(600)).await?;
    let source_secs = done.duration_since(start).as_secs_f64();
    println!(
        "\n## smtp-source → Postfix (port 25 style, no TLS) → Jo's mailbox\naccepted {messages} in {accepted:.2}s ({:.0}/s); all delivered after {source_secs:.2}s: {:.0} mails/s",
        messages as f64 / accepted,
        messages as f64 / source_secs
    );
    println!(
        "\n| measure | value |\n|---|---|\n| bridge, webhook → mailbox | {:.0} mails/s |\n| smtp-source → mailbox | {:.0} mails/s |\n| bridge / smtp-source, into the mailbox | {:.2} |\n| bridge, accepted by Postfix (submission, STARTTLS + AUTH) | {:.0} mails/s |\n| smtp-source, accepted by Postfix (port 25, plain) | {:.0} mails/s |\n| bridge / smtp-source, accepted | {:.2} |",
        messages as f64 / bridge_secs,
        messages as f64 / source_secs,
        source_secs / bridge_secs,
        messages as f64 / smtp_secs,
        messages as f64 / accepted,
        accepted / smtp_secs
    );
    Ok(())
}
