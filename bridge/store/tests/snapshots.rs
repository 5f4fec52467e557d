//! Snapshot tests of the persisted encoding: a change to how records are written fails here
//! rather than leaving existing stores unreadable. If a change is intended, bump the schema
//! version, add a migration, and regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p c2c-store`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use c2c_core::{
    Author, Channel, Conversation, ConversationId, DeliveryStatus, LanguageTag, Message, MessageId, MessageKind,
    Origin, OutboxEntry, OutboxId, Recipient,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.json"));
    let encoded = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &encoded).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(encoded, stored, "the encoding of {name} changed");
    let decoded: T = serde_json::from_str(&stored).unwrap();
    assert_eq!(&decoded, value, "{name} does not decode back to itself");
}

fn author() -> Author {
    Author {
        contact: "leeds-jo".into(),
        name: "Jo Smith".into(),
        city: "leeds".into(),
        city_name: "Leeds".into(),
        role: "International Relations".into(),
    }
}

fn conversation_id() -> ConversationId {
    "01JD0000000000000000000001".parse().unwrap()
}

fn message_id() -> MessageId {
    "01JD0000000000000000000002".parse().unwrap()
}

#[test]
fn message_encoding() {
    check(
        "message",
        &Message {
            id: message_id(),
            seq: 42,
            kind: MessageKind::Post,
            conversation: conversation_id(),
            partnership: "hangzhou-leeds".into(),
            author: Some(author()),
            origin: Origin { channel: Channel::Webhook, city: Some("leeds".into()), address: "/hooks/leeds".into() },
            origin_instance: "c2c-test".into(),
            subject: "Library exchange".into(),
            text: "Hello Hangzhou".into(),
            html: Some("<p>Hello Hangzhou</p>".into()),
            attachments: vec![c2c_core::Attachment {
                filename: "agenda.pdf".into(),
                content_type: "application/pdf".into(),
                size: 3,
                content: Some(b"PDF".to_vec()),
            }],
            language: LanguageTag { code: "en".into(), confidence: 0.93, script: "Latin".into() },
            received_at: 1_700_000_000_000,
            committed_at: 1_700_000_000_004,
            reminder: None,
        },
    );
}

fn conversation() -> Conversation {
    let mut c = Conversation::new(
        conversation_id(),
        "hangzhou-leeds",
        "Library exchange".into(),
        "c2c-test",
        1_700_000_000_000,
        Some(author()),
    );
    c.posts = 2;
    c.posts_by_city = BTreeMap::from([("leeds".into(), 1), ("hangzhou".into(), 1)]);
    c.last_post_at = Some(1_700_000_100_000);
    c.last_post_city = Some("hangzhou".into());
    c.languages = BTreeMap::from([("en".into(), 1), ("zh".into(), 1)]);
    c.channel_noticed = BTreeSet::from(["hz-li".into()]);
    c
}

#[test]
fn conversation_encoding() {
    let mut c = conversation();
    c.threads = BTreeMap::from([
        (
            "email:jo.smith@leeds.example".into(),
            vec!["CAF=1@mail.leeds.example".into(), "c2c.42.01JD0000000000000000000002-0@c2c.example.org".into()],
        ),
        ("matrix:portal:hangzhou-leeds:hangzhou".into(), vec!["$root:hz.example".into()]),
        ("webhook:leeds".into(), vec!["LEEDS-7".into()]),
    ]);
    check("conversation", &c);
}

/// A conversation written by schema 1, with each channel's threads in a field of its own,
/// decodes with them under `threads` (the store's version 2 reads it as it is).
#[test]
fn conversation_of_schema_1_reads_its_threads() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/conversation_schema1.json");
    let stored = std::fs::read_to_string(path).unwrap();
    let decoded: Conversation = serde_json::from_str(&stored).unwrap();
    let mut c = conversation();
    c.threads = BTreeMap::from([
        (
            "email:jo.smith@leeds.example".into(),
            vec!["CAF=1@mail.leeds.example".into(), "c2c.42.01JD0000000000000000000002-0@c2c.example.org".into()],
        ),
        ("webhook:leeds".into(), vec!["LEEDS-7".into()]),
    ]);
    assert_eq!(decoded, c);
}

#[test]
fn outbox_entry_encoding() {
    check(
        "outbox_entry",
        &OutboxEntry {
            id: OutboxId::for_recipient(message_id(), 0),
            seq: 42,
            message: message_id(),
            conversation: conversation_id(),
            partnership: "hangzhou-leeds".into(),
            recipient: Recipient {
                city: "hangzhou".into(),
                contact: None,
                channel: Channel::Webhook,
                address: "hangzhou".into(),
            },
            status: DeliveryStatus::TemporaryFailure,
            attempts: 3,
            next_due: 1_700_000_010_000,
            last_error: Some("HTTP 503".into()),
            created_at: 1_700_000_000_004,
            updated_at: 1_700_000_005_000,
            delivered_at: None,
            references: vec!["CAF=1@mail.leeds.example".into()],
            delay_noticed_at: None,
        },
    );
}

/// An entry whose author was told it is delayed. The field is optional, so entries written
/// before it existed (the snapshot above) still decode: no schema change.
#[test]
fn delayed_outbox_entry_encoding() {
    check(
        "outbox_entry_delayed",
        &OutboxEntry {
            id: OutboxId::for_recipient(message_id(), 0),
            seq: 42,
            message: message_id(),
            conversation: conversation_id(),
            partnership: "hangzhou-leeds".into(),
            recipient: Recipient {
                city: "hangzhou".into(),
                contact: None,
                channel: Channel::Webhook,
                address: "hangzhou".into(),
            },
            status: DeliveryStatus::TemporaryFailure,
            attempts: 9,
            next_due: 1_700_014_410_000,
            last_error: Some("HTTP 503".into()),
            created_at: 1_700_000_000_004,
            updated_at: 1_700_014_400_000,
            delivered_at: None,
            references: Vec::new(),
            delay_noticed_at: Some(1_700_014_400_000),
        },
    );
}
