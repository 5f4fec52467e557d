//! Key layout. Everything lives in sled's default tree under a short prefix, so a single
//! `apply_batch` (atomic in sled) can write a message, its conversation, its id-map and dedupe
//! entries and its outbox entries together.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `meta/` | `schema_version`, `instance_id`, `last_seq` | text |
//! | `m/` | message id | `Message` JSON |
//! | `c/` | conversation id | `Conversation` JSON |
//! | `cm/` | conversation id `/` seq (16 hex) `/` message id | empty: messages of a conversation in order |
//! | `n/` | native key | `NativeRef` JSON (the cross-channel id map) |
//! | `a/` | native key | `Accepted` JSON (inbound dedupe: the answer a replay gets) |
//! | `o/` | outbox id | `OutboxEntry` JSON |
//! | `co/` | conversation id `/` seq `/` outbox id | empty: outbox of a conversation in order |
//! | `p/` | seq `/` outbox id | empty: entries still to deliver, in commit order |

use c2c_core::{ConversationId, MessageId, NativeKey, OutboxId};

pub const SCHEMA_VERSION: &[u8] = b"meta/schema_version";
pub const INSTANCE_ID: &[u8] = b"meta/instance_id";
pub const LAST_SEQ: &[u8] = b"meta/last_seq";

pub const MESSAGES: &str = "m/";
pub const CONVERSATIONS: &str = "c/";
pub const PENDING: &str = "p/";

pub fn message(id: MessageId) -> Vec<u8> {
    format!("m/{id}").into_bytes()
}

pub fn conversation(id: ConversationId) -> Vec<u8> {
    format!("c/{id}").into_bytes()
}

pub fn conversation_messages(id: ConversationId) -> Vec<u8> {
    format!("cm/{id}/").into_bytes()
}

pub fn conversation_message(id: ConversationId, seq: u64, message: MessageId) -> Vec<u8> {
    format!("cm/{id}/{seq:016x}/{message}").into_bytes()
}

pub fn native(key: &NativeKey) -> Vec<u8> {
    format!("n/{key}").into_bytes()
}

pub fn accepted(key: &NativeKey) -> Vec<u8> {
    format!("a/{key}").into_bytes()
}

pub fn outbox(id: &OutboxId) -> Vec<u8> {
    format!("o/{id}").into_bytes()
}

pub fn conversation_outboxes(id: ConversationId) -> Vec<u8> {
    format!("co/{id}/").into_bytes()
}

pub fn conversation_outbox(id: ConversationId, seq: u64, entry: &OutboxId) -> Vec<u8> {
    format!("co/{id}/{seq:016x}/{entry}").into_bytes()
}

pub fn pending(seq: u64, entry: &OutboxId) -> Vec<u8> {
    format!("p/{seq:016x}/{entry}").into_bytes()
}

/// The last `/`-separated part of an index key: the id it points at.
pub fn last_segment(key: &[u8]) -> &str {
    let s = std::str::from_utf8(key).unwrap_or("");
    s.rsplit('/').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_seq() {
        let c = ConversationId::new();
        let m = MessageId::new();
        let a = conversation_message(c, 9, m);
        let b = conversation_message(c, 10, m);
        assert!(a < b, "hex-padded seqs sort numerically");
        assert_eq!(last_segment(&a), m.to_string());
        let o = OutboxId::for_recipient(m, 3);
        assert_eq!(last_segment(&pending(1, &o)), o.0);
    }
}
