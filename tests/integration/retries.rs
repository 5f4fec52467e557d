//! Retries: a failing receiver gets the message once it recovers; a permanent failure is
//! visible and the author is told.

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

#[tokio::test]
async fn retries_give_up_after_max_attempts() {
    let mut w = crate::world_with(Tuning { max_attempts: 3, ..Tuning::default() }).await;
    w.sink.script("hangzhou", &[500, 500, 500]);
    let a = w
        .post("leeds", "g-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Give up"), "This will not arrive."))
        .await;
    assert_eq!(a.status, 202);
    for _ in 0..3 {
        assert_eq!(w.sink.next().await.answered, 500);
    }
    let notice = w.sink.next_delivered().await;
    assert_eq!((notice.city.as_str(), notice.post.kind.as_str()), ("leeds", "delivery_failed"));
    assert!(notice.post.text.contains("gave up after 3 attempts"), "{}", notice.post.text);
}
