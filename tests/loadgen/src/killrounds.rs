//! `--mode killrounds`: is every acknowledged message delivered exactly once, as its receiver
//! sees it, when the daemon is `kill -9`ed in the middle of the flow, round after round, on one
//! store (issue 17)? Run it once per engine (`--store sled`, `--store redb`).
//!
//! One bridge hosts Leeds and Hangzhou, both on webhooks, in one partnership; both cities'
//! systems are one [`KeyedSink`], which records every delivery by the message it carries and by
//! its `webhook-id` (the idempotency key a city's system deduplicates on). The receiver is slow
//! and a little flaky (`--sink-delay-ms`, `--sink-fail-percent`: each delivery answered after up
//! to 40 ms, the first attempt of 2 % answered 503), so that the outbox holds a backlog of
//! deliveries, some in flight and some waiting for a retry, when the daemon dies; with both at
//! 0 it answers at once and the outbox is nearly empty at every kill. Each of `--rounds` rounds,
//! on the same store directory:
//!
//! 1. start the daemon (the real `c2c-bridge run`, see `daemon`);
//! 2. load: half of `--connections` post as Leeds to Hangzhou, half as Hangzhou to Leeds, as
//!    fast as answers come back, over `--conversations` thread keys per city, with texts of
//!    mixed sizes (0 to twice `--text-bytes`); each message has a unique key in its text and its
//!    own `webhook-id`;
//! 3. at a random moment (`--kill-window-ms`, drawn from the seeded RNG; the seed is printed,
//!    `--seed` replays the same moments) `kill -9` the daemon: every message answered 2xx
//!    before that is acknowledged; one answered 5xx or not at all (in flight at the kill) is not;
//! 4. start it again on the same store and resend each unanswered message with its same
//!    `webhook-id` and body, as a city's system retries, until it is answered (a message
//!    committed before the kill must get its original answer and create nothing: this checks
//!    intake idempotency across the crash); those answered 2xx are acknowledged too;
//! 5. wait, by observing, until every message acknowledged in this round has reached the sink
//!    and the daemon's `c2c_outbox_depth` is 0 (10 minutes at most);
//! 6. stop it (SIGTERM) and run `c2c-bridge store check` on its config: exit 0 is clean.
//!
//! With `--check-after-kill`, `store check` also runs on the store as the kill left it, between
//! steps 3 and 4. It is off by default: the check's own open recovers the store, so the daemon
//! restarted after it would not exercise its own recovery from the crash.
//!
//! With `--kill-email` (needs `tests/mail/mail-server.sh start`), the load is mixed: Gifu joins,
//! its officer on email in a second partnership with Leeds, and one of the senders posts as
//! Leeds to Gifu. Those messages go out through the test Postfix (submission, STARTTLS + AUTH)
//! into the officer's Maildir, read by [`Mailbox`]: a mail there is what that receiver saw, and
//! its `Message-ID` is the idempotency key its mail client deduplicates on.
//!
//! At the end, over every round: each acknowledged message must have reached the right city
//! under exactly one `webhook-id` (repeats under the same id are the at-least-once redelivery
//! a receiver deduplicates, counted and reported apart), none missing, and every store check
//! clean; otherwise the run exits non-zero, keeps the bridge's directory (config, store, log)
//! and says where it is.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use rand::{Rng, SeedableRng};

use crate::bench_config;
use crate::client::{Target, connect};
use crate::daemon::Bridge;
use crate::mailbox::Mailbox;
use crate::servers::KeyedSink;

/// What the driver is given.
pub struct KillRounds<'a> {
    pub bin: &'a Path,
    pub rounds: u32,
    /// `sled` or `redb`.
    pub store: &'a str,
    pub seed: u64,
    /// Senders, split between the two directions.
    pub connections: usize,
    /// Thread keys per sending city.
    pub conversations: u64,
    /// Mean text size; each text is 0 to twice this.
    pub text_bytes: usize,
    /// The kill falls between 100 ms and this many ms after the first message is acknowledged.
    pub kill_window_ms: u64,
    /// More `[bridge]` lines (`store = …` among them).
    pub bridge_extra: String,
    /// The receiver answers each delivery after 0 to this many ms.
    pub sink_delay_ms: u64,
    /// The receiver answers the first attempt of about this many in a hundred deliveries 503.
    pub sink_fail_percent: u64,
    /// Also run `store check` on the store as each kill left it, before the restart (the check
    /// then opens it first, so the daemon starts on a store the check's open has recovered).
    pub check_after_kill: bool,
    /// Mixed load: one sender posts as Leeds to Gifu's officer on email.
    pub email: bool,
}

