//! Bad input is refused with a JSON error, counted, and creates nothing; good traffic flows on.

use serde_json::json;

use c2c_test_support::post::{now, post_raw, post_with_headers};
use c2c_test_support::world::message;

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_relayed() {
    let mut w = crate::world().await;
    let base = w.daemon.base_url.clone();
    let leeds = w.secrets["leeds"].clone();
    let good = message("leeds-jo", "hangzhou-leeds", Some("K1"), Some("Hello"), "A perfectly good message.");

    // The one good message, and its replay.
    let first = w.post("leeds", "dup-1", &good).await;
    assert_eq!(first.status, 202);
    let replay = w
        .post(
            "leeds",
            "dup-1",
            &json!({"from": "leeds-jo", "partnership": "hangzhou-leeds", "text": "different body, same id"}),
        )
        .await;
    assert_eq!(replay.status, 202, "a replay gets the original answer");
    assert_eq!(replay.body, first.body);

    let body = serde_json::to_vec(&good).unwrap();
    let mut cases = Vec::new();

    // Signed with another city's secret.
    cases.push((
        "bad signature",
        post_raw(&base, "leeds", &w.secrets["gifu"], "bad-sig", now(), &body).await,
        401,
        "bad_signature",
    ));
    // Missing signature headers.
    cases.push((
        "no signature",
        post_with_headers(&base, "leeds", "no-sig", &now().to_string(), "", body.clone()).await,
        401,
        "bad_signature",
    ));
    // Ten minutes old.
    cases.push((
        "stale timestamp",
        post_raw(&base, "leeds", &leeds, "stale", now() - 600, &body).await,
        401,
        "stale_timestamp",
    ));
    cases.push((
        "unknown contact",
        w.post("leeds", "u-1", &message("nobody", "hangzhou-leeds", None, None, "hi")).await,
        403,
        "unknown_sender",
    ));
    cases.push((
        "contact of another city",
        w.post("leeds", "u-2", &message("hz-li", "hangzhou-leeds", None, None, "hi")).await,
        403,
        "other_city",
    ));
    cases.push((
        "city not in the partnership",
        w.post("gifu", "u-3", &message("gifu-sato", "hangzhou-leeds", None, None, "hi")).await,
        403,
        "not_a_member",
    ));
    cases.push((
        "unknown partnership",
        w.post("leeds", "u-4", &message("leeds-jo", "leeds-mars", None, None, "hi")).await,
        422,
        "unknown_partnership",
    ));
    cases.push(("unknown conversation", w.post("leeds", "u-5", &json!({"from": "leeds-jo", "partnership": "hangzhou-leeds", "conversation": "01JD0000000000000000000000", "text": "hi"})).await, 422, "unknown_conversation"));
    cases.push((
        "malformed JSON",
        post_raw(&base, "leeds", &leeds, "u-6", now(), b"{\"from\": \"leeds-jo\", ").await,
        400,
        "malformed",
    ));
    cases.push((
        "wrong JSON shape",
        post_raw(&base, "leeds", &leeds, "u-7", now(), b"[1, 2, 3]").await,
        400,
        "malformed",
    ));
    cases.push((
        "empty text",
        w.post("leeds", "u-8", &message("leeds-jo", "hangzhou-leeds", None, None, "   \n ")).await,
        422,
        "empty_text",
    ));
    let huge = serde_json::to_vec(&message("leeds-jo", "hangzhou-leeds", None, None, &"x".repeat(70_000))).unwrap();
    cases.push(("oversized body", post_raw(&base, "leeds", &leeds, "u-9", now(), &huge).await, 413, "too_large"));
    // A city that takes no webhooks here is answered as a known one with a wrong signature.
    let unknown = post_raw(&base, "atlantis", &leeds, "u-10", now(), &body).await;
    assert_eq!(unknown.body, cases[0].1.body, "a stranger cannot tell an unknown city from a wrong signature");
    cases.push(("unknown city", unknown, 401, "bad_signature"));

    for (what, answer, status, code) in &cases {
        assert_eq!(answer.status, *status, "{what}: {}", answer.body);
        assert_eq!(answer.code(), *code, "{what}: {}", answer.body);
        assert!(answer.body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: a sentence says why");
    }

    // Nothing but the good message was committed or routed.
    let convs = w.conversations().await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["posts"], 1);
    let got = w.sink.next_delivered().await;
    assert_eq!(got.post.text, "A perfectly good message.");
    assert_eq!(w.daemon.metric("c2c_messages_relayed_total{channel=\"webhook\"}").await, 1.0);
    assert_eq!(w.daemon.metric("c2c_messages_replayed_total{channel=\"webhook\"}").await, 1.0);
    for (reason, n) in [
        ("bad_signature", 2.0),
        ("unknown_city", 1.0),
        ("stale_timestamp", 1.0),
        ("unknown_sender", 1.0),
        ("too_large", 1.0),
        ("malformed", 2.0),
    ] {
        let sample = format!("c2c_messages_refused_total{{channel=\"webhook\",reason=\"{reason}\"}}");
        assert_eq!(w.daemon.metric(&sample).await, n, "{sample}");
    }

    // Strangers learn nothing from /metrics and /healthz; the admin does.
    assert_eq!(w.daemon.get("/metrics", None).await.0, 401);
    let (status, health) = w.daemon.get("/healthz", None).await;
    assert_eq!((status, health.as_str()), (200, r#"{"status":"ok"}"#));
    let (_, health) = w.daemon.get("/healthz", Some(&w.admin_token)).await;
    assert!(health.contains("\"connectors\"") && health.contains("\"webhook\""), "{health}");

    // Traffic flows on after all that.
    let after = w
        .post(
            "hangzhou",
            "after-1",
            &message("hz-li", "hangzhou-leeds", None, Some("Still here"), "Received, thank you."),
        )
        .await;
    assert_eq!(after.status, 202);
    assert_eq!(w.sink.next_delivered().await.city, "leeds");
}

#[tokio::test]
async fn html_is_sanitised_before_it_is_relayed() {
    let mut w = crate::world().await;
    let mut body = message("leeds-jo", "hangzhou-leeds", None, Some("Agenda"), "Agenda attached.");
    body["html"] =
        json!("<p onmouseover=\"x()\">Agenda <b>attached</b>.<script>steal()</script><img src=x onerror=alert(1)></p>");
    assert_eq!(w.post("leeds", "h-1", &body).await.status, 202);
    let got = w.sink.next_delivered().await;
    let html = got.post.html.unwrap();
    assert!(html.contains("<b>attached</b>"), "{html}");
    for bad in ["script", "onmouseover", "onerror", "steal"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
}

/// A world whose request_timeout is 1 s, and a client connected to it that has sent `bytes`
/// and then nothing.
async fn world_with_a_stalled_client(bytes: &[u8]) -> (c2c_test_support::world::World, tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let w = crate::world_with(c2c_test_support::world::Tuning {
        request_timeout: Some("1s"),
        ..c2c_test_support::world::Tuning::default()
    })
    .await;
    let addr = w.daemon.base_url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(bytes).await.unwrap();
    (w, slow)
}

#[tokio::test]
async fn a_client_that_stops_sending_gets_408_and_others_are_served() {
    use tokio::io::AsyncReadExt;
    // Headers, then a tenth of the announced body, then nothing.
    let (w, mut slow) = world_with_a_stalled_client(
        b"POST /hooks/leeds HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"from\": ",
    )
    .await;

    // Meanwhile, good traffic flows.
    let good = message("leeds-jo", "hangzhou-leeds", None, Some("Hello"), "Sent while another client stalls.");
    assert_eq!(w.post("leeds", "beside-the-slow-one", &good).await.status, 202);

    // The stalled request is answered once its time is up, and its connection let go.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "no answer to a stalled request within 30 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_header_is_cut_off() {
    use tokio::io::AsyncReadExt;
    // Half a header, then nothing (slowloris): the header deadline is the request_timeout.
    let (w, mut slow) = world_with_a_stalled_client(b"POST /hooks/leeds HTTP/1.1\r\nHost: bri").await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(_))), "the connection was not closed within 30 s: {read:?}");
    // (At least one: an idle kept-alive connection of the test's own clients counts too.) It
    // is counted as the connection ends, which the client may see first.
    w.daemon.wait_metric("c2c_http_header_timeouts_total", |n| n >= 1.0).await;
    // The listener serves on.
    let good = message("leeds-jo", "hangzhou-leeds", None, Some("Hello"), "After a slow client.");
    assert_eq!(w.post("leeds", "after-the-slow-one", &good).await.status, 202);
}
