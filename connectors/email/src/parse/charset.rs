//! Charset labels and lenient decoders.
//!
//! `mail-parser` (with `full_encoding`) already decodes every charset we care about, TIS-620 and
//! windows-874 included (checked in its `charsets/map.rs`; see the `thai` test below), and falls
//! back to lossy UTF-8 for labels it does not know. What it does not do is *tell*: this module
//! lets the parser warn about unknown labels, and decodes by hand the parts it gave up on (bad
//! base64, a missing closing boundary), skipping invalid characters like mail clients do.

use mail_parser::decoders::charsets::map::charset_decoder;

/// `utf-8` and its aliases (`mail-parser` has no decoder entry for them: it uses UTF-8 directly).
pub(crate) fn is_utf8(label: &str) -> bool {
    let l: String = label.trim().chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
    matches!(l.as_str(), "utf8" | "unicode11utf8" | "unicode20utf8" | "xunicode20utf8")
}

/// A label we can decode.
pub(crate) fn is_known(label: &str) -> bool {
    is_utf8(label) || charset_decoder(label.trim().as_bytes()).is_some()
}

/// A known charset in which ASCII bytes mean ASCII (so a whole header section can be decoded
/// with it without breaking encoded words and field names).
pub(crate) fn is_ascii_compatible(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    is_known(&l)
        && !is_utf8(&l)
        && !(l.starts_with("utf")
            || l.contains("2022")
            || l.contains("ucs")
            || l.contains("unicode")
            || l.starts_with("hz"))
}

/// Decodes bytes with a charset label; `(text, label was unknown)`. Unknown labels and missing
/// labels decode as lossy UTF-8.
pub(crate) fn decode(bytes: &[u8], label: Option<&str>) -> (String, bool) {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if !is_utf8(l) => match charset_decoder(l.as_bytes()) {
            Some(decoder) => (decoder(bytes), false),
            None => (String::from_utf8_lossy(bytes).into_owned(), true),
        },
        _ => (String::from_utf8_lossy(bytes).into_owned(), false),
    }
}

/// The charset labels of the RFC 2047 encoded words in a header section (`=?LABEL?Q?...?=`),
/// lowercased, deduplicated, RFC 2231 language suffixes (`*en`) removed.
pub(crate) fn encoded_word_charsets(section: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = section;
    while let Some(pos) = rest.windows(2).position(|w| w == b"=?").filter(|_| out.len() < 32) {
        rest = rest.get(pos + 2..).unwrap_or_default();
        let end = rest.iter().position(|b| matches!(b, b'?' | b'\n' | b' ')).unwrap_or(rest.len());
        let label = rest.get(..end).unwrap_or_default();
        // A real encoded word: LABEL?Q? or LABEL?B?
        let is_word = rest.get(end) == Some(&b'?')
            && rest.get(end + 1).is_some_and(|b| matches!(b, b'q' | b'Q' | b'b' | b'B'))
            && rest.get(end + 2) == Some(&b'?');
        if is_word && (2..=64).contains(&label.len()) {
            let label = String::from_utf8_lossy(label).to_ascii_lowercase();
            let label = label.split('*').next().unwrap_or_default().to_string();
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

/// Lenient base64; `(bytes, had invalid characters)`. Encoders write whole 4-character groups
/// per line, so lines with characters outside the alphabet (a gateway's "corrupted" note, a
/// stray header) are dropped whole; if no line is clean, invalid characters are skipped instead.
/// Whitespace and `=` never count as invalid.
pub(crate) fn base64_lenient(input: &[u8]) -> (Vec<u8>, bool) {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty()).collect();
    let clean: Vec<&[u8]> = lines.iter().copied().filter(|l| l.iter().all(is_b64)).collect();
    if clean.is_empty() || clean.len() == lines.len() {
        return base64_skipping(input);
    }
    let (bytes, _) = base64_skipping(&clean.concat());
    (bytes, true)
}

/// Base64 that skips every character outside the alphabet.
fn base64_skipping(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut invalid = false;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => {
                invalid = true;
                continue;
            }
        };
        acc = ((acc << 6) | u32::from(v)) & 0xFF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    (out, invalid)
}

/// Quoted-printable that keeps malformed `=` sequences as they are.
pub(crate) fn qp_lenient(input: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'=' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\n'), _) => i += 2,
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    out.push(hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0));
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thai_is_supported() {
        // ภาษาไทย in TIS-620 / windows-874 (0xA1–0xFB → U+0E01–U+0E5B).
        let bytes = b"\xc0\xd2\xc9\xd2\xe4\xb7\xc2";
        for label in ["tis-620", "TIS-620", "windows-874", "iso-8859-11"] {
            assert_eq!(decode(bytes, Some(label)), ("ภาษาไทย".to_string(), false), "{label}");
        }
    }

    #[test]
    fn labels() {
        assert!(is_known("UTF-8") && is_known("gb2312") && is_known("Big5") && is_known("ks_c_5601-1987"));
        assert!(!is_known("x-bogus"));
        assert!(is_ascii_compatible("gbk") && !is_ascii_compatible("iso-2022-jp") && !is_ascii_compatible("utf-16"));
        assert_eq!(decode(b"caf\xe9", Some("x-bogus")), ("caf\u{FFFD}".to_string(), true));
    }

    #[test]
    fn encoded_words() {
        let h = b"Subject: =?GB2312?B?xOO6ww==?= =?x-bogus*en?Q?a?= a=?b\nFrom: =?utf-8?q?x?= <a@b>\n";
        assert_eq!(encoded_word_charsets(h), vec!["gb2312", "x-bogus", "utf-8"]);
    }

    #[test]
    fn lenient_decoders() {
        assert_eq!(base64_lenient(b"aGVsbG8g!!!d29ybGQ="), (b"hello world".to_vec(), true));
        assert_eq!(
            base64_lenient(b"aGVsbG8g\r\n!! corrupted by a gateway !!\r\nd29ybGQ=\r\n"),
            (b"hello world".to_vec(), true)
        );
        assert_eq!(base64_lenient(b"aGVs\r\nbG8="), (b"hello".to_vec(), false));
        assert_eq!(qp_lenient(b"caf=C3=A9 =ZZ soft=\nbreak="), "café =ZZ softbreak=".as_bytes());
    }
}
