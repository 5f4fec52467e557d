//! What the store keeps: messages, conversations and outbox entries.
//!
//! These are persisted (as JSON in the sled store); a field may be added with a serde default,
//! never renamed. The store's snapshot tests fail when the encoding changes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::channel::{Origin, Recipient};
use crate::envelope::{Author, LanguageTag};
use crate::ids::{ConversationId, MessageId, Millis, OutboxId};

/// What kind of post a message is. Everything but `Post` is written by the bridge itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A contact's post, relayed to the other members.
    Post,
    /// The bridge telling someone something (e.g. "this partnership lives on email").
    Notice,
    /// The bridge telling an author that a delivery failed for good.
    DeliveryFailed,
    /// A follow-up reminder.
    Reminder,
}

impl MessageKind {
    /// The `kind` field of outbound webhook JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Post => "message",
            MessageKind::Notice => "notice",
            MessageKind::DeliveryFailed => "delivery_failed",
            MessageKind::Reminder => "reminder",
        }
    }
}

/// One committed post.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    /// Commit order across the whole store; deliveries in a conversation follow it.
    pub seq: u64,
    pub kind: MessageKind,
    pub conversation: ConversationId,
    pub partnership: String,
    /// `None` when the bridge wrote it.
    pub author: Option<Author>,
    pub origin: Origin,
    /// The instance that first committed this message (federation).
    pub origin_instance: String,
    pub subject: String,
    pub text: String,
    /// Sanitised HTML, if the source sent any.
    pub html: Option<String>,
    pub language: LanguageTag,
    pub received_at: Millis,
    pub committed_at: Millis,
}

/// One thread inside a partnership.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub partnership: String,
    pub subject: String,
    pub origin_instance: String,
    pub started_at: Millis,
    pub started_by: Option<Author>,
    /// Number of posts (not notices).
    pub posts: u64,
    pub posts_by_city: BTreeMap<String, u64>,
    /// When and by which city the last post was written; the other members owe a reply.
    pub last_post_at: Option<Millis>,
    pub last_post_city: Option<String>,
    /// Language code → number of posts: the per-conversation language mix.
    pub languages: BTreeMap<String, u64>,
    /// The webhook thread key each city's system last used for this conversation.
    pub thread_keys: BTreeMap<String, String>,
    /// Contacts already told, for this conversation, that the partnership lives on another
    /// channel (the notice is sent once per conversation).
    pub channel_noticed: BTreeSet<String>,
}

impl Conversation {
    /// The member cities that owe a reply: everyone but the city that wrote last.
    pub fn owing<'a>(&self, members: &'a [String]) -> Vec<&'a str> {
        match &self.last_post_city {
            None => Vec::new(),
            Some(last) => members.iter().filter(|m| *m != last).map(String::as_str).collect(),
        }
    }
}

/// Where one delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its turn or its due time.
    Scheduled,
    Delivered,
    /// Failed, will be retried at `next_due`.
    TemporaryFailure,
    /// Failed for good; the author has been told.
    PermanentFailure,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Scheduled => "scheduled",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::TemporaryFailure => "temporary_failure",
            DeliveryStatus::PermanentFailure => "permanent_failure",
        }
    }

    /// Whether the entry still has to be delivered.
    pub fn is_pending(self) -> bool {
        matches!(self, DeliveryStatus::Scheduled | DeliveryStatus::TemporaryFailure)
    }
}

/// One delivery: a message to one recipient endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Also the idempotency key of every attempt.
    pub id: OutboxId,
    /// Commit order; within a (conversation, endpoint) queue, lower goes first.
    pub seq: u64,
    pub message: MessageId,
    pub conversation: ConversationId,
    pub partnership: String,
    pub recipient: Recipient,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_due: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub delivered_at: Option<Millis>,
}
