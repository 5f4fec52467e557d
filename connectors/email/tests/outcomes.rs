//! Every fixture mail ends as relayed (with the envelope it becomes), refused with a reason, or
//! bounce-processed: `fixtures/NAME.outcome.json` beside each `NAME.eml` records which.
//! `UPDATE_EXPECT=1 cargo test -p c2c-email --test outcomes` rewrites them (review the diff).

use std::path::PathBuf;
use std::time::Duration;

use c2c_core::{InstanceKey, RefusalReason};
use c2c_email::classify::{Outcome, classify, classify_oversized};
use c2c_email::{EmailSettings, Security, SenderAuth, Server};

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
        max_mail_bytes: 64 * 1024,
        poll_interval: Duration::from_secs(30),
        idle_renew: Duration::from_secs(60),
        instance: "c2c-test".into(),
        timeout: Duration::from_secs(10),
        // Most fixtures carry no authentication result: under "if-present" they show what the
        // rest of the decision does. `only_a_trusted_aligned_pass_is_believed` covers "require".
        sender_auth: SenderAuth::IfPresent,
        trusted_authserv_ids: vec!["mail.c2c.test".into()],
        // The fixtures' Message-IDs and return paths are tagged under this key.
        key: InstanceKey::new([1; 32]),
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

/// A mail over `max_mail_bytes` is decided from its header alone: a person's mail goes to the
/// router marked oversized (the router tells a contact, not a stranger); machine mail and
/// authentication failures are refused as they would be whole.
#[test]
fn an_oversized_mail_is_decided_from_its_header() {
    let s = settings();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let header_of = |name: &str| {
        let raw = std::fs::read(dir.join(name)).unwrap();
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| p + 4)
            .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
            .unwrap();
        raw[..end].to_vec()
    };
    let (mail, outcome) = classify_oversized(&header_of("alternative_text_html.eml"), 40 * 1024 * 1024, &s);
    let Outcome::Relay { envelope } = outcome else { panic!("{outcome:?}") };
    let why = envelope.oversized.as_deref().unwrap();
    assert!(why.contains("40.0 MiB") && why.contains("64 KiB"), "{why}");
    assert_eq!(Some(envelope.sender.as_str()), mail.as_ref().and_then(|m| m.from.as_ref()).map(|f| f.address.as_str()));
    assert!(envelope.dedupe_key.as_str().starts_with("email:"));

    let (_, outcome) = classify_oversized(&header_of("auto_reply_out_of_office.eml"), 1 << 30, &s);
    assert!(matches!(outcome, Outcome::Refused { reason: RefusalReason::Automatic, .. }), "{outcome:?}");
    let (_, outcome) = classify_oversized(&header_of("auth_dkim_fail.eml"), 1 << 30, &s);
    assert!(matches!(outcome, Outcome::Refused { reason: RefusalReason::AuthenticationFailed, .. }), "{outcome:?}");
}

/// A bounce that returns a large mail whole is over the limit too: its start (the report and
/// the returned header) still makes it a bounce, and a bounce about somebody else's mail is
/// still ignored rather than refused.
#[test]
fn an_oversized_bounce_is_read_from_its_start() {
    let s = settings();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let raw = String::from_utf8(std::fs::read(dir.join("dsn_postfix.eml")).unwrap()).unwrap();
    let returned_body = "Dear colleagues in Hangzhou,";
    let at = raw.find(returned_body).unwrap();
    let filler = "The annexed plans, line after line of them.\r\n".repeat(8000); // ~350 KiB
    let big = format!("{}{filler}{}", &raw[..at], &raw[at..]);
    assert!(big.len() > 300 * 1024);
    let start = &big.as_bytes()[..s.max_mail_bytes.min(c2c_email::classify::OVERSIZED_PEEK_BYTES)];

    let (_, outcome) = classify_oversized(start, big.len() as u64, &s);
    let Outcome::Bounce { seq, failed_recipients, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(seq, 42);
    assert_eq!(failed_recipients, ["liwei@hangzhou.gov.cn", "office@hangzhou.gov.cn"]);

    let foreign = big.replace("c2c.01JD0000000000000000000002-0.d4ec21f2b068e461831e@c2c.test", "CAKx1@mail.gmail.com");
    let start = &foreign.as_bytes()[..s.max_mail_bytes];
    let (_, outcome) = classify_oversized(start, foreign.len() as u64, &s);
    assert!(matches!(outcome, Outcome::BounceIgnored { .. }), "{outcome:?}");
}

/// A mail's In-Reply-To and References become conversation hints, each looked up in the store
/// by the single committer: only the newest 50, each once, however many the mail carries.
#[test]
fn thread_hints_are_capped_and_deduplicated() {
    let refs: String = (0..5000).map(|i| format!(" <ref-{}@leeds.test>", i % 2500)).collect();
    let raw = format!(
        "From: Jo <jo@leeds.test>\r\nTo: bridge+p@c2c.test\r\nSubject: Re: x\r\nMessage-ID: <m@leeds.test>\r\n\
         In-Reply-To: <ref-2499@leeds.test>\r\nReferences:{refs}\r\n\r\nFine by us.\r\n"
    );
    let (_, outcome) = classify(raw.as_bytes(), &settings());
    let Outcome::Relay { envelope } = outcome else { panic!("{outcome:?}") };
    let ids: Vec<String> = envelope.thread_refs.iter().map(|r| format!("{r:?}")).collect();
    assert_eq!(ids.len(), c2c_email::convert::MAX_REFERENCES, "{ids:?}");
    assert!(ids[0].contains("ref-2499@"), "In-Reply-To first: {}", ids[0]);
    assert!(ids[1].contains("ref-2498@"), "then References, newest first: {}", ids[1]);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "each once");
}

