//! Which MIME parts are the body, which are attachments, and what their text is.
//!
//! `mail-parser` computes the body lists the JMAP way (RFC 8621): `text_body` (text/plain
//! preferred in an alternative) and `html_body` (text/html preferred), with inline parts. On top
//! of that:
//! - **text**: the `text/plain` parts of `text_body`, each un-flowed if `format=flowed`
//!   (RFC 3676, with `delsp`), joined with a newline, then [`normalize`]d. A text/plain part
//!   that is empty while an HTML part exists counts as absent (some senders put an empty
//!   alternative).
//! - **HTML**: the `text/html` parts of `html_body` (joined), or of `text_body` when the mail is
//!   HTML-only. Sanitised for [`super::ParsedMail::html`]; rendered to text when there is no
//!   plain text.
//! - **attachments**: every other leaf part `mail-parser` lists as an attachment (binary parts,
//!   non-body text parts, `message/rfc822`), except inline images the HTML references by
//!   `cid:` (signature logos, pasted pictures already in the HTML). Contents over
//!   `max_attachment_bytes` are dropped but the attachment is listed with its size. File names
//!   are cleaned with [`c2c_core::clean_filename`] (as Matrix file names are).
//! - **recovery**: parts `mail-parser` flags as malformed (bad base64, missing boundary) come back
//!   undecoded; they are decoded here leniently (invalid base64 characters skipped,
//!   malformed quoted-printable kept) and a `mime:` warning says so. A multipart without its
//!   closing boundary is reported too. A lone text part left out of the body because it was
//!   malformed becomes the body.

use super::charset;
use super::{Attachment, ParseOptions, headers};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use std::borrow::Cow;
use std::collections::HashSet;

#[derive(Debug, Default)]
pub(crate) struct Bodies {
    /// The plain text body, normalised; None when there is none (or it is empty and HTML exists).
    pub plain: Option<String>,
    /// The raw HTML body (before sanitising), if any.
    pub html_source: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Charset declared by the first body part (fallback for raw 8-bit headers).
    pub charset: Option<String>,
    /// Content-Language of the first body part.
    pub content_language: Option<String>,
}

/// `(type, subtype)` as declared, lowercased; text/plain when absent (RFC 2045).
fn declared(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().map(str::to_ascii_lowercase).unwrap_or_else(|| {
                if ct.ctype().eq_ignore_ascii_case("text") { "plain".into() } else { "octet-stream".into() }
            }),
        ),
        None => ("text".into(), "plain".into()),
    }
}

fn charset_of<'a>(part: &'a MessagePart<'_>) -> Option<&'a str> {
    part.content_type().and_then(|ct| ct.attribute("charset")).map(str::trim).filter(|c| !c.is_empty())
}

fn is_attachment_disposition(part: &MessagePart<'_>) -> bool {
    part.content_disposition().is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"))
}

