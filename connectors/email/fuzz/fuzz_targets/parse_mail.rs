//! Fuzz target: any bytes → `c2c_email::parse::parse` must not panic, and what it returns must
//! hold together (serialisable, no control characters in header-derived strings, attachment
//! contents within the limit, a non-empty `text` whenever `full_text` is non-empty).
//!
//! mail-parser 0.11.9 has `debug_assert!`s on some malformed MIME trees (panics in debug builds,
//! and cargo-fuzz builds with debug assertions); `parse` runs mail-parser under `catch_unwind` and
//! degrades. libfuzzer-sys's panic hook would abort before that unwinding, so panics *located in
//! mail-parser's source* are let through to `parse` (each location reported once on stderr);
//! every other panic, ours included, still aborts and is a crash.
#![no_main]

use c2c_email::parse::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::sync::{Mutex, Once};

fn let_upstream_panics_unwind() {
    static HOOK: Once = Once::new();
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    HOOK.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            if location.contains("/mail-parser-") {
                let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
                if seen.get_or_insert_with(HashSet::new).insert(location) {
                    eprintln!("upstream mail-parser panic, caught by parse(): {info}");
                }
                return;
            }
            abort_hook(info);
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_upstream_panics_unwind();
    let opts = ParseOptions {
        max_attachment_bytes: 1024,
        own_domains: vec!["c2c.test".into()],
        trusted_authserv_ids: vec!["mail.c2c.test".into()],
    };
    let Ok(mail) = parse(data, &opts) else { return };
    // Touch every field.
    let json = serde_json::to_string(&mail).expect("ParsedMail serialises");
    assert!(!json.is_empty());

    let clean = |s: &str| !s.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}');
    assert!(clean(&mail.subject), "subject {:?}", mail.subject);
    for m in mail.from.iter().chain(mail.reply_to.iter()) {
        assert!(clean(&m.address) && !m.address.is_empty(), "address {:?}", m.address);
        assert!(m.name.as_deref().is_none_or(clean), "name {:?}", m.name);
    }
    for s in mail.to.iter().chain(&mail.cc).chain(&mail.delivered_to).chain(&mail.in_reply_to).chain(&mail.references) {
        assert!(clean(s), "{s:?}");
    }
    assert!(mail.message_id.as_deref().is_none_or(clean));
    assert!(mail.content_language.as_deref().is_none_or(clean));
    for a in &mail.attachments {
        assert!(clean(&a.filename) && !a.filename.contains(['/', '\\']), "filename {:?}", a.filename);
        if let Some(c) = &a.content {
            assert!(c.len() == a.size && a.size <= opts.max_attachment_bytes);
        }
    }
    if let Some(dsn) = &mail.dsn {
        for r in &dsn.recipients {
            assert!(clean(&r.recipient) && clean(&r.status) && clean(&r.action));
            assert!(r.diagnostic.as_deref().is_none_or(clean));
        }
    }
    assert!(mail.from.is_some() || mail.dsn.is_some());
    assert!(mail.full_text.trim().is_empty() || !mail.text.trim().is_empty(), "text stripped to nothing");
    assert!(!mail.text.contains('\r') && !mail.full_text.contains('\r'));
    let _ = (&mail.html, &mail.automatic, &mail.auth_failures, &mail.warnings, mail.date);
});
