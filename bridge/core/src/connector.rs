//! The connector trait and what passes between connectors and the router.
//!
//! A connector knows its protocol and nothing about partnerships: inbound, it turns native posts
//! into [`Envelope`]s and submits them to the [`Inbox`], acknowledging to its source only after
//! the inbox answers (the answer comes once the message is durably committed); outbound, it turns
//! a [`Delivery`] into one native send and says whether a failure is worth retrying.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Shutdown;
use crate::channel::Channel;
use crate::envelope::{Author, Envelope, LanguageTag};
use crate::ids::{ConversationId, MessageId, Millis, OutboxId, now_ms};
use crate::record::{Message, OutboxEntry};
use crate::store::NativeKey;

/// The router's answer to an accepted envelope, given once it is committed to disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub message: MessageId,
    pub conversation: ConversationId,
    /// True when this envelope was a replay of one committed before: the original answer is
    /// returned and nothing new was created.
    #[serde(default, skip_serializing)]
    pub replay: bool,
    /// When it was committed (the daemon's clock), so retention can expire the dedupe answer
    /// after `dedupe_window`. Absent in answers stored before it was kept: their age is read
    /// from the message id (a ULID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Millis>,
}

impl Accepted {
    /// When it was committed (see [`Accepted::at`]).
    pub fn accepted_at(&self) -> Millis {
        self.at.unwrap_or(self.message.0.timestamp_ms() as Millis)
    }
}

/// Why a message was refused. Shared by every channel so refusals are counted the same way
/// (`c2c_messages_refused_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Not a known contact on any endpoint: a stranger. Never relayed, never answered.
    UnknownSender,
    /// A known contact, but of another city than the endpoint it arrived on.
    OtherCity,
    /// The endpoint named a city that is not configured.
    UnknownCity,
    /// The partnership does not exist.
    UnknownPartnership,
    /// The sender's city is not a member of the partnership.
    NotAMember,
    /// The conversation named does not exist or belongs to another partnership.
    UnknownConversation,
    /// Written on a channel other than the city's agreed one, and the partnership says `reject`.
    WrongChannel,
    /// No text to relay.
    EmptyText,
    /// The payload could not be parsed.
    Malformed,
    /// The signature did not verify.
    BadSignature,
    /// The signature's timestamp is outside the tolerance window.
    StaleTimestamp,
    /// The body is larger than the configured limit.
    TooLarge,
    /// The bridge could not commit it now (store failure, shutting down); the source should retry.
    Unavailable,
    /// Machine-written mail (an auto-reply, a list or bulk mail, the bridge's own mail): never
    /// relayed, never answered.
    Automatic,
    /// Nothing the bridge trusts vouches for the sender: the receiving server recorded no pass
    /// (or a failure) for the From domain, or a bounce did not come to the return path of the
    /// delivery it reports.
    AuthenticationFailed,
    /// An end-to-end encrypted message the bridge never got the keys for.
    Undecryptable,
    /// A peer's envelope whose previous message (`prev`) has not arrived here: its sender sends
    /// that one first and this one again, so a conversation's messages arrive in order.
    Gap,
}

impl RefusalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::UnknownSender => "unknown_sender",
            RefusalReason::OtherCity => "other_city",
            RefusalReason::UnknownCity => "unknown_city",
            RefusalReason::UnknownPartnership => "unknown_partnership",
            RefusalReason::NotAMember => "not_a_member",
            RefusalReason::UnknownConversation => "unknown_conversation",
            RefusalReason::WrongChannel => "wrong_channel",
            RefusalReason::EmptyText => "empty_text",
            RefusalReason::Malformed => "malformed",
            RefusalReason::BadSignature => "bad_signature",
            RefusalReason::StaleTimestamp => "stale_timestamp",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::Unavailable => "unavailable",
            RefusalReason::Automatic => "automatic",
            RefusalReason::AuthenticationFailed => "authentication_failed",
            RefusalReason::Undecryptable => "undecryptable",
            RefusalReason::Gap => "gap",
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the bytes of a file that came with a post were not relayed. The post itself is: its
/// recipients get a note naming the file instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttachmentDrop {
    /// Larger than the connector's `max_attachment_bytes`, as declared or as found while reading.
    TooLarge,
    /// The source could not hand the bytes over (a transport failure or a server error) for
    /// longer than the connector waits.
    Unavailable,
    /// The source refused them for good (gone, forbidden).
    Refused,
    /// The post names its bytes in a way that cannot be read, or they failed to decrypt or their
    /// hash check.
    Unreadable,
}

