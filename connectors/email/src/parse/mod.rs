//! Raw RFC 5322 mail → [`ParsedMail`]: the one place where officers' mail becomes clean data.
//!
//! [`parse`] is pure (no I/O) and never panics: whatever is wrong but survivable (a broken MIME
//! boundary, bad base64, an unknown charset, control characters smuggled into a header) becomes a
//! line in [`ParsedMail::warnings`]; only input that is not mail at all ([`ParseError::NotMail`])
//! or has no sender ([`ParseError::NoFrom`]) is an error. It is fuzzed (`connectors/email/fuzz`)
//! and run on truncations and mutations of the corpus (`tests/corpus.rs`).
//!
//! Two recoveries happen before anything else:
//! - `mail-parser` 0.11.9 has `debug_assert!`s that fire on some malformed MIME trees (found by
//!   fuzzing: a `message/rfc822` nested in a `message/rfc822` that reuses the outer boundary),
//!   so it panics in debug builds. It runs under `catch_unwind`; if it panics, the mail is read
//!   again with its top-level Content-Type renamed (`X-Unparsed-Content-Type`): the body becomes
//!   one text part, with a warning. (With `panic = "abort"` this safety net is gone, but release
//!   builds compile those assertions out.)
//! - a top-level multipart without a `boundary` parameter gets one guessed from the first `--xxx`
//!   line of its body, with a warning; if that fails its raw text becomes the body.
//!
//! And one guard: HTML is read only through [`bound::bound`], one linear pass that keeps what
//! is safe to keep and limits nesting and counts, so no HTML costs more than linear time here or
//! later (html5ever is quadratic on some inputs; see `bound.rs`). Tags over its limits are left
//! out, their text kept, with a warning.
//!
//! MIME structure, transfer encodings, RFC 2047/2231 and charsets are decoded by `mail-parser`
//! (with `full_encoding`: GB18030/GBK, Big5, Shift_JIS, ISO-2022-JP, EUC-KR, KOI8-R, TIS-620 and
//! windows-874, Windows-125x...); this module decides what of it is the text an officer wrote.
//!
//! # Files
//! - `mod.rs`: the public types and [`parse`], which runs the steps below in order.
//! - `headers.rs`: header fields → strings: addresses lowercased, Message-IDs without `<>`,
//!   control characters (CR, LF, NUL, other C0/C1, U+2028/9) replaced so no returned string can
//!   inject a header, raw 8-bit headers decoded with the body's charset.
//! - `charset.rs`: warnings about unknown charsets and undecodable bytes, lenient base64 and
//!   quoted-printable decoding to recover parts `mail-parser` gave up on.
//! - `body.rs`: which MIME parts are the text, the HTML and the attachments (inline `cid:` images
//!   of the HTML are not attachments; contents over [`ParseOptions::max_attachment_bytes`] are
//!   dropped but listed), recovery of broken parts, text normalisation (line endings,
//!   `format=flowed`, trailing whitespace).
//! - `bound.rs`: any HTML → bounded, well-formed HTML of kept elements and attributes (linear).
//! - `html.rs`: bounded HTML → text (blocks and `<br>` → newlines, `<blockquote>` → `> ` lines, links as
//!   `text (url)`), and the HTML side of quote stripping (Gmail `gmail_quote`, Outlook
//!   `divRplyFwdMsg`, `<blockquote type="cite">`, signature blocks).
//! - `quote.rs`: quote and signature stripping on plain text (the rules are documented there).
//! - `auto.rs`: is this mail machine-written ([`Automatic`])? The bridge never relays nor answers
//!   those (no loops, no backscatter).
//! - `dsn.rs`: delivery status notifications (RFC 3464 `multipart/report`, plus plain-text
//!   Exim/qmail/old-Postfix bounces).
//! - `auth.rs`: `Authentication-Results` passes and failures (`dkim`/`spf`/`dmarc`) for the From
//!   domain, from trusted headers only.
//!
//! # `text` versus `full_text`
//! `full_text` is the whole body as plain text (the `text/plain` parts, or the HTML rendered as
//! text when the mail is HTML-only), normalised: `\n` line endings, no trailing whitespace, no
//! leading or trailing blank lines. `text` is `full_text` minus the quoted reply history and the
//! signature (see `quote.rs` and `html.rs`); if stripping would leave nothing, `text` is
//! `full_text`.

