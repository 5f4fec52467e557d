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
