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
    /// Native thread references, most specific first (webhook thread key; later In-Reply-To,
    /// References and Matrix thread roots). The first one the store knows names the conversation.
    pub thread_refs: Vec<NativeKey>,
    /// Native ids to record for this post once committed, so later replies to it resolve to its
    /// conversation (the webhook thread key it came with; later its Message-ID or event id).
    pub native_ids: Vec<NativeKey>,
    /// The webhook thread key the sending city used, remembered per city so replies sent back to
    /// that city carry its own key.
    pub thread_key: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    /// Untrusted HTML as received; the router sanitises it before anything is relayed.
    pub html: Option<String>,
    pub received_at: Millis,
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
            subject: None,
            text: text.into(),
            html: None,
            received_at: now_ms(),
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
}
