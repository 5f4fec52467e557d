//! Key layout. Everything lives in sled's default tree under a short prefix, so a single
//! `apply_batch` (atomic in sled) can write a message, its conversation, its id-map and dedupe
//! entries and its outbox entries together.
//!
//! Every key written costs (sled: about 12 µs each on the reference machine), so the layout
//! writes as few as it can per message: no secondary indexes. Messages sort under their
//! conversation, outbox entries in commit order.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `meta/` | `schema_version`, `instance_id`, `last_seq`, `outbox_low` | text |
//! | `m/` | conversation id `/` seq (16 hex) | `Message` JSON |
//! | `c/` | conversation id | `Conversation` JSON |
//! | `n/` | native key | `NativeRef` JSON (the cross-channel id map) |
//! | `a/` | native key | `Accepted` JSON (inbound dedupe: the answer a replay gets) |
//! | `o/` | seq (16 hex) `/` outbox id | `OutboxEntry` JSON |
//! | `s/` | a connector's state key | text (IMAP cursor, Matrix sync token) |
//! | `t/` | timer key | `Timer` JSON (a reminder due; deleted when sent) |
//! | `d/` | partnership `/` deliverable id | `DeliverableState` JSON |
//! | `f/` | conversation id | `{}`: a tombstone of a conversation retention forgot, until no id-map entry points to it |
//! | `w/` | partnership `/` Monday (`2027-01-04`) | `WeekTally` JSON: the report's figures of forgotten conversations |
//!
//! `meta/outbox_low` is the seq from which a scan for pending outbox entries starts: every
//! entry before it is delivered or failed for good. It advances each time the pending entries
//! are read at start-up, and moves back when a commit makes an entry before it pending again
//! (an admin's retry of a failed delivery).

use c2c_core::{ConversationId, NativeKey, OutboxId, TimerKey};

pub const SCHEMA_VERSION: &[u8] = b"meta/schema_version";
pub const INSTANCE_ID: &[u8] = b"meta/instance_id";
pub const LAST_SEQ: &[u8] = b"meta/last_seq";
pub const OUTBOX_LOW: &[u8] = b"meta/outbox_low";

pub const CONVERSATIONS: &str = "c/";
pub const OUTBOX: &str = "o/";
pub const TIMERS: &str = "t/";
pub const DELIVERABLES: &str = "d/";
pub const FORGOTTEN: &str = "f/";
pub const NATIVES: &str = "n/";
pub const ACCEPTED: &str = "a/";

pub fn message(conversation: ConversationId, seq: u64) -> Vec<u8> {
    format!("m/{conversation}/{seq:016x}").into_bytes()
}

pub fn conversation_messages(conversation: ConversationId) -> Vec<u8> {
    format!("m/{conversation}/").into_bytes()
}

pub fn conversation(id: ConversationId) -> Vec<u8> {
    format!("c/{id}").into_bytes()
}

pub fn native(key: &NativeKey) -> Vec<u8> {
    format!("n/{key}").into_bytes()
}

pub fn accepted(key: &NativeKey) -> Vec<u8> {
    format!("a/{key}").into_bytes()
}

pub fn outbox(seq: u64, id: &OutboxId) -> Vec<u8> {
    format!("o/{seq:016x}/{id}").into_bytes()
}

pub fn state(key: &str) -> Vec<u8> {
    format!("s/{key}").into_bytes()
}

pub fn timer(key: &TimerKey) -> Vec<u8> {
    format!("t/{key}").into_bytes()
}

pub fn deliverable(partnership: &str, id: &str) -> Vec<u8> {
    format!("d/{partnership}/{id}").into_bytes()
}

pub fn forgotten(id: ConversationId) -> Vec<u8> {
    format!("f/{id}").into_bytes()
}

pub fn week(partnership: &str, week: &str) -> Vec<u8> {
    format!("w/{partnership}/{week}").into_bytes()
}

pub fn weeks(partnership: &str) -> Vec<u8> {
    format!("w/{partnership}/").into_bytes()
}

/// The first possible outbox key with sequence number `seq`.
pub fn outbox_from(seq: u64) -> Vec<u8> {
    format!("o/{seq:016x}/").into_bytes()
}

#[cfg(test)]
mod tests {
    use c2c_core::MessageId;

    use super::*;

    #[test]
    fn keys_sort_by_seq() {
        let c = ConversationId::new();
        assert!(message(c, 9) < message(c, 10), "hex-padded seqs sort numerically");
        let o = OutboxId::for_recipient(MessageId::new(), 3);
        assert!(outbox(255, &o) < outbox(256, &o));
        assert!(outbox_from(7) < outbox(7, &o));
        assert!(outbox(7, &o) < outbox_from(8));
    }
}
