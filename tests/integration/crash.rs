//! `kill -9` between acceptance and delivery loses nothing: every message answered 202 is
//! delivered after the restart, under the webhook-id it was first attempted with. On both store
//! engines (`[bridge] store = "sled" | "redb"`).

use std::collections::{HashMap, HashSet};

use c2c_test_support::post::post_json;
use c2c_test_support::world::{Tuning, message};

const MESSAGES: usize = 200;

// Each test runs on both store engines: sled (the default) and redb.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message() {
    kill_9_loses_no_acknowledged_message_on(Some("sled")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_on_redb() {
    kill_9_loses_no_acknowledged_message_on(Some("redb")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_recorded_outcomes_repeats_no_delivery() {
    kill_9_after_recorded_outcomes_repeats_no_delivery_on(Some("sled")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_recorded_outcomes_repeats_no_delivery_on_redb() {
    kill_9_after_recorded_outcomes_repeats_no_delivery_on(Some("redb")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_neither_skips_nor_repeats_a_delay_notice() {
    kill_9_neither_skips_nor_repeats_a_delay_notice_on(Some("sled")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_neither_skips_nor_repeats_a_delay_notice_on_redb() {
    kill_9_neither_skips_nor_repeats_a_delay_notice_on(Some("redb")).await;
}

async fn kill_9_loses_no_acknowledged_message_on(store: Option<&'static str>) {
    let mut w = crate::world_with(Tuning { store, ..Tuning::default() }).await;
    let redb_file = w.dir.path().join("data/store/store.redb");
    assert_eq!(redb_file.exists(), store == Some("redb"), "the store is on the engine asked for");
    // Hangzhou's system is failing: nothing gets delivered before the kill.
    w.sink.script("hangzhou", &[503; 100_000]);

    // Many concurrent posts (so group commits are in progress), killed mid-stream.
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..MESSAGES {
        let (base, secret, tx) = (w.daemon.base_url.clone(), w.secrets["leeds"].clone(), ack_tx.clone());
        tokio::spawn(async move {
            let body = message(
                "leeds-jo",
                "hangzhou-leeds",
                Some(&format!("T{}", i % 20)),
                Some("Crash test"),
                &format!("crash test message {i}"),
            );
            let id = format!("crash-{i}");
            // A connection reset by the kill is "not acknowledged".
            let answer = tokio::spawn(async move { post_json(&base, "leeds", &secret, &id, &body).await }).await.ok();
            let _ = tx.send((i, answer));
        });
    }
    drop(ack_tx);
    let mut acked: HashMap<usize, String> = HashMap::new();
    let mut unacked = Vec::new();
    let mut killed = false;
    while let Some((i, answer)) = ack_rx.recv().await {
        match answer {
            Some(a) if a.status == 202 => {
                acked.insert(i, a.body["message"].as_str().unwrap().to_string());
            }
            _ => unacked.push(i),
        }
        if !killed && acked.len() >= MESSAGES / 2 {
            w.daemon.kill9();
            killed = true;
        }
    }
    assert!(killed);
    assert!(acked.len() >= MESSAGES / 2);

    // Attempts seen before the kill: message id → webhook-id.
    let mut first_attempt: HashMap<String, String> = HashMap::new();
    for r in w.sink.drain() {
        first_attempt.entry(r.post.id.clone()).or_insert(r.webhook_id);
    }

    w.sink.clear_script("hangzhou");
    w.daemon.restart().await;

    // Every acknowledged message is delivered exactly once, under the same webhook-id as before.
    let mut delivered: HashMap<String, String> = HashMap::new();
    let wanted: HashSet<&String> = acked.values().collect();
    while !wanted.iter().all(|m| delivered.contains_key(*m)) {
        let r = w.sink.next_delivered().await;
        assert!(r.verified);
        let previous = delivered.insert(r.post.id.clone(), r.webhook_id.clone());
        assert!(previous.is_none(), "message {} delivered twice", r.post.id);
        if let Some(before) = first_attempt.get(&r.post.id) {
            assert_eq!(before, &r.webhook_id, "the webhook-id is stable across the crash");
        }
    }

    // The source retries what was not acknowledged, under the same webhook-ids; replays of
    // what was in fact committed get the original answer.
    for i in unacked {
        let body = message(
            "leeds-jo",
            "hangzhou-leeds",
            Some(&format!("T{}", i % 20)),
            Some("Crash test"),
            &format!("crash test message {i}"),
        );
        let a = w.post("leeds", &format!("crash-{i}"), &body).await;
        assert_eq!(a.status, 202, "{}", a.body);
        acked.insert(i, a.body["message"].as_str().unwrap().to_string());
    }
    let wanted: HashSet<String> = acked.values().cloned().collect();
    while !wanted.iter().all(|m| delivered.contains_key(m)) {
        let r = w.sink.next_delivered().await;
        let previous = delivered.insert(r.post.id.clone(), r.webhook_id.clone());
        assert!(previous.is_none(), "message {} delivered twice", r.post.id);
    }
    assert_eq!(delivered.len(), MESSAGES, "every message delivered exactly once");
    assert_eq!(w.sink.redelivered(), 0, "and never twice under one webhook-id");

    let convs = w.conversations().await;
    let posts: u64 = convs.iter().map(|c| c["posts"].as_u64().unwrap()).sum();
    assert_eq!(posts as usize, MESSAGES, "no message was committed twice");
    assert_eq!(convs.len(), 20, "one conversation per thread key");
}

/// Once the daemon reports a delivery's outcome recorded (on disk), `kill -9` does not make it
/// happen again: the restarted daemon resumes nothing. All messages share one conversation, so
/// anything resumed would reach the sink before the message posted after the restart.
async fn kill_9_after_recorded_outcomes_repeats_no_delivery_on(store: Option<&'static str>) {
    const N: usize = 20;
    let mut w = crate::world_with(Tuning { store, ..Tuning::default() }).await;
    let mut ids = HashSet::new();
    for i in 0..N {
        let body = message("leeds-jo", "hangzhou-leeds", Some("T-once"), Some("Once only"), &format!("message {i}"));
        let a = w.post("leeds", &format!("once-{i}"), &body).await;
        assert_eq!(a.status, 202, "{}", a.body);
        ids.insert(a.body["message"].as_str().unwrap().to_string());
    }
    let mut delivered = HashSet::new();
    while delivered.len() < N {
        let r = w.sink.next_delivered().await;
        assert!(ids.contains(&r.post.id), "an unexpected delivery: {}", r.post.id);
        assert!(delivered.insert(r.post.id.clone()), "{} delivered twice", r.post.id);
    }
    // Wait for the daemon's report that the outcomes are on disk.
    w.daemon.wait_metric("c2c_delivery_outcomes_recorded_total", |n| n >= N as f64).await;
    w.daemon.kill9();
    w.daemon.restart().await;

    let body = message("leeds-jo", "hangzhou-leeds", Some("T-once"), Some("Once only"), "after the restart");
    let a = w.post("leeds", "once-after", &body).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let r = w.sink.next_delivered().await;
    assert_eq!(
        r.post.id,
        a.body["message"].as_str().unwrap(),
        "the first delivery after the restart is the new message, not a repeat of one recorded before the kill"
    );
    assert_eq!(w.sink.redelivered(), 0);
    assert_eq!(w.daemon.metric("c2c_outbox_depth").await, 0.0);
}

/// The delay notice is a stored record: a crash before it is due does not skip it (a message's
/// age counts from its commit), and a crash after it is recorded does not send a second one.
async fn kill_9_neither_skips_nor_repeats_a_delay_notice_on(store: Option<&'static str>) {
    let mut w =
        crate::world_with(Tuning { give_up_after: "1h", delay_warning_after: "1s", store, ..Tuning::default() }).await;
    w.sink.script("hangzhou", &[503; 100_000]);
    let body = message("leeds-jo", "hangzhou-leeds", Some("T-late"), Some("Late once"), "Hangzhou is down");
    let a = w.post("leeds", "late-1", &body).await;
    assert_eq!(a.status, 202, "{}", a.body);

    // Killed right after the first failed attempt, long before the notice is due.
    let first = w.sink.next().await;
    assert_eq!((first.city.as_str(), first.answered), ("hangzhou", 503));
    w.daemon.kill9();
    assert!(w.sink.drain().iter().all(|r| r.city == "hangzhou"), "no notice before the kill");

    // The restarted daemon tells the author. Leeds's system holds the notice (it has arrived,
    // so it is on disk) and the daemon is killed again before it is answered.
    w.sink.hold("leeds");
    w.daemon.restart().await;
    let notice = loop {
        let r = w.sink.next().await;
        if r.city == "leeds" {
            break r;
        }
    };
    assert_eq!(notice.post.kind, "delayed");
    assert!(notice.post.text.contains("Late once"), "{}", notice.post.text);
    w.daemon.kill9();
    w.sink.release("leeds");
    w.daemon.restart().await;

    // After the second restart Hangzhou fails three more times, each time with every entry
    // checked for its age: the notice is delivered again (the same delivery, its outcome was
    // not recorded), and no second notice is made.
    let (mut probes, mut to_leeds) = (0, Vec::new());
    while probes < 3 || to_leeds.is_empty() {
        let r = w.sink.next().await;
        match r.city.as_str() {
            "hangzhou" => probes += 1,
            _ => to_leeds.push(r),
        }
    }
    w.sink.clear_script("hangzhou");
    loop {
        let r = w.sink.next_delivered().await;
        if r.city == "hangzhou" {
            assert_eq!(r.post.id, a.body["message"].as_str().unwrap());
            break;
        }
        to_leeds.push(r);
    }
    w.daemon.settled().await;
    to_leeds.extend(w.sink.drain().into_iter().filter(|r| r.city == "leeds"));
    for r in &to_leeds {
        assert_eq!(
            (r.post.kind.as_str(), r.webhook_id.as_str()),
            ("delayed", notice.webhook_id.as_str()),
            "the one notice, delivered again under its own webhook-id: {}",
            r.post.text
        );
    }
}