pub(crate) fn extract(message: &Message<'_>, raw: &[u8], opts: &ParseOptions, warnings: &mut Vec<String>) -> Bodies {
    check_boundaries(message, raw, warnings);

    let is_text = |id: &u32| {
        message.parts.get(*id as usize).is_some_and(|p| matches!(p.body, PartType::Text(_) | PartType::Html(_)))
    };
    let is_html = |id: &u32| message.parts.get(*id as usize).is_some_and(|p| declared(p).1 == "html");

    let mut plain_ids: Vec<u32> = message.text_body.iter().copied().filter(is_text).filter(|id| !is_html(id)).collect();
    let mut html_ids: Vec<u32> = message.html_body.iter().copied().filter(is_text).filter(is_html).collect();
    if plain_ids.is_empty() {
        // Sets for every membership test here: a mail can have a hundred thousand parts.
        let mut seen: HashSet<u32> = html_ids.iter().copied().collect();
        for id in message.text_body.iter().copied().filter(is_text).filter(is_html) {
            if seen.insert(id) {
                html_ids.push(id);
            }
        }
    }
    if plain_ids.is_empty() && html_ids.is_empty() {
        // A malformed lone text part that mail-parser moved to the attachments (or a multipart
        // without boundary, read as text).
        let recovered = message.attachments.iter().copied().find(|id| {
            message.parts.get(*id as usize).is_some_and(|p| {
                let (ty, sub) = declared(p);
                let broken_text = p.is_encoding_problem && ty == "text" && matches!(sub.as_str(), "plain" | "html");
                let multipart_as_data =
                    ty == "multipart" && !matches!(p.body, PartType::Multipart(_) | PartType::Message(_));
                (broken_text && matches!(p.body, PartType::Text(_) | PartType::Html(_)) || multipart_as_data)
                    && p.attachment_name().is_none()
                    && !is_attachment_disposition(p)
            })
        });
        if let Some(id) = recovered {
            if is_html(&id) { html_ids.push(id) } else { plain_ids.push(id) }
        }
    }
    html_ids.sort_unstable();

    let mut out = Bodies::default();
    let first_body = plain_ids.first().or(html_ids.first()).and_then(|id| message.parts.get(*id as usize));
    if let Some(part) = first_body {
        out.charset = charset_of(part).filter(|c| charset::is_known(c)).map(str::to_ascii_lowercase);
        out.content_language = headers::language(part.content_language(), warnings);
    }

    let mut plain = String::new();
    for id in &plain_ids {
        let Some(part) = message.parts.get(*id as usize) else { continue };
        let text = part_text(part, *id, raw, warnings);
        let text = match part.content_type() {
            Some(ct) if ct.attribute("format").is_some_and(|f| f.eq_ignore_ascii_case("flowed")) => {
                unflow(&text, ct.attribute("delsp").is_some_and(|d| d.eq_ignore_ascii_case("yes")))
            }
            _ => text,
        };
        if !plain.is_empty() {
            plain.push('\n');
        }
        plain.push_str(&text);
    }
    let mut html = String::new();
    for id in &html_ids {
        let Some(part) = message.parts.get(*id as usize) else { continue };
        if !html.is_empty() {
            html.push('\n');
        }
        html.push_str(&part_text(part, *id, raw, warnings));
    }
    let plain = normalize(&plain);
    out.plain = (!plain.is_empty() || (html.trim().is_empty() && !plain_ids.is_empty())).then_some(plain);
    out.html_source = (!html.trim().is_empty()).then_some(html);

    let cids = out.html_source.as_deref().map(cid_references).unwrap_or_default();
    let bodies: HashSet<u32> = plain_ids.iter().chain(&html_ids).copied().collect();
    for id in &message.attachments {
        if bodies.contains(id) {
            continue;
        }
        let Some(part) = message.parts.get(*id as usize) else { continue };
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        if !is_attachment_disposition(part) {
            let cid = part.content_id().and_then(headers::clean_id).map(|c| c.to_ascii_lowercase());
            if cid.is_some_and(|cid| cids.contains(&cid)) {
                continue;
            }
        }
        let n = out.attachments.len() + 1;
        out.attachments.push(attachment(part, *id, n, raw, opts, warnings));
    }
    out
}

/// Warns about multiparts whose boundary never closes, or that have no boundary at all.
fn check_boundaries(message: &Message<'_>, raw: &[u8], warnings: &mut Vec<String>) {
    // Every closing delimiter line (`--BOUNDARY--`), collected once.
    let mut closing: HashSet<&[u8]> = HashSet::new();
    for line in raw.split(|b| *b == b'\n') {
        let line = line.trim_ascii_end();
        if line.len() >= 4 && line.starts_with(b"--") && line.ends_with(b"--") {
            closing.insert(line.get(2..line.len() - 2).unwrap_or_default());
        }
    }
    for part in &message.parts {
        let Some(ct) = part.content_type() else { continue };
        if !ct.ctype().eq_ignore_ascii_case("multipart") {
            continue;
        }
        let subtype = ct.subtype().unwrap_or("?").to_ascii_lowercase();
        match (ct.attribute("boundary"), &part.body) {
            (Some(b), PartType::Multipart(_)) => {
                if !closing.contains(b.as_bytes()) {
                    warnings.push(format!("mime: multipart/{subtype} has no closing boundary; parts read to the end"));
                }
            }
            _ => warnings.push(format!("mime: multipart/{subtype} without a usable boundary; read as text")),
        }
    }
}

