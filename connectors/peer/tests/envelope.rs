//! The peer envelope's shape is a contract between instances of different versions: a snapshot
//! of version 1 (a change here breaks peers; add fields, never rename them), what a receiver
//! refuses, and the replica it makes.

use std::path::PathBuf;

use c2c_core::conformance::{sample_conversation, sample_message};
use c2c_core::{Attachment, Channel, ConversationId, Origin};
use c2c_peer::{GlobalId, PeerEnvelope, WireError};

fn envelope() -> PeerEnvelope {
    let mut conversation = sample_conversation("hangzhou-leeds");
    conversation.id = "01JD0000000000000000000001".parse().unwrap();
    let mut message = sample_message(&conversation, 7);
    message.attachments.push(Attachment {
        filename: "agenda.pdf".into(),
        content_type: "application/pdf".into(),
        size: 48_213,
        content: Some(b"%PDF".to_vec()),
    });
    message.id = "01JD00000000000000000000M1".parse().unwrap();
    message.origin_instance = "brlc".into();
    message.received_at = 1_800_000_000_123;
    message.html = Some("<p>Hello <b>Hangzhou</b></p>".into());
    let conversation = GlobalId::new("uk-lga", "01JD0000000000000000000001");
    let prev = Some(GlobalId::new("brlc", "01JD00000000000000000000M0"));
    PeerEnvelope::from_message("brlc", "uk-lga", &message, conversation, prev).unwrap()
}

#[test]
fn version_1_is_written_as_its_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/envelope-v1.json");
    let encoded = serde_json::to_string_pretty(&envelope()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &encoded).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(encoded, stored, "the peer envelope's encoding changed: peers depend on it");
    assert_eq!(PeerEnvelope::parse(stored.as_bytes()).unwrap(), envelope());
}

#[test]
fn unknown_fields_are_ignored_and_other_versions_refused() {
    let mut value = serde_json::to_value(envelope()).unwrap();
    value["added_in_a_later_minor"] = serde_json::json!({"x": 1});
    value["author"]["pronouns"] = "they".into();
    assert_eq!(PeerEnvelope::parse(value.to_string().as_bytes()).unwrap(), envelope());

    value["v"] = 2.into();
    value["text"] = 5.into(); // a later version may change a field: reported as the version
    assert_eq!(PeerEnvelope::parse(value.to_string().as_bytes()), Err(WireError::Version(2)));
}

#[test]
fn what_a_receiver_refuses_is_said_precisely() {
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut value = serde_json::to_value(envelope()).unwrap();
        f(&mut value);
        PeerEnvelope::parse(value.to_string().as_bytes()).unwrap_err()
    };
    assert!(matches!(PeerEnvelope::parse(b"{\"v\": 1"), Err(WireError::Malformed(_))));
    assert!(matches!(PeerEnvelope::parse(b"[]"), Err(WireError::Malformed(_))));
    assert!(matches!(with(&|v| v["message"] = "brlc".into()), WireError::Malformed(m) if m.contains("global id")));
    assert!(matches!(with(&|v| v["conversation"] = "uk-lga:nope".into()), WireError::Malformed(_)));
    assert_eq!(with(&|v| v["origin"] = "bad id!".into()), WireError::Instance("bad id!".into()));
    // A message made elsewhere is not relayed through a third instance.
    assert_eq!(
        with(&|v| v["origin"] = "citynet".into()),
        WireError::NotTheOrigins { made_by: "brlc".into(), origin: "citynet".into() }
    );
    assert_eq!(with(&|v| v["sent_at"] = "yesterday".into()), WireError::Time("yesterday".into()));
    assert_eq!(with(&|v| v["text"] = " \n".into()), WireError::EmptyText);
}

#[test]
fn the_replica_keeps_the_origin_s_ids_author_and_tag() {
    let origin = Origin { channel: Channel::Webhook, city: None, address: "peer:brlc".into() };
    let r = envelope().into_replica(origin).unwrap();
    assert_eq!(r.message.to_string(), "01JD00000000000000000000M1");
    assert_eq!(r.conversation, "01JD0000000000000000000001".parse::<ConversationId>().unwrap());
    assert_eq!((r.origin_instance.as_str(), r.conversation_owner.as_str()), ("brlc", "uk-lga"));
    assert_eq!(r.envelope.dedupe_key.as_str(), "peer:brlc:message:01JD00000000000000000000M1");
    assert_eq!(r.envelope.partnership.as_deref(), Some(envelope().partnership.as_str()));
    assert_eq!(r.envelope.received_at, 1_800_000_000_123);
    assert_eq!(r.author.contact, envelope().author.contact);
    assert_eq!(r.language.code, envelope().language.code);
    assert!(r.envelope.attachments.iter().all(|a| a.content.is_none()), "metadata only");
}
