//! The first, stateless stage of routing, run in the connector's own task (so it scales with
//! the connections): identify the sender, check the text, sanitise HTML, tag the language.
//! Anything that needs the store's current state happens in the committer.

use c2c_config::Config;
use c2c_core::{Author, ConversationId, Envelope, LanguageTag, MessageId, Refusal, RefusalReason, Replica};
use c2c_language::Tagger;

use crate::sanitize::sanitize_html;

/// An envelope whose sender is a known contact, ready for the committer.
#[derive(Debug)]
pub struct Prepared {
    pub envelope: Envelope,
    pub author: Author,
    pub language: LanguageTag,
    /// Sanitised HTML.
    pub html: Option<String>,
    /// For a replica from another instance: the ids it already has, which the committer keeps.
    pub assigned: Option<Assigned>,
}

/// The ids a replica arrives with (see [`c2c_core::Replica`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub origin_instance: String,
    pub message: MessageId,
    pub conversation: ConversationId,
    pub conversation_owner: String,
    /// The message of this conversation the origin sent here before (see
    /// [`c2c_core::Replica::prev`]).
    pub prev: Option<c2c_core::NativeKey>,
}

/// Identify and tag one envelope, or refuse it.
pub fn prepare(config: &Config, tagger: &Tagger, envelope: Envelope) -> Result<Prepared, Refusal> {
    // The sender first: a stranger's refusal must not depend on what they sent (an empty mail
    // from a forged address would otherwise be answered: backscatter).
    let author = identify(config, &envelope)?;
    if let Some(detail) = &envelope.oversized {
        return Err(Refusal::new(RefusalReason::TooLarge, detail.clone()));
    }
    if envelope.text.trim().is_empty() {
        return Err(Refusal::new(RefusalReason::EmptyText, "the message has no text"));
    }
    let (_, contact) = config.contact(&author.contact).expect("identify returned a configured contact");
    let mut priors: Vec<String> = contact.languages.clone();
    if let Some(city) = config.city(&author.city) {
        priors.extend(city.languages.iter().filter(|l| !contact.languages.contains(l)).cloned());
    }
    let language = tagger.tag(&envelope.text, &priors);
    let html = envelope.html.as_deref().and_then(sanitize_html);
    Ok(Prepared { envelope, author, language, html, assigned: None })
}

/// Check a replica as a post is checked, except who wrote it and its language: its home
/// instance decided those. An instance speaks only for the cities our config says it hosts
/// (`peer = "..."`): a replica by an author of any other city is refused before anything else.
/// Its HTML is sanitised again: what another instance sends is input like any other.
pub fn prepare_replica(config: &Config, replica: Replica) -> Result<Prepared, Refusal> {
    let Replica { envelope, origin_instance, message, conversation, conversation_owner, author, language, prev } =
        replica;
    match config.city(&author.city) {
        None => {
            return Err(Refusal::new(RefusalReason::UnknownCity, format!("no city `{}` here", author.city)));
        }
        Some(city) if city.peer.as_deref() != Some(origin_instance.as_str()) => {
            return Err(Refusal::new(
                RefusalReason::OtherCity,
                format!("`{}` is not hosted by instance {origin_instance}", author.city),
            ));
        }
        Some(_) => {}
    }
    if let Some(detail) = &envelope.oversized {
        return Err(Refusal::new(RefusalReason::TooLarge, detail.clone()));
    }
    if envelope.text.trim().is_empty() {
        return Err(Refusal::new(RefusalReason::EmptyText, "the message has no text"));
    }
    if envelope.partnership.is_none() {
        return Err(Refusal::new(RefusalReason::UnknownPartnership, "a replica names its partnership"));
    }
    let html = envelope.html.as_deref().and_then(sanitize_html);
    let assigned = Some(Assigned { origin_instance, message, conversation, conversation_owner, prev });
    Ok(Prepared { envelope, author, language, html, assigned })
}

/// The contact who sent `envelope`, checked against the city whose endpoint it arrived on.
/// Strangers are refused with a reason that says nothing about who is known.
///
/// A Matrix portal room belongs to one member city, but officers of the partnership's other
/// members may be in it too (invited by a colleague): they are identified as themselves, and the
/// committer then refuses cities outside the partnership and applies the agreed-channel rule to
/// the others.
fn identify(config: &Config, envelope: &Envelope) -> Result<Author, Refusal> {
    let sender = envelope.sender.as_str();
    let Some((city, contact)) = config.sender(envelope.origin.channel, sender) else {
        return Err(Refusal::new(RefusalReason::UnknownSender, format!("`{sender}` is not a known contact")));
    };
    if let Some(endpoint_city) = &envelope.origin.city
        && *endpoint_city != city.id
        && c2c_config::spec(envelope.origin.channel).endpoint_binds_city
    {
        return Err(Refusal::new(
            RefusalReason::OtherCity,
            format!("`{sender}` is a contact of {}, not of {endpoint_city}", city.id),
        ));
    }
    Ok(Author {
        contact: contact.id.clone(),
        name: contact.name.clone(),
        city: city.id.clone(),
        city_name: city.name.clone(),
        role: contact.role.clone(),
    })
}
