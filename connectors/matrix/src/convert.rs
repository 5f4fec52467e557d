//! Matrix events ↔ envelopes and message content.
//!
//! Inbound: a top-level message in a portal room starts a conversation (its first line is the
//! subject); a message in a thread (`m.thread`) or a plain reply (`m.in_reply_to`) continues the
//! conversation of the event it points at; an edit (`m.replace`) is relayed as a correction in
//! the same conversation, a redaction as a short note. A file (`m.file`, `m.image`, `m.video`,
//! `m.audio`) becomes a post with one attachment, its caption (or its file name) as the text;
//! the connector fetches the bytes (the `media` of [`Inbound::Post`]). Outbound: the author shown as
//! "Name (City, Role)", HTML limited to Matrix's subset, the language tag in
//! `org.c2c.language`, a visible marker when it is not the partnership's language.

use c2c_core::{Attachment, Delivery, Envelope, MessageKind, NativeKey, Origin, ThreadRef};
use serde_json::{Value, json};

use crate::config::Portal;
use crate::html::{escape, matrix_html};

/// The native key of a Matrix event.
pub fn event_key(event_id: &str) -> NativeKey {
    NativeKey(format!("matrix:{event_id}"))
}

/// What an inbound event is, once read.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// A post to relay; `top_level` when it starts a thread (its id becomes the thread root).
    /// `media`: for a file, the event content naming its bytes (`url`, or `file` when
    /// encrypted); the envelope's one attachment has no content until the connector fetches it.
    Post { envelope: Box<Envelope>, top_level: bool, media: Option<Value> },
    /// Nothing to relay (state events, notices from bots, reactions...).
    Ignore,
}

/// Read one (decrypted) timeline event of `portal`'s room. The envelope's origin address is the
/// portal's key, the address deliveries to that room use: what the bridge says back to the
/// author queues with what it relays into the room, in one order.
pub fn inbound(ev: &Value, portal: &Portal) -> Inbound {
    let (Some(event_id), Some(sender)) = (ev["event_id"].as_str(), ev["sender"].as_str()) else {
        return Inbound::Ignore;
    };
    let origin =
        Origin { channel: c2c_core::Channel::Matrix, city: Some(portal.city.clone()), address: portal.key.clone() };
    let content = &ev["content"];
    let mut media = None;
    let mut envelope = match ev["type"].as_str() {
        Some("m.room.message") if is_file(content) => {
            // The body is the file name, or a caption when `filename` is given apart (MSC2530).
            // The name is the sender's word: cleaned as email's are (no directories, no control
            // characters, no leading dots, at most 255 bytes).
            let body = content["body"].as_str().unwrap_or("").trim();
            let given = content["filename"].as_str().unwrap_or(body);
            let filename = c2c_core::clean_filename(given);
            let filename = if filename.is_empty() { "file".to_string() } else { filename };
            let text = if !body.is_empty() && body != given.trim() {
                body.to_string()
            } else {
                format!("(sent the file \"{filename}\")")
            };
            let mut e = Envelope::new(origin, sender, event_key(event_id), text);
            e.attachments.push(Attachment {
                filename,
                content_type: content["info"]["mimetype"].as_str().unwrap_or("application/octet-stream").to_string(),
                size: content["info"]["size"].as_u64().unwrap_or(0),
                content: None,
            });
            push_thread_refs(&mut e, &content["m.relates_to"]);
            media = Some(content.clone());
            e
        }
        Some("m.room.message") => {
            // Bots speak in m.notice; officers in m.text (or m.emote).
            if !matches!(content["msgtype"].as_str(), Some("m.text" | "m.emote")) {
                return Inbound::Ignore;
            }
            let relates = &content["m.relates_to"];
            if relates["rel_type"] == "m.replace" {
                let new = &content["m.new_content"];
                let text = new["body"].as_str().or(content["body"].as_str()).unwrap_or("");
                let mut e = Envelope::new(origin, sender, event_key(event_id), format!("Correction: {text}"));
                if let Some(orig) = relates["event_id"].as_str() {
                    e.thread_refs.push(ThreadRef::Native(event_key(orig)));
                }
                e
            } else {
                let mut e = Envelope::new(origin, sender, event_key(event_id), content["body"].as_str().unwrap_or(""));
                if content["format"] == "org.matrix.custom.html" {
                    e.html = content["formatted_body"].as_str().map(str::to_string);
                }
                push_thread_refs(&mut e, relates);
                e
            }
        }
        Some("m.room.redaction") => {
            let Some(redacts) = ev["redacts"].as_str().or(content["redacts"].as_str()) else {
                return Inbound::Ignore;
            };
            let mut e = Envelope::new(origin, sender, event_key(event_id), "(deleted an earlier message)");
            e.thread_refs.push(ThreadRef::Native(event_key(redacts)));
            e
        }
        _ => return Inbound::Ignore,
    };
    envelope.partnership = Some(portal.partnership.clone());
    envelope.native_ids.push(event_key(event_id));
    envelope.reply_anchor = Some(event_id.to_string());
    let top_level = envelope.thread_refs.is_empty();
    Inbound::Post { envelope: Box::new(envelope), top_level, media }
}

