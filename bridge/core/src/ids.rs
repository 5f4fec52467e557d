//! Identifiers and time.
//!
//! Messages and conversations are named by ULIDs: unique across instances without coordination
//! (the federation design in `product.md`), sortable by creation time, and short enough for a
//! subject tag. The instance that created a record is kept beside it (`origin_instance`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// Milliseconds since the Unix epoch (UTC). Every timestamp in records uses it.
pub type Millis = i64;

/// The current wall-clock time in [`Millis`].
pub fn now_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Ulid);

        impl $name {
            /// A fresh id, ordered after ids made earlier by this process.
            pub fn new() -> Self {
                Self(Ulid::new())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ulid::DecodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(s).map(Self)
            }
        }
    };
}

ulid_id!(
    /// One post in a conversation (including what the bridge itself says: notices, reminders).
    MessageId
);
ulid_id!(
    /// One thread inside a partnership, with one identity across all channels.
    ConversationId
);

impl ConversationId {
    /// The last eight characters of the ULID (its random part): a short handle for subject tags
    /// such as `[c2c:SHORTID]`. Not unique by itself; always checked against the partnership.
    pub fn short(&self) -> String {
        let s = self.0.to_string();
        s[s.len() - 8..].to_string()
    }
}

/// One outbox entry: a (message, recipient endpoint) pair. The string is also the delivery's
/// idempotency key (`webhook-id`, and later the Message-ID and Matrix transaction id are derived
/// from it), so it never changes across retries or restarts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutboxId(pub String);

impl OutboxId {
    /// The id of the `index`-th recipient of `message`.
    pub fn for_recipient(message: MessageId, index: usize) -> Self {
        Self(format!("{message}-{index}"))
    }
}

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings() {
        let id = MessageId::new();
        assert_eq!(id.to_string().parse::<MessageId>().unwrap(), id);
        let c = ConversationId::new();
        assert_eq!(c.short().len(), 8);
        assert!(c.to_string().ends_with(&c.short()));
        assert!("not-a-ulid".parse::<ConversationId>().is_err());
    }

    #[test]
    fn outbox_ids_are_stable_for_the_same_recipient() {
        let m = MessageId::new();
        assert_eq!(OutboxId::for_recipient(m, 2), OutboxId::for_recipient(m, 2));
        assert_ne!(OutboxId::for_recipient(m, 1), OutboxId::for_recipient(m, 2));
    }
}
