//! A parsed mail becomes an envelope: who sent it, which bridge address it came to, and every
//! hint about its conversation in the order they are trusted.
//!
//! Conversation hints, most trusted first: our own Message-IDs (and the officer's earlier ones)
//! in `In-Reply-To`, then the ids in `References` (newest first, the last 50), then the reply token in the
//! address (`bridge+TOKEN@`), then the subject tag `[c2c:SHORTID]`. A mail to
//! `bridge+PARTNERSHIP@` with none of these starts a conversation with the mail's subject.

use c2c_core::{Attachment, Channel, Envelope, NativeKey, Origin, ThreadRef, now_ms};

use crate::address::{AddressHint, clean_subject, hint, subject_short_id};
use crate::config::EmailSettings;
use crate::parse::ParsedMail;

/// Message-ids of a mail's `In-Reply-To` and `References` looked up at most (newest first).
pub const MAX_REFERENCES: usize = 50;

/// The envelope for `mail`. `None` when the mail was not sent to any of the bridge's addresses
/// (e.g. it only reached the mailbox by Bcc); it is then routed by its other hints alone.
pub fn envelope(mail: &ParsedMail, raw: &[u8], s: &EmailSettings) -> Envelope {
    let sender = mail.from.as_ref().map(|m| m.address.clone()).unwrap_or_default();
    let mut to_us = None;
    let mut address_hint = None;
    for addr in mail.delivered_to.iter().chain(&mail.to).chain(&mail.cc) {
        if let Some(h) = hint(addr, s.local(), s.domain()) {
            to_us.get_or_insert_with(|| addr.clone());
            if h.is_some() {
                to_us = Some(addr.clone());
                address_hint = h;
                break;
            }
        }
    }
    let origin = Origin {
        channel: Channel::Email,
        city: None,
        address: to_us.unwrap_or_else(|| s.address.to_ascii_lowercase()),
    };
    let dedupe = match &mail.message_id {
        Some(id) => NativeKey::email(id),
        None => NativeKey(format!("email:no-message-id:{:016x}:{}", fnv1a(raw), raw.len())),
    };
    let mut env = Envelope::new(origin, sender, dedupe, mail.text.clone());
    // Each hint costs the committer a store read: In-Reply-To and the newest References only
    // (a mail can carry thousands), each once.
    let mut seen = std::collections::HashSet::new();
    let ids = mail.in_reply_to.iter().chain(mail.references.iter().rev().take(MAX_REFERENCES));
    for id in ids.filter(|id| seen.insert(id.as_str())).take(MAX_REFERENCES) {
        env.thread_refs.push(ThreadRef::Native(NativeKey::email(id)));
    }
    match address_hint {
        Some(AddressHint::Conversation(c)) => env.thread_refs.push(ThreadRef::Conversation(c.to_string())),
        Some(AddressHint::Partnership(p)) => env.partnership = Some(p),
        None => {}
    }
    if let Some(short) = subject_short_id(&mail.subject) {
        env.thread_refs.push(ThreadRef::Short(short));
    }
    if let Some(id) = &mail.message_id {
        env.native_ids.push(NativeKey::email(id));
        env.reply_anchor = Some(id.clone());
    }
    let subject = clean_subject(&mail.subject);
    env.subject = (!subject.is_empty()).then_some(subject);
    // The HTML still holds the quoted history the text was stripped of: relay it only when
    // nothing was stripped.
    env.html = if mail.text.trim() == mail.full_text.trim() { mail.html.clone() } else { None };
    env.attachments = mail
        .attachments
        .iter()
        .map(|a| Attachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size as u64,
            content: a.content.clone(),
        })
        .collect();
    env.received_at = now_ms();
    env
}

/// A stable 64-bit hash (FNV-1a) for mails without a Message-ID.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
