//! Is this mail machine-written? The bridge never relays nor answers those: no loops, no
//! backscatter.
//!
//! Checked in this order, the first match wins (see [`Automatic`] for each variant):
//! 1. a delivery status notification → `MailerDaemon`;
//! 2. our own mail: an `X-C2C-Bridge` header, or a Message-ID of the bridge's own form
//!    (`c2c.…@DOMAIN`, DOMAIN in `own_domains`) → `Ours`. Not the From or Message-ID domain
//!    alone: officers may well use the same mail domain as the bridge;
//! 3. From or Sender local part `MAILER-DAEMON` or `postmaster` → `MailerDaemon`;
//! 4. `Auto-Submitted` present and not `no` (RFC 3834); `X-Autoreply`, `X-Autorespond` (any value
//!    but `no`); `X-Auto-Response-Suppress` listing `All` or `OOF` (Exchange puts it on its own
//!    auto-replies) → `AutoSubmitted`;
//! 5. `Precedence: bulk | junk | list | auto_reply` → `Precedence`;
//! 6. `List-Id` or `List-Unsubscribe` → `ListMail`;
//! 7. an empty Return-Path (`<>`, the null reverse-path of bounces and RFC 3834 auto-replies)
//!    → `MailerDaemon`.

use super::headers::Headers;
use super::{Automatic, Mailbox, ParseOptions};

pub(crate) fn detect(hdr: &Headers, from: Option<&Mailbox>, is_dsn: bool, opts: &ParseOptions) -> Option<Automatic> {
    let raw = &hdr.raw;
    if is_dsn {
        return Some(Automatic::MailerDaemon);
    }

    let own = |domain: Option<&str>| {
        domain.is_some_and(|d| {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            opts.own_domains.iter().any(|o| o.trim().trim_start_matches(['@', '.']).eq_ignore_ascii_case(&d))
        })
    };
    let ours_id = hdr
        .message_id
        .as_deref()
        .is_some_and(|id| id.trim_start_matches('<').to_ascii_lowercase().starts_with("c2c.") && own(domain_of(id)));
    if raw.has("x-c2c-bridge") || ours_id {
        return Some(Automatic::Ours);
    }

    let daemon = |addr: &str| {
        let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
        local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
    };
    if from.is_some_and(|f| daemon(&f.address)) || hdr.sender.as_deref().is_some_and(daemon) {
        return Some(Automatic::MailerDaemon);
    }

    if let Some(v) = raw.get("auto-submitted").map(first_token)
        && !v.is_empty()
        && v != "no"
    {
        return Some(Automatic::AutoSubmitted(v));
    }
    for name in ["x-autoreply", "x-autorespond"] {
        if let Some(v) = raw.get(name) {
            let v = v.trim().to_ascii_lowercase();
            if v != "no" && v != "false" {
                return Some(Automatic::AutoSubmitted(format!("{name}: {v}")));
            }
        }
    }
    if let Some(v) = raw.get("x-auto-response-suppress") {
        let v = v.trim().to_ascii_lowercase();
        if v.split([',', ' ']).any(|t| t == "all" || t == "oof") {
            return Some(Automatic::AutoSubmitted(format!("x-auto-response-suppress: {v}")));
        }
    }

    if let Some(v) = raw.get("precedence").map(first_token)
        && matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply")
    {
        return Some(Automatic::Precedence(v));
    }

    if raw.has("list-id") || raw.has("list-unsubscribe") {
        return Some(Automatic::ListMail);
    }

    if raw
        .all("return-path")
        .next()
        .is_some_and(|v| v.trim().trim_start_matches('<').trim_end_matches('>').trim().is_empty())
    {
        return Some(Automatic::MailerDaemon);
    }
    None
}

/// The domain after the last `@`.
fn domain_of(addr: &str) -> Option<&str> {
    addr.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// The value up to a `;` parameter or a `(comment)`, trimmed, lowercased.
fn first_token(v: &str) -> String {
    v.split([';', '(']).next().unwrap_or_default().trim().to_ascii_lowercase()
}
