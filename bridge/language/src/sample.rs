//! The part of a text the detector looks at: a bounded prefix with obvious noise removed.

/// At most this many characters of a text are looked at, so huge bodies cost little.
pub const MAX_CHARS: usize = 2_000;

/// A cleaned prefix of a text and how many letters it holds.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    pub text: String,
    /// Letters (alphabetic characters, see [`is_letter`]) in `text`.
    pub letters: usize,
}

impl Sample {
    /// The first [`MAX_CHARS`] characters of `text` (cut on a character boundary), without URLs,
    /// email addresses and runs with no letters (numbers, dates, emoji, punctuation).
    ///
    /// Whitespace-separated tokens are split further into runs of ASCII and non-ASCII characters,
    /// so a URL glued to Chinese text (`见https://x.cn/a。`) goes while the Chinese stays.
    pub fn new(text: &str) -> Sample {
        let prefix = match text.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        let mut sample = Sample { text: String::with_capacity(prefix.len()), letters: 0 };
        for token in prefix.split_whitespace() {
            let before = sample.text.len();
            let mut start = 0;
            let mut ascii = token.starts_with(|c: char| c.is_ascii());
            for (i, c) in token.char_indices() {
                if c.is_ascii() != ascii {
                    sample.push_run(&token[start..i], ascii);
                    start = i;
                    ascii = !ascii;
                }
            }
            sample.push_run(&token[start..], ascii);
            if sample.text.len() > before {
                sample.text.push(' ');
            }
        }
        sample
    }

    fn push_run(&mut self, run: &str, ascii: bool) {
        let letters = run.chars().filter(|&c| is_letter(c)).count();
        if letters == 0 || (ascii && is_address(run)) {
            return;
        }
        self.letters += letters;
        self.text.push_str(run);
    }
}

/// `char::is_alphabetic`, with fast paths for the common blocks (its table search costs ~20 ns a
/// character, more than whatlang itself on Han text).
fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        '\0'..='\u{7f}' | '×' | '÷' => false,
        'À'..='ɏ'                 // Latin-1 letters, Latin Extended-A and -B
        | 'Ѐ'..='ӿ'               // Cyrillic
        | '\u{3041}'..='\u{3096}' // Hiragana
        | '\u{30a1}'..='\u{30fa}' // Katakana
        | '\u{4e00}'..='\u{9fff}' // CJK Unified Ideographs
        | '\u{ac00}'..='\u{d7a3}' // Hangul syllables
        => !matches!(c, '\u{482}'..='\u{489}'),
        _ => c.is_alphabetic(),
    }
}

/// A URL or an email address (an ASCII run).
fn is_address(run: &str) -> bool {
    run.contains("://") || run.contains("www.") || run.find('@').is_some_and(|at| at > 0 && run[at + 1..].contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_urls_emails_and_numbers() {
        let s = Sample::new(
            "Please see https://leeds.gov.uk/mou?id=3 and write to jo.smith@leeds.gov.uk by 2025-03-01 (10:00) 🙂",
        );
        assert_eq!(s.text, "Please see and write to by ");
        assert_eq!(s.letters, 21);
    }

    #[test]
    fn keeps_non_ascii_text_around_a_url() {
        let s = Sample::new("详见https://example.cn/a。谢谢 www.example.org");
        assert_eq!(s.text, "详见。谢谢 ");
        assert_eq!(s.letters, 4);
    }

    #[test]
    fn mentions_without_a_domain_stay() {
        assert_eq!(Sample::new("@jo thanks").text, "@jo thanks ");
    }

    #[test]
    fn fast_letter_test_agrees_with_the_standard_library() {
        let ranges = ['\0'..='\u{2fff}', '\u{3000}'..='\u{a000}', '\u{ac00}'..='\u{d7ff}'];
        for c in ranges.into_iter().flatten() {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn no_letters() {
        for text in ["", "   ", "12345", "2025-03-01 10:00", "🙂🎉", "+86 571 1234 5678", "..."] {
            let s = Sample::new(text);
            assert_eq!(s.letters, 0, "{text:?}");
            assert!(s.text.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn bounded_prefix_cut_on_a_char_boundary() {
        let long = "图书馆".repeat(5_000);
        let s = Sample::new(&long);
        assert_eq!(s.letters, MAX_CHARS);
        let latin = "abc ".repeat(10_000);
        assert!(Sample::new(&latin).letters <= MAX_CHARS);
    }
}