mod auth;
mod auto;
mod body;
pub mod bound;
mod charset;
mod dsn;
mod headers;
mod html;

mod quote;

use mail_parser::{Message, MessageParser};
use serde::Serialize;
use std::panic::AssertUnwindSafe;

/// What [`parse`] needs to know about the bridge itself.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Attachments larger than this (decoded bytes) are listed but their content is dropped
    /// (`content: None`). `0` keeps no content at all (except empty attachments).
    pub max_attachment_bytes: usize,
    /// Domains of the bridge's own addresses / Message-IDs, to recognise our own mail (loops).
    /// Compared exactly (case-insensitive) with the domain of the Message-ID and of the From
    /// address: list subdomains explicitly if the bridge uses them.
    pub own_domains: Vec<String>,
    /// authserv-id(s) of the receiving server whose Authentication-Results we trust
    /// (empty = trust only the topmost Authentication-Results header).
    pub trusted_authserv_ids: Vec<String>,
}

/// One mail, turned into clean data. Every string that comes from a header is free of control
/// characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedMail {
    /// Without `<>`, trimmed; None if absent or unparseable.
    pub message_id: Option<String>,
    /// The first mailbox of the first From header, address lowercased. Always `Some` when
    /// [`parse`] returns `Ok`, except for a delivery status notification (`dsn` is `Some`)
    /// whose From is unusable: a bounce is worth reading even then.
    pub from: Option<Mailbox>,
    /// The first mailbox of Reply-To.
    pub reply_to: Option<Mailbox>,
    /// Addresses of every To header (groups flattened), lowercased, in order.
    pub to: Vec<String>,
    /// Addresses of every Cc header, lowercased, in order.
    pub cc: Vec<String>,
    /// Delivered-To / X-Original-To / Envelope-to (Exim) values, lowercased, without `<>`, deduplicated, in header
    /// order (topmost first).
    pub delivered_to: Vec<String>,
    /// Decoded; control characters replaced by spaces, whitespace runs collapsed; trimmed.
    /// Empty if there is no Subject.
    pub subject: String,
    /// Message ids without `<>`.
    pub in_reply_to: Vec<String>,
    /// In header order, without `<>`.
    pub references: Vec<String>,
    /// Milliseconds since the Unix epoch; None if absent or invalid.
    pub date: Option<i64>,
    /// Content-Language of the message (or of its first text part), e.g. `"zh-CN"` or
    /// `"en, fr"`.
    pub content_language: Option<String>,
    /// The new text the author wrote: plain text (from text/plain, or from HTML converted to text
    /// when the mail is HTML-only), with quoted reply history and the signature stripped.
    pub text: String,
    /// The whole plain text before stripping (kept in the store).
    pub full_text: String,
    /// The HTML body, bounded ([`bound::bound`]: well-formed, kept elements and attributes
    /// only, within limits), or None. Not yet sanitised: the daemon sanitises the HTML of every
    /// channel before it is stored or relayed.
    pub html: Option<String>,
    /// Real attachments only: not the text/html bodies, not the inline `cid:` images of the HTML.
    pub attachments: Vec<Attachment>,
    /// Why this mail must not be relayed as a post, if it is machine-written.
    pub automatic: Option<Automatic>,
    /// A delivery status notification (RFC 3464, or a plain-text bounce we recognised).
    pub dsn: Option<Dsn>,
    /// `dkim`/`spf`/`dmarc` = `pass` or `fail` for the From domain (or a subdomain / parent of
    /// it) in trusted Authentication-Results, each once, in header order (see `auth`).
    pub auth_results: Vec<AuthResult>,
    /// Things that were wrong but survivable, one sentence each, prefixed by their area
    /// (`mime:`, `charset:`, `header:`).
    pub warnings: Vec<String>,
}

/// A mailbox: display name (decoded, sanitised) and address (lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// An attachment. Serialises as `{filename, content_type, size, has_content}` (no bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The declared file name (RFC 2231/2047 decoded), reduced to a base name without control
    /// characters or path separators; `attachment-N.ext` when the part has none.
    pub filename: String,
    /// `type/subtype`, lowercased, without parameters.
    pub content_type: String,
    /// Decoded size in bytes. Text attachments (text/*) are decoded to UTF-8, so this is the
    /// size of the UTF-8 text.
    pub size: usize,
    /// The decoded bytes, or None when `size` exceeds [`ParseOptions::max_attachment_bytes`].
    #[serde(rename = "has_content", serialize_with = "serialize_is_some")]
    pub content: Option<Vec<u8>>,
}