/// A copy of the raw mail with a `boundary` parameter added to the top-level Content-Type when
/// it is a multipart without one, guessed from the first `--xxx` line of the body (the usual
/// cause: a script that forgot it). None when there is nothing to fix or guess.
pub(crate) fn guess_missing_boundary(message: &Message<'_>, raw: &[u8]) -> Option<(Vec<u8>, String)> {
    let root = message.parts.first()?;
    let ct = root.content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("multipart") || ct.attribute("boundary").is_some() {
        return None;
    }
    let header = root.headers.iter().find(|h| h.name == mail_parser::HeaderName::ContentType)?;
    let body = raw.get(root.offset_body as usize..)?;
    let boundary = body.split(|b| *b == b'\n').find_map(|line| {
        let b = line.trim_ascii().strip_prefix(b"--")?;
        let b = b.strip_suffix(b"--").unwrap_or(b);
        let ok = (1..=70).contains(&b.len()) && b.iter().all(|c| c.is_ascii_graphic() && *c != b'"');
        ok.then(|| String::from_utf8_lossy(b).into_owned())
    })?;
    // Insert before the line break that ends the Content-Type value.
    let mut end = (header.offset_end as usize).min(raw.len());
    while end > header.offset_start as usize && matches!(raw.get(end - 1), Some(b'\r' | b'\n')) {
        end -= 1;
    }
    let mut fixed = Vec::with_capacity(raw.len() + boundary.len() + 16);
    fixed.extend_from_slice(raw.get(..end)?);
    fixed.extend_from_slice(format!("; boundary=\"{boundary}\"").as_bytes());
    fixed.extend_from_slice(raw.get(end..)?);
    Some((fixed, boundary))
}

/// The `cid:` references of an HTML body, lowercased.
fn cid_references(html: &str) -> HashSet<String> {
    let lower = html.to_ascii_lowercase();
    lower
        .match_indices("cid:")
        .map(|(pos, _)| {
            let rest = lower.get(pos + 4..).unwrap_or_default();
            let end = rest
                .find(|c: char| matches!(c, '"' | '\'' | ' ' | '>' | ')' | '<') || c.is_whitespace())
                .unwrap_or(rest.len());
            rest.get(..end).unwrap_or_default().to_string()
        })
        .collect()
}

/// The decoded text of a body part, with charset warnings; malformed parts are decoded again
/// from the raw bytes, leniently.
fn part_text(part: &MessagePart<'_>, id: u32, raw: &[u8], warnings: &mut Vec<String>) -> String {
    let (ty, sub) = declared(part);
    let label = charset_of(part);
    if part.is_encoding_problem {
        let (bytes, _) = recover_bytes(part, raw);
        let (text, unknown) = charset::decode(&bytes, label);
        warnings.push(format!(
            "mime: part {id} ({ty}/{sub}) is malformed (bad transfer encoding or missing boundary); decoded leniently"
        ));
        charset_warnings(id, label, unknown, &text, warnings);
        return text;
    }
    let (text, unknown) = match &part.body {
        PartType::Text(t) | PartType::Html(t) => (t.to_string(), label.is_some_and(|l| !charset::is_known(l))),
        // A multipart without boundary that mail-parser kept as data.
        PartType::Binary(b) | PartType::InlineBinary(b) => charset::decode(b, label),
        _ => (String::new(), false),
    };
    charset_warnings(id, label, unknown, &text, warnings);
    text
}

fn charset_warnings(id: u32, label: Option<&str>, unknown: bool, text: &str, warnings: &mut Vec<String>) {
    let label = label.unwrap_or("none declared");
    if unknown {
        warnings.push(format!("charset: unknown charset \"{label}\" in part {id}; decoded as UTF-8 (lossy)"));
    } else if text.contains('\u{FFFD}') {
        warnings.push(format!("charset: undecodable bytes in part {id} (charset {label}) replaced with U+FFFD"));
    }
}

