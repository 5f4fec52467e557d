//! The peer envelope, version 1: what one instance sends another on `POST /peer/v1/inbox`.
//!
//! One JSON object per message and receiving peer. It carries what the receiver needs to
//! commit the post under the ids the origin gave it ([`c2c_core::Replica`]) and nothing of the
//! origin's endpoints: the author as the origin identified them, the language tag it gave, the
//! sanitised HTML, attachment metadata (names, types and sizes: the bytes stay at home), and
//! the previous message of this conversation the origin sent to this peer, so the receiver can
//! tell a gap from the next message. `"v": 1` names the version; fields a receiver does not
//! know are ignored, so later versions may add some.
//!
//! Ids are global: the instance that made one, a colon, and its ULID (`brlc:01JD…`).

use std::fmt;

use c2c_core::{Author, ConversationId, Envelope, LanguageTag, Message, MessageId, Millis, NativeKey, Origin, Replica};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The envelope version this build writes and reads.
pub const VERSION: u32 = 1;

/// One message, as the origin sends it to one peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerEnvelope {
    /// [`VERSION`].
    pub v: u32,
    /// The sending instance (`[bridge] instance`); the signature is checked against its keys.
    pub origin: String,
    /// The receiving instance: one that is not the receiver's own id is refused.
    pub destination: String,
    pub message: GlobalId,
    /// The conversation, named by the instance that opened it.
    pub conversation: GlobalId,
    /// The message of this conversation the origin sent to this destination before this one
    /// (`null` for the first): the receiver commits in that order and asks again for a gap.
    pub prev: Option<GlobalId>,
    pub partnership: String,
    pub author: PeerAuthor,
    pub language: PeerLanguage,
    pub subject: String,
    pub text: String,
    /// Sanitised by the origin; sanitised again by the receiver.
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<PeerAttachment>,
    /// When the origin received the post (RFC 3339, UTC, milliseconds).
    pub sent_at: String,
}

/// The author, as their home instance identified them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAuthor {
    pub contact: String,
    pub name: String,
    pub role: String,
    pub city: String,
    pub city_name: String,
}

/// The origin's language tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerLanguage {
    pub code: String,
    pub confidence: f64,
    #[serde(default)]
    pub script: String,
}

/// An attachment's metadata (its bytes are not sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

/// An id unique across instances: the instance that made it and its ULID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlobalId {
    pub instance: String,
    pub id: String,
}

impl GlobalId {
    pub fn new(instance: &str, id: impl fmt::Display) -> Self {
        Self { instance: instance.to_string(), id: id.to_string() }
    }
}

impl fmt::Display for GlobalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.instance, self.id)
    }
}

impl std::str::FromStr for GlobalId {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, WireError> {
        let bad = || WireError::Id(s.chars().take(80).collect());
        let (instance, id) = s.split_once(':').ok_or_else(bad)?;
        if check_instance(instance).is_err() || id.parse::<MessageId>().is_err() {
            return Err(bad());
        }
        Ok(Self::new(instance, id))
    }
}

impl Serialize for GlobalId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GlobalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What is wrong with an envelope (the receiver answers 400 with it and counts it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a peer envelope: {0}")]
    Malformed(String),
    #[error("envelope version {0} is not spoken here (GET /peer/v1/version lists what is)")]
    Version(u32),
    #[error("{0:?} is not a global id (INSTANCE:ULID)")]
    Id(String),
    #[error("{0:?} is not an instance id (letters, digits, '.', '_' or '-', up to 64)")]
    Instance(String),
    #[error("sent_at {0:?} is not an RFC 3339 time")]
    Time(String),
    #[error("the message has no text")]
    EmptyText,
    #[error("the message was made by {made_by}, not by the sending instance {origin}")]
    NotTheOrigins { made_by: String, origin: String },
}

/// Instance ids follow the config's ids: letters, digits, `.`, `_`, `-`, starting with a letter
/// or digit, up to 64 characters.
pub fn check_instance(id: &str) -> Result<(), WireError> {
    let ok = id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(WireError::Instance(id.chars().take(80).collect())) }
}