/// Under `sender_auth = "require"` (the default), of the whole corpus only the mails whose
/// receiving server (authserv-id `mail.c2c.test`) recorded a pass aligned with the From domain
/// are relayed: not a pass under another authserv-id (anyone can write one), not a pass for a
/// mailing service's own domain, not a mail with no result at all. Bounces are still bounces.
#[test]
fn only_a_trusted_aligned_pass_is_believed() {
    let s = EmailSettings { sender_auth: SenderAuth::Require, ..settings() };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut relayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let (_, loose) = classify(&std::fs::read(&path).unwrap(), &settings());
        let (_, strict) = classify(&std::fs::read(&path).unwrap(), &s);
        match (&loose, &strict) {
            (_, Outcome::Relay { .. }) => relayed.push(name),
            (Outcome::Relay { .. }, Outcome::Refused { reason: RefusalReason::AuthenticationFailed, detail }) => {
                assert!(detail.contains("no dkim, spf or dmarc pass"), "{name}: {detail}")
            }
            (a, b) => assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::to_value(b).unwrap(),
                "{name}: only relaying depends on sender_auth"
            ),
        }
    }
    relayed.sort();
    assert_eq!(relayed, ["auth_dkim_pass", "auth_dmarc_pass_subdomain"]);

    let (_, outcome) = classify(&std::fs::read(dir.join("auth_pass_untrusted_authserv.eml")).unwrap(), &s);
    let Outcome::Refused { reason: RefusalReason::AuthenticationFailed, detail } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(detail, "no dkim, spf or dmarc pass for the domain of jo.smith@leeds.gov.uk from mail.c2c.test");

    // With no authserv-id named, nothing can vouch for a sender (the daemon refuses to start so).
    let none = EmailSettings { trusted_authserv_ids: Vec::new(), ..s.clone() };
    let (_, outcome) = classify(&std::fs::read(dir.join("auth_dkim_pass.eml")).unwrap(), &none);
    assert!(matches!(outcome, Outcome::Refused { reason: RefusalReason::AuthenticationFailed, .. }), "{outcome:?}");
}

/// Anyone can quote a Message-ID they were sent, so a bounce counts only when it came to the
/// return path of the very delivery it names (a recipient sees only their own): a report
/// quoting delivery 42 that arrived at delivery 43's return path, or at no return path, is
/// refused as an authentication failure; a Message-ID of the old, untagged form is not ours.
#[test]
fn a_bounce_counts_only_at_its_deliverys_return_path() {
    let s = settings();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let raw = String::from_utf8(std::fs::read(dir.join("dsn_postfix.eml")).unwrap()).unwrap();
    let (_, outcome) = classify(raw.as_bytes(), &s);
    assert!(matches!(outcome, Outcome::Bounce { seq: 42, .. }), "{outcome:?}");

    for to in
        ["bridge+b-43-5ad5da5d06391259a270@c2c.test", "bridge@c2c.test", "bridge+b-42-00000000000000000000@c2c.test"]
    {
        let forged =
            raw.replace("Delivered-To: bridge+b-42-b7a2557d09ddb031574f@c2c.test", &format!("Delivered-To: {to}"));
        let (_, outcome) = classify(forged.as_bytes(), &s);
        let Outcome::Refused { reason: RefusalReason::AuthenticationFailed, detail } = outcome else {
            panic!("{to}: {outcome:?}")
        };
        assert!(detail.contains("did not come to its return path"), "{detail}");
    }
    // Only the topmost Delivered-To (the bridge's own server's) counts, not one further down.
    let below = raw.replacen("Delivered-To: bridge+b-42-b7a2557d09ddb031574f@c2c.test", "Delivered-To: bridge+b-43-5ad5da5d06391259a270@c2c.test\nDelivered-To: bridge+b-42-b7a2557d09ddb031574f@c2c.test", 1);
    let (_, outcome) = classify(below.as_bytes(), &s);
    assert!(matches!(outcome, Outcome::Refused { reason: RefusalReason::AuthenticationFailed, .. }), "{outcome:?}");

    let untagged = raw.replace(
        "c2c.01JD0000000000000000000002-0.d4ec21f2b068e461831e@c2c.test",
        "c2c.42.01JD0000000000000000000002-0@c2c.test",
    );
    let (_, outcome) = classify(untagged.as_bytes(), &s);
    assert!(matches!(outcome, Outcome::BounceIgnored { .. }), "{outcome:?}");
}