impl AttachmentDrop {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentDrop::TooLarge => "too_large",
            AttachmentDrop::Unavailable => "unavailable",
            AttachmentDrop::Refused => "refused",
            AttachmentDrop::Unreadable => "unreadable",
        }
    }
}

/// A refused message: the reason (for counters and machine-readable answers) and a sentence for
/// the human or system that sent it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Refusal {
    pub reason: RefusalReason,
    pub detail: String,
}

impl Refusal {
    pub fn new(reason: RefusalReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into() }
    }
}

/// A report that a delivery the connector had made failed for good (an email DSN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BounceReport {
    /// The delivery: the one whose tagged Message-ID the report quotes, arrived at that
    /// delivery's own tagged return path (see [`crate::InstanceKey`]).
    pub seq: u64,
    pub entry: OutboxId,
    /// What the report says went wrong, for the author's notice.
    pub reason: String,
    /// Every address the report says failed (final and original recipients). The bounce counts
    /// only if one of them is the delivery's recipient, or in the recipient's domain (an alias
    /// expanded there): an id quoted in a mail is no proof on its own.
    pub failed_recipients: Vec<String>,
}

impl BounceReport {
    /// Whether the report names `address` (case-insensitively), or, failing that, an address in
    /// its domain.
    pub fn names(&self, address: &str) -> bool {
        let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        self.failed_recipients.iter().any(|r| r.eq_ignore_ascii_case(address))
            || domain(address).is_some_and(|d| self.failed_recipients.iter().any(|r| domain(r).as_deref() == Some(&d)))
    }
}

/// A post another instance already committed, handed on under the ids it gave it (the second
/// way into the [`Inbox`], for federation): its message and conversation ids, its author as its
/// home instance identified them, and the language tag it gave. The envelope carries the rest
/// (its `dedupe_key` names the origin and the message, so a replay is answered as the first
/// time; its `partnership` must be set; its html is sanitised again here).
#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    pub envelope: Envelope,
    /// The instance that accepted the post first (the message's maker).
    pub origin_instance: String,
    pub message: MessageId,
    pub conversation: ConversationId,
    /// The instance that opened the conversation. A replica may open it here only when that is
    /// its own origin; a reply from a third instance that comes before the opening post is
    /// refused (its sender retries), never made the start of a conversation.
    pub conversation_owner: String,
    pub author: Author,
    pub language: LanguageTag,
    /// The dedupe key of the message of this conversation its origin sent here before this one
    /// (`None` for the first). Until that one is committed here this one is refused as a
    /// [`RefusalReason::Gap`] (its sender sends the missing one first), never skipped.
    pub prev: Option<NativeKey>,
}

