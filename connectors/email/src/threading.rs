//! How mail threads continue (see `c2c_core::thread`): each correspondent's thread of a
//! conversation is the Message-IDs they sent or were sent in it. A delivery's Message-ID is
//! known at commit (derived from its outbox entry, as [`crate::compose`] writes it), so the
//! thread is stamped on the entry: its References and In-Reply-To.

use c2c_core::{Envelope, InstanceKey, Keep, Message, OutboxEntry, Threading};

/// The root and the latest Message-IDs of a correspondent's thread are kept, this many in all.
pub const KEEP: usize = 12;

/// Mail threads, with Message-IDs made on `domain` (the bridge's address's) under `key`.
#[derive(Debug)]
pub struct EmailThreading {
    domain: String,
    key: InstanceKey,
}

impl EmailThreading {
    pub fn new(domain: &str, key: InstanceKey) -> Self {
        Self { domain: domain.to_string(), key }
    }
}

impl Threading for EmailThreading {
    fn keep(&self) -> Keep {
        Keep::RootAndLatest(KEEP)
    }

    /// A mail joins its sender's thread under its own Message-ID.
    fn inbound(&self, env: &Envelope, _author_city: &str) -> Option<(String, Vec<String>)> {
        let anchor = env.reply_anchor.as_ref()?;
        Some((env.sender.clone(), vec![anchor.clone()]))
    }

    fn stamp(&self, entry: &OutboxEntry, _message: &Message) -> Option<Vec<String>> {
        Some(vec![self.key.email_message_id(&entry.id, &self.domain)])
    }

    fn stamps(&self) -> bool {
        true
    }

    /// Mail addresses are compared without case.
    fn address_key(&self, address: &str) -> String {
        address.trim().to_ascii_lowercase()
    }
}