fn serialize_is_some<S: serde::Serializer>(content: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(content.is_some())
}

/// Why a mail is machine-written. The bridge neither relays nor answers any of these.
/// When several apply, the first in this order wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Automatic {
    /// Our own mail coming back (a loop): an `X-C2C-Bridge` header, or a Message-ID or From
    /// address whose domain is one of [`ParseOptions::own_domains`].
    Ours,
    /// A bounce or a mail-system message: a DSN (then `dsn` is filled too), From or Sender whose
    /// local part is `MAILER-DAEMON` or `postmaster`, or an empty Return-Path (`<>`, the null
    /// sender RFC 5321 reserves for bounces and auto-replies; checked last).
    MailerDaemon,
    /// An auto-reply or other automatic message (RFC 3834). Holds what gave it away, lowercased:
    /// the `Auto-Submitted` value when present and not `no` (`"auto-replied"`,
    /// `"auto-generated"`...), else `"x-autoreply: VALUE"`, `"x-autorespond: VALUE"` or
    /// `"x-auto-response-suppress: VALUE"` (the latter only when it lists `All` or `OOF`).
    AutoSubmitted(String),
    /// `Precedence: bulk | junk | list | auto_reply` (the value, lowercased).
    Precedence(String),
    /// Sent through a mailing list or a bulk sender: `List-Id` or `List-Unsubscribe` present.
    /// Partner officers write to the bridge directly; a post that reaches us through a list
    /// (or a newsletter with an unsubscribe link) is not theirs to relay.
    ListMail,
}

/// A delivery status notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dsn {
    /// Message-ID (without `<>`) of the mail that bounced, from the returned message or headers.
    pub original_message_id: Option<String>,
    pub recipients: Vec<DsnRecipient>,
}

/// One recipient of a DSN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DsnRecipient {
    /// Final-Recipient (else Original-Recipient) address, lowercased, without the `rfc822;` type.
    pub recipient: String,
    /// Original-Recipient, when the report gives it besides a different Final-Recipient (an
    /// alias or forward expanded on the way), lowercased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_recipient: Option<String>,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded` (lowercased as given).
    pub action: String,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: String,
    /// Diagnostic-Code without its type (`smtp;`), whitespace collapsed.
    pub diagnostic: Option<String>,
}

/// One authentication result, aligned with the From domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AuthResult {
    /// `dkim`, `spf` or `dmarc`.
    pub method: String,
    /// `header.d` (dkim), the domain of `smtp.mailfrom` (spf), `header.from` (dmarc); lowercased.
    pub domain: String,
    /// `pass` or `fail` (softfail, neutral, none, temperror, permerror are neither).
    pub result: String,
}

/// Input that cannot be turned into a [`ParsedMail`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No header at all: this is not mail.
    #[error("not an email message (no header fields)")]
    NotMail,
    /// No usable From address (and not a delivery status notification).
    #[error("email has no usable From address")]
    NoFrom,
}

/// `mail-parser`'s full parse; `Err` if it panicked.
fn mime_parse(raw: &[u8]) -> Result<Option<Message<'_>>, ()> {
    std::panic::catch_unwind(AssertUnwindSafe(|| MessageParser::new().parse(raw))).map_err(|_| ())
}

/// `mail-parser`'s header-only parse (for returned headers, re-decoded header sections); None
/// if there are no headers or it panicked.
pub(crate) fn headers_parse(raw: &[u8]) -> Option<Message<'_>> {
    std::panic::catch_unwind(AssertUnwindSafe(|| MessageParser::new().parse_headers(raw))).ok().flatten()
}

