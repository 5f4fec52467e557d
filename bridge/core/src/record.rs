//! What the store keeps: messages, conversations and outbox entries.
//!
//! These are persisted (as JSON in the sled store); a field may be added with a serde default,
//! never renamed. The store's snapshot tests fail when the encoding changes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::channel::{Origin, Recipient};
use crate::envelope::{Attachment, Author, LanguageTag};
use crate::followup::{Owing, ReminderInfo};
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
    /// The bridge telling an author, once, that a delivery is still pending after
    /// `delay_warning_after` (its endpoint is down); the bridge keeps trying.
    Delayed,
    /// A follow-up reminder.
    Reminder,
    /// A command from a contact (`/close`, `/snooze 3d`, ...): handled, answered, never relayed.
    Command,
    /// A partnership's periodic summary (`digest = "weekly"`): open threads, deliverables due.
    Digest,
}

impl MessageKind {
    /// The `kind` field of outbound webhook JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Post => "message",
            MessageKind::Notice => "notice",
            MessageKind::DeliveryFailed => "delivery_failed",
            MessageKind::Delayed => "delayed",
            MessageKind::Reminder => "reminder",
            MessageKind::Command => "command",
            MessageKind::Digest => "digest",
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    pub language: LanguageTag,
    pub received_at: Millis,
    pub committed_at: Millis,
    /// What a reminder is about (kind `reminder` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<ReminderInfo>,
}

/// One thread inside a partnership.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "legacy::ConversationRecord")]
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
    /// Contacts already told, for this conversation, that the partnership lives on another
    /// channel (the notice is sent once per conversation).
    pub channel_noticed: BTreeSet<String>,
    /// Each endpoint's thread of this conversation: `CHANNEL:ADDRESS` → the native ids that
    /// continue it there, oldest first (see [`crate::thread`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub threads: BTreeMap<String, Vec<String>>,
    /// Follow-up: member city → the reply it owes (see `c2c_followup` and the committer's
    /// `reminders`). A member that posts owes nothing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owing: BTreeMap<String, Owing>,
    /// Member city → until when its reminders in this conversation are snoozed (`/snooze`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub snoozed: BTreeMap<String, Millis>,
    /// When a contact said no more replies are needed (`/close`); a new post reopens it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Millis>,
}

impl Conversation {
    /// The latest of when it was opened, last posted in and closed, as its record says (what
    /// the bridge itself wrote in it is in its messages): retention's first look at it.
    pub fn last_activity(&self) -> Millis {
        [self.last_post_at, self.closed_at].into_iter().flatten().fold(self.started_at, Millis::max)
    }

    /// A conversation with no post yet: `id` (new here, or the origin's for a replica from a
    /// peer), owned by `origin_instance`, opened at `started_at` by `started_by` (none for one
    /// the bridge opens itself: a deliverable's, a digest's).
    pub fn new(
        id: ConversationId,
        partnership: &str,
        subject: String,
        origin_instance: &str,
        started_at: Millis,
        started_by: Option<Author>,
    ) -> Self {
        Self {
            id,
            partnership: partnership.to_string(),
            subject,
            origin_instance: origin_instance.to_string(),
            started_at,
            started_by,
            posts: 0,
            posts_by_city: BTreeMap::new(),
            last_post_at: None,
            last_post_city: None,
            languages: BTreeMap::new(),
            channel_noticed: BTreeSet::new(),
            threads: BTreeMap::new(),
            owing: BTreeMap::new(),
            snoozed: BTreeMap::new(),
            closed_at: None,
        }
    }

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
    /// For a channel that stamps (see [`crate::thread`]), the recipient's thread this delivery
    /// continues as it stood at commit, oldest first (email: the References, the last one the
    /// In-Reply-To; a peer: the global id of the message it was sent before in this
    /// conversation, the envelope's `prev`, then that delivery's `SEQ/ENTRY`). Empty when it
    /// starts the thread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// When the author was told that this delivery is delayed (the `delayed` notice, written in
    /// the same commit as this), so a restart neither tells them again nor forgets to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_noticed_at: Option<Millis>,
}

/// Conversations as stores written before [`Conversation::threads`] hold them: each channel's
/// threads in a field of its own, read into `threads` under the same keys the channels use now.
mod legacy {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::Deserialize;

    use super::Conversation;
    use crate::envelope::Author;
    use crate::followup::Owing;
    use crate::ids::{ConversationId, Millis, OutboxId};

    #[derive(Debug, Deserialize)]
    pub struct ConversationRecord {
        id: ConversationId,
        partnership: String,
        subject: String,
        origin_instance: String,
        started_at: Millis,
        started_by: Option<Author>,
        posts: u64,
        posts_by_city: BTreeMap<String, u64>,
        last_post_at: Option<Millis>,
        last_post_city: Option<String>,
        languages: BTreeMap<String, u64>,
        channel_noticed: BTreeSet<String>,
        #[serde(default)]
        threads: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        owing: BTreeMap<String, Owing>,
        #[serde(default)]
        snoozed: BTreeMap<String, Millis>,
        #[serde(default)]
        closed_at: Option<Millis>,
        /// City → the webhook thread key its system last used (schema 1).
        #[serde(default)]
        thread_keys: BTreeMap<String, String>,
        /// Lower-cased mail address → Message-IDs (schema 1).
        #[serde(default)]
        email_threads: BTreeMap<String, Vec<String>>,
        /// Peer → the last message sent to it (schema 1).
        #[serde(default)]
        peer_sent: BTreeMap<String, PeerSent>,
    }

    #[derive(Debug, Deserialize)]
    struct PeerSent {
        message: String,
        seq: u64,
        entry: OutboxId,
    }

    impl From<ConversationRecord> for Conversation {
        fn from(r: ConversationRecord) -> Self {
            let mut threads = r.threads;
            for (city, key) in r.thread_keys {
                threads.entry(format!("webhook:{city}")).or_insert_with(|| vec![key]);
            }
            for (address, ids) in r.email_threads {
                threads.entry(format!("email:{address}")).or_insert(ids);
            }
            for (peer, sent) in r.peer_sent {
                let handle = format!("{}/{}", sent.seq, sent.entry);
                threads.entry(format!("peer:{peer}")).or_insert_with(|| vec![sent.message, handle]);
            }
            Self {
                id: r.id,
                partnership: r.partnership,
                subject: r.subject,
                origin_instance: r.origin_instance,
                started_at: r.started_at,
                started_by: r.started_by,
                posts: r.posts,
                posts_by_city: r.posts_by_city,
                last_post_at: r.last_post_at,
                last_post_city: r.last_post_city,
                languages: r.languages,
                channel_noticed: r.channel_noticed,
                threads,
                owing: r.owing,
                snoozed: r.snoozed,
                closed_at: r.closed_at,
            }
        }
    }
}