/// One direction of the load.
struct Direction {
    /// In each message's key.
    tag: &'static str,
    from: &'static str,
    contact: &'static str,
    /// The city whose system must receive it.
    to: &'static str,
    partnership: &'static str,
}

const DIRECTIONS: [Direction; 3] = [
    Direction { tag: "lh", from: "leeds", contact: "leeds-jo", to: "hangzhou", partnership: "bench" },
    Direction { tag: "hl", from: "hangzhou", contact: "hz-li", to: "leeds", partnership: "bench" },
    // With --kill-email only: to Gifu's officer, by email.
    Direction { tag: "lg", from: "leeds", contact: "leeds-jo", to: "gifu", partnership: "bench-mail" },
];

/// The direction whose receiver is a mailbox.
const EMAIL: usize = 2;

/// How long to wait for a round's acknowledged messages after the restart.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(600);

/// Attempts to resend one unanswered message before giving up on it.
const RESEND_ATTEMPTS: u32 = 200;

/// One message a sender posted.
struct Sent {
    key: String,
    dir: usize,
    body: Vec<u8>,
    answer: Answer,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    /// 2xx: acknowledged.
    Accepted,
    /// 4xx: refused for good (a fault of this driver, reported).
    Refused(u16),
    /// 5xx or no answer (the connection died with the daemon).
    Unanswered,
}

/// What one round did.
struct Round {
    kill_after: Duration,
    sent: usize,
    acked_before_kill: usize,
    /// Acknowledged before the kill but not at the sink yet when it fell: in the outbox.
    undelivered_at_kill: usize,
    unanswered_at_kill: usize,
    /// Unanswered at the kill but already at the sink: committed before the kill, so the resend
    /// had to get the original answer and create nothing.
    unanswered_but_delivered: usize,
    /// Resends the restarted daemon answered as replays (`c2c_messages_replayed_total`): the
    /// first attempt was committed before the kill.
    replayed_on_resend: u64,
    acked_on_resend: usize,
    never_acked: usize,
    refused: usize,
    restart: Duration,
    drained: Duration,
    missing_at_timeout: usize,
    raw_redeliveries: u64,
    check_clean: bool,
    check_summary: String,
    check_time: Duration,
    /// With `--check-after-kill`: `store check` on the store as the kill left it (clean, what
    /// it said).
    check_after_kill: Option<(bool, String)>,
    log_lines: Vec<String>,
    total: Duration,
}

