//! Interop with the reference Standard Webhooks implementation (PyPI `standardwebhooks`), in
//! both directions: its signatures verify here, ours verify there. Needs the Python venv that
//! `tests/scripts/setup-python.sh` makes; `tests/run.sh` sets `C2C_PYTHON` to it.

use std::path::PathBuf;
use std::process::Command;

use c2c_test_support::post::{now, post_with_headers};
use c2c_test_support::world::message;

fn python() -> String {
    std::env::var("C2C_PYTHON").expect("C2C_PYTHON must point at the test venv's python (tests/run.sh sets it)")
}

fn reference(args: &[&str]) -> (bool, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/standardwebhooks_ref.py");
    let out = Command::new(python()).arg(script).args(args).output().expect("running the reference verifier");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn secret_text(w: &c2c_test_support::world::World, city: &str) -> String {
    let name = format!("C2C_TEST_WHSEC_{}", city.to_uppercase());
    w.env.iter().find(|(k, _)| *k == name).unwrap().1.clone()
}

#[tokio::test]
#[ignore = "needs the Python venv with `standardwebhooks` (tests/run.sh)"]
async fn reference_signatures_verify_here_and_ours_verify_there() {
    let mut w = crate::world().await;
    let body = serde_json::to_vec(&message(
        "leeds-jo",
        "hangzhou-leeds",
        Some("REF-1"),
        Some("Interop"),
        "Signed by the reference library.",
    ))
    .unwrap();
    let body_file = w.dir.path().join("inbound.json");
    std::fs::write(&body_file, &body).unwrap();
    let ts = now().to_string();
    let (ok, signature) =
        reference(&["sign", &secret_text(&w, "leeds"), "msg_ref_1", &ts, body_file.to_str().unwrap()]);
    assert!(ok, "{signature}");
    assert!(signature.starts_with("v1,"), "{signature}");

    // Theirs verifies here.
    let a = post_with_headers(&w.daemon.base_url, "leeds", "msg_ref_1", &ts, &signature, body.clone()).await;
    assert_eq!(a.status, 202, "{}", a.body);
    // And a tampered body signed by them does not.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let b = post_with_headers(&w.daemon.base_url, "leeds", "msg_ref_2", &ts, &signature, tampered).await;
    assert_eq!(b.status, 401);

    // Ours verifies there.
    let got = w.sink.next_delivered().await;
    let out_file = w.dir.path().join("outbound.json");
    std::fs::write(&out_file, &got.body).unwrap();
    let (ok, said) = reference(&[
        "verify",
        &secret_text(&w, "hangzhou"),
        &got.webhook_id,
        &got.timestamp,
        &got.signature,
        out_file.to_str().unwrap(),
    ]);
    assert!(ok, "the reference library refused our signature: {said}");
    // With the wrong secret it refuses (the check can fail).
    let (ok, _) = reference(&[
        "verify",
        &secret_text(&w, "gifu"),
        &got.webhook_id,
        &got.timestamp,
        &got.signature,
        out_file.to_str().unwrap(),
    ]);
    assert!(!ok);
}

/// Sign `body` as `secret` with the reference library and post it as Leeds's system.
async fn post_signed_by_reference(
    w: &c2c_test_support::world::World,
    secret: &str,
    id: &str,
    body: &serde_json::Value,
) -> c2c_test_support::post::Answer {
    let body = serde_json::to_vec(body).unwrap();
    let file = w.dir.path().join(format!("{id}.json"));
    std::fs::write(&file, &body).unwrap();
    let ts = now().to_string();
    let (ok, signature) = reference(&["sign", secret, id, &ts, file.to_str().unwrap()]);
    assert!(ok, "{signature}");
    post_with_headers(&w.daemon.base_url, "leeds", id, &ts, &signature, body).await
}

/// `config` with `city`'s webhook secret read from `file`, and its old one (the env variable the
/// test world names) kept as the previous secret when `keep_old`.
fn with_new_secret(config: &str, city: &str, file: &str, keep_old: bool) -> String {
    let old = format!("secret_env = \"C2C_TEST_WHSEC_{}\"", city.to_uppercase());
    assert!(config.contains(&old));
    let previous = if keep_old { format!(", previous_{old}") } else { String::new() };
    config.replace(&old, &format!("secret_file = \"{file}\"{previous}"))
}

/// Whether the reference library, holding only `secret`, accepts the delivery `got`.
fn reference_accepts(w: &c2c_test_support::world::World, secret: &str, got: &c2c_test_support::sink::Received) -> bool {
    let file = w.dir.path().join(format!("{}.out.json", got.webhook_id));
    std::fs::write(&file, &got.body).unwrap();
    reference(&["verify", secret, &got.webhook_id, &got.timestamp, &got.signature, file.to_str().unwrap()]).0
}

/// The rotation SECURITY.md describes, both ways: while a city's new secret is named and the old
/// one kept as `previous_secret_*`, the bridge accepts posts signed with either and signs its
/// own with both, so the city's receiver verifies them whichever secret it holds (checked with
/// the reference library); once the previous secret is dropped, only the new one works.
#[tokio::test]
#[ignore = "needs the Python venv with `standardwebhooks` (tests/run.sh)"]
async fn a_webhook_secret_rotation_overlaps_in_both_directions() {
    let mut w = crate::world().await;
    let (old_leeds, old_hangzhou, gifu) =
        (secret_text(&w, "leeds"), secret_text(&w, "hangzhou"), secret_text(&w, "gifu"));
    let (new_leeds, new_hangzhou) = (c2c_test_support::new_secret(), c2c_test_support::new_secret());
    let new_file = |city: &str, secret: &str| {
        let path = w.dir.path().join(format!("{city}-new.whsec"));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        path.display().to_string()
    };
    let (leeds_file, hangzhou_file) = (new_file("leeds", &new_leeds), new_file("hangzhou", &new_hangzhou));
    let original = std::fs::read_to_string(&w.config_path).unwrap();
    let keys_of = |config: &str, keep_old: bool| {
        let config = with_new_secret(config, "leeds", &leeds_file, keep_old);
        with_new_secret(&config, "hangzhou", &hangzhou_file, keep_old)
    };

    // 1. The admin names the new secrets and keeps the old ones as the previous, and reloads.
    std::fs::write(&w.config_path, keys_of(&original, true)).unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log("config reloaded").await;

    // Leeds's system, signing with either secret, is accepted alike; a third secret is not.
    let post = |n: u32| message("leeds-jo", "hangzhou-leeds", None, Some("Rotation"), &format!("Post {n}."));
    let by_old = post_signed_by_reference(&w, &old_leeds, "rot-1", &post(1)).await;
    let by_new = post_signed_by_reference(&w, &new_leeds, "rot-2", &post(2)).await;
    assert_eq!((by_old.status, by_new.status), (202, 202), "{} / {}", by_old.body, by_new.body);
    let keys = |a: &c2c_test_support::post::Answer| a.body.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&by_old), keys(&by_new), "the answer does not say which secret matched");
    let forged = post_signed_by_reference(&w, &gifu, "rot-3", &post(3)).await;
    assert_eq!((forged.status, forged.code()), (401, "bad_signature"));

    // Hangzhou's receiver verifies the bridge's posts whichever secret it holds.
    for n in [1, 2] {
        let got = w.sink.next_delivered().await;
        assert_eq!(got.post.text, format!("Post {n}."));
        assert_eq!(got.signature.split(' ').filter(|s| s.starts_with("v1,")).count(), 2, "{}", got.signature);
        assert!(got.verified, "the test sink holds only the old secret");
        assert!(reference_accepts(&w, &old_hangzhou, &got), "holding only the old secret");
        assert!(reference_accepts(&w, &new_hangzhou, &got), "holding only the new secret");
        assert!(!reference_accepts(&w, &gifu, &got), "another city's secret");
    }

    // 2. Both systems use the new secret: the admin drops the old one and reloads.
    std::fs::write(&w.config_path, keys_of(&original, false)).unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log_times("config reloaded", 2).await;

    let by_old = post_signed_by_reference(&w, &old_leeds, "rot-4", &post(4)).await;
    assert_eq!((by_old.status, by_old.code()), (401, "bad_signature"), "the old secret is refused from now on");
    let by_new = post_signed_by_reference(&w, &new_leeds, "rot-5", &post(5)).await;
    assert_eq!(by_new.status, 202, "{}", by_new.body);
    let got = w.sink.next_delivered().await;
    assert_eq!(got.post.text, "Post 5.");
    assert_eq!(got.signature.split(' ').count(), 1, "one signature: {}", got.signature);
    assert!(!got.verified, "a receiver holding only the old secret refuses it now");
    assert!(reference_accepts(&w, &new_hangzhou, &got));
    assert!(!reference_accepts(&w, &old_hangzhou, &got));
}
