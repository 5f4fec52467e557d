//! Follow-up on the real binary, with second-scale windows and working hours all day: a
//! webhook city is reminded in its own thread and the waiting city told after the second
//! window; commands over webhooks are answered and not relayed; a reminder due while the daemon
//! is stopped, or killed between its due time and its delivery, arrives exactly once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use c2c_test_support::sink::Received;
use c2c_test_support::world::{Tuning, World, message};
use serde_json::json;

/// The default test world (Leeds, Hangzhou and Gifu on webhooks) with `reply_within` and
/// reminders allowed at any hour of any day.
async fn followup_world(reply_within: &'static str) -> World {
    followup_world_on(reply_within, None).await
}

/// [`followup_world`] with the store on `store` (`None`: the default engine).
async fn followup_world_on(reply_within: &'static str, store: Option<&'static str>) -> World {
    crate::world_with(Tuning { reply_within: Some(reply_within), store, ..Tuning::default() }).await
}

/// The next delivery that is not a relayed post (posts are checked where they matter).
async fn next_said(w: &mut World) -> Received {
    loop {
        let r = w.sink.next_delivered().await;
        if r.post.kind != "message" {
            return r;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_city_is_reminded_in_its_own_thread_and_the_waiting_city_told() {
    let mut w = followup_world("2s").await;
    let a = w
        .post(
            "leeds",
            "l-1",
            &message("leeds-jo", "hangzhou-leeds", Some("LEEDS-1"), Some("Library exchange"), "Proposal attached."),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    assert_eq!(w.sink.next_delivered().await.city, "hangzhou");
    let mut reply = message("hz-li", "hangzhou-leeds", Some("HZ-7"), None, "Thank you, we will study it.");
    reply["conversation"] = json!(conversation);
    assert_eq!(w.post("hangzhou", "h-1", &reply).await.status, 202);
    assert_eq!(w.sink.next_delivered().await.city, "leeds");

    // Leeds owes Hangzhou a reply: after 2 s Leeds is reminded, in Leeds's own thread.
    let r = next_said(&mut w).await;
    assert_eq!((r.city.as_str(), r.post.kind.as_str()), ("leeds", "reminder"));
    assert!(r.verified);
    assert_eq!(r.post.conversation, conversation);
    assert_eq!(r.post.thread_key.as_deref(), Some("LEEDS-1"));
    assert_eq!(r.post.from.contact, None, "the bridge speaks");
    assert!(r.post.text.contains("Hangzhou"), "{}", r.post.text);
    let reminder = r.post.reminder.as_ref().expect("the reminder object");
    assert_eq!((reminder.reason.as_str(), reminder.owed_by.as_str()), ("reply_overdue", "leeds"));
    assert_eq!(reminder.waiting, ["hangzhou"]);
    assert_eq!(reminder.conversation.as_deref(), Some(conversation.as_str()));

    // A second window later: Leeds again, and Hangzhou told, in Hangzhou's thread.
    let mut second = [next_said(&mut w).await, next_said(&mut w).await];
    second.sort_by(|a, b| a.city.cmp(&b.city));
    assert_eq!(second[0].city, "hangzhou");
    let told = second[0].post.reminder.as_ref().unwrap();
    assert_eq!((told.reason.as_str(), told.owed_by.as_str()), ("waiting_overdue", "leeds"));
    assert_eq!(second[0].post.thread_key.as_deref(), Some("HZ-7"));
    assert_eq!(second[1].city, "leeds");
    assert_eq!(second[1].post.reminder.as_ref().unwrap().reason, "reply_overdue");
    // Nothing more is scheduled for this debt.
    w.daemon.wait_metric("c2c_reminders_scheduled", |v| v == 0.0).await;

    // A command over the webhook: answered to Leeds in its thread, not relayed to Hangzhou.
    let mut status = message("leeds-jo", "hangzhou-leeds", Some("LEEDS-1"), None, "/status");
    status["conversation"] = json!(conversation);
    assert_eq!(w.post("leeds", "l-2", &status).await.status, 202);
    let r = next_said(&mut w).await;
    assert_eq!((r.city.as_str(), r.post.kind.as_str()), ("leeds", "notice"));
    assert_eq!(r.post.thread_key.as_deref(), Some("LEEDS-1"));
    assert!(r.post.text.contains("Library exchange"), "what Leeds owes: {}", r.post.text);
    let mut close = message("leeds-jo", "hangzhou-leeds", Some("LEEDS-1"), None, "/close");
    close["conversation"] = json!(conversation);
    assert_eq!(w.post("leeds", "l-3", &close).await.status, 202);
    let r = next_said(&mut w).await;
    assert_eq!((r.city.as_str(), r.post.kind.as_str()), ("leeds", "notice"));
    let convs = w.conversations_when(|c| c.iter().any(|c| c["state"] == "closed")).await;
    assert_eq!(convs.len(), 1);
    // Had a command been relayed, Hangzhou's queue would deliver it before this post.
    let mut after = message("leeds-jo", "hangzhou-leeds", Some("LEEDS-1"), None, "One more thing.");
    after["conversation"] = json!(conversation);
    assert_eq!(w.post("leeds", "l-4", &after).await.status, 202);
    let r = w.sink.next_delivered().await;
    assert_eq!((r.city.as_str(), r.post.text.as_str()), ("hangzhou", "One more thing."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_killed_between_its_due_time_and_its_delivery_arrives_once() {
    a_reminder_killed_between_its_due_time_and_its_delivery_arrives_once_on(Some("sled")).await;
}

/// The same on the redb store: a timer is a stored record on either engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_killed_between_its_due_time_and_its_delivery_arrives_once_on_redb() {
    a_reminder_killed_between_its_due_time_and_its_delivery_arrives_once_on(Some("redb")).await;
}

async fn a_reminder_killed_between_its_due_time_and_its_delivery_arrives_once_on(store: Option<&'static str>) {
    let mut w = followup_world_on("1s", store).await;
    // Leeds's system is down: the post to Leeds and the reminder stay pending.
    w.sink.script("leeds", &[503; 100_000]);
    let a =
        w.post("hangzhou", "h-1", &message("hz-li", "hangzhou-leeds", Some("HZ-1"), Some("Agenda"), "Agenda?")).await;
    assert_eq!(a.status, 202);
    // The reminder is committed (behind the post in Leeds's queue, so not yet attempted).
    w.daemon.wait_metric("c2c_reminders_sent_total{reason=\"reply_overdue\"}", |v| v >= 1.0).await;
    assert!(w.sink.drain().iter().all(|r| r.post.kind == "message" && r.answered == 503));
    w.daemon.kill9();
    w.sink.clear_script("leeds");
    w.daemon.restart().await;

    // Everything for Leeds arrives: the post, and each reminder once (a repeat of a webhook-id
    // is skipped by `next_delivered` and counted).
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    let mut reminders = Vec::new();
    while reminders.len() < 3 {
        let r = w.sink.next_delivered().await;
        ids.entry(r.post.id.clone()).or_default().push(r.webhook_id.clone());
        if r.post.kind == "reminder" {
            let info = r.post.reminder.as_ref().unwrap();
            reminders.push((r.city.clone(), info.reason.clone(), r.post.id.clone()));
        }
    }
    assert!(ids.values().all(|v| v.len() == 1), "one delivery per message: {ids:?}");
    reminders.sort();
    let kinds: Vec<(&str, &str)> = reminders.iter().map(|(c, r, _)| (c.as_str(), r.as_str())).collect();
    assert_eq!(kinds, [("hangzhou", "waiting_overdue"), ("leeds", "reply_overdue"), ("leeds", "reply_overdue")]);
    // Nothing more is due, and nothing more was sent.
    w.daemon.wait_metric("c2c_reminders_scheduled", |v| v == 0.0).await;
    w.daemon.settled().await;
    let late: Vec<_> = w.sink.drain().into_iter().filter(|r| r.post.kind == "reminder").collect();
    assert!(late.iter().all(|r| ids.contains_key(&r.post.id)), "no other reminder: {late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_while_the_daemon_is_stopped_is_sent_once_after_the_start() {
    a_reminder_due_while_the_daemon_is_stopped_is_sent_once_after_the_start_on(Some("sled")).await;
}

/// The same on the redb store: a timer is a stored record on either engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_while_the_daemon_is_stopped_is_sent_once_after_the_start_on_redb() {
    a_reminder_due_while_the_daemon_is_stopped_is_sent_once_after_the_start_on(Some("redb")).await;
}

async fn a_reminder_due_while_the_daemon_is_stopped_is_sent_once_after_the_start_on(store: Option<&'static str>) {
    let mut w = followup_world_on("3s", store).await;
    let posted = Instant::now();
    let a = w.post("hangzhou", "h-1", &message("hz-li", "hangzhou-leeds", Some("HZ-1"), Some("Visit"), "Dates?")).await;
    assert_eq!(a.status, 202);
    assert_eq!(w.sink.next_delivered().await.city, "leeds");
    assert!(w.daemon.terminate().await.success());
    // The due time passes while the daemon is stopped (nothing else to wait for: time itself).
    let due = posted + Duration::from_secs(3);
    tokio::time::sleep_until(due.into()).await;
    w.daemon.restart().await;
    let r = next_said(&mut w).await;
    assert_eq!((r.city.as_str(), r.post.reminder.as_ref().unwrap().reason.as_str()), ("leeds", "reply_overdue"));
    // The first window's timer is gone (sent once); the second is the only one left.
    let (status, body) = w.daemon.get("/api/conversations", Some(&w.admin_token)).await;
    assert_eq!(status, 200);
    let convs: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(convs[0]["owing_detail"][0]["reminders"], 1, "{body}");
    w.daemon.wait_metric("c2c_reminders_scheduled", |v| v == 1.0).await;
}
