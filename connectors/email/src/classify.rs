//! What the connector decides about a mail before the router sees it: relay it, refuse it
//! (with the reason counted), or record it as a bounce. Pure, so the fixture corpus checks the
//! exact decision the IMAP loop makes.

use c2c_core::{Envelope, OutboxId, RefusalReason};
use serde::Serialize;

use crate::address::{AddressHint, hint};
use crate::config::{EmailSettings, SenderAuth};
use crate::convert::envelope;
use crate::parse::{DsnRecipient, ParseOptions, ParsedMail, parse};

/// The connector's decision about one raw mail.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Submit this envelope (the router may still refuse it, e.g. a stranger).
    Relay { envelope: Box<Envelope> },
    /// Not relayed; counted under this reason.
    Refused { reason: RefusalReason, detail: String },
    /// A delivery status notification about a mail the bridge sent: that delivery failed.
    Bounce { seq: u64, entry: OutboxId, reason: String, failed_recipients: Vec<String> },
    /// A delivery status notification with nothing for the bridge to do (not ours, or only
    /// delays).
    BounceIgnored { detail: String },
}

/// The parse options the connector uses.
pub fn options(s: &EmailSettings) -> ParseOptions {
    ParseOptions {
        max_attachment_bytes: s.max_attachment_bytes,
        own_domains: vec![s.domain().to_ascii_lowercase()],
        trusted_authserv_ids: s.trusted_authserv_ids.clone(),
    }
}

/// Decide about `raw`. Returns the parsed mail too (for refusal replies).
pub fn classify(raw: &[u8], s: &EmailSettings) -> (Option<ParsedMail>, Outcome) {
    let mail = match parse(raw, &options(s)) {
        Ok(m) => m,
        Err(e) => return (None, Outcome::Refused { reason: RefusalReason::Malformed, detail: e.to_string() }),
    };
    let outcome = decide(&mail, raw, s);
    (Some(mail), outcome)
}

/// How much of a mail over the limit is read: its header and the start of its body, where a
/// delivery status notification keeps its report and the returned message's header (RFC 3464
/// orders the parts so).
pub const OVERSIZED_PEEK_BYTES: usize = 256 * 1024;

/// Decide about a mail of `size` bytes, over the limit, from its `start` alone (at most
/// [`OVERSIZED_PEEK_BYTES`]; the rest was never fetched). A delivery status notification is read
/// as usual from what is there (a bounce that returns a large mail whole is still a bounce).
/// Otherwise only the header counts: machine mail and authentication failures are refused as
/// usual; anything else goes to the router with [`Envelope::oversized`] set, so the sender is
/// identified first and, if a contact, refused as too large and told so (a stranger gets
/// nothing).
pub fn classify_oversized(start: &[u8], size: u64, s: &EmailSettings) -> (Option<ParsedMail>, Outcome) {
    let (mail, outcome) = classify(start, s);
    if matches!(outcome, Outcome::Bounce { .. } | Outcome::BounceIgnored { .. }) {
        return (mail, outcome);
    }
    let (mail, outcome) = classify(header_of(start), s);
    let outcome = match outcome {
        Outcome::Relay { mut envelope } => {
            envelope.oversized = Some(format!(
                "your mail is {}, more than the {} this bridge accepts, so it was not relayed; \
                 please send large files another way (for example as a link) and write again",
                human_bytes(size),
                human_bytes(s.max_mail_bytes as u64)
            ));
            Outcome::Relay { envelope }
        }
        other => other,
    };
    (mail, outcome)
}

/// The header of a raw mail, up to and including the blank line (all of it if there is none).
fn header_of(raw: &[u8]) -> &[u8] {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    };
    raw.get(..end).unwrap_or(raw)
}

/// `1.5 MiB`, `800 KiB`, `512 bytes`.
fn human_bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB))
    } else if f >= KIB {
        format!("{:.0} KiB", f / KIB)
    } else {
        format!("{n} bytes")
    }
}

fn decide(mail: &ParsedMail, raw: &[u8], s: &EmailSettings) -> Outcome {
    if let Some(dsn) = &mail.dsn {
        let Some(entry) = dsn.original_message_id.as_deref().and_then(|id| s.key.parse_email_message_id(id)) else {
            return Outcome::BounceIgnored { detail: "a bounce for a mail that is not the bridge's".into() };
        };
        let failed: Vec<&DsnRecipient> =
            dsn.recipients.iter().filter(|r| r.action.eq_ignore_ascii_case("failed")).collect();
        if failed.is_empty() {
            return Outcome::BounceIgnored { detail: "a delivery status notice without failures".into() };
        }
        // Anyone can quote a Message-ID they were sent; only a bounce that came to the return
        // path of that very delivery is about it (the receiving server's topmost Delivered-To
        // says where it came). A recipient knows their own return path, nobody else's.
        let Some(seq) = return_path_seq(mail, s, &entry) else {
            return Outcome::Refused {
                reason: RefusalReason::AuthenticationFailed,
                detail: format!("a bounce about delivery {entry} that did not come to its return path"),
            };
        };
        let reason = failed
            .iter()
            .map(|r| match &r.diagnostic {
                Some(d) => format!("{} {} ({d})", r.recipient, r.status),
                None => format!("{} {}", r.recipient, r.status),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let failed_recipients = failed
            .iter()
            .flat_map(|r| std::iter::once(r.recipient.clone()).chain(r.original_recipient.clone()))
            .collect();
        return Outcome::Bounce { seq, entry, reason: format!("bounced: {reason}"), failed_recipients };
    }
    if let Some(why) = &mail.automatic {
        return Outcome::Refused { reason: RefusalReason::Automatic, detail: format!("{why:?}") };
    }
    if let Some(detail) = unauthenticated(mail, s) {
        return Outcome::Refused { reason: RefusalReason::AuthenticationFailed, detail };
    }
    Outcome::Relay { envelope: Box::new(envelope(mail, raw, s)) }
}

/// The sequence number of `entry` if `mail` was delivered to that delivery's return path: the
/// topmost Delivered-To (or X-Original-To), which the bridge's own mail server wrote.
fn return_path_seq(mail: &ParsedMail, s: &EmailSettings, entry: &OutboxId) -> Option<u64> {
    let to = mail.delivered_to.first()?;
    let Some(Some(AddressHint::Partnership(detail))) = hint(to, s.local(), s.domain()) else { return None };
    s.key.verify_return_path(&detail, entry)
}

/// Why the From address of `mail` is not believed, if it is not. `auth_results` holds only
/// results of trusted headers, aligned with the From domain (see `parse::auth`). A recorded
/// failure always refuses (a pass of another method does not outweigh it: a forwarder can keep
/// an SPF pass while the signature broke). Under [`SenderAuth::Require`] a pass is needed, and
/// only from a named authserv-id: with none named, nothing passes.
fn unauthenticated(mail: &ParsedMail, s: &EmailSettings) -> Option<String> {
    if let Some(f) = mail.auth_results.iter().find(|r| r.result == "fail") {
        return Some(format!("{}={} for {}", f.method, f.result, f.domain));
    }
    if s.sender_auth == SenderAuth::IfPresent {
        return None;
    }
    let from = mail.from.as_ref().map_or("", |f| f.address.as_str());
    if s.trusted_authserv_ids.is_empty() {
        return Some(format!("no trusted authserv-id is configured, so nothing vouches for {from}"));
    }
    if mail.auth_results.iter().any(|r| r.result == "pass") {
        return None;
    }
    Some(format!("no dkim, spf or dmarc pass for the domain of {from} from {}", s.trusted_authserv_ids.join(", ")))
}
