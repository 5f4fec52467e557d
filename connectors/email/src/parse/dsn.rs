//! Delivery status notifications: which of our mails bounced, for whom, why.
//!
//! - **RFC 3464** (Postfix, Exchange, Gmail...): a `multipart/report;
//!   report-type=delivery-status` (or `global-delivery-status`, RFC 6533) anywhere in the
//!   message. The `message/delivery-status` part is read as field blocks (folded lines joined):
//!   each block with a `Final-Recipient` (else `Original-Recipient`) is one recipient with its
//!   `Action`, `Status` and `Diagnostic-Code` (its `smtp;` type removed). The original
//!   Message-ID comes from the returned `message/rfc822` (or `message/global`) part or the
//!   `text/rfc822-headers` part.
//! - **Plain-text bounces** (Exim, qmail, old Postfix), only when From is `MAILER-DAEMON` or
//!   `postmaster`: recipients are lines `<addr>: diagnostic` (qmail, Postfix) or indented
//!   addresses after "following address(es) failed:" (Exim), each with the indented lines after
//!   it as diagnostic; the status is the first `X.Y.Z` code found in the diagnostic (else
//!   `5.0.0`); the original Message-ID is that of an attached message, else the first
//!   `Message-ID:` line of the returned copy in the text. Recognised only if at least a
//!   recipient or the original Message-ID is found.

use super::headers::{self, Headers};
use super::{Dsn, DsnRecipient};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

pub(crate) fn detect(message: &Message<'_>, hdr: &Headers, plain: Option<&str>) -> Option<Dsn> {
    rfc3464(message).or_else(|| plain_bounce(message, hdr, plain))
}

fn ct_is(part: &MessagePart<'_>, ty: &str, subs: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ty)
            && ct.subtype().is_some_and(|s| subs.iter().any(|x| s.eq_ignore_ascii_case(x)))
    })
}

fn rfc3464(message: &Message<'_>) -> Option<Dsn> {
    let report = message.parts.iter().find(|p| {
        ct_is(p, "multipart", &["report"])
            && p.content_type().and_then(|ct| ct.attribute("report-type")).is_some_and(|r| {
                r.eq_ignore_ascii_case("delivery-status") || r.eq_ignore_ascii_case("global-delivery-status")
            })
    })?;
    let children: Vec<&MessagePart<'_>> = match &report.body {
        PartType::Multipart(ids) => ids.iter().filter_map(|id| message.parts.get(*id as usize)).collect(),
        _ => Vec::new(),
    };
    let mut recipients = Vec::new();
    for part in children.iter().filter(|p| ct_is(p, "message", &["delivery-status", "global-delivery-status"])) {
        recipients.extend(status_fields(&String::from_utf8_lossy(part.contents())));
    }
    let original_message_id = children.iter().find_map(|p| original_id(p));
    Some(Dsn { original_message_id, recipients })
}

/// The Message-ID of a returned message or returned headers part.
fn original_id(part: &MessagePart<'_>) -> Option<String> {
    if let PartType::Message(m) = &part.body {
        return m.message_id().and_then(headers::clean_id);
    }
    if ct_is(part, "message", &["rfc822", "global"]) || ct_is(part, "text", &["rfc822-headers"]) {
        let bytes = part.contents();
        let mut owned = bytes.to_vec();
        owned.extend_from_slice(b"\n\n");
        return super::headers_parse(&owned).and_then(|m| m.message_id().and_then(headers::clean_id));
    }
    None
}

/// Per-recipient field blocks of a message/delivery-status body.
fn status_fields(body: &str) -> Vec<DsnRecipient> {
    let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in body.replace("\r\n", "\n").split('\n') {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(Vec::new());
            }
            continue;
        }
        let Some(block) = blocks.last_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    blocks
        .iter()
        .filter_map(|block| {
            let get = |name: &str| block.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let address = |field: &str| {
                let value = get(field)?;
                headers::clean_address(value.split_once(';').map_or(value, |(_, a)| a))
            };
            let original = address("original-recipient");
            let recipient = address("final-recipient").or_else(|| original.clone())?;
            let original_recipient = original.filter(|o| *o != recipient);
            let action = get("action").map(|a| clean(a).to_ascii_lowercase()).filter(|a| !a.is_empty());
            let status = get("status").and_then(|s| s.split_whitespace().next()).map(clean).unwrap_or_default();
            let diagnostic = get("diagnostic-code")
                .map(|d| d.split_once(';').map_or(d, |(_, rest)| rest))
                .map(clean)
                .filter(|d| !d.is_empty());
            Some(DsnRecipient {
                recipient,
                original_recipient,
                action: action.unwrap_or_else(|| "unknown".into()),
                status,
                diagnostic,
            })
        })
        .collect()
}

fn clean(s: &str) -> String {
    headers::clean_line(s).0
}