/// Whether a message's content is a file an officer sent.
fn is_file(content: &Value) -> bool {
    matches!(content["msgtype"].as_str(), Some("m.file" | "m.image" | "m.video" | "m.audio"))
        && content["m.relates_to"]["rel_type"] != "m.replace"
}

/// The conversation hints of a message: its thread root, then the event it replies to.
fn push_thread_refs(e: &mut Envelope, relates: &Value) {
    if relates["rel_type"] == "m.thread"
        && let Some(root) = relates["event_id"].as_str()
    {
        e.thread_refs.push(ThreadRef::Native(event_key(root)));
    }
    if let Some(reply) = relates["m.in_reply_to"]["event_id"].as_str() {
        e.thread_refs.push(ThreadRef::Native(event_key(reply)));
    }
}

/// The event content for a delivery, in the thread of `root` when there is one.
pub fn content(d: &Delivery, root: Option<&str>) -> Value {
    let m = &d.message;
    let (who_text, who_html) = match &m.author {
        Some(a) => {
            let who = format!("{} ({}, {})", a.name, a.city_name, a.role);
            (
                format!("{who}: "),
                format!("<b>{}</b> ({}, {}): ", escape(&a.name), escape(&a.city_name), escape(&a.role)),
            )
        }
        None => (String::new(), String::new()),
    };
    let off_language = m.language.is_off_language(&d.partnership_language);
    let marker = if off_language { format!("[{}] ", m.language.code) } else { String::new() };
    // Attachments with content follow as their own events; the others are over the size limit.
    let notes: Vec<String> =
        m.attachments.iter().filter(|a| a.content.is_none()).map(crate::attachment::too_large_note).collect();
    let mut body = format!("{marker}{who_text}{}", m.text);
    let mut html = format!(
        "{}{who_html}{}",
        if off_language { format!("<code>{}</code> ", escape(&m.language.code)) } else { String::new() },
        match &m.html {
            Some(h) => matrix_html(h),
            None => escape(&m.text).replace('\n', "<br>"),
        }
    );
    for n in &notes {
        body.push('\n');
        body.push_str(n);
        html.push_str(&format!("<br><i>{}</i>", escape(n)));
    }
    let msgtype = if m.kind == MessageKind::Post { "m.text" } else { "m.notice" };
    let mut c = json!({
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        // Matrix event content is canonical JSON, which has no floats: the confidence is a
        // decimal string.
        "org.c2c.language": {"code": m.language.code, "confidence": format!("{:.2}", m.language.confidence)},
        "org.c2c.conversation": d.entry.conversation.to_string(),
        "org.c2c.message": m.id.to_string(),
    });
    if let Some(root) = root {
        c["m.relates_to"] = json!({
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": true,
            "m.in_reply_to": {"event_id": root},
        });
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal() -> Portal {
        Portal {
            key: "portal:p:hangzhou".into(),
            partnership: "p".into(),
            city: "hangzhou".into(),
            name: "n".into(),
            topic: "t".into(),
            invite: vec![],
            room: None,
        }
    }

    #[test]
    fn threads_replies_edits_and_redactions_are_read() {
        let top = json!({"type": "m.room.message", "event_id": "$a", "sender": "@li:x", "content": {"msgtype": "m.text", "body": "Hello\nsecond"}});
        let Inbound::Post { envelope, top_level, .. } = inbound(&top, &portal()) else { panic!() };
        assert!(top_level);
        assert_eq!(envelope.partnership.as_deref(), Some("p"));
        assert_eq!(envelope.origin.city.as_deref(), Some("hangzhou"));
        assert_eq!(envelope.origin.address, "portal:p:hangzhou", "the address deliveries to the room use");
        assert_eq!(envelope.dedupe_key, event_key("$a"));

        let threaded = json!({"type": "m.room.message", "event_id": "$b", "sender": "@li:x", "content": {"msgtype": "m.text", "body": "in thread",
            "m.relates_to": {"rel_type": "m.thread", "event_id": "$a", "is_falling_back": true, "m.in_reply_to": {"event_id": "$a"}}}});
        let Inbound::Post { envelope, top_level, .. } = inbound(&threaded, &portal()) else { panic!() };
        assert!(!top_level);
        assert_eq!(envelope.thread_refs[0], ThreadRef::Native(event_key("$a")));

        let edit = json!({"type": "m.room.message", "event_id": "$c", "sender": "@li:x", "content": {"msgtype": "m.text", "body": "* fixed",
            "m.new_content": {"msgtype": "m.text", "body": "fixed"}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$b"}}});
        let Inbound::Post { envelope, .. } = inbound(&edit, &portal()) else { panic!() };
        assert_eq!(envelope.text, "Correction: fixed");
        assert_eq!(envelope.thread_refs, vec![ThreadRef::Native(event_key("$b"))]);

        let redaction =
            json!({"type": "m.room.redaction", "event_id": "$d", "sender": "@li:x", "redacts": "$b", "content": {}});
        assert!(matches!(inbound(&redaction, &portal()), Inbound::Post { .. }));

        let notice = json!({"type": "m.room.message", "event_id": "$e", "sender": "@bot:x", "content": {"msgtype": "m.notice", "body": "beep"}});
        assert_eq!(inbound(&notice, &portal()), Inbound::Ignore);
    }

    #[test]
    fn a_file_is_a_post_with_one_attachment_to_fetch() {
        let file = json!({"type": "m.room.message", "event_id": "$f", "sender": "@li:x", "content": {"msgtype": "m.file",
            "body": "agenda.pdf", "url": "mxc://x/abc", "info": {"mimetype": "application/pdf", "size": 1234},
            "m.relates_to": {"rel_type": "m.thread", "event_id": "$a"}}});
        let Inbound::Post { envelope, top_level, media } = inbound(&file, &portal()) else { panic!() };
        assert!(!top_level);
        assert_eq!(envelope.text, "(sent the file \"agenda.pdf\")");
        assert_eq!(envelope.thread_refs, vec![ThreadRef::Native(event_key("$a"))]);
        let a = &envelope.attachments[0];
        assert_eq!(
            (a.filename.as_str(), a.content_type.as_str(), a.size, a.content.is_none()),
            ("agenda.pdf", "application/pdf", 1234, true)
        );
        assert_eq!(media.unwrap()["url"], "mxc://x/abc");
        // With a caption (MSC2530), the caption is the text.
        let captioned = json!({"type": "m.room.message", "event_id": "$g", "sender": "@li:x", "content": {"msgtype": "m.image",
            "body": "The site, from the north", "filename": "site.jpg", "url": "mxc://x/def"}});
        let Inbound::Post { envelope, .. } = inbound(&captioned, &portal()) else { panic!() };
        assert_eq!(envelope.text, "The site, from the north");
        assert_eq!(envelope.attachments[0].filename, "site.jpg");
        // The name is cleaned; the caption test compares the name as sent.
        let sneaky = json!({"type": "m.room.message", "event_id": "$i", "sender": "@li:x", "content": {"msgtype": "m.file",
            "body": "../../.ssh/\u{7}authorized\nkeys", "url": "mxc://x/ghi"}});
        let Inbound::Post { envelope, .. } = inbound(&sneaky, &portal()) else { panic!() };
        assert_eq!(envelope.attachments[0].filename, "authorized keys");
        assert_eq!(envelope.text, "(sent the file \"authorized keys\")");
        let nameless = json!({"type": "m.room.message", "event_id": "$j", "sender": "@li:x", "content": {"msgtype": "m.file",
            "body": "..", "url": "mxc://x/jkl"}});
        let Inbound::Post { envelope, .. } = inbound(&nameless, &portal()) else { panic!() };
        assert_eq!(envelope.attachments[0].filename, "file");
        // Text messages carry no media.
        let text = json!({"type": "m.room.message", "event_id": "$h", "sender": "@li:x", "content": {"msgtype": "m.text", "body": "hi"}});
        assert!(matches!(inbound(&text, &portal()), Inbound::Post { media: None, .. }));
    }
}