pub async fn run(k: KillRounds<'_>) -> anyhow::Result<()> {
    let n = k.connections.max(2);
    let senders = if k.email {
        format!("{} Leeds→Hangzhou, {} Hangzhou→Leeds, 1 Leeds→Gifu by email", (n - 1) / 2, n / 2)
    } else {
        format!("{} per direction", n / 2)
    };
    println!(
        "# c2c-loadgen --mode killrounds: {} rounds on {}, {n} senders ({senders}), {} conversations per city, texts 0-{} bytes, kill within 100-{} ms of the load's start",
        k.rounds,
        k.store,
        k.conversations,
        k.text_bytes * 2,
        k.kill_window_ms
    );
    println!(
        "receiver: answers after 0-{} ms, 503 to the first attempt of {} % of deliveries; [bridge.delivery] initial_backoff 250ms, max_backoff 2s",
        k.sink_delay_ms, k.sink_fail_percent
    );
    println!("seed: {} (replay the same kill moments with --seed {})", k.seed, k.seed);
    println!(
        "machine: {} cores; {}; {}; bridge binary: {}",
        std::thread::available_parallelism()?.get(),
        crate::cpu_model(),
        memory(),
        k.bin.display()
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(k.seed);
    let sink = KeyedSink::start(k.sink_delay_ms, k.sink_fail_percent).await?;
    // Retries of the receiver's 503s within the round, not seconds later.
    let extra = format!(
        "commit = \"group\"\n{}\n[bridge.delivery]\ninitial_backoff = \"250ms\"\nmax_backoff = \"2s\"\n",
        k.bridge_extra
    );
    let mail = if k.email { Some(MailSetup::new()?) } else { None };
    let mut mailbox = mail.as_ref().map(|m| Mailbox::new(m.maildir.clone()));
    if let Some(m) = &mail {
        println!("mixed load: 1 of the senders posts as Leeds to Gifu's officer on email, {}", m.officer);
    }
    let env = mail.as_ref().map(|m| vec![("C2C_BENCH_MAIL_PW".to_string(), m.password.clone())]).unwrap_or_default();
    let mut bridge = Bridge::start_with(k.bin, env, |addr| {
        let mut parts = vec![
            bench_config::bridge(addr, &extra, &mail.as_ref().map(MailSetup::connector).unwrap_or_default()),
            bench_config::city("leeds", &bench_config::webhook(sink.addr, "leeds"), ""),
            bench_config::city("hangzhou", &bench_config::webhook(sink.addr, "hangzhou"), ""),
            bench_config::partnership(("leeds", "webhook"), ("hangzhou", "webhook")),
        ];
        if let Some(m) = &mail {
            parts.push(bench_config::city("gifu", "", &format!("email = \"{}\"", m.officer)));
            parts.push(MAIL_PARTNERSHIP.to_string());
        }
        parts.concat()
    })
    .await?;
    // Started once to write the config; each round starts it itself.
    bridge.stop().await?;
    println!(
        "store and config: {}",
        bridge.config_path().parent().map(|p| p.display().to_string()).unwrap_or_default()
    );

    // Every acknowledged message: its key, direction and round.
    let mut acked: Vec<(String, usize, u32)> = Vec::new();
    let mut rounds = Vec::new();
    let mut log_offset = 0;
    println!(
        "\n| round | kill after | sent | acked before kill (not yet delivered at the kill) | unanswered at kill (already delivered) | acked on resend (answered as a replay) | restart | all delivered after | raw redeliveries | store check | round time |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for round in 1..=k.rounds {
        let kill_after = Duration::from_millis(rng.random_range(100..=k.kill_window_ms.max(100)));
        let r = match one_round(&k, &sink, mailbox.as_mut(), &mut bridge, round, kill_after, &mut acked).await {
            Ok(r) => r,
            Err(e) => {
                let log = tail(&bridge.log_path(), 20);
                let dir = bridge.stop_and_keep().await?;
                anyhow::bail!(
                    "round {round} (seed {}) could not go on: {e:#}\nthe bridge's directory is kept at {}\nlast log lines:\n{log}",
                    k.seed,
                    dir.display()
                );
            }
        };
        let r = Round { log_lines: new_log_lines(&bridge.log_path(), &mut log_offset), ..r };
        println!(
            "| {round} | {} ms | {} | {} ({}) | {} ({}) | {} ({}) | {:.2} s | {:.2} s | {} | {} | {:.1} s |",
            r.kill_after.as_millis(),
            r.sent,
            r.acked_before_kill,
            r.undelivered_at_kill,
            r.unanswered_at_kill,
            r.unanswered_but_delivered,
            r.acked_on_resend,
            r.replayed_on_resend,
            r.restart.as_secs_f64(),
            r.drained.as_secs_f64(),
            r.raw_redeliveries,
            if r.check_clean { "clean" } else { "PROBLEMS" },
            r.total.as_secs_f64()
        );
        if let Some((false, summary)) = &r.check_after_kill {
            println!("round {round}: store check right after the kill: {summary}");
        }
        if !r.check_clean {
            println!("round {round}: store check: {}", r.check_summary);
        }
        if r.missing_at_timeout > 0 {
            println!(
                "round {round}: {} acknowledged messages had not arrived {} s after the restart",
                r.missing_at_timeout,
                DELIVERY_TIMEOUT.as_secs()
            );
        }
        rounds.push(r);
    }

    // The receivers' view of every acknowledged message.
    if let Some(m) = mailbox.as_mut() {
        m.refresh()?;
    }
    let verdict = sink.with(|a| {
        let mut v = Verdict::default();
        let acked_keys: std::collections::HashSet<&str> = acked.iter().map(|(key, ..)| key.as_str()).collect();
        for (key, dir, round) in &acked {
            if *dir == EMAIL {
                let Some(m) = mailbox.as_ref() else { continue };
                match m.by_key.get(key) {
                    None => v.missing.push(format!("{key} (round {round}, by email)")),
                    Some(ids) => {
                        v.delivered += 1;
                        v.delivered_by_email += 1;
                        if ids.len() > 1 {
                            let ids: Vec<String> = ids.iter().map(|(id, n)| format!("{id} ×{n}")).collect();
                            v.duplicated.push(format!("{key} (round {round}, by email): {}", ids.join(", ")));
                        }
                    }
                }
                continue;
            }
            match a.by_key.get(key) {
                None => v.missing.push(format!("{key} (round {round})")),
                Some(ids) => {
                    v.delivered += 1;
                    if ids.len() > 1 {
                        let ids: Vec<String> = ids.iter().map(|(id, (n, _))| format!("{id} ×{n}")).collect();
                        v.duplicated.push(format!("{key} (round {round}): {}", ids.join(", ")));
                    }
                    if ids.values().any(|(_, city)| city != DIRECTIONS[*dir].to) {
                        v.wrong_city.push(key.clone());
                    }
                }
            }
        }
        let distinct: u64 = a.by_key.values().map(|ids| ids.len() as u64).sum();
        v.raw_redeliveries = a.raw - distinct;
        v.arrivals = a.raw;
        v.unacked_delivered = a.by_key.keys().filter(|key| !acked_keys.contains(key.as_str())).count();
        v.other = a.other;
        v.receiver_503 = a.refused.len();
        if let Some(m) = mailbox.as_ref() {
            v.mails = m.raw;
            v.mail_redeliveries = m.raw_redeliveries();
            v.mails_without_key = m.other;
            v.unacked_delivered += m.by_key.keys().filter(|key| !acked_keys.contains(key.as_str())).count();
        }
        v
    });

    let unclean: Vec<u32> =
        rounds.iter().zip(1..).filter(|(r, _)| !r.check_clean).map(|(_, round): (&Round, u32)| round).collect();
    let unclean_after_kill: Vec<u32> = rounds
        .iter()
        .zip(1..)
        .filter(|(r, _)| matches!(r.check_after_kill, Some((false, _))))
        .map(|(_, round): (&Round, u32)| round)
        .collect();
    let total = |f: fn(&Round) -> usize| rounds.iter().map(f).sum::<usize>();
    let times: Vec<f64> = rounds.iter().map(|r| r.total.as_secs_f64()).collect();
    let mean = |xs: &[f64]| if xs.is_empty() { 0.0 } else { xs.iter().sum::<f64>() / xs.len() as f64 };
    let max = |xs: &[f64]| xs.iter().copied().fold(0.0, f64::max);
    let restarts: Vec<f64> = rounds.iter().map(|r| r.restart.as_secs_f64()).collect();
    let drains: Vec<f64> = rounds.iter().map(|r| r.drained.as_secs_f64()).collect();
    let checks: Vec<f64> = rounds.iter().map(|r| r.check_time.as_secs_f64()).collect();
    println!("\n## daemon log (warnings and errors), per round");
    for (r, round) in rounds.iter().zip(1..) {
        // The receiver's 503s are expected; anything else is shown.
        let other: Vec<&String> = r.log_lines.iter().filter(|l| !l.contains("HTTP 503")).collect();
        if !r.log_lines.is_empty() {
            println!(
                "round {round}: {} lines, {} of them about the receiver's 503s{}",
                r.log_lines.len(),
                r.log_lines.len() - other.len(),
                other.first().map(|l| format!("; first other: {l}")).unwrap_or_default()
            );
        }
    }
    if rounds.iter().all(|r| r.log_lines.is_empty()) {
        println!("none");
    }
    println!("\n## summary ({}, seed {})", k.store, k.seed);
    println!("| measure | value |\n|---|---|");
    println!("| rounds (kill -9 each) | {} |", rounds.len());
    println!("| messages sent (first attempts) | {} |", total(|r| r.sent));
    println!(
        "| acknowledged | {} ({} before the kill, {} on a resend after the restart) |",
        acked.len(),
        total(|r| r.acked_before_kill),
        total(|r| r.acked_on_resend)
    );
    println!(
        "| acknowledged before a kill but not yet delivered when it fell | {} |",
        total(|r| r.undelivered_at_kill)
    );
    println!(
        "| unanswered at the kill (resent with the same webhook-id); of them already delivered | {}; {} |",
        total(|r| r.unanswered_at_kill),
        total(|r| r.unanswered_but_delivered)
    );
    println!(
        "| resends answered as a replay (committed before the kill, nothing new created) | {} |",
        rounds.iter().map(|r| r.replayed_on_resend).sum::<u64>()
    );
    println!(
        "| never acknowledged after {RESEND_ATTEMPTS} resends / refused 4xx | {} / {} |",
        total(|r| r.never_acked),
        total(|r| r.refused)
    );
    println!("| acknowledged and delivered | {} |", verdict.delivered);
    if k.email {
        println!("| of them by email (into the officer's Maildir) | {} |", verdict.delivered_by_email);
        println!(
            "| mails in the Maildir / the same Message-ID again (raw redeliveries) / without a key | {} / {} / {} |",
            verdict.mails, verdict.mail_redeliveries, verdict.mails_without_key
        );
    }
    println!("| acknowledged and missing | {} |", verdict.missing.len());
    println!("| duplicates after de-duplicating by webhook-id (Message-ID for mail) | {} |", verdict.duplicated.len());
    println!("| raw redeliveries (same webhook-id again) | {} |", verdict.raw_redeliveries);
    println!("| delivered to the wrong city | {} |", verdict.wrong_city.len());
    println!("| deliveries in all (raw) / without a key (notices) | {} / {} |", verdict.arrivals, verdict.other);
    println!("| delivered but never acknowledged | {} |", verdict.unacked_delivered);
    println!("| deliveries the receiver answered 503 (retried by the bridge) | {} |", verdict.receiver_503);
    println!(
        "| store check | {} of {} clean{} |",
        rounds.len() - unclean.len(),
        rounds.len(),
        if unclean.is_empty() { String::new() } else { format!("; unclean after rounds {unclean:?}") }
    );
    if k.check_after_kill {
        println!(
            "| store check right after each kill, before the restart | {} of {} clean{} |",
            rounds.len() - unclean_after_kill.len(),
            rounds.len(),
            if unclean_after_kill.is_empty() {
                String::new()
            } else {
                format!("; unclean after rounds {unclean_after_kill:?}")
            }
        );
    }
    println!("| time per round, mean / max | {:.1} / {:.1} s |", mean(&times), max(&times));
    println!(
        "| restart after kill -9 (until listening), mean / max | {:.2} / {:.2} s |",
        mean(&restarts),
        max(&restarts)
    );
    println!("| restart until all delivered, mean / max | {:.2} / {:.2} s |", mean(&drains), max(&drains));
    println!("| store check, mean / max | {:.2} / {:.2} s |", mean(&checks), max(&checks));

    for (what, list) in
        [("missing", &verdict.missing), ("duplicated", &verdict.duplicated), ("wrong city", &verdict.wrong_city)]
    {
        for item in list.iter().take(20) {
            println!("{what}: {item}");
        }
        if list.len() > 20 {
            println!("{what}: … and {} more", list.len() - 20);
        }
    }
    let failed = !verdict.missing.is_empty()
        || !verdict.duplicated.is_empty()
        || !verdict.wrong_city.is_empty()
        || !unclean.is_empty()
        || !unclean_after_kill.is_empty()
        || total(|r| r.refused) > 0;
    if failed {
        let dir = bridge.stop_and_keep().await?;
        anyhow::bail!(
            "killrounds on {} failed (seed {}): see above; the bridge's directory (config, store, daemon.log) is kept at {}",
            k.store,
            k.seed,
            dir.display()
        );
    }
    println!(
        "\nevery acknowledged message was delivered exactly once (after de-duplicating by webhook-id, or Message-ID for mail); every store check was clean"
    );
    Ok(())
}

/// The receiver's view, at the end.
#[derive(Default)]
struct Verdict {
    delivered: usize,
    missing: Vec<String>,
    duplicated: Vec<String>,
    wrong_city: Vec<String>,
    raw_redeliveries: u64,
    arrivals: u64,
    other: u64,
    unacked_delivered: usize,
    receiver_503: usize,
    delivered_by_email: usize,
    mails: u64,
    mail_redeliveries: u64,
    mails_without_key: u64,
}

#[allow(clippy::too_many_arguments)]
async fn one_round(
    k: &KillRounds<'_>,
    sink: &Arc<KeyedSink>,
    mut mailbox: Option<&mut Mailbox>,
    bridge: &mut Bridge,
    round: u32,
    kill_after: Duration,
    acked: &mut Vec<(String, usize, u32)>,
) -> anyhow::Result<Round> {
    let started = Instant::now();
    let redeliveries_before = sink.with(raw_redeliveries);
    bridge.start_again().await?;
    let targets = DIRECTIONS.map(|d| bridge.target(d.from));

    // Load, and the kill in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(tokio::sync::Notify::new());
    let mut senders = Vec::new();
    for i in 0..k.connections.max(2) {
        let dir = if k.email && i == 0 { EMAIL } else { i % 2 };
        let (target, stop, next, accepted) = (targets[dir].clone(), stop.clone(), next.clone(), accepted.clone());
        let shape = Shape { round, conversations: k.conversations, text_bytes: k.text_bytes };
        senders.push(tokio::spawn(sender(target, dir, shape, next, stop, accepted)));
    }
    // The kill's moment counts from the first message the daemon acknowledged (the load is
    // flowing then), not from the senders' start, however slow the machine.
    tokio::time::timeout(DELIVERY_TIMEOUT, accepted.notified())
        .await
        .map_err(|_| anyhow::anyhow!("round {round}: no message was acknowledged in {DELIVERY_TIMEOUT:?}"))?;
    tokio::time::sleep(kill_after).await;
    bridge.kill9()?;
    stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for s in senders {
        sent.extend(s.await?);
    }
    let count = |sent: &[Sent], a: Answer| sent.iter().filter(|s| s.answer == a).count();
    let acked_before_kill = count(&sent, Answer::Accepted);
    let unanswered_at_kill = count(&sent, Answer::Unanswered);
    let refused = sent.iter().filter(|s| matches!(s.answer, Answer::Refused(_))).count();
    let first_attempts = sent.len();
    // The store as the kill left it, before the daemon's own recovery touches it.
    let check_after_kill = if k.check_after_kill { Some(store_check(k.bin, bridge)?) } else { None };
    if let Some(m) = mailbox.as_deref_mut() {
        m.refresh()?;
    }
    let (undelivered_at_kill, unanswered_but_delivered) = sink.with(|a| {
        let at_sink = |s: &&Sent| arrived(a, mailbox.as_deref(), &s.key, s.dir);
        (
            sent.iter().filter(|s| s.answer == Answer::Accepted).filter(|s| !at_sink(s)).count(),
            sent.iter().filter(|s| s.answer == Answer::Unanswered).filter(at_sink).count(),
        )
    });
    acked.extend(sent.iter().filter(|s| s.answer == Answer::Accepted).map(|s| (s.key.clone(), s.dir, round)));

    // Restart on the same store, and resend what got no answer.
    let restarting = Instant::now();
    bridge.start_again().await?;
    let restart = restarting.elapsed();
    let unanswered: Vec<Sent> = sent.into_iter().filter(|s| s.answer == Answer::Unanswered).collect();
    let resent = resend(&targets, unanswered).await?;
    let acked_on_resend = count(&resent, Answer::Accepted);
    let replayed_on_resend = replayed(bridge).await;
    let never_acked = count(&resent, Answer::Unanswered);
    let refused = refused + resent.iter().filter(|s| matches!(s.answer, Answer::Refused(_))).count();
    acked.extend(resent.iter().filter(|s| s.answer == Answer::Accepted).map(|s| (s.key.clone(), s.dir, round)));

    // Until everything acknowledged this round has arrived and the outbox is empty.
    let this_round: Vec<(&str, usize)> =
        acked.iter().filter(|(_, _, r)| *r == round).map(|(key, dir, _)| (key.as_str(), *dir)).collect();
    let mut missing;
    loop {
        if let Some(m) = mailbox.as_deref_mut() {
            m.refresh()?;
        }
        missing =
            sink.with(|a| this_round.iter().filter(|(key, dir)| !arrived(a, mailbox.as_deref(), key, *dir)).count());
        if missing == 0 && outbox_depth(bridge).await == Some(0.0) {
            break;
        }
        if restarting.elapsed() > DELIVERY_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = restarting.elapsed();
    bridge.stop().await?;

    let checking = Instant::now();
    let (check_clean, check_summary) = store_check(k.bin, bridge)?;
    let check_time = checking.elapsed();
    Ok(Round {
        kill_after,
        sent: first_attempts,
        acked_before_kill,
        undelivered_at_kill,
        unanswered_at_kill,
        unanswered_but_delivered,
        replayed_on_resend,
        acked_on_resend,
        never_acked,
        refused,
        restart,
        drained,
        missing_at_timeout: missing,
        raw_redeliveries: sink.with(raw_redeliveries) - redeliveries_before,
        check_clean,
        check_summary,
        check_time,
        check_after_kill,
        log_lines: Vec::new(),
        total: started.elapsed(),
    })
}

/// Whether the message `key` of direction `dir` reached its receiver (the sink, or for email
/// the officer's Maildir as last read).
fn arrived(a: &crate::servers::Arrivals, mailbox: Option<&Mailbox>, key: &str, dir: usize) -> bool {
    if dir == EMAIL { mailbox.is_some_and(|m| m.by_key.contains_key(key)) } else { a.by_key.contains_key(key) }
}

/// The test mail server's side of `--kill-email`: the bridge's own mailbox, Gifu's officer and
/// where their mail lands.
struct MailSetup {
    env: std::collections::HashMap<String, String>,
    bridge_address: String,
    officer: String,
    password: String,
    maildir: std::path::PathBuf,
}

impl MailSetup {
    fn new() -> anyhow::Result<Self> {
        let env = crate::servers::server_env("mail", "tests/mail/mail-server.sh start")?;
        let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let tag = std::process::id();
        let (bridge_address, officer) = (format!("bridge-kr-{tag}@c2c.test"), format!("gifu-kr-{tag}@gifu.test"));
        let password = format!("kr-{tag}");
        crate::email::add_user(&repo, &bridge_address, &password)?;
        crate::email::add_user(&repo, &officer, &password)?;
        let local = officer.split('@').next().unwrap_or_default();
        let maildir =
            std::path::PathBuf::from(&env["C2C_MAIL_STATE"]).join("maildirs/gifu.test").join(local).join("Maildir");
        Ok(MailSetup { env, bridge_address, officer, password, maildir })
    }

    /// The `[connectors.email]` section.
    fn connector(&self) -> String {
        bench_config::email_connector(&self.env, &self.bridge_address)
    }
}

/// Leeds (webhook) and Gifu (email), for `--kill-email`.
const MAIL_PARTNERSHIP: &str = "\n[[partnerships]]\nid = \"bench-mail\"\nkind = \"city-city\"\nmembers = [\"leeds\", \"gifu\"]\nobjective = \"benchmark\"\nlanguage = \"en\"\nreply_within = \"5d\"\nchannels = { leeds = \"webhook\", gifu = \"email\" }\n";

/// Deliveries under a `webhook-id` that had already arrived.
fn raw_redeliveries(a: &crate::servers::Arrivals) -> u64 {
    a.raw - a.by_key.values().map(|ids| ids.len() as u64).sum::<u64>()
}

/// The daemon's `c2c_messages_replayed_total`, every channel: posts answered as a replay of one
/// it had committed (since it started).
async fn replayed(bridge: &Bridge) -> u64 {
    bridge
        .metric_lines("c2c_messages_replayed_total")
        .await
        .iter()
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.trim().parse::<f64>().ok()))
        .sum::<f64>() as u64
}

