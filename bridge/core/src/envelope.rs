//! The envelope: the one type that flows from an inbound connector through the router.
//!
//! A connector fills in what its protocol tells it (origin, native sender, native ids, body);
//! the router identifies the author, resolves partnership and conversation, tags the language,
//! and commits it as a [`crate::Message`].

use serde::{Deserialize, Serialize};

use crate::channel::Origin;
use crate::ids::{Millis, now_ms};
use crate::store::NativeKey;

/// An inbound post as a connector hands it to the router.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: Origin,
    /// The sender as the protocol names them: a contact id (webhook `from`), an email address,
    /// a Matrix user id. The router maps it to a contact or refuses the message.
    pub sender: String,
    /// The post's own id at its source, scoped so that it is unique across the bridge
    /// (see [`NativeKey`]): a second envelope with the same key is a replay and creates nothing.
    pub dedupe_key: NativeKey,
    /// The partnership named by the source, if any (webhook `partnership`, a `bridge+ID@`
    /// address, a portal room).
    pub partnership: Option<String>,
    /// An explicit conversation id given by the source (webhook `conversation`).
    pub conversation: Option<String>,
    /// What the post says about its thread, most trusted first (email In-Reply-To and
    /// References, a reply token, a subject tag; Matrix thread roots). The first one that
    /// resolves names the conversation; the others are ignored. (A webhook thread key is not
    /// here but in `thread_key`: it is looked up before these.)
    pub thread_refs: Vec<ThreadRef>,
    /// Native ids to record for this post once committed, so later replies to it resolve to its
    /// conversation (its Message-ID or event id).
    pub native_ids: Vec<NativeKey>,
    /// The webhook thread key the sending city used. It names a conversation of that city within
    /// one partnership: the router resolves it with [`NativeKey::webhook_thread`] in the named
    /// partnership (or in each of the city's), records it there, and remembers it per city so
    /// replies sent back to that city carry its own key.
    pub thread_key: Option<String>,
    /// The id this post can be answered under in its author's own thread (email: its
    /// Message-ID), so what the bridge sends that author next continues the same thread.
    #[serde(default)]
    pub reply_anchor: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    /// Untrusted HTML as received; the router sanitises it before anything is relayed.
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub received_at: Millis,
    /// Set when the source's post was over the connector's size limit and was not read (only
    /// its headers were): the router identifies the sender first, then refuses the post as too
    /// large with this sentence, so a known contact is told and a stranger is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oversized: Option<String>,
}

impl Envelope {
    /// A minimal envelope; connectors set the optional parts field by field.
    pub fn new(origin: Origin, sender: impl Into<String>, dedupe_key: NativeKey, text: impl Into<String>) -> Self {
        Self {
            origin,
            sender: sender.into(),
            dedupe_key,
            partnership: None,
            conversation: None,
            thread_refs: Vec::new(),
            native_ids: Vec::new(),
            thread_key: None,
            reply_anchor: None,
            subject: None,
            text: text.into(),
            html: None,
            attachments: Vec::new(),
            received_at: now_ms(),
            oversized: None,
        }
    }
}

/// One hint about which conversation a post continues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadRef {
    /// A native id the id map may know (a thread key, a Message-ID, an event id).
    Native(NativeKey),
    /// A conversation id carried by the source (an email reply token).
    Conversation(String),
    /// A conversation's short id (an email subject tag `[c2c:SHORTID]`): accepted only for a
    /// conversation of a partnership the author's city belongs to.
    Short(String),
}

/// A file sent with a message. `content` is `None` when the file was larger than the limit:
/// recipients are told it exists but do not get it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    #[serde(default, with = "base64_opt", skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<u8>>,
}

/// Attachment bytes as base64 text in JSON records.
mod base64_opt {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => STANDARD.decode(text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// Who wrote a message: a contact, with the identity shown to recipients captured at commit time
/// (so it travels with the message, across instances, even if the config changes later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub contact: String,
    pub name: String,
    pub city: String,
    pub city_name: String,
    pub role: String,
}

/// The language a message is written in, as tagged by the router.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanguageTag {
    /// ISO 639-1 where one exists, else ISO 639-3; `und` when nothing could be said.
    pub code: String,
    /// 0.0 to 1.0.
    pub confidence: f64,
    /// The script the text is written in (`Latin`, `Mandarin`, `Cyrillic`, …).
    pub script: String,
}

impl LanguageTag {
    /// The tag for text nothing could be said about.
    pub fn undetermined() -> Self {
        Self { code: "und".into(), confidence: 0.0, script: "Unknown".into() }
    }

    /// The confidence from which a tag in another language than the agreed one is believed.
    pub const OFF_LANGUAGE_CONFIDENCE: f64 = 0.5;

    /// Whether a message with this tag is off the partnership's `agreed` language: tagged
    /// surely enough in another one. Recipients see such messages flagged, and reports count
    /// them; a message nothing could be said about (`und`) is not.
    pub fn is_off_language(&self, agreed: &str) -> bool {
        Self::off_language(&self.code, self.confidence, agreed)
    }

    /// [`LanguageTag::is_off_language`] of a tag given by its parts.
    pub fn off_language(code: &str, confidence: f64, agreed: &str) -> bool {
        code != "und" && code != agreed && confidence >= Self::OFF_LANGUAGE_CONFIDENCE
    }
}
