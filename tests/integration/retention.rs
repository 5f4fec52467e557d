//! `[bridge] retention` on the real binary, in seconds: a closed, delivered conversation is
//! forgotten (and its sender's retry of the same webhook-id is then a new message); one whose
//! delivery is still pending is kept until it is delivered; the report still counts what was
//! forgotten; and the stopped store checks clean, holding only the week tallies. On both store
//! engines.

use c2c_test_support::world::{Tuning, message};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_past_retention_are_forgotten_unless_undelivered_and_the_report_keeps_them() {
    conversations_past_retention_on(Some("sled")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_past_retention_are_forgotten_on_redb() {
    conversations_past_retention_on(Some("redb")).await;
}

async fn conversations_past_retention_on(store: Option<&'static str>) {
    let mut w = crate::world_with(Tuning { retention: Some("3s"), store, ..Tuning::default() }).await;
    // A window this short is a test's: the daemon says so at start.
    assert!(w.daemon.log_text().contains("dedupe_window is shorter than [bridge.delivery] give_up_after"));
    let token = w.admin_token.clone();
    let close = |id: String| {
        let (base, token) = (w.daemon.base_url.clone(), token.clone());
        async move {
            let r = reqwest::Client::new()
                .post(format!("{base}/api/conversations/{id}/close"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        }
    };
    // Delivered and closed (its reply debts settled): nothing keeps it.
    let first = message("leeds-jo", "hangzhou-leeds", None, Some("Libraries"), "Here are the opening hours.");
    let a = w.post("leeds", "ret-1", &first).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let done = a.body["conversation"].as_str().unwrap().to_string();
    w.sink.next_delivered().await;
    close(done.clone()).await;
    // Undelivered: Hangzhou's system holds every request.
    w.sink.hold("hangzhou");
    let b =
        w.post("leeds", "ret-2", &message("leeds-jo", "hangzhou-leeds", None, Some("Visit"), "The visit dates?")).await;
    assert_eq!(b.status, 202, "{}", b.body);
    let pending = b.body["conversation"].as_str().unwrap().to_string();
    close(pending.clone()).await;

    fn has(convs: &[Value], id: &str) -> bool {
        convs.iter().any(|c| c["conversation"] == id)
    }
    w.conversations_when(|c| !has(c, &done)).await;
    // Once the pending one is past retention too, a sweep keeps it (the daemon's own word,
    // c2c_retention_kept, says so), and so do the next two.
    w.daemon.wait_metric("c2c_retention_kept", |n| n >= 1.0).await;
    let sweeps = w.daemon.metric("c2c_retention_sweeps_total").await;
    w.daemon.wait_metric("c2c_retention_sweeps_total", |n| n >= sweeps + 2.0).await;
    assert!(has(&w.conversations().await, &pending), "kept while its delivery is pending");
    assert_eq!(w.daemon.metric("c2c_retention_kept").await, 1.0);
    assert!(w.daemon.metric("c2c_retention_deleted_total{kind=\"conversations\"}").await >= 1.0);

    // The report still counts the forgotten post (from its week's tally) and the kept one.
    let out = w.daemon.command(&["report", "--partnership", "hangzhou-leeds", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["messages"], 2, "{r}");
    assert_eq!(r["threads"]["closed"], 2, "{r}");

    // The sender's retry of ret-1, past the dedupe window (capped at retention), is new.
    let again = w.post("leeds", "ret-1", &first).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_ne!(again.body["message"], a.body["message"], "not answered as a replay: {}", again.body);
    assert_ne!(again.body["conversation"], done.as_str());

    // Delivered at last: then it goes too.
    w.sink.release("hangzhou");
    w.conversations_when(|c| !has(c, &pending)).await;

    assert!(w.daemon.terminate().await.success());
    let out = w.daemon.command(&["store", "check", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check["problem_count"], 0, "{check}");
    assert!(check["counts"]["week_tallies"].as_u64().unwrap() >= 1, "{check}");
}