/// The transfer-decoded bytes of a part `mail-parser` could not decode: its raw body, decoded
/// by its declared Content-Transfer-Encoding, leniently. `(bytes, base64 had invalid chars)`.
fn recover_bytes(part: &MessagePart<'_>, raw: &[u8]) -> (Vec<u8>, bool) {
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    let body = if start <= end { raw.get(start..end) } else { None };
    let body = body.unwrap_or_else(|| part.contents());
    let cte = part.content_transfer_encoding().map(|c| c.trim().to_ascii_lowercase()).unwrap_or_default();
    match cte.as_str() {
        "base64" => charset::base64_lenient(body),
        "quoted-printable" => (charset::qp_lenient(body), false),
        _ => (body.to_vec(), false),
    }
}

fn attachment(
    part: &MessagePart<'_>,
    id: u32,
    n: usize,
    raw: &[u8],
    opts: &ParseOptions,
    warnings: &mut Vec<String>,
) -> Attachment {
    let (ty, sub) = declared(part);
    let content_type = format!("{ty}/{sub}");
    // Borrowed from mail-parser's decoded part; copied only if it is kept.
    let bytes: Cow<'_, [u8]> = if part.is_encoding_problem {
        warnings.push(format!("mime: attachment part {id} ({content_type}) is malformed; decoded leniently"));
        let (bytes, _) = recover_bytes(part, raw);
        Cow::Owned(if ty == "text" { charset::decode(&bytes, charset_of(part)).0.into_bytes() } else { bytes })
    } else {
        match &part.body {
            PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_bytes()),
            PartType::Binary(b) | PartType::InlineBinary(b) => Cow::Borrowed(b.as_ref()),
            PartType::Message(_) => Cow::Borrowed(part.contents()),
            PartType::Multipart(_) => Cow::Borrowed(&[][..]),
        }
    };
    let filename = match part.attachment_name() {
        Some(name) => {
            let clean = c2c_core::clean_filename(name);
            if clean != name {
                warnings.push(format!("mime: attachment file name sanitised to \"{clean}\""));
            }
            if clean.is_empty() { default_filename(n, &content_type) } else { clean }
        }
        None => default_filename(n, &content_type),
    };
    let size = bytes.len();
    Attachment {
        filename,
        content_type,
        size,
        content: (size <= opts.max_attachment_bytes).then(|| bytes.into_owned()),
    }
}

fn default_filename(n: usize, content_type: &str) -> String {
    let ext = match content_type {
        "message/rfc822" | "message/global" => ".eml",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/calendar" => ".ics",
        "text/csv" => ".csv",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        _ => "",
    };
    format!("attachment-{n}{ext}")
}

/// Undoes RFC 3676 `format=flowed`: a line ending in a space continues on the next line (of the
/// same quote depth); space-stuffing is removed; `delsp=yes` drops the soft-break space. The
/// signature separator `-- ` is never a soft break.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false; // the last output line continues
    for line in text.split('\n') {
        let depth = line.bytes().take_while(|b| *b == b'>').count();
        let rest = line.get(depth..).unwrap_or_default();
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let soft = rest.ends_with(' ') && rest != "-- ";
        let content = if soft && delsp { rest.get(..rest.len() - 1).unwrap_or(rest) } else { rest };
        match out.last_mut() {
            Some((d, s)) if open && *d == depth => s.push_str(content),
            _ => out.push((depth, content.to_string())),
        }
        open = soft;
    }
    out.into_iter()
        .map(|(d, s)| if d == 0 { s } else { format!("{} {s}", ">".repeat(d)) })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `\n` line endings, no BOM, no control characters but TAB, no trailing whitespace, no leading
/// or trailing blank lines.
pub(crate) fn normalize(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let l: String = l.chars().filter(|c| !(c.is_control() && *c != '\t') && *c != '\u{FEFF}').collect();
            l.trim_end().to_string()
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
    lines.drain(..start);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflow_joins_soft_breaks() {
        let t = "Hello this is \nflowed text.\n> quoted \n> more\n-- \nsig";
        assert_eq!(unflow(t, false), "Hello this is flowed text.\n> quoted more\n-- \nsig");
        assert_eq!(unflow("ab \ncd", true), "abcd");
    }

    #[test]
    fn normalize_trims() {
        assert_eq!(normalize("\r\n\r\n a  \r\nb\t\r\n\r\n\0"), " a\nb");
    }
}
