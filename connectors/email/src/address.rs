//! The bridge's addresses and subject tags: how a mail says which conversation it belongs to.
//!
//! - `bridge+PARTNERSHIP@domain`: start a conversation in that partnership (the address admins
//!   give officers).
//! - `bridge+TOKEN@domain`, TOKEN a conversation id (a ULID, any case): the `From:`/`Reply-To:` of
//!   everything the bridge sends in that conversation, so a reply comes back to it.
//! - `[c2c:SHORTID]` in the subject: the conversation's short id, a fallback when a reply was sent
//!   to another address.

use c2c_core::ConversationId;

/// What an address the mail was sent to says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressHint {
    /// A conversation's reply token.
    Conversation(ConversationId),
    /// A partnership's address.
    Partnership(String),
}

/// `bridge+detail@domain` for the bridge's `local` and `domain`.
pub fn plus_address(local: &str, domain: &str, detail: &str) -> String {
    format!("{local}+{detail}@{domain}")
}

/// The reply address of a conversation.
pub fn conversation_address(local: &str, domain: &str, conversation: ConversationId) -> String {
    plus_address(local, domain, &conversation.to_string().to_ascii_lowercase())
}

/// If `address` is one of the bridge's (`local[+detail]@domain`, case-insensitive), what its
/// detail says. `None` for other addresses; `Some(None)` for the bridge's plain address.
pub fn hint(address: &str, local: &str, domain: &str) -> Option<Option<AddressHint>> {
    let (l, d) = address.trim().rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let (base, detail) = match l.split_once('+') {
        Some((b, detail)) => (b, Some(detail)),
        None => (l, None),
    };
    if !base.eq_ignore_ascii_case(local) {
        return None;
    }
    Some(detail.filter(|d| !d.is_empty()).map(|detail| match detail.parse::<ConversationId>() {
        Ok(id) if detail.len() == 26 => AddressHint::Conversation(id),
        _ => AddressHint::Partnership(detail.to_string()),
    }))
}

/// The subject tag of a conversation.
pub fn subject_tag(conversation: ConversationId) -> String {
    format!("[c2c:{}]", conversation.short())
}

/// The short id in a subject's `[c2c:SHORTID]` tag, if any.
pub fn subject_short_id(subject: &str) -> Option<String> {
    let start = subject.find("[c2c:")? + 5;
    let rest = &subject[start..];
    let end = rest.find(']')?;
    let id = rest[..end].trim();
    (id.len() == 8 && id.chars().all(|c| c.is_ascii_alphanumeric())).then(|| id.to_ascii_uppercase())
}

/// The conversation subject without reply prefixes and our tag: what an officer's mail subject
/// becomes when it starts a conversation.
pub fn clean_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let stripped = ["re:", "fw:", "fwd:", "aw:", "sv:", "回复:", "回复：", "答复:", "転送:"]
            .iter()
            .find(|p| lower.starts_with(*p) || s.starts_with(*p))
            .map(|p| s[p.len()..].trim_start());
        match stripped {
            Some(rest) => s = rest,
            None => break,
        }
    }
    let mut out = s.to_string();
    if let (Some(start), Some(_)) = (out.find("[c2c:"), subject_short_id(&out))
        && let Some(end) = out[start..].find(']')
    {
        out.replace_range(start..start + end + 1, "");
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_say_partnership_or_conversation() {
        let c = ConversationId::new();
        let addr = conversation_address("bridge", "c2c.test", c);
        assert_eq!(hint(&addr, "bridge", "c2c.test"), Some(Some(AddressHint::Conversation(c))));
        assert_eq!(hint(&addr.to_uppercase(), "bridge", "c2c.test"), Some(Some(AddressHint::Conversation(c))));
        assert_eq!(
            hint("Bridge+hangzhou-leeds@C2C.test", "bridge", "c2c.test"),
            Some(Some(AddressHint::Partnership("hangzhou-leeds".into())))
        );
        assert_eq!(hint("bridge@c2c.test", "bridge", "c2c.test"), Some(None));
        assert_eq!(hint("jo@leeds.test", "bridge", "c2c.test"), None);
        assert_eq!(hint("bridgeX+a@c2c.test", "bridge", "c2c.test"), None);
    }

    #[test]
    fn subject_tags_round_trip() {
        let c = ConversationId::new();
        let subject = format!("Re: Library exchange {}", subject_tag(c));
        assert_eq!(subject_short_id(&subject), Some(c.short()));
        assert_eq!(subject_short_id("Re: [c2c:bad]"), None);
        assert_eq!(clean_subject(&subject), "Library exchange");
        assert_eq!(clean_subject("RE: Fwd: 回复: 图书馆"), "图书馆");
    }
}
