//! The email corpus: every `tests/fixtures/NAME.eml` is parsed with the same [`ParseOptions`]
//! and compared with `NAME.json` (the [`ParsedMail`] as pretty JSON, attachments without bytes;
//! or `{"error": "..."}`).
//!
//! Regenerate the golden files with `UPDATE_EXPECT=1 cargo test -p c2c-email --test corpus`,
//! then review every diff by eye: the golden files are only as good as that review.
//!
//! The other tests here feed the parser truncations, byte flips and deterministic garbage derived
//! from the fixtures and check it neither panics nor breaks its invariants (no control characters
//! in header-derived strings, never an empty `text` for a non-empty `full_text`, attachment
//! contents within the limit).

use c2c_email::parse::{ParseOptions, ParsedMail, parse};
use std::path::{Path, PathBuf};

fn opts() -> ParseOptions {
    ParseOptions {
        max_attachment_bytes: 1024,
        own_domains: vec!["c2c.test".into()],
        trusted_authserv_ids: vec!["mail.c2c.test".into()],
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

fn render(raw: &[u8]) -> String {
    let json = match parse(raw, &opts()) {
        Ok(mail) => serde_json::to_string_pretty(&mail),
        Err(e) => serde_json::to_string_pretty(&serde_json::json!({ "error": e.to_string() })),
    };
    json.unwrap() + "\n"
}

#[test]
fn corpus_matches_golden_files() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let files = fixtures();
    assert!(files.len() >= 30, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for eml in &files {
        let raw = std::fs::read(eml).unwrap();
        let actual = render(&raw);
        let golden = eml.with_extension("json");
        if update {
            std::fs::write(&golden, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        let same = match (
            serde_json::from_str::<serde_json::Value>(&expected),
            serde_json::from_str::<serde_json::Value>(&actual),
        ) {
            (Ok(e), Ok(a)) => e == a,
            _ => false,
        };
        if !same {
            failures.push(format!("--- {}\n=== expected\n{expected}\n=== actual\n{actual}", golden.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ (UPDATE_EXPECT=1 to regenerate):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Invariants that hold for every mail, whatever the input.
fn check_invariants(mail: &ParsedMail, limit: usize, what: &str) {
    let clean = |s: &str, field: &str| {
        assert!(
            !s.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}'),
            "{what}: control char in {field}: {s:?}"
        );
    };
    clean(&mail.subject, "subject");
    for m in mail.from.iter().chain(mail.reply_to.iter()) {
        clean(&m.address, "address");
        assert!(!m.address.is_empty(), "{what}: empty address");
        if let Some(n) = &m.name {
            clean(n, "display name");
        }
    }
    for s in mail.to.iter().chain(&mail.cc).chain(&mail.delivered_to).chain(&mail.in_reply_to).chain(&mail.references) {
        clean(s, "address/id list");
    }
    for s in mail.message_id.iter().chain(mail.content_language.iter()) {
        clean(s, "message id / language");
    }
    for a in &mail.attachments {
        clean(&a.filename, "filename");
        assert!(!a.filename.contains(['/', '\\']), "{what}: path in filename {:?}", a.filename);
        if let Some(c) = &a.content {
            assert_eq!(c.len(), a.size, "{what}: size");
            assert!(a.size <= limit, "{what}: content over the limit");
        }
    }
    if let Some(dsn) = &mail.dsn {
        for r in &dsn.recipients {
            clean(&r.recipient, "dsn recipient");
            clean(&r.status, "dsn status");
            if let Some(d) = &r.diagnostic {
                clean(d, "dsn diagnostic");
            }
        }
        if let Some(id) = &dsn.original_message_id {
            clean(id, "dsn original id");
        }
    }
    for f in &mail.auth_results {
        clean(&f.domain, "auth domain");
    }
    assert!(mail.from.is_some() || mail.dsn.is_some(), "{what}: no From and no DSN");
    assert!(mail.full_text.trim().is_empty() || !mail.text.trim().is_empty(), "{what}: text stripped to nothing");
    for s in [&mail.text, &mail.full_text] {
        assert!(!s.contains('\r') && !s.lines().any(|l| l != l.trim_end()), "{what}: text not normalised");
    }
    serde_json::to_string(mail).unwrap();
}

fn parse_checked(raw: &[u8], what: &str) {
    if let Ok(mail) = parse(raw, &opts()) {
        check_invariants(&mail, opts().max_attachment_bytes, what);
    }
}

#[test]
fn corpus_invariants() {
    for eml in fixtures() {
        let raw = std::fs::read(&eml).unwrap();
        parse_checked(&raw, &eml.display().to_string());
    }
}

#[test]
fn truncations_never_panic() {
    for eml in fixtures() {
        let raw = std::fs::read(&eml).unwrap();
        let step = (raw.len() / 150).max(1);
        for len in (0..=raw.len()).step_by(step) {
            parse_checked(&raw[..len], &format!("{} truncated to {len}", eml.display()));
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    const VALUES: [u8; 6] = [0x00, 0xFF, b'\n', b'=', b'-', b'<'];
    for eml in fixtures() {
        let raw = std::fs::read(&eml).unwrap();
        let step = (raw.len() / 100).max(1);
        for (n, pos) in (0..raw.len()).step_by(step).enumerate() {
            let mut m = raw.clone();
            m[pos] = VALUES[n % VALUES.len()];
            parse_checked(&m, &format!("{} with byte {pos} set to {:#04x}", eml.display(), m[pos]));
        }
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn splices_and_garbage_never_panic() {
    let corpus: Vec<Vec<u8>> = fixtures().iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut rng = Rng(0x00C2_C0B1_D6E5);
    for round in 0..600 {
        let a = &corpus[rng.below(corpus.len())];
        let b = &corpus[rng.below(corpus.len())];
        let input: Vec<u8> = match round % 4 {
            // Head of one mail, tail of another (MIME boundaries and headers collide).
            0 => {
                let (i, j) = (rng.below(a.len()), rng.below(b.len()));
                a[..i].iter().chain(&b[j..]).copied().collect()
            }
            // A chunk duplicated (repeated boundaries, headers).
            1 => {
                let (i, n) = (rng.below(a.len()), rng.below(400));
                let end = (i + n).min(a.len());
                a[..end].iter().chain(&a[i..]).copied().collect()
            }
            // A chunk deleted.
            2 => {
                let (i, n) = (rng.below(a.len()), rng.below(200));
                let end = (i + n).min(a.len());
                a[..i].iter().chain(&a[end..]).copied().collect()
            }
            // Headers of a mail, then random bytes.
            _ => {
                let head = a.windows(4).position(|w| w == b"\r\n\r\n").map_or(a.len() / 2, |p| p + 4);
                let n = rng.below(3000);
                a[..head].iter().copied().chain((0..n).map(|_| rng.next() as u8)).collect()
            }
        };
        parse_checked(&input, &format!("splice round {round}"));
    }
    for n in 0..300 {
        let bytes: Vec<u8> = (0..rng.below(2000)).map(|_| rng.next() as u8).collect();
        parse_checked(&bytes, &format!("random buffer {n}"));
    }
}

#[test]
fn deep_nesting_and_huge_headers_never_panic() {
    // 5,000 nested multiparts, each with its own boundary.
    let mut m = String::from("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    for i in 0..5000 {
        m.push_str(&format!("--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n", i + 1));
    }
    m.push_str("--b5000\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
    parse_checked(m.as_bytes(), "deep multipart");
    // 30,000 nested blockquotes and divs in an HTML-only mail (html5ever would take minutes).
    let html = format!("{}x{}", "<blockquote type=cite><div>".repeat(30000), "</div></blockquote>".repeat(30000));
    let m = format!("From: a@b.c\r\nContent-Type: text/html\r\n\r\n{html}");
    parse_checked(m.as_bytes(), "deep html");
    // A 200 KB folded References header and 10,000 To addresses.
    let refs: String = (0..5000).map(|i| format!(" <id{i}@x.example>\r\n")).collect();
    let to: String = (0..10000).map(|i| format!("u{i}@x.example")).collect::<Vec<_>>().join(",\r\n ");
    let m = format!("From: a@b.c\r\nReferences:{refs}To: {to}\r\n\r\nbody");
    parse_checked(m.as_bytes(), "huge headers");
}
