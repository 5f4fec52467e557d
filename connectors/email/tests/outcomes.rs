//! Every fixture mail ends as relayed (with the envelope it becomes), refused with a reason, or
//! bounce-processed: `fixtures/NAME.outcome.json` beside each `NAME.eml` records which.
//! `UPDATE_EXPECT=1 cargo test -p c2c-email --test outcomes` rewrites them (review the diff).

use std::path::PathBuf;
use std::time::Duration;

use c2c_email::classify::classify;
use c2c_email::{EmailSettings, Security, Server};

fn settings() -> EmailSettings {
    let server = Server {
        host: "127.0.0.1".into(),
        port: 1,
        security: Security::None,
        user: "bridge@c2c.test".into(),
        password: String::new(),
        ca_pem: None,
    };
    EmailSettings {
        address: "bridge@c2c.test".into(),
        imap: server.clone(),
        smtp: server,
        mailbox: "INBOX".into(),
        processed_folder: "c2c-processed".into(),
        refused_folder: "c2c-refused".into(),
        max_attachment_bytes: 1024,
        poll_interval: Duration::from_secs(30),
        idle_renew: Duration::from_secs(60),
        instance: "c2c-test".into(),
        timeout: Duration::from_secs(10),
    }
}

#[test]
fn every_fixture_ends_relayed_refused_or_bounced() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "the corpus has {} mails", names.len());
    let s = settings();
    let mut wrong = Vec::new();
    for eml in names {
        let raw = std::fs::read(&eml).unwrap();
        let (_, outcome) = classify(&raw, &s);
        let mut value = serde_json::to_value(&outcome).unwrap();
        // Set at arrival; not part of the decision.
        if let Some(env) = value.get_mut("envelope") {
            env["received_at"] = 0.into();
        }
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        let expected_path = eml.with_extension("outcome.json");
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&expected_path, &text).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != text {
            wrong.push(format!("{}:\n{text}", eml.display()));
        }
    }
    assert!(wrong.is_empty(), "{} outcomes differ from their .outcome.json:\n{}", wrong.len(), wrong.join("\n"));
}
