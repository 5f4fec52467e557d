//! How a peer instance's thread continues (see `c2c_core::thread`): what a peer was last sent
//! in a conversation, the `prev` of the next envelope, known at commit and so stamped on the
//! entry: `[global id of the message, "SEQ/ENTRY" of the delivery that carries it]`. When the
//! peer answers that `prev` never came (409 `gap`), that delivery is scheduled again.

use c2c_core::{Keep, Message, OutboxEntry, OutboxId, Threading};

#[derive(Debug, Default)]
pub struct PeerThreading;

impl Threading for PeerThreading {
    fn keep(&self) -> Keep {
        Keep::Latest
    }

    fn stamp(&self, entry: &OutboxEntry, message: &Message) -> Option<Vec<String>> {
        Some(vec![format!("{}:{}", message.origin_instance, message.id), handle(entry.seq, &entry.id)])
    }

    fn stamps(&self) -> bool {
        true
    }
}

/// How a thread names the delivery of a message to a peer: `SEQ/ENTRY`.
pub fn handle(seq: u64, entry: &OutboxId) -> String {
    format!("{seq}/{entry}")
}

/// The (seq, entry) of a [`handle`].
pub fn parse_handle(handle: &str) -> Option<(u64, OutboxId)> {
    let (seq, entry) = handle.split_once('/')?;
    (!entry.is_empty()).then(|| Some((seq.parse().ok()?, OutboxId(entry.to_string()))))?
}