/// The daemon's `c2c_outbox_depth`, if it answered.
async fn outbox_depth(bridge: &Bridge) -> Option<f64> {
    bridge
        .metric_lines("c2c_outbox_depth")
        .await
        .iter()
        .find_map(|l| l.strip_prefix("c2c_outbox_depth ").and_then(|v| v.trim().parse().ok()))
}

/// The messages' shape in one round.
#[derive(Clone, Copy)]
struct Shape {
    round: u32,
    conversations: u64,
    text_bytes: usize,
}

/// Message number `n` of direction `dir`: its key and body.
fn message(shape: Shape, dir: usize, n: u64) -> (String, Vec<u8>) {
    let d = &DIRECTIONS[dir];
    let key = format!("r{}-{}-{n}", shape.round, d.tag);
    // Sizes spread over 0..2×text_bytes, the same for the same message in a replay.
    let pad = (n.wrapping_mul(2_654_435_761) % (2 * shape.text_bytes as u64 + 1)) as usize;
    let body = serde_json::to_vec(&serde_json::json!({
        "from": d.contact,
        "partnership": d.partnership,
        "thread_key": format!("k{}", n % shape.conversations.max(1)),
        "subject": "Kill rounds",
        "text": format!("kill {key} {}", "x".repeat(pad)),
    }))
    .expect("static JSON");
    (key, body)
}

