//! The JSON shapes on the wire, exactly as `product.md` specifies them (extended only with
//! optional fields: `from.city_name`, `language.script`, `attachments`).

use serde::{Deserialize, Serialize};

/// What a city's system POSTs to `/hooks/{city_id}`. Unknown fields are ignored, so systems
/// may send more than the bridge reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundPost {
    /// The contact id of the author.
    pub from: String,
    pub partnership: Option<String>,
    #[serde(default)]
    pub conversation: Option<String>,
    #[serde(default)]
    pub thread_key: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
}

/// The 202 answer: the ids the post was committed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedBody {
    pub message: String,
    pub conversation: String,
}

/// A 4xx/5xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A sentence saying what is wrong.
    pub error: String,
    /// A stable machine-readable reason (`bad_signature`, `unknown_sender`, …).
    pub code: String,
}

/// What the bridge POSTs to a city's URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboundPost {
    /// `message`, `notice`, `delayed`, `delivery_failed` or `reminder`.
    pub kind: String,
    /// The message id (the same for every recipient; the `webhook-id` header is per delivery).
    pub id: String,
    pub partnership: String,
    pub conversation: String,
    /// The key this city's own system last used for the conversation, or null.
    pub thread_key: Option<String>,
    pub from: Sender,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub language: Language,
    /// When the author sent it (RFC 3339, UTC).
    pub sent_at: String,
    /// Files that came with the message (e.g. mail attachments). The wire format carries no file
    /// contents: they are listed here and noted at the end of `text`. Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentNote>,
    /// What a `reminder` is about, so a city's system can act on it without reading `text`.
    /// Absent for every other kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<Reminder>,
}

/// The `reminder` object of a `kind = "reminder"` post (`product.md`, "Follow-up" → "Wire").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// `reply_overdue`, `waiting_overdue`, `deliverable_due`, `deliverable_overdue` or
    /// `meeting_due`.
    pub reason: String,
    /// The conversation a reply is owed in; null for deliverables and meetings.
    pub conversation: Option<String>,
    /// The deliverable or meeting id; null for replies.
    pub deliverable: Option<String>,
    /// The due point the reminder is about (RFC 3339, UTC).
    pub due: String,
    /// The member city that owes the reply or the deliverable.
    pub owed_by: String,
    /// The member cities waiting for it.
    pub waiting: Vec<String>,
}

/// A file that came with a message but is not carried over webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentNote {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

/// The author of an outbound post; for what the bridge itself says, `contact` and `city` are
/// null and `name` is the bridge's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub contact: Option<String>,
    pub name: String,
    pub city: Option<String>,
    #[serde(default)]
    pub city_name: Option<String>,
    pub role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Language {
    pub code: String,
    pub confidence: f64,
    #[serde(default)]
    pub script: Option<String>,
}
