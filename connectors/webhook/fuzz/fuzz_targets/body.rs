//! Fuzz target: what `POST /hooks/{city}` does with a request's untrusted bytes. The signature
//! headers are checked against a city's keys (`SigningKeys::verify`, as the route does), and the
//! body is read into an envelope (`intake::read`), the same functions the route calls.
//!
//! Input: one flag byte, then `webhook-id`, `webhook-timestamp` and `webhook-signature` on a line
//! each, then the body. A fuzzer cannot forge an HMAC, so the flags let it ask for a real
//! signature (by the city's current key, by its previous key, or by a key it does not hold,
//! appended to the fuzzed header) and a fresh timestamp; the body is read whatever the
//! signature says, so the JSON paths are reached on every input.
//!
//! Checked: nothing panics; a request verifies exactly when it carries a signature by a key the
//! city holds (current, or previous during a rotation) and a timestamp within the tolerance; the
//! keys' own multi-signature header verifies with each key alone; refusals are the documented
//! reasons with one-line details (they are logged); a read body is what the JSON says.
#![no_main]

use std::time::Duration;

use c2c_core::{NativeKey, RefusalReason};
use c2c_webhook::intake;
use c2c_webhook::signature::{KeyUsed, SigningKeys, SigningSecret, VerifyError};
use c2c_webhook::wire::InboundPost;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;
const TOLERANCE: Duration = Duration::from_secs(300);
const CURRENT: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREVIOUS: &str = "whsec_bmV3IGtleSBvZiB0aGlydHktdHdvIGJ5dGVzIQ==";
const STRANGER: &str = "whsec_c3RyYW5nZXIncyBrZXksIDMyIGJ5dGVzIGxvbmch";

/// No line breaks or other control characters: the text goes into one log line.
fn one_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(4, |&b| b == b'\n');
    let id = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();

    let current = SigningSecret::parse(CURRENT).unwrap();
    let previous = SigningSecret::parse(PREVIOUS).unwrap();
    let stranger = SigningSecret::parse(STRANGER).unwrap();
    let rotating = flags & 0x04 != 0;
    let keys = SigningKeys::new(current.clone(), rotating.then(|| previous.clone()));

    // What the flags ask for.
    let timestamp = if flags & 0x08 != 0 { NOW.to_string() } else { timestamp.into_owned() };
    let ts = timestamp.trim().parse::<i64>().ok();
    let sign_ts = ts.unwrap_or(NOW);
    let mut signature = header.into_owned();
    for (bit, key) in [(0x01, &current), (0x02, &previous), (0x10, &stranger)] {
        if flags & bit != 0 {
            signature.push(' ');
            signature.push_str(&key.sign(&id, sign_ts, body));
        }
    }
    let by_current = flags & 0x01 != 0;
    let by_previous = flags & 0x02 != 0 && rotating;

    let verified = keys.verify(&id, &timestamp, &signature, body, NOW, TOLERANCE);
    let fresh = ts.is_some_and(|t| (i128::from(NOW) - i128::from(t)).unsigned_abs() <= 300);
    match &verified {
        Ok(used) => {
            assert!(fresh, "verified with an unusable timestamp {timestamp:?}");
            match used {
                KeyUsed::Current => assert!(by_current, "a forged signature verified: {signature:?}"),
                KeyUsed::Previous => assert!(by_previous && !by_current, "{used:?} for flags {flags:#x}"),
            }
        }
        Err(e) => {
            assert!(!(fresh && (by_current || by_previous)), "a real signature was refused: {e:?}");
            match ts {
                None => assert_eq!(*e, VerifyError::BadTimestamp),
                Some(_) if !fresh => assert!(matches!(e, VerifyError::Stale { .. }), "{e:?}"),
                Some(_) => assert!(matches!(e, VerifyError::Mismatch | VerifyError::NoSignature), "{e:?}"),
            }
            let refusal = intake::refusal_for(e);
            assert!(matches!(refusal.reason, RefusalReason::BadSignature | RefusalReason::StaleTimestamp));
            assert!(one_line(&refusal.detail), "{:?}", refusal.detail);
        }
    }
    // A receiver holding one key checks it alone.
    if fresh {
        let alone = current.verify(&id, &timestamp, &signature, body, NOW, TOLERANCE);
        assert_eq!(alone.is_ok(), by_current);
    }
    // The header the bridge sends verifies with each key alone, and with the set.
    let sent = keys.sign(&id, NOW, body);
    assert_eq!(current.verify(&id, &NOW.to_string(), &sent, body, NOW, TOLERANCE), Ok(()));
    assert_eq!(previous.verify(&id, &NOW.to_string(), &sent, body, NOW, TOLERANCE).is_ok(), rotating);
    assert_eq!(keys.verify(&id, &NOW.to_string(), &sent, body, NOW, TOLERANCE), Ok(KeyUsed::Current));
    // The unknown city's keys verify nothing a sender made.
    assert!(SigningKeys::decoy().verify(&id, &timestamp, &signature, body, NOW, TOLERANCE).is_err());

    // The body, as the route reads it once verified.
    match intake::read("leeds", &id, body, NOW * 1000) {
        Ok(env) => {
            let post: InboundPost = serde_json::from_slice(body).expect("read only what parses");
            assert_eq!(env.dedupe_key, NativeKey::webhook_delivery("leeds", &id));
            assert_eq!(env.origin.city.as_deref(), Some("leeds"));
            assert_eq!((env.sender.as_str(), env.text.as_str()), (post.from.as_str(), post.text.as_str()));
            assert_eq!(env.partnership, post.partnership);
            assert_eq!(env.thread_key, post.thread_key.clone().filter(|k| !k.is_empty()));
            assert!(env.subject.as_deref().is_none_or(|s| !s.trim().is_empty()));
            assert!(env.html.as_deref().is_none_or(|h| !h.trim().is_empty()));
            // What was read is what would be written back.
            let again: InboundPost = serde_json::from_slice(&serde_json::to_vec(&post).unwrap()).unwrap();
            assert_eq!(again, post);
        }
        Err(refusal) => {
            assert_eq!(refusal.reason, RefusalReason::Malformed);
            assert!(one_line(&refusal.detail), "{:?}", refusal.detail);
        }
    }

    // Secret text as an admin's env var may hold it: parsed or refused, never a short key.
    if let Ok(secret) = SigningSecret::parse(&id) {
        assert!(secret.sign("x", 0, b"").starts_with("v1,"));
    }
});
