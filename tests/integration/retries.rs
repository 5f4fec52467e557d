//! Retries: a failing receiver gets the message once it recovers; a permanent failure is
//! visible and the author is told.

use std::time::{Duration, Instant};

use serde_json::json;

use c2c_test_support::world::{Tuning, message};

#[tokio::test]
async fn a_receiver_failing_three_times_gets_it_on_the_fourth_try() {
    let mut w = crate::world().await;
    w.sink.script("hangzhou", &[503, 503, 503]);
    let a = w
        .post(
            "leeds",
            "r-1",
            &message("leeds-jo", "hangzhou-leeds", None, Some("Retry"), "Please confirm the meeting date."),
        )
        .await;
    assert_eq!(a.status, 202);
    let attempts: Vec<_> = [w.sink.next().await, w.sink.next().await, w.sink.next().await, w.sink.next().await].into();
    let answered: Vec<u16> = attempts.iter().map(|r| r.answered).collect();
    assert_eq!(answered, vec![503, 503, 503, 204]);
    let ids: Vec<&str> = attempts.iter().map(|r| r.webhook_id.as_str()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the webhook-id is the same on every retry: {ids:?}");
    assert!(attempts.iter().all(|r| r.verified), "every retry is freshly signed");

    let convs = w.conversations_when(|c| c[0]["deliveries"]["delivered"] == 1).await;
    assert_eq!(convs[0]["deliveries"], json!({"delivered": 1}));
    assert_eq!(w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"temporary_failure\"}").await, 3.0);
    assert_eq!(w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"delivered\"}").await, 1.0);
}

#[tokio::test]
async fn a_permanent_failure_is_visible_and_the_author_is_told() {
    let mut w = crate::world().await;
    w.sink.script("hangzhou", &[410]);
    let a = w
        .post(
            "leeds",
            "p-1",
            &message("leeds-jo", "hangzhou-leeds", Some("L-9"), Some("Budget"), "The budget table for 2027."),
        )
        .await;
    assert_eq!(a.status, 202);

    let failed = w.sink.next().await;
    assert_eq!((failed.city.as_str(), failed.answered), ("hangzhou", 410));

    // The author's own system hears about it, in the same conversation, under its own key.
    let notice = w.sink.next_delivered().await;
    assert_eq!(notice.city, "leeds");
    assert_eq!(notice.post.kind, "delivery_failed");
    assert_eq!(notice.post.from.contact, None);
    assert_eq!(notice.post.conversation, a.body["conversation"].as_str().unwrap());
    assert_eq!(notice.post.thread_key.as_deref(), Some("L-9"));
    assert!(notice.post.text.contains("Hangzhou"), "{}", notice.post.text);
    assert!(notice.post.text.contains("410"), "{}", notice.post.text);

    let convs = w.conversations().await;
    let problems = convs[0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["status"], "permanent_failure");
    assert_eq!(problems[0]["city"], "hangzhou");
    assert!(problems[0]["error"].as_str().unwrap().contains("410"));
    assert_eq!(w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"permanent_failure\"}").await, 1.0);

    let out = w.daemon.command(&["conversations"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("FAILED"), "{text}");
}

/// Hangzhou's system is down for longer than `give_up_after`: the author hears once that the
/// delivery is delayed, then, at the deadline, that it failed; then the bridge stops trying.
#[tokio::test]
async fn an_outage_longer_than_give_up_after_ends_in_delayed_then_delivery_failed() {
    let mut w =
        crate::world_with(Tuning { give_up_after: "2s", delay_warning_after: "500ms", ..Tuning::default() }).await;
    w.sink.script("hangzhou", &[503; 10_000]);
    let posted = Instant::now();
    let a = w
        .post(
            "leeds",
            "g-1",
            &message("leeds-jo", "hangzhou-leeds", Some("L-7"), Some("Give up"), "This will not arrive."),
        )
        .await;
    assert_eq!(a.status, 202);

    // Hangzhou is probed meanwhile; Leeds's own system hears twice.
    let (mut to_leeds, mut probes) = (Vec::new(), 0);
    while to_leeds.len() < 2 {
        let r = w.sink.next().await;
        match r.city.as_str() {
            "hangzhou" => {
                assert_eq!(r.answered, 503);
                probes += 1;
            }
            "leeds" => to_leeds.push(r),
            other => panic!("a delivery to {other}"),
        }
    }
    let (delayed, failed) = (&to_leeds[0], &to_leeds[1]);
    assert_eq!(delayed.post.kind, "delayed");
    assert!(delayed.at - posted >= Duration::from_millis(500), "not before delay_warning_after");
    assert_eq!(delayed.post.conversation, a.body["conversation"].as_str().unwrap());
    assert_eq!((delayed.post.thread_key.as_deref(), delayed.post.from.contact.as_deref()), (Some("L-7"), None));
    assert!(delayed.post.text.contains("Hangzhou") && delayed.post.text.contains("503"), "{}", delayed.post.text);
    assert_eq!(failed.post.kind, "delivery_failed");
    assert!(failed.at - posted >= Duration::from_secs(2), "not before give_up_after");
    assert!(failed.post.text.contains("not delivered within 2 seconds"), "{}", failed.post.text);
    assert!(failed.post.text.contains("503"), "{}", failed.post.text);
    assert!(probes >= 3, "Hangzhou was retried meanwhile ({probes} attempts)");

    // Given up: visible, counted, and no longer tried.
    w.daemon.settled().await;
    let convs = w.conversations().await;
    let problems = convs[0]["problems"].as_array().unwrap();
    assert_eq!((problems.len(), problems[0]["status"].as_str()), (1, Some("permanent_failure")));
    assert_eq!(w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"permanent_failure\"}").await, 1.0);
    assert_eq!(
        w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"temporary_failure\"}").await,
        probes as f64
    );
    let after: Vec<String> = w.sink.drain().into_iter().map(|r| r.city).collect();
    assert!(after.is_empty(), "nothing after the failure notice: {after:?}");
}

