//! Fuzz target: any bytes as HTML, down every path HTML takes in the bridge. Bounded
//! (`c2c_email::parse::bound::bound`), then sanitised by ammonia as the daemon does, and, inside
//! an HTML-only mail, rendered as text by the email parser. Nothing may panic; the bounded HTML
//! must be well-formed (every end tag closes the innermost open element, nothing left open) and
//! within its limits; and no input may be slow: run with libFuzzer's `-timeout` (README), so an
//! input that takes longer is a reported failure. That is the check that finds super-linear
//! cost: html5ever given raw HTML takes seconds for 200 KB of some start tags.
#![no_main]

use c2c_email::parse::bound::{LIMITS, bound};
use c2c_email::parse::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;

/// Check `html` is what `bound` promises: tags of the form `<name ...>` / `</name>`, properly
/// nested, at most `LIMITS.depth` deep and `LIMITS.elements` in all, no `<` in text.
fn well_formed(html: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut elements = 0;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let gt = rest[lt..].find('>').map(|p| lt + p).expect("a tag is closed with `>`");
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "an end tag closes the innermost element: {html}");
            continue;
        }
        let name = tag.split(' ').next().unwrap();
        assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{tag:?}");
        elements += 1;
        if !matches!(name, "area" | "br" | "col" | "hr" | "img" | "wbr") {
            stack.push(name);
            assert!(stack.len() <= LIMITS.depth);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
    assert!(elements <= LIMITS.elements);
}

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let bounded = bound(&html);
    well_formed(&bounded.html);
    // Bounding what is bounded changes nothing.
    assert_eq!(bound(&bounded.html).html, bounded.html);
    let _ = ammonia::clean(&bounded.html);

    let mail = format!("From: jo@leeds.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}");
    let opts = ParseOptions { max_attachment_bytes: 1024, own_domains: vec!["c2c.test".into()], ..Default::default() };
    if let Ok(parsed) = parse(mail.as_bytes(), &opts) {
        assert!(!parsed.text.contains('\r'));
    }
});
