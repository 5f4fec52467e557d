//! Federation on the real binary, the receiving side: a peer's signed envelope for a city it
//! hosts is committed under the origin's ids and delivered to the local member's system; a
//! replay creates nothing; a wrong key, an origin nobody pinned, an envelope for another
//! instance, a stale one, a city the peer does not host and a partnership not declared here are
//! refused and not relayed.

use std::collections::HashMap;

use c2c_core::conformance::{sample_conversation, sample_message};
use c2c_peer::inbox::{Signed, sign};
use c2c_peer::{GlobalId, PeerEnvelope};
use c2c_test_support::daemon::Daemon;
use c2c_test_support::sink::Sink;
use c2c_test_support::{free_port, new_secret};
use c2c_webhook::SigningSecret;
use c2c_webhook::signature::asymmetric::SecretKey;
use c2c_webhook::signature::key_file;

/// A post by Kay Brown of Manchester, made on `origin`, for instance `destination`.
fn envelope(origin: &str, destination: &str, city: &str, text: &str) -> PeerEnvelope {
    let conversation = sample_conversation("gifu-manchester");
    let mut message = sample_message(&conversation, 1);
    message.origin_instance = origin.into();
    message.text = text.into();
    message.received_at = chrono::Utc::now().timestamp_millis();
    let author = message.author.as_mut().unwrap();
    (author.contact, author.name, author.city, author.city_name) =
        ("man-kay".into(), "Kay Brown".into(), city.into(), "Manchester".into());
    PeerEnvelope::from_message(origin, destination, &message, GlobalId::new(origin, conversation.id), None).unwrap()
}

