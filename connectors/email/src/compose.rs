//! A delivery becomes a mail in the recipient's own thread.
//!
//! - `From:` and `Reply-To:` `"Name (City) via c2c-bridge" <bridge+TOKEN@domain>`: the reply
//!   address names the conversation, so any answer comes back to it.
//! - `Message-ID:` derived from the outbox entry and tagged under the instance key (the same on
//!   every retry, unguessable from any other delivery's); `In-Reply-To:` and `References:` from
//!   the entry's thread (the recipient's earlier mails in this conversation).
//! - Return path (SMTP `MAIL FROM`) `bridge+b-SEQ-TAG@domain`, one per delivery: a bounce is
//!   believed only when it comes back there (see `classify`).
//! - `Subject: [Re: ]<conversation subject> [c2c:SHORTID]`.
//! - `Content-Language:` from the language tag, and a one-line notice when it is not the
//!   partnership's language.
//! - multipart/alternative text + HTML (HTML sanitised at the source, or made from the text),
//!   attachments that fitted the limit, a note for those that did not.
//! - `Auto-Submitted: auto-generated` on what the bridge writes itself; `X-C2C-Bridge` on
//!   everything, so the bridge never ingests its own mail.

use c2c_core::{Delivery, MessageKind};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::address::{conversation_address, plus_address, subject_tag};
use crate::config::EmailSettings;

/// A mail ready to send.
#[derive(Debug)]
pub struct Composed {
    pub message: lettre::Message,
    /// Without `<>`.
    pub message_id: String,
}

/// Remove control characters (CR, LF, NUL...) from text going into a header: header injection
/// cannot come through the bridge.
pub fn header_text(s: &str) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), header_text(&value))
}

/// The English name of a language code, for the off-language notice.
fn language_name(code: &str) -> &str {
    match code {
        "en" => "English",
        "zh" => "Chinese",
        "ja" => "Japanese",
        "ko" => "Korean",
        "fr" => "French",
        "es" => "Spanish",
        "de" => "German",
        "pt" => "Portuguese",
        "ru" => "Russian",
        "ar" => "Arabic",
        "hi" => "Hindi",
        "id" => "Indonesian",
        "ms" => "Malay",
        "th" => "Thai",
        "vi" => "Vietnamese",
        "tr" => "Turkish",
        "it" => "Italian",
        "nl" => "Dutch",
        "kk" => "Kazakh",
        "mn" => "Mongolian",
        other => other,
    }
}

