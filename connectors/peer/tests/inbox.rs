//! Signed requests between instances: what one signs the other believes, and every forgery the
//! issue names is refused with its reason: a wrong key, an origin nobody pinned, a peer
//! speaking as another, a tampered body, a wrong destination, a stale timestamp.

use std::time::Duration;

use c2c_core::conformance::{sample_conversation, sample_message};
use c2c_peer::inbox::{Pinned, Refused, Signed, check, sign};
use c2c_peer::{GlobalId, PeerEnvelope, WireError};
use c2c_webhook::signature::asymmetric::SecretKey;

const NOW: i64 = 1_800_000_000;
const TOLERANCE: Duration = Duration::from_secs(300);

fn key() -> SecretKey {
    SecretKey::generate().unwrap()
}

/// A post made on `origin`, for `destination`.
fn envelope(origin: &str, destination: &str) -> PeerEnvelope {
    let conversation = sample_conversation("hangzhou-manchester");
    let mut message = sample_message(&conversation, 1);
    message.origin_instance = origin.into();
    PeerEnvelope::from_message(origin, destination, &message, GlobalId::new(origin, conversation.id), None).unwrap()
}

#[test]
fn what_a_peer_signs_with_a_pinned_key_is_believed() {
    let brlc = key();
    let pinned = Pinned::new([("brlc".to_string(), vec![brlc.public_key()])]);
    let sent = envelope("brlc", "uk-lga");
    let request = sign(&sent, "01JD-entry-0", std::slice::from_ref(&brlc), NOW);
    let (got, index) = check(&pinned, "uk-lga", &request, NOW + 2, TOLERANCE).unwrap();
    assert_eq!((got, index), (sent, 0));
}

#[test]
fn during_a_rotation_either_pinned_key_verifies() {
    let (old, new) = (key(), key());
    let request = sign(&envelope("brlc", "uk-lga"), "e-1", &[new.clone(), old.clone()], NOW);
    // The index is the pinned key that verified: the new key's entry comes first.
    for (pinned, index) in
        [(vec![old.public_key()], 0), (vec![new.public_key()], 0), (vec![old.public_key(), new.public_key()], 1)]
    {
        let pinned = Pinned::new([("brlc".to_string(), pinned)]);
        assert_eq!(check(&pinned, "uk-lga", &request, NOW, TOLERANCE).unwrap().1, index);
    }
    // Once the old key is gone from the signer, a peer that pinned only the old one refuses.
    let request = sign(&envelope("brlc", "uk-lga"), "e-2", std::slice::from_ref(&new), NOW);
    let pinned = Pinned::new([("brlc".to_string(), vec![old.public_key()])]);
    assert_eq!(
        check(&pinned, "uk-lga", &request, NOW, TOLERANCE),
        Err(Refused::BadSignature { unknown_origin: false })
    );
}

#[test]
fn forged_requests_are_refused_with_their_reason() {
    let (brlc, citynet, stranger) = (key(), key(), key());
    let pinned = Pinned::new([
        ("brlc".to_string(), vec![brlc.public_key()]),
        ("citynet".to_string(), vec![citynet.public_key()]),
    ]);
    let ok = |r: &Signed| check(&pinned, "uk-lga", r, NOW, TOLERANCE);

    // A key nobody pinned for brlc.
    let r = sign(&envelope("brlc", "uk-lga"), "e", std::slice::from_ref(&stranger), NOW);
    assert_eq!(ok(&r), Err(Refused::BadSignature { unknown_origin: false }));
    // citynet signing an envelope that says it comes from brlc.
    let r = sign(&envelope("brlc", "uk-lga"), "e", std::slice::from_ref(&citynet), NOW);
    assert_eq!(ok(&r), Err(Refused::BadSignature { unknown_origin: false }));
    // An origin nobody pinned: the same answer as a wrong key.
    let r = sign(&envelope("atlantis", "uk-lga"), "e", std::slice::from_ref(&stranger), NOW);
    let refused = ok(&r).unwrap_err();
    assert_eq!(refused, Refused::BadSignature { unknown_origin: true });
    assert_eq!(refused.to_string(), Refused::BadSignature { unknown_origin: false }.to_string());
    // A body changed after signing, and a webhook-id changed after signing.
    let mut r = sign(&envelope("brlc", "uk-lga"), "e", std::slice::from_ref(&brlc), NOW);
    let mut tampered = r.clone();
    tampered.body = String::from_utf8(r.body.clone()).unwrap().replace("message 1", "message 2").into_bytes();
    assert_eq!(ok(&tampered), Err(Refused::BadSignature { unknown_origin: false }));
    r.id = "another".into();
    assert_eq!(ok(&r), Err(Refused::BadSignature { unknown_origin: false }));
    // Meant for another instance.
    let r = sign(&envelope("brlc", "citynet"), "e", std::slice::from_ref(&brlc), NOW);
    assert_eq!(ok(&r), Err(Refused::WrongDestination { destination: "citynet".into(), ours: "uk-lga".into() }));
    // Ten minutes old, and the answer says the receiver's time.
    let r = sign(&envelope("brlc", "uk-lga"), "e", std::slice::from_ref(&brlc), NOW - 600);
    let refused = ok(&r).unwrap_err();
    assert_eq!(refused, Refused::Stale { timestamp: NOW - 600, now: NOW });
    assert!(refused.to_string().contains(&NOW.to_string()), "{refused}");
    assert_eq!(refused.code(), "stale_timestamp");
    // Signed by brlc's key, but a message brlc did not make (relayed from a third instance).
    let mut relayed = envelope("brlc", "uk-lga");
    relayed.message = GlobalId::new("citynet", relayed.message.id.clone());
    let r = sign(&relayed, "e", std::slice::from_ref(&brlc), NOW);
    assert!(matches!(ok(&r), Err(Refused::Malformed(WireError::NotTheOrigins { .. }))));
    // Signed garbage from a pinned peer is malformed, not a signature problem.
    let body = br#"{"origin": "brlc", "v": 1}"#.to_vec();
    let signature = c2c_webhook::signature::asymmetric::sign(std::slice::from_ref(&brlc), "e", NOW, &body);
    let r = Signed { id: "e".into(), timestamp: NOW.to_string(), signature, body };
    assert!(matches!(ok(&r), Err(Refused::Malformed(WireError::Malformed(_)))));
}
