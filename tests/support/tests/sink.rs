//! The sink itself: held requests are answered once released.

use std::collections::HashMap;

use c2c_test_support::sink::Sink;
use c2c_webhook::SigningSecret;

#[tokio::test]
async fn held_requests_are_answered_after_release() {
    let secret = SigningSecret::parse(&c2c_test_support::new_secret()).unwrap();
    let mut sink = Sink::start(0, HashMap::from([("x".to_string(), secret.clone())])).await;
    sink.hold("x");
    let url = sink.url("x");
    let body = br#"{"kind":"message","id":"1","partnership":"p","conversation":"c","thread_key":null,"from":{"contact":null,"name":"n","city":null,"role":null},"subject":"s","text":"t","html":null,"language":{"code":"en","confidence":1.0},"sent_at":"x"}"#;
    let sig = secret.sign("id1", c2c_test_support::post::now(), body);
    let ts = c2c_test_support::post::now().to_string();
    let req = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("webhook-id", "id1")
            .header("webhook-timestamp", ts)
            .header("webhook-signature", sig)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let got = sink.next().await;
    assert!(got.verified);
    assert!(!req.is_finished());
    sink.release("x");
    assert_eq!(req.await.unwrap(), 204);
}