/// The notice line for a message not in the partnership's language, if it needs one.
pub fn off_language_notice(code: &str, confidence: f64, partnership_language: &str) -> Option<String> {
    c2c_core::LanguageTag::off_language(code, confidence, partnership_language).then(|| {
        format!(
            "[This message is in {} ({code}); the partnership's agreed language is {} ({partnership_language}).]",
            language_name(code),
            language_name(partnership_language)
        )
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Build the mail for `d`.
pub fn compose(d: &Delivery, s: &EmailSettings) -> Result<Composed, String> {
    let m = &d.message;
    let e = &d.entry;
    let domain = s.domain();
    let message_id = s.key.email_message_id(&e.id, domain);
    let reply_address = conversation_address(s.local(), domain, e.conversation);
    let return_path = plus_address(s.local(), domain, &s.key.return_path_detail(e.seq, &e.id));
    let from_name = match &m.author {
        Some(a) => format!("{} ({}) via c2c-bridge", a.name, a.city_name),
        None => "c2c-bridge".to_string(),
    };
    let from = Mailbox::new(Some(header_text(&from_name)), reply_address.parse().map_err(|e| format!("{e}"))?);
    let to_address: lettre::Address =
        e.recipient.address.parse().map_err(|err| format!("recipient {}: {err}", e.recipient.address))?;
    let envelope = lettre::address::Envelope::new(
        Some(return_path.parse().map_err(|err| format!("return path {return_path}: {err}"))?),
        vec![to_address.clone()],
    )
    .map_err(|err| format!("envelope: {err}"))?;
    let to = Mailbox::new(d.recipient_name.as_deref().map(header_text), to_address);
    let prefix = if e.references.is_empty() { "" } else { "Re: " };
    let subject = header_text(&format!("{prefix}{} {}", d.subject, subject_tag(e.conversation)));

    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")))
        .date_now()
        .envelope(envelope)
        .raw_header(raw_header("X-C2C-Bridge", s.instance.clone()))
        .raw_header(raw_header("X-C2C-Conversation", e.conversation.to_string()));
    if let Some(last) = e.references.last() {
        builder = builder.in_reply_to(format!("<{last}>"));
        let refs: Vec<String> = e.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    if m.language.code != "und" {
        builder = builder.raw_header(raw_header("Content-Language", m.language.code.clone()));
    }
    if m.kind != MessageKind::Post {
        builder = builder.raw_header(raw_header("Auto-Submitted", "auto-generated".into()));
    }

    let (text, html) = bodies(d);
    let alternative = MultiPart::alternative_plain_html(text, html);
    let with_files: Vec<_> = m.attachments.iter().filter(|a| a.content.is_some()).collect();
    let message = if with_files.is_empty() {
        builder.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in with_files {
            let ct =
                ContentType::parse(&a.content_type).unwrap_or(ContentType::parse("application/octet-stream").unwrap());
            let part: SinglePart =
                Attachment::new(header_text(&a.filename)).body(a.content.clone().unwrap_or_default(), ct);
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    }
    .map_err(|e| format!("building the mail: {e}"))?;
    Ok(Composed { message, message_id })
}

/// The text and HTML bodies: the notice line if off-language, the message, notes for
/// attachments left behind, and a signature naming the author and the partnership.
fn bodies(d: &Delivery) -> (String, String) {
    let m = &d.message;
    let notice = off_language_notice(&m.language.code, m.language.confidence, &d.partnership_language);
    let too_large: Vec<String> = m
        .attachments
        .iter()
        .filter(|a| a.content.is_none())
        .map(|a| format!("[The attachment \"{}\" ({} bytes) was too large to relay.]", a.filename, a.size))
        .collect();
    let who = match &m.author {
        Some(a) => format!("{} · {} · {}", a.name, a.role, a.city_name),
        None => "c2c-bridge".to_string(),
    };
    let footer =
        format!("c2c-bridge · partnership {} · reply to this mail to answer in the same thread", m.partnership);

    let mut text = String::new();
    if let Some(n) = &notice {
        text.push_str(n);
        text.push_str("\n\n");
    }
    text.push_str(m.text.trim_end());
    text.push('\n');
    for t in &too_large {
        text.push('\n');
        text.push_str(t);
    }
    text.push_str(&format!("\n\n-- \n{who}\n{footer}\n"));

    let mut html = String::from("<!DOCTYPE html><html><body>");
    if let Some(n) = &notice {
        html.push_str(&format!("<p><em>{}</em></p>", escape_html(n)));
    }
    match &m.html {
        Some(h) => html.push_str(h),
        None => {
            for para in m.text.trim_end().split("\n\n") {
                html.push_str(&format!("<p>{}</p>", escape_html(para).replace('\n', "<br>")));
            }
        }
    }
    for t in &too_large {
        html.push_str(&format!("<p><em>{}</em></p>", escape_html(t)));
    }
    html.push_str(&format!(
        "<p style=\"color:#666\">-- <br>{}<br>{}</p></body></html>",
        escape_html(&who),
        escape_html(&footer)
    ));
    (text, html)
}

/// A reply telling a known contact why their mail was not relayed (e.g. "this partnership
/// lives on Matrix"), in their thread, marked as automatic so no auto-responder answers it.
pub fn compose_refusal(
    mail: &crate::parse::ParsedMail,
    why: &str,
    s: &EmailSettings,
) -> Result<lettre::Message, String> {
    let to = mail.from.as_ref().ok_or("the mail has no sender")?;
    let to_address: lettre::Address = to.address.parse().map_err(|e| format!("{e}"))?;
    // The null return path of automatic replies (RFC 3834 section 3.3): nothing bounces back.
    let envelope =
        lettre::address::Envelope::new(None, vec![to_address.clone()]).map_err(|e| format!("envelope: {e}"))?;
    let to = Mailbox::new(to.name.as_deref().map(header_text), to_address);
    let from = Mailbox::new(Some("c2c-bridge".into()), s.address.parse().map_err(|e| format!("{e}"))?);
    let subject = header_text(&format!("Re: {}", if mail.subject.is_empty() { "your message" } else { &mail.subject }));
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<c2c.reply.{}@{}>", ulid::Ulid::new(), s.domain())))
        .date_now()
        .envelope(envelope)
        .raw_header(raw_header("Auto-Submitted", "auto-replied".into()))
        .raw_header(raw_header("X-C2C-Bridge", s.instance.clone()));
    if let Some(id) = &mail.message_id {
        builder = builder.in_reply_to(format!("<{id}>"));
        let mut refs: Vec<String> = mail.references.iter().map(|r| format!("<{r}>")).collect();
        refs.push(format!("<{id}>"));
        builder = builder.references(refs.join(" "));
    }
    let text = format!("{why}\n\nYour message was not relayed.\n\n-- \nc2c-bridge\n");
    builder.singlepart(SinglePart::plain(text)).map_err(|e| format!("building the reply: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_removes_injection() {
        assert_eq!(header_text("Hello\r\nBcc: evil@x"), "Hello Bcc: evil@x");
        assert_eq!(header_text("  a\tb  "), "a b");
    }

    #[test]
    fn off_language_notices_only_when_sure_and_different() {
        assert!(off_language_notice("zh", 0.9, "en").unwrap().contains("Chinese (zh)"));
        assert_eq!(off_language_notice("en", 0.9, "en"), None);
        assert_eq!(off_language_notice("und", 0.0, "en"), None);
        assert_eq!(off_language_notice("fr", 0.3, "en"), None);
    }
}