/// While Hangzhou's system is down its deliveries wait and one probe at a time is made, on the
/// backoff schedule, over the heads of its conversations; the first success delivers everything
/// in order. The outage outlasts `delay_warning_after`, not `give_up_after`: the author hears
/// that the message is delayed, and it arrives.
#[tokio::test]
async fn an_outage_shorter_than_give_up_after_is_delivered_after_probes() {
    let mut w = crate::world_with(Tuning {
        initial_backoff: "200ms",
        max_backoff: "200ms",
        give_up_after: "1m",
        delay_warning_after: "1s",
        ..Tuning::default()
    })
    .await;
    w.sink.script("hangzhou", &[503; 10_000]);
    let post = |thread: &str, text: &str| {
        message("leeds-jo", "hangzhou-leeds", Some(thread), Some(&format!("Subject {thread}")), text)
    };
    assert_eq!(w.post("leeds", "s-a1", &post("A", "A1")).await.status, 202);
    // Its first attempt, then its retry: by then the daemon has seen the failure, and Hangzhou
    // is down.
    let mut seen = vec![w.sink.next().await, w.sink.next().await];
    assert!(seen.iter().all(|r| r.city == "hangzhou" && r.post.text == "A1"));
    for (key, thread, text) in [("s-a2", "A", "A2"), ("s-b1", "B", "B1"), ("s-c1", "C", "C1")] {
        assert_eq!(w.post("leeds", key, &post(thread, text)).await.status, 202);
    }
    // The daemon reports Hangzhou down, with all four waiting, the oldest since before A1's
    // first two attempts.
    let ep = "{endpoint=\"webhook:hangzhou\"}";
    w.daemon.wait_metric(&format!("c2c_outbox_endpoint_depth{ep}"), |d| d == 4.0).await;
    w.daemon.wait_metric(&format!("c2c_outbox_endpoint_down{ep}"), |d| d == 1.0).await;
    let age = w.daemon.metric(&format!("c2c_outbox_endpoint_oldest_age_seconds{ep}")).await;
    assert!(age >= 0.2, "the oldest has waited {age} s");
    // One probe at a time: each after the backoff; every conversation's head gets its turn (a
    // head that keeps failing does not hold back the others), never one behind a head.
    let mut delayed = Vec::new();
    while seen.len() < 6 || delayed.is_empty() {
        let r = w.sink.next().await;
        match r.city.as_str() {
            "hangzhou" => seen.push(r),
            "leeds" => {
                assert_eq!(r.post.kind, "delayed", "{}", r.post.text);
                delayed.push(r.post.text);
            }
            other => panic!("a delivery to {other}"),
        }
    }
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(150), "two attempts {gap:?} apart while Hangzhou was down");
    }
    let probed: Vec<&str> = seen[2..].iter().map(|r| r.post.text.as_str()).collect();
    assert!(!probed.contains(&"A2"), "A2 waits behind A1: {probed:?}");
    assert!(probed.contains(&"B1") && probed.contains(&"C1"), "{probed:?}");

    // Hangzhou is back: the next probe wakes its queues.
    w.sink.clear_script("hangzhou");
    let mut arrived = Vec::new();
    while arrived.len() < 4 {
        let r = w.sink.next_delivered().await;
        match r.city.as_str() {
            "hangzhou" => arrived.push(r.post.text),
            "leeds" => delayed.push(r.post.text),
            other => panic!("a delivery to {other}"),
        }
    }
    let position = |t: &str| arrived.iter().position(|a| a == t).unwrap();
    assert!(position("A1") < position("A2"), "{arrived:?}");
    w.daemon.settled().await;
    // Up and empty, its series go.
    w.daemon.wait_metric(&format!("c2c_outbox_endpoint_depth{ep}"), |d| d == 0.0).await;
    assert_eq!(w.daemon.metric(&format!("c2c_outbox_endpoint_down{ep}")).await, 0.0);
    for r in w.sink.drain() {
        assert_eq!((r.city.as_str(), r.post.kind.as_str()), ("leeds", "delayed"), "{}", r.post.text);
        delayed.push(r.post.text);
    }
    for subject in ["Subject A", "Subject B", "Subject C"] {
        let told = delayed.iter().filter(|t| t.contains(subject)).count();
        assert!(told <= 1, "{subject}: told {told} times that it is delayed");
    }
    assert!(delayed.iter().any(|t| t.contains("Subject A")), "A1 waited over delay_warning_after: {delayed:?}");
    assert_eq!(w.daemon.metric("c2c_deliveries_total{channel=\"webhook\",status=\"permanent_failure\"}").await, 0.0);
}
