//! Header fields → clean strings.
//!
//! - Addresses are lowercased and stripped of whitespace; display names, the subject and every
//!   other returned header string have control characters (CR, LF, NUL, other C0 and C1, U+2028,
//!   U+2029) replaced by a space, whitespace runs collapsed and ends trimmed. A control character
//!   found there (typically an RFC 2047-encoded `=0D=0A` trying to smuggle `Bcc:` into a Subject
//!   or a display name) adds a `header:` warning; so does header-like text (`bcc:`, `to:`...)
//!   inside a display name, which is kept as data.
//! - Message-IDs lose their `<>`; ids with whitespace or control characters are dropped.
//! - Raw 8-bit header bytes that are not UTF-8 (old Chinese and Japanese clients write GBK or
//!   Shift_JIS straight into Subject and names) are decoded with the charset of the body, as
//!   Thunderbird does, when that charset is ASCII-compatible; else lossily, with a warning.
//! - [`RawHeaders`] keeps every top-level header as (lowercased name, unfolded raw value) for the
//!   machine-header checks ([`super::auto`], [`super::auth`], [`super::dsn`]).

use super::Mailbox;
use super::charset;
use mail_parser::{Address, Header, HeaderName, HeaderValue, Message};

/// Every top-level header as (lowercased name, raw value with folding removed, trimmed), in
/// message order (topmost first).
#[derive(Debug, Default)]
pub(crate) struct RawHeaders {
    items: Vec<(String, String)>,
}