async fn post(base: &str, r: &Signed) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/peer/v1/inbox"))
        .header("webhook-id", &r.id)
        .header("webhook-timestamp", &r.timestamp)
        .header("webhook-signature", &r.signature)
        .header("content-type", "application/json")
        .body(r.body.clone())
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_peer_s_signed_envelope_reaches_the_local_member_once_and_forgeries_do_not() {
    let dir = tempfile::tempdir().unwrap();
    key_file::write(&dir.path().join("brlc.key"), &SecretKey::generate().unwrap(), false).unwrap();
    let (uk, citynet, stranger) =
        (SecretKey::generate().unwrap(), SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let gifu_secret = new_secret();
    let mut sink =
        Sink::start(0, HashMap::from([("gifu".to_string(), SigningSecret::parse(&gifu_secret).unwrap())])).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let config = format!(
        r#"[bridge]
name = "brlc"
data_dir = "data"
listen = "{listen}"
instance = "brlc"
admin_token_env = "C2C_TEST_ADMIN_TOKEN"

[federation]
key_file = "brlc.key"

[[peers]]
id = "uk-lga"
url = "http://127.0.0.1:9/"
public_keys = ["{uk_key}"]

[[peers]]
id = "citynet"
url = "http://127.0.0.1:9/citynet"
public_keys = ["{citynet_key}"]

[bridge.delivery]
initial_backoff = "50ms"
max_backoff = "200ms"

[connectors.webhook]

[[cities]]
id = "gifu"
name = "Gifu"
country = "JP"
webhook = {{ url = "{gifu_url}", secret_env = "C2C_GIFU" }}
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[cities]]
id = "manchester"
name = "Manchester"
country = "GB"
peer = "uk-lga"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
peer = "citynet"

[[partnerships]]
id = "gifu-manchester"
kind = "city-city"
members = ["gifu", "manchester"]
objective = "Football academies"
language = "en"
reply_within = "5d"
channels = {{ gifu = "webhook" }}
"#,
        uk_key = uk.public_key(),
        citynet_key = citynet.public_key(),
        gifu_url = sink.url("gifu"),
    );
    let config_path = dir.path().join("brlc.toml");
    std::fs::write(&config_path, config).unwrap();
    let env = vec![
        ("C2C_GIFU".to_string(), gifu_secret),
        ("C2C_TEST_ADMIN_TOKEN".to_string(), "peer-test-admin-token-0123456789abcdef".to_string()),
    ];
    let mut daemon = Daemon::start(crate::bin(), &config_path, &listen, env, &dir.path().join("log")).await;
    let base = daemon.base_url.clone();
    let now = chrono::Utc::now().timestamp();

    // uk-lga speaks for Manchester: committed under its ids, and Gifu's system gets the post.
    let sent = envelope("uk-lga", "brlc", "manchester", "Shall we start the academy exchange in May?");
    let request = sign(&sent, "entry-1", std::slice::from_ref(&uk), now);
    let (status, answer) = post(&base, &request).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["message"], sent.message.to_string());
    assert_eq!(answer["conversation"], sent.conversation.to_string());
    let got = sink.next_delivered().await;
    assert!(got.verified);
    assert_eq!(got.post.id, sent.message.id, "the origin's message id, here too");
    assert_eq!(got.post.conversation, sent.conversation.id);
    assert_eq!(got.post.from.contact.as_deref(), Some("man-kay"));
    assert_eq!(got.post.from.city.as_deref(), Some("manchester"));
    assert_eq!(got.post.text, "Shall we start the academy exchange in May?");

    // The same envelope again (a retry): the first answer, nothing new.
    let (status, again) = post(&base, &request).await;
    assert_eq!((status, &again), (202, &answer));

    // Forgeries: each refused with its code; none relayed.
    let forged = |e: &PeerEnvelope, key: &SecretKey, at: i64| sign(e, "entry-x", std::slice::from_ref(key), at);
    let text = "Forged";
    for (what, request, status, code) in [
        (
            "a key nobody pinned for uk-lga",
            forged(&envelope("uk-lga", "brlc", "manchester", text), &stranger, now),
            401,
            "bad_signature",
        ),
        (
            "an origin nobody pinned",
            forged(&envelope("atlantis", "brlc", "manchester", text), &stranger, now),
            401,
            "bad_signature",
        ),
        (
            "for another instance",
            forged(&envelope("uk-lga", "citynet", "manchester", text), &uk, now),
            400,
            "malformed",
        ),
        (
            "ten minutes old",
            forged(&envelope("uk-lga", "brlc", "manchester", text), &uk, now - 600),
            401,
            "stale_timestamp",
        ),
        (
            "citynet speaking for Manchester",
            forged(&envelope("citynet", "brlc", "manchester", text), &citynet, now),
            403,
            "other_city",
        ),
        (
            "a partnership not declared here",
            forged(
                &PeerEnvelope { partnership: "atlantis-p".into(), ..envelope("uk-lga", "brlc", "manchester", text) },
                &uk,
                now,
            ),
            422,
            "unknown_partnership",
        ),
        (
            "Hangzhou, not a member here",
            forged(&envelope("citynet", "brlc", "hangzhou", text), &citynet, now),
            403,
            "not_a_member",
        ),
    ] {
        let (got_status, body) = post(&base, &request).await;
        assert_eq!((got_status, body["code"].as_str()), (status, Some(code)), "{what}: {body}");
    }
    let stale = post(&base, &forged(&envelope("uk-lga", "brlc", "manchester", text), &uk, now - 600)).await.1;
    assert!(stale["error"].as_str().unwrap().contains("this instance's time"), "{stale}");

    // The next good post flows, and it is the only other delivery the sink saw.
    let next = envelope("uk-lga", "brlc", "manchester", "Our coaches can come in the second week.");
    // Signed by a clock two minutes ahead (within the tolerance): the skew is a metric.
    let (status, _) = post(&base, &sign(&next, "entry-2", std::slice::from_ref(&uk), now + 120)).await;
    assert_eq!(status, 202);
    let skew = daemon.metric("c2c_peer_clock_skew_seconds{peer=\"uk-lga\"}").await;
    assert!((115.0..=125.0).contains(&skew), "{skew}");
    let got = sink.next_delivered().await;
    assert_eq!(got.post.text, "Our coaches can come in the second week.");
    assert_eq!(daemon.metric("c2c_messages_refused_total{channel=\"peer\",reason=\"bad_signature\"}").await, 2.0);
    assert!(daemon.terminate().await.success());
}