/// The `webhook-id` a city's system sends a message under (the same on every resend).
fn inbound_id(key: &str) -> String {
    format!("kr-{key}")
}

/// Post a signed message; its status.
async fn post(conn: &mut SendRequest<Full<Bytes>>, target: &Target, key: &str, body: &[u8]) -> anyhow::Result<u16> {
    crate::client::post_signed(conn, target, &inbound_id(key), Bytes::copy_from_slice(body)).await
}

fn answer(r: &anyhow::Result<u16>) -> Answer {
    match r {
        Ok(s) if (200..300).contains(s) => Answer::Accepted,
        Ok(s) if (400..500).contains(s) => Answer::Refused(*s),
        _ => Answer::Unanswered,
    }
}

/// One sender: posts new messages of direction `dir` as fast as answers come back, until `stop`;
/// `accepted` hears of each one acknowledged.
async fn sender(
    target: Target,
    dir: usize,
    shape: Shape,
    next: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accepted: Arc<tokio::sync::Notify>,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut conn = None;
    while !stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            match connect(target.addr).await {
                Ok(c) => conn = Some(c),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let (key, body) = message(shape, dir, next.fetch_add(1, Ordering::SeqCst));
        let r = post(c, &target, &key, &body).await;
        if r.is_err() {
            conn = None;
        }
        let answer = answer(&r);
        if answer == Answer::Accepted {
            accepted.notify_one();
        }
        sent.push(Sent { key, dir, body, answer });
    }
    sent
}