impl RawHeaders {
    fn new(headers: &[Header<'_>], raw: &[u8]) -> Self {
        let items = headers
            .iter()
            .map(|h| {
                let bytes = raw.get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default();
                let value = String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ").trim().to_string();
                (h.name.as_str().to_ascii_lowercase(), value)
            })
            .collect();
        RawHeaders { items }
    }

    /// The first value of a header (name in lowercase).
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    /// Every value of a header (name in lowercase), topmost first.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.items.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The header-derived part of [`super::ParsedMail`], plus what the later steps need.
#[derive(Debug, Default)]
pub(crate) struct Headers {
    pub raw: RawHeaders,
    pub message_id: Option<String>,
    pub from: Option<Mailbox>,
    /// The Sender address, lowercased.
    pub sender: Option<String>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub delivered_to: Vec<String>,
    pub subject: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub date: Option<i64>,
    pub content_language: Option<String>,
}

/// True if the root part has at least one header with a well-formed field name (RFC 5322 ftext:
/// printable ASCII except `:`). `mail-parser` accepts any junk line as a header name.
pub(crate) fn has_real_header(message: &Message<'_>) -> bool {
    message.parts.first().is_some_and(|root| {
        root.headers.iter().any(|h| {
            let name = h.name.as_str();
            !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
        })
    })
}

pub(crate) fn extract(
    message: &Message<'_>,
    raw: &[u8],
    body_charset: Option<&str>,
    warnings: &mut Vec<String>,
) -> Headers {
    let Some(root) = message.parts.first() else { return Headers::default() };
    let header_end = (root.offset_body as usize).min(raw.len());
    let section = raw.get(..header_end).unwrap_or_default();

    for cs in charset::encoded_word_charsets(section) {
        if !charset::is_known(&cs) {
            warnings
                .push(format!("charset: unknown charset \"{cs}\" in an encoded header word; decoded as UTF-8 (lossy)"));
        }
    }

    // Raw 8-bit headers that are not UTF-8: re-parse the header section decoded with the body's
    // charset (when it is an ASCII-compatible one), so names and subjects come out right.
    let transcoded = if std::str::from_utf8(section).is_err() {
        match body_charset.filter(|cs| charset::is_ascii_compatible(cs)) {
            Some(cs) => {
                warnings.push(format!("header: raw 8-bit header bytes decoded as {cs} (the body's charset)"));
                charset::decode(section, Some(cs)).0
            }
            None => {
                warnings.push("header: raw 8-bit header bytes are not UTF-8; decoded lossily".to_string());
                String::new()
            }
        }
    } else {
        String::new()
    };
    let reparsed = if transcoded.is_empty() {
        None
    } else {
        let mut text = transcoded;
        text.push_str("\n\n");
        super::headers_parse(text.as_bytes()).map(|m| m.into_owned())
    };
    let hdrs: &[Header<'_>] = match &reparsed {
        Some(m) => m.parts.first().map(|p| p.headers.as_slice()).unwrap_or_default(),
        None => root.headers.as_slice(),
    };

    let mut out = Headers { raw: RawHeaders::new(&root.headers, raw), ..Headers::default() };

    out.message_id = match first(hdrs, HeaderName::MessageId) {
        None => None,
        Some(value) => {
            let id = ids(value).into_iter().next();
            if id.is_none() {
                warnings.push("header: unparseable Message-ID ignored".to_string());
            }
            id
        }
    };
    if hdrs.iter().filter(|h| h.name == HeaderName::MessageId).count() > 1 {
        warnings.push("header: several Message-ID headers; the first is used".to_string());
    }

    out.from = first(hdrs, HeaderName::From).and_then(|v| first_mailbox(v, "From", warnings));
    out.sender = first(hdrs, HeaderName::Sender).and_then(|v| first_mailbox(v, "Sender", warnings)).map(|m| m.address);
    out.reply_to = first(hdrs, HeaderName::ReplyTo).and_then(|v| first_mailbox(v, "Reply-To", warnings));
    out.to = all_addresses(hdrs, HeaderName::To, "To", warnings);
    out.cc = all_addresses(hdrs, HeaderName::Cc, "Cc", warnings);

    out.subject = match first(hdrs, HeaderName::Subject) {
        Some(HeaderValue::Text(s)) => clean_field(s, "Subject", warnings),
        Some(HeaderValue::TextList(list)) => clean_field(&list.join(" "), "Subject", warnings),
        _ => String::new(),
    };

    out.in_reply_to = hdrs.iter().filter(|h| h.name == HeaderName::InReplyTo).flat_map(|h| ids(&h.value)).collect();
    out.references = hdrs.iter().filter(|h| h.name == HeaderName::References).flat_map(|h| ids(&h.value)).collect();

    out.date = match first(hdrs, HeaderName::Date) {
        None => None,
        Some(HeaderValue::DateTime(dt)) if dt.is_valid() => dt.to_timestamp().checked_mul(1000),
        Some(_) => {
            warnings.push("header: invalid Date ignored".to_string());
            None
        }
    };

    out.content_language = first(hdrs, HeaderName::ContentLanguage).and_then(|v| language(v, warnings));

    // A set, so a mail with a million Delivered-To headers costs linear time.
    let (mut delivered, mut seen) = (Vec::new(), std::collections::HashSet::new());
    for (name, value) in &out.raw.items {
        if matches!(name.as_str(), "delivered-to" | "x-original-to" | "envelope-to")
            && let Some(addr) = clean_address(value)
            && seen.insert(addr.clone())
        {
            delivered.push(addr);
        }
    }
    out.delivered_to = delivered;
    out
}

fn first<'a, 'x>(hdrs: &'a [Header<'x>], name: HeaderName<'_>) -> Option<&'a HeaderValue<'x>> {
    hdrs.iter().find(|h| h.name == name).map(|h| &h.value)
}

/// The Content-Language value(s), joined with ", ".
pub(crate) fn language(value: &HeaderValue<'_>, warnings: &mut Vec<String>) -> Option<String> {
    let joined = match value {
        HeaderValue::Text(s) => s.to_string(),
        HeaderValue::TextList(list) => {
            list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ")
        }
        _ => return None,
    };
    let clean = clean_field(&joined, "Content-Language", warnings);
    (!clean.is_empty()).then_some(clean)
}

/// Message ids of an id header value, without `<>`; ids with whitespace or control characters
/// are dropped.
pub(crate) fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(s) => clean_id(s).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|s| clean_id(s)).collect(),
        _ => Vec::new(),
    }
}

/// One message id without `<>`, or None if it is empty or contains whitespace, control
/// characters or angle brackets.
pub(crate) fn clean_id(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t).trim();
    let bad = |c: char| c.is_control() || c.is_whitespace() || c == '<' || c == '>';
    (!t.is_empty() && !t.chars().any(bad)).then(|| t.to_string())
}