impl PeerEnvelope {
    /// The envelope of `message` (a post committed here, or relayed through here from its
    /// origin: `message.origin_instance` names who made it) for `destination`. `conversation`
    /// names the conversation by the instance that opened it; `prev` is the message of this
    /// conversation sent to `destination` before this one.
    pub fn from_message(
        origin: &str,
        destination: &str,
        message: &Message,
        conversation: GlobalId,
        prev: Option<GlobalId>,
    ) -> Option<Self> {
        let author = message.author.as_ref()?;
        Some(Self {
            v: VERSION,
            origin: origin.to_string(),
            destination: destination.to_string(),
            message: GlobalId::new(&message.origin_instance, message.id),
            conversation,
            prev,
            partnership: message.partnership.clone(),
            author: PeerAuthor {
                contact: author.contact.clone(),
                name: author.name.clone(),
                role: author.role.clone(),
                city: author.city.clone(),
                city_name: author.city_name.clone(),
            },
            language: PeerLanguage {
                code: message.language.code.clone(),
                confidence: message.language.confidence,
                script: message.language.script.clone(),
            },
            subject: message.subject.clone(),
            text: message.text.clone(),
            html: message.html.clone(),
            attachments: message
                .attachments
                .iter()
                .map(|a| PeerAttachment {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                })
                .collect(),
            sent_at: rfc3339(message.received_at),
        })
    }

    /// Read an envelope from a request body: JSON of this shape, version 1, ids and times that
    /// parse, some text, and a message made by the instance that sent it (no relaying through a
    /// third instance).
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        // The version first, so a later version's changed field is reported as a version.
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version = serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))?;
        if version.v != VERSION {
            return Err(WireError::Version(version.v));
        }
        let envelope: Self = serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))?;
        check_instance(&envelope.origin)?;
        check_instance(&envelope.destination)?;
        if envelope.message.instance != envelope.origin {
            return Err(WireError::NotTheOrigins {
                made_by: envelope.message.instance.clone(),
                origin: envelope.origin.clone(),
            });
        }
        envelope.received_at()?;
        if envelope.text.trim().is_empty() {
            return Err(WireError::EmptyText);
        }
        Ok(envelope)
    }

    /// `sent_at` in milliseconds since the epoch.
    pub fn received_at(&self) -> Result<Millis, WireError> {
        DateTime::parse_from_rfc3339(&self.sent_at)
            .map(|t| t.timestamp_millis())
            .map_err(|_| WireError::Time(self.sent_at.chars().take(80).collect()))
    }

    /// The key a replay of this envelope is known by: its origin and message id.
    pub fn dedupe_key(&self) -> NativeKey {
        message_key(&self.message)
    }

    /// The replica the receiver commits; `origin` says where it came in (the peer connector's
    /// endpoint for the sending instance).
    pub fn into_replica(self, origin: Origin) -> Result<Replica, WireError> {
        let message: MessageId = self.message.id.parse().map_err(|_| WireError::Id(self.message.to_string()))?;
        let conversation: ConversationId =
            self.conversation.id.parse().map_err(|_| WireError::Id(self.conversation.to_string()))?;
        let received_at = self.received_at()?;
        let prev = self.prev.as_ref().map(message_key);
        let mut envelope = Envelope::new(origin, self.origin.clone(), self.dedupe_key(), self.text);
        envelope.partnership = Some(self.partnership);
        envelope.subject = Some(self.subject);
        envelope.html = self.html;
        envelope.received_at = received_at;
        envelope.attachments = self
            .attachments
            .into_iter()
            .map(|a| c2c_core::Attachment {
                filename: c2c_core::clean_filename(&a.filename),
                content_type: a.content_type,
                size: a.size,
                content: None,
            })
            .collect();
        Ok(Replica {
            envelope,
            origin_instance: self.message.instance,
            message,
            conversation,
            conversation_owner: self.conversation.instance,
            author: Author {
                contact: self.author.contact,
                name: self.author.name,
                city: self.author.city,
                city_name: self.author.city_name,
                role: self.author.role,
            },
            language: LanguageTag {
                code: self.language.code,
                confidence: self.language.confidence,
                script: self.language.script,
            },
            prev,
        })
    }
}

/// The key a message from a peer is known by here: its maker and its id.
pub fn message_key(message: &GlobalId) -> NativeKey {
    NativeKey(format!("peer:{}:message:{}", message.instance, message.id))
}

/// RFC 3339 in UTC with milliseconds, as the webhook wire writes times.
fn rfc3339(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}