fn plain_bounce(message: &Message<'_>, hdr: &Headers, plain: Option<&str>) -> Option<Dsn> {
    let daemon = |addr: &str| {
        let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
        local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
    };
    if !hdr.from.as_ref().is_some_and(|f| daemon(&f.address)) {
        return None;
    }
    let text = plain.unwrap_or_default();
    let lines: Vec<&str> = text.split('\n').collect();

    let mut recipients = Vec::new();
    let mut exim_list = false;
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let lower = line.to_ascii_lowercase();
        if lower.contains("address(es) failed") || lower.contains("addresses failed") {
            exim_list = true;
            i += 1;
            continue;
        }
        let trimmed = line.trim();
        let (addr, first_diag) = if let Some((addr, rest)) = angle_recipient(line) {
            (addr, rest.trim().to_string())
        } else if exim_list && is_exim_address(line) {
            (trimmed.trim_start_matches('<').trim_end_matches(['>', ':']), String::new())
        } else {
            if trimmed.is_empty() && !recipients.is_empty() {
                exim_list = false;
            }
            i += 1;
            continue;
        };
        // The diagnostic: the following lines up to a blank line or the next recipient.
        let mut diag = first_diag;
        let mut j = i + 1;
        while let Some(next) = lines.get(j) {
            if next.trim().is_empty() || angle_recipient(next).is_some() || (exim_list && is_exim_address(next)) {
                break;
            }
            diag.push(' ');
            diag.push_str(next.trim());
            j += 1;
        }
        if let Some(recipient) = headers::clean_address(addr) {
            let diag = clean(&diag);
            let status = status_code(&diag);
            let action = if status.starts_with('4') { "delayed" } else { "failed" };
            recipients.push(DsnRecipient {
                recipient,
                original_recipient: None,
                action: action.into(),
                status,
                diagnostic: (!diag.is_empty()).then_some(diag),
            });
        }
        i = j;
    }

    let attached = message.attachments().find_map(original_id);
    let original_message_id = attached.or_else(|| {
        lines.iter().find_map(|l| {
            let t = l.trim_start();
            let (name, value) = t.split_once(':')?;
            name.eq_ignore_ascii_case("message-id").then(|| headers::clean_id(value)).flatten()
        })
    });
    (!recipients.is_empty() || original_message_id.is_some()).then_some(Dsn { original_message_id, recipients })
}

/// qmail / Postfix: `<addr>:` or `<addr>: diagnostic` at the start of a line.
fn angle_recipient(line: &str) -> Option<(&str, &str)> {
    let (addr, rest) = line.strip_prefix('<')?.split_once(">:")?;
    (addr.contains('@') && !addr.contains(char::is_whitespace)).then_some((addr, rest))
}

/// Exim: an indented bare address (in the list after "address(es) failed:").
fn is_exim_address(line: &str) -> bool {
    let t = line.trim();
    line.starts_with([' ', '\t']) && t.contains('@') && !t.contains(char::is_whitespace)
}

/// The first enhanced status code (`5.1.1`) in a diagnostic, else from a basic reply code
/// (`550` → `5.0.0`), else `5.0.0`.
fn status_code(diag: &str) -> String {
    let tokens: Vec<&str> = diag.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|t| !t.is_empty()).collect();
    for t in &tokens {
        let parts: Vec<&str> = t.trim_matches('.').split('.').collect();
        if parts.len() == 3
            && matches!(parts.first(), Some(&("2" | "4" | "5")))
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return parts.join(".");
        }
    }
    for t in &tokens {
        if t.len() == 3 && (t.starts_with('4') || t.starts_with('5')) && t.bytes().all(|b| b.is_ascii_digit()) {
            return format!("{}.0.0", t.get(..1).unwrap_or("5"));
        }
    }
    "5.0.0".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let body = "Reporting-MTA: dns; mx.x\n\nFinal-Recipient: rfc822; Jo@X.org\nAction: failed\nStatus: 5.1.1 (bad)\nDiagnostic-Code: smtp; 550 5.1.1 <jo@x.org>:\n    User unknown\n";
        let r = status_fields(body);
        assert_eq!(
            r,
            vec![DsnRecipient {
                recipient: "jo@x.org".into(),
                original_recipient: None,
                action: "failed".into(),
                status: "5.1.1".into(),
                diagnostic: Some("550 5.1.1 <jo@x.org>: User unknown".into()),
            }]
        );
    }

    #[test]
    fn an_expanded_alias_keeps_its_original_recipient() {
        let body = "Original-Recipient: rfc822;Jo@leeds.gov.uk\nFinal-Recipient: rfc822; jo.smith@mail.leeds.gov.uk\nAction: failed\nStatus: 5.2.2\n\nOriginal-Recipient: rfc822;li@x.org\nFinal-Recipient: rfc822;LI@x.org\nAction: failed\nStatus: 5.1.1\n";
        let r = status_fields(body);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].recipient, "jo.smith@mail.leeds.gov.uk");
        assert_eq!(r[0].original_recipient.as_deref(), Some("jo@leeds.gov.uk"));
        assert_eq!(r[1].recipient, "li@x.org");
        assert_eq!(r[1].original_recipient, None);
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("host said: 550-5.1.1 The email account does not exist"), "5.1.1");
        assert_eq!(status_code("451 try later"), "4.0.0");
        assert_eq!(status_code("mailbox unavailable"), "5.0.0");
    }
}