/// An address as data: `<>` and whitespace removed, lowercased; None if nothing is left or it
/// still contains control characters.
pub(crate) fn clean_address(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_start_matches('<').trim_end_matches('>');
    (!t.is_empty() && !t.chars().any(char::is_control)).then(|| t.to_lowercase())
}

fn first_mailbox(value: &HeaderValue<'_>, what: &str, warnings: &mut Vec<String>) -> Option<Mailbox> {
    let HeaderValue::Address(addrs) = value else { return None };
    addrs.iter().find_map(|a| {
        let address = clean_address(a.address.as_deref()?)?;
        let name = a.name.as_deref().map(|n| clean_field(n, &format!("{what} display name"), warnings));
        if let Some(name) = &name
            && let Some(field) = header_like(name)
        {
            warnings.push(format!("header: {what} display name contains header-like text \"{field}\""));
        }
        Some(Mailbox { name: name.filter(|n| !n.is_empty()), address })
    })
}

fn all_addresses(hdrs: &[Header<'_>], name: HeaderName<'_>, what: &str, warnings: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for h in hdrs.iter().filter(|h| h.name == name) {
        let HeaderValue::Address(addrs) = &h.value else { continue };
        for a in iter_addrs(addrs) {
            if let Some(n) = a.name.as_deref() {
                let n = clean_field(n, &format!("{what} display name"), warnings);
                if let Some(field) = header_like(&n) {
                    warnings.push(format!("header: {what} display name contains header-like text \"{field}\""));
                }
            }
            if let Some(addr) = a.address.as_deref().and_then(clean_address) {
                out.push(addr);
            }
        }
    }
    out
}

fn iter_addrs<'a, 'x>(addrs: &'a Address<'x>) -> impl Iterator<Item = &'a mail_parser::Addr<'x>> + 'a {
    addrs.iter()
}

/// Replaces control characters by spaces, collapses whitespace runs, trims; warns when a control
/// character other than TAB was found (a header injection attempt, or a broken client).
pub(crate) fn clean_field(s: &str, what: &str, warnings: &mut Vec<String>) -> String {
    let (clean, had_controls) = clean_line(s);
    if had_controls {
        warnings.push(format!("header: control characters removed from {what} (header injection attempt?)"));
    }
    if clean.contains('\u{FFFD}') {
        warnings.push(format!("charset: undecodable bytes in {what} replaced with U+FFFD"));
    }
    clean
}

/// `(cleaned, had control characters other than TAB)`.
pub(crate) fn clean_line(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut had_controls = false;
    let mut space = false;
    for c in s.chars() {
        let is_space = if c == '\t' {
            true
        } else if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            had_controls = true;
            true
        } else {
            c.is_whitespace()
        };
        if is_space {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    (out, had_controls)
}

/// A header field name followed by `:` inside a display name (`"Jo Bcc: x@evil"`), if any.
fn header_like(name: &str) -> Option<&'static str> {
    const FIELDS: [&str; 7] = ["bcc", "cc", "to", "from", "reply-to", "subject", "content-type"];
    let lower = name.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    FIELDS.into_iter().find(|field| {
        lower.match_indices(field).any(|(pos, _)| {
            let before_ok = pos == 0 || !bytes.get(pos - 1).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-');
            let rest = lower.get(pos + field.len()..).unwrap_or_default();
            before_ok && rest.trim_start().starts_with(':')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_replaces_controls() {
        assert_eq!(clean_line("a\r\nBcc: x\0y"), ("a Bcc: x y".to_string(), true));
        assert_eq!(clean_line("  a\t b  "), ("a b".to_string(), false));
    }

    #[test]
    fn ids_lose_brackets() {
        assert_eq!(clean_id(" <a@b> "), Some("a@b".to_string()));
        assert_eq!(clean_id("a b@c"), None);
        assert_eq!(clean_id("<>"), None);
    }

    #[test]
    fn header_like_fields() {
        assert_eq!(header_like("Jo Bcc: evil@x"), Some("bcc"));
        assert_eq!(header_like("Tom Toby"), None);
        assert_eq!(header_like("Director: Culture"), None);
    }
}
