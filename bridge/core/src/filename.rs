//! Attachment file names from outside, made safe to show and to save: every connector that
//! reads a file name from a sender (a MIME `filename`, a Matrix event's `filename` or `body`)
//! cleans it with [`clean_filename`] before the name travels any further.

/// The longest cleaned name, in bytes (what most file systems accept).
pub const MAX_FILENAME_BYTES: usize = 255;

/// A base name a recipient can save as is: the part after the last `/` or `\` (no directories),
/// control, line-separator and bidirectional-override characters turned into spaces, runs of
/// whitespace made one space, no leading dots (no hidden files, no `..`) and no surrounding
/// whitespace, at most [`MAX_FILENAME_BYTES`] bytes (cut at a character boundary). Empty when
/// nothing is left: the caller names the file itself.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::with_capacity(base.len().min(MAX_FILENAME_BYTES));
    let mut space = false;
    for c in base.chars() {
        if c.is_whitespace() || c.is_control() || is_invisible_direction(c) {
            space = !out.is_empty();
            continue;
        }
        if out.is_empty() && c == '.' {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if out.len() + c.len_utf8() > MAX_FILENAME_BYTES {
            break;
        }
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out
}

/// Characters that change the direction text is shown in, or are invisible marks: they can make
/// `invoice\u{202E}fdp.exe` look like `invoiceexe.pdf`.
fn is_invisible_direction(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
        || c == '\u{2028}'
        || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_dropped() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\x\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("plan.pdf"), "plan.pdf");
    }

    #[test]
    fn controls_and_direction_marks_become_one_space() {
        assert_eq!(clean_filename("in\u{202E}fdp.exe"), "in fdp.exe");
        assert_eq!(clean_filename("a\r\nb\u{7}\tc.txt"), "a b c.txt");
        assert_eq!(clean_filename("\u{1b}[31mred.txt"), "[31mred.txt");
        assert_eq!(clean_filename("  spaced   name .pdf  "), "spaced name .pdf");
    }

    #[test]
    fn leading_dots_go_and_dot_names_are_empty() {
        assert_eq!(clean_filename(".bashrc"), "bashrc");
        assert_eq!(clean_filename("... .hidden"), "hidden");
        assert_eq!(clean_filename(".."), "");
        assert_eq!(clean_filename("."), "");
        assert_eq!(clean_filename("dir/"), "");
        assert_eq!(clean_filename("a.b.c"), "a.b.c");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let clean = clean_filename(&long);
        assert!(clean.len() <= MAX_FILENAME_BYTES);
        assert_eq!(clean, "é".repeat(127));
        assert_eq!(clean_filename(&"a".repeat(300)).len(), 255);
    }

    #[test]
    fn the_cost_is_linear_in_the_name() {
        // One pass; a huge name is cut, not copied whole.
        let huge = format!("{}x", "/".repeat(1_000_000));
        assert_eq!(clean_filename(&huge), "x");
        assert_eq!(clean_filename(&"b".repeat(1_000_000)).len(), 255);
    }
}