/// The mail with its top-level Content-Type renamed (`X-Unparsed-Content-Type`), so that its
/// body reads as a single text part.
fn flatten(raw: &[u8]) -> Vec<u8> {
    // The first empty line (LF LF or LF CR LF) ends the header section.
    let end = (0..raw.len()).find(|&i| {
        raw.get(i) == Some(&b'\n')
            && (raw.get(i + 1) == Some(&b'\n') || (raw.get(i + 1) == Some(&b'\r') && raw.get(i + 2) == Some(&b'\n')))
    });
    let (head, body) = raw.split_at(end.map_or(raw.len(), |e| e + 1));
    let mut out = Vec::with_capacity(raw.len() + 16);
    for line in head.split_inclusive(|b| *b == b'\n') {
        if line.get(..13).is_some_and(|n| n.eq_ignore_ascii_case(b"content-type:")) {
            out.extend_from_slice(b"X-Unparsed-");
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(body);
    out
}

/// Parses one raw message (as fetched over IMAP: `BODY[]`/`RFC822`). Never panics.
pub fn parse(raw: &[u8], opts: &ParseOptions) -> Result<ParsedMail, ParseError> {
    let mut warnings = Vec::new();
    // mail-parser has debug assertions on some malformed MIME trees (a panic in debug builds):
    // if it panics, read the body as one text part instead.
    let flattened: Vec<u8>;
    let (first, raw) = match mime_parse(raw) {
        Ok(message) => (message.ok_or(ParseError::NotMail)?, raw),
        Err(()) => {
            flattened = flatten(raw);
            let Ok(Some(message)) = mime_parse(&flattened) else { return Err(ParseError::NotMail) };
            warnings
                .push("mime: the MIME structure is too broken to parse; the body is read as one text part".to_string());
            (message, flattened.as_slice())
        }
    };
    if !headers::has_real_header(&first) {
        return Err(ParseError::NotMail);
    }
    // A multipart without a boundary parameter: guess it and parse again.
    let fixed = body::guess_missing_boundary(&first, raw);
    let (message, raw) = match &fixed {
        Some((fixed_raw, boundary)) => match mime_parse(fixed_raw) {
            Ok(Some(m)) => {
                warnings.push(format!(
                    "mime: multipart without a boundary parameter; guessed \"{boundary}\" from the body"
                ));
                (m, fixed_raw.as_slice())
            }
            _ => (first, raw),
        },
        None => (first, raw),
    };
    // Bodies first: their charset is the fallback for raw 8-bit headers.
    let bodies = body::extract(&message, raw, opts, &mut warnings);
    let mut hdr = headers::extract(&message, raw, bodies.charset.as_deref(), &mut warnings);

    let dsn = dsn::detect(&message, &hdr, bodies.plain.as_deref());
    let from = match hdr.from.take() {
        Some(from) => Some(from),
        None if dsn.is_some() => None,
        None => return Err(ParseError::NoFrom),
    };

    // Bounded first (linear for any input): everything below reads only that.
    let bounded = bodies.html_source.as_deref().map(bound::bound);
    if let Some(b) = bounded.as_ref().filter(|b| b.dropped > 0) {
        warnings.push(format!(
            "html: {} tags over the limits of nesting or size were left out (their text is kept)",
            b.dropped
        ));
    }
    let forward = quote::is_forward_subject(&hdr.subject);
    let (full_text, text) = match (&bodies.plain, &bounded) {
        (Some(plain), _) => {
            let text = quote::strip(plain, forward);
            (plain.clone(), text)
        }
        (None, Some(bounded)) => {
            let full = html::to_text(&bounded.html, html::Mode::Full).text;
            let stripped = html::to_text(&bounded.html, html::Mode::StripQuotes);
            let base = if stripped.cut && !stripped.interleaved { stripped.text } else { full.clone() };
            let base = body::normalize(&base);
            let text = quote::strip(&base, forward);
            (full, text)
        }
        (None, None) => (String::new(), String::new()),
    };
    let text = if text.trim().is_empty() { full_text.clone() } else { text };

    let automatic = auto::detect(&hdr, from.as_ref(), dsn.is_some(), opts);
    let auth_results = auth::results(&hdr.raw, from.as_ref(), &opts.trusted_authserv_ids);
    // Sanitised by the daemon, with HTML from every other channel, before it is stored.
    let html = bounded.map(|b| b.html).filter(|h| !h.trim().is_empty());

    Ok(ParsedMail {
        message_id: hdr.message_id,
        from,
        reply_to: hdr.reply_to,
        to: hdr.to,
        cc: hdr.cc,
        delivered_to: hdr.delivered_to,
        subject: hdr.subject,
        in_reply_to: hdr.in_reply_to,
        references: hdr.references,
        date: hdr.date,
        content_language: hdr.content_language.or(bodies.content_language),
        text,
        full_text,
        html,
        attachments: bodies.attachments,
        automatic,
        dsn,
        auth_results,
        warnings,
    })
}