/// Resend each message (same `webhook-id`, same body) until it is answered 2xx or 4xx, over a
/// few connections; those still unanswered after [`RESEND_ATTEMPTS`] stay so.
async fn resend(targets: &[Target; 3], unanswered: Vec<Sent>) -> anyhow::Result<Vec<Sent>> {
    const WORKERS: usize = 8;
    let mut parts: Vec<Vec<Sent>> = (0..WORKERS).map(|_| Vec::new()).collect();
    for (i, s) in unanswered.into_iter().enumerate() {
        parts[i % WORKERS].push(s);
    }
    let mut tasks = Vec::new();
    for part in parts {
        let targets = targets.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            let mut done = Vec::new();
            for mut s in part {
                let target = &targets[s.dir];
                for _ in 0..RESEND_ATTEMPTS {
                    if conn.is_none() {
                        conn = connect(target.addr).await.ok();
                    }
                    if let Some(c) = conn.as_mut() {
                        let r = post(c, target, &s.key, &s.body).await;
                        if r.is_err() {
                            conn = None;
                        }
                        s.answer = answer(&r);
                        if s.answer != Answer::Unanswered {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                done.push(s);
            }
            done
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await?);
    }
    Ok(out)
}

/// `c2c-bridge store check` on the stopped bridge's config: clean (exit 0), and what it said.
fn store_check(bin: &Path, bridge: &Bridge) -> anyhow::Result<(bool, String)> {
    let out = Command::new(bin)
        .args(["store", "check", "--config"])
        .arg(bridge.config_path())
        .envs(bridge.env())
        .env("C2C_LOG", "warn")
        .output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let summary = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    Ok((out.status.success(), summary))
}

/// The log lines written since `offset` (which moves past them).
fn new_log_lines(path: &Path, offset: &mut usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let new = text.get(*offset..).unwrap_or_default();
    *offset = text.len();
    new.lines().map(|l| l.chars().take(400).collect()).collect()
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Total memory, from /proc/meminfo.
fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "RAM unknown".into())
}