/// Where connectors submit inbound envelopes. Implemented by the router.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Identify, route and durably commit one envelope. Returns only after the message is on
    /// disk (or refused); only then may the connector acknowledge it to its source.
    async fn submit(&self, envelope: Envelope) -> Result<Accepted, Refusal>;

    /// Commit a post another instance committed first, under its own ids: no sender lookup,
    /// no tagging, no new ids. It continues `replica.conversation` if that is stored here (in
    /// the same partnership), or opens it with that id, owned by the origin. A replay gets the
    /// original answer. Answered once durable, like [`Inbox::submit`]. The default (an inbox
    /// that takes no replicas) refuses.
    async fn submit_replica(&self, replica: Replica) -> Result<Accepted, Refusal> {
        let _ = replica;
        Err(Refusal::new(RefusalReason::Unavailable, "this inbox takes no replicas"))
    }

    /// Count a refusal the connector decided itself, before an envelope existed (a bad
    /// signature, an oversized body, malformed JSON, a stranger's mail, an auto-reply).
    fn count_refusal(&self, channel: Channel, reason: RefusalReason);

    /// Count a file whose bytes the connector did not relay (its post goes on with a note). The
    /// default counts nothing (for inboxes without metrics).
    fn count_attachment_dropped(&self, channel: Channel, reason: AttachmentDrop) {
        let _ = (channel, reason);
    }

    /// Count bytes the connector read from a source to fetch attachments (those it then dropped
    /// included). The default counts nothing.
    fn count_attachment_bytes(&self, channel: Channel, bytes: u64) {
        let _ = (channel, bytes);
    }

    /// A signed request came in from `address` on `channel` (a peer instance), stamped
    /// `clock_skew` seconds after this instance's now: deliveries to it that wait because it was
    /// down are tried now, and the skew is a metric. The default does nothing.
    fn heard_from(&self, channel: Channel, address: &str, clock_skew: i64) {
        let _ = (channel, address, clock_skew);
    }

    /// The recipient asks again for a delivery (`seq`, `entry`) it never got (a peer answering
    /// `gap`): if it failed for good, schedule it again. `true` if it was. The default (an
    /// inbox that cannot) says no.
    async fn redeliver(&self, seq: u64, entry: OutboxId) -> bool {
        let _ = (seq, entry);
        false
    }

    /// A delivery the connector had reported as made turned out to have failed for good (a
    /// bounce): record it and tell the author, if the report names that delivery's recipient.
    /// `true` once that is durable (or the report was ignored: unknown entry, already failed,
    /// another recipient): only then may the connector let go of the bounce.
    async fn bounce(&self, report: BounceReport) -> bool;

    /// The connector's saved state under `key` (see [`crate::Store::state`]): cursors and sync
    /// tokens. Threads are not connector state: they are the conversation's (see
    /// [`crate::thread`]).
    async fn load_state(&self, key: &str) -> Option<String>;
    /// Save the connector's state; durable when this returns `true`.
    async fn save_state(&self, key: &str, value: &str) -> bool;
}

/// Everything an outbound connector needs to send one message to one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub entry: OutboxEntry,
    pub message: Message,
    /// The conversation's subject.
    pub subject: String,
    /// The instance that opened the conversation (federation names a conversation by it and
    /// its id).
    pub conversation_instance: String,
    /// The recipient endpoint's thread of this conversation, oldest first (see
    /// [`crate::thread`]): a webhook city's latest thread key, a Matrix room's thread root, a
    /// mail's References. Empty when this delivery starts it.
    pub thread: Vec<String>,
    /// The partnership's agreed language, for connectors that flag off-language messages.
    pub partnership_language: String,
    /// The recipient contact's name, when the endpoint is one person's (an email address).
    pub recipient_name: Option<String>,
}

/// What a successful delivery leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Native ids the send produced (a Message-ID, an event id) that later replies may refer to.
    pub native_ids: Vec<NativeKey>,
    /// For a channel that learns its threads from the send (`Threading::learns_from_receipts`):
    /// the ids that start this endpoint's thread of the conversation, when this delivery
    /// started it. Committed before the delivery is recorded as made.
    pub thread: Vec<String>,
}

/// A failed delivery, classified by whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (timeouts, 5xx, 408/429, SMTP 4xx, a server that is down).
    #[error("temporary failure: {reason}")]
    Temporary { reason: String, retry_after: Option<Duration> },
    /// Retrying cannot help (4xx, SMTP 5xx, an endpoint that does not exist).
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
}

impl DeliveryError {
    pub fn temporary(reason: impl Into<String>) -> Self {
        DeliveryError::Temporary { reason: reason.into(), retry_after: None }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        DeliveryError::Permanent { reason: reason.into() }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Temporary { .. })
    }
}

/// A connector's own view of whether it can work right now, and since when: an admin asking
/// "is Matrix down?" also wants to know for how long, and what went wrong last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    pub ok: bool,
    pub detail: String,
    /// When `ok` last changed (or the connector started), if the connector keeps track.
    pub since: Option<Millis>,
    /// The last problem the connector had, and when, even if it has recovered since.
    pub last_error: Option<(String, Millis)>,
}

impl Health {
    /// Working, with no history (a connector that keeps no state of its own).
    pub fn ok() -> Self {
        Self { ok: true, detail: "ok".into(), since: None, last_error: None }
    }

    /// Not working yet, from now on (a connector before its first connection): not an error.
    pub fn starting(detail: impl Into<String>) -> Self {
        Self { ok: false, detail: detail.into(), since: Some(now_ms()), last_error: None }
    }

    /// Now `ok` (or not) for `detail`: `since` moves only when `ok` changes, and a problem is
    /// kept as the last error.
    pub fn update(&mut self, ok: bool, detail: impl Into<String>) {
        let now = now_ms();
        let detail = detail.into();
        if ok != self.ok || self.since.is_none() {
            self.since = Some(now);
        }
        if !ok {
            self.last_error = Some((detail.clone(), now));
        }
        self.ok = ok;
        self.detail = detail;
    }
}

/// One channel's protocol, both directions.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// The channel this connector speaks.
    fn channel(&self) -> Channel;

    /// Whether the connector can reach its server.
    async fn health(&self) -> Health {
        Health::ok()
    }

    /// The inbound loop: receive native posts and submit them to `inbox` until `shutdown` is
    /// cancelled. Connectors whose inbound side is served elsewhere (webhooks arrive on the
    /// daemon's HTTP listener) keep the default, which just waits.
    async fn run_inbound(&self, inbox: std::sync::Arc<dyn Inbox>, shutdown: Shutdown) -> Result<(), ConnectorError> {
        let _ = inbox;
        shutdown.cancelled().await;
        Ok(())
    }

    /// Send one delivery. Must be idempotent on `delivery.entry.id`: a retry of the same entry
    /// must not reach the recipient twice where the protocol allows preventing it.
    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError>;
}

/// A connector's inbound loop ended with an error it could not recover from.
#[derive(Debug, thiserror::Error)]
#[error("{channel} connector: {detail}")]
pub struct ConnectorError {
    pub channel: Channel,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_keeps_since_when_and_the_last_problem() {
        let mut h = Health::starting("not connected yet");
        let started = h.since.unwrap();
        assert_eq!(h.last_error, None, "starting is not a problem");
        h.update(false, "connection refused");
        assert_eq!(h.since, Some(started), "still down: since the start");
        assert_eq!(h.last_error.as_ref().map(|(e, _)| e.as_str()), Some("connection refused"));
        h.update(true, "connected");
        assert!(h.ok && h.since.unwrap() >= started);
        assert_eq!(h.last_error.as_ref().map(|(e, _)| e.as_str()), Some("connection refused"), "kept once recovered");
        let up = h.since;
        h.update(true, "idle");
        assert_eq!(h.since, up, "still up: since it came up");
    }

    #[test]
    fn a_bounce_counts_only_for_its_recipient_or_their_domain() {
        let report = |failed: &[&str]| BounceReport {
            seq: 1,
            entry: OutboxId("e".into()),
            reason: "bounced".into(),
            failed_recipients: failed.iter().map(|s| s.to_string()).collect(),
        };
        assert!(report(&["jo@leeds.gov.uk"]).names("Jo@Leeds.gov.uk"));
        assert!(report(&["someone@else.org", "jo.smith@LEEDS.gov.uk"]).names("jo@leeds.gov.uk"));
        assert!(!report(&["jo@leeds.gov.uk.evil.org"]).names("jo@leeds.gov.uk"));
        assert!(!report(&["mallory@evil.org"]).names("jo@leeds.gov.uk"));
        assert!(!report(&[]).names("jo@leeds.gov.uk"));
    }
}
