//! Whether a post is a command to the bridge (`/close`, `/snooze 3d`, ...), handled and answered
//! by the bridge instead of being relayed.
//!
//! Only the first non-empty line of the new text counts: quoted lines (`> ...`, the history a
//! client puts above or below a reply) are skipped, and whatever follows the command line (a
//! signature) is ignored. A slash followed by a word we do not know (`/etc/hosts is broken`)
//! is an ordinary post: we must never swallow a real message. A known word with wrong arguments
//! is [`Parsed::Invalid`], so the officer gets a usage line back instead of silence.
//!
//! Clients add invisible characters around what officers type: Matrix clients a leading zero-width
//! or non-breaking space, right-to-left texts (ours in Arabic among them) bidirectional marks
//! around a copied command. They count as spaces here.
//!
//! The work is linear in the text's size: lines are scanned once up to the first that counts,
//! and a line longer than 1,000 characters is no command.

use std::time::Duration;

/// A command line longer than this (in characters, after trimming) is an ordinary post, so
/// that a huge first line costs no more than this to look at.
const MAX_LINE_CHARS: usize = 1_000;

/// The longest `/snooze`: a year is as far ahead as a reminder can sensibly be put off.
const MAX_SNOOZE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const USAGE_CLOSE: &str = "usage: /close (no arguments)";
const USAGE_REOPEN: &str = "usage: /reopen (no arguments)";
const USAGE_STATUS: &str = "usage: /status (no arguments)";
const USAGE_SNOOZE: &str = "usage: /snooze DURATION (at most 365d), e.g. /snooze 3d";
const USAGE_DONE: &str = "usage: /done DELIVERABLE-ID, e.g. /done final-report";
const USAGE_WHO: &str = "usage: /who CITY [TOPIC], e.g. /who leeds libraries";

/// What an officer asked the bridge to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The conversation needs no (more) reply: stop reminding.
    Close,
    /// Undo a `/close`.
    Reopen,
    /// Put the conversation's reminders off for this long (more than zero, at most 365 days).
    Snooze(Duration),
    /// The deliverable with this id (as typed) is done.
    Done(String),
    /// What the author's city owes in this partnership.
    Status,
    /// Who to contact in a city (as typed: an id or a name), optionally about a topic
    /// (the remaining words, joined by one space).
    Who { city: String, topic: Option<String> },
}

/// The outcome of [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An ordinary post, to be relayed.
    NotACommand,
    /// A command, to be handled and not relayed.
    Command(Command),
    /// A known command word with wrong arguments: not relayed, answered with this usage line
    /// (short English, e.g. `usage: /snooze DURATION (at most 365d), e.g. /snooze 3d`).
    Invalid(String),
}

/// Reads the command, if any, in a post's new text. See the module docs for the rules.
pub fn parse(text: &str) -> Parsed {
    let Some(line) = first_line(text) else { return Parsed::NotACommand };
    if line.char_indices().nth(MAX_LINE_CHARS).is_some() {
        return Parsed::NotACommand;
    }
    let Some(rest) = line.strip_prefix('/') else { return Parsed::NotACommand };
    // The word must follow the slash at once: `/ close` is no command.
    let (word, rest) = rest.split_once(is_space).unwrap_or((rest, ""));
    let args: Vec<&str> = rest.split(is_space).filter(|w| !w.is_empty()).collect();
    let no_args = |command: Command, usage: &str| {
        if args.is_empty() { Parsed::Command(command) } else { Parsed::Invalid(usage.to_owned()) }
    };
    match word.to_ascii_lowercase().as_str() {
        "close" => no_args(Command::Close, USAGE_CLOSE),
        "reopen" => no_args(Command::Reopen, USAGE_REOPEN),
        "status" => no_args(Command::Status, USAGE_STATUS),
        "snooze" => snooze(&args),
        "done" => match args.as_slice() {
            [id] => Parsed::Command(Command::Done((*id).to_owned())),
            _ => Parsed::Invalid(USAGE_DONE.to_owned()),
        },
        "who" => match args.split_first() {
            Some((city, topic)) => Parsed::Command(Command::Who {
                city: (*city).to_owned(),
                topic: if topic.is_empty() { None } else { Some(topic.join(" ")) },
            }),
            None => Parsed::Invalid(USAGE_WHO.to_owned()),
        },
        _ => Parsed::NotACommand,
    }
}

/// `/snooze` takes one humantime duration; it may be written in parts (`1d 12h`, `3 days`),
/// which the splitting into words took apart, so they are joined again.
fn snooze(args: &[&str]) -> Parsed {
    if args.is_empty() {
        return Parsed::Invalid(USAGE_SNOOZE.to_owned());
    }
    match humantime::parse_duration(&args.join(" ")) {
        Ok(d) if !d.is_zero() && d <= MAX_SNOOZE => Parsed::Command(Command::Snooze(d)),
        _ => Parsed::Invalid(USAGE_SNOOZE.to_owned()),
    }
}

/// The first line that is neither blank nor quoted, trimmed; `None` if there is none.
fn first_line(text: &str) -> Option<&str> {
    text.split('\n').map(|l| l.trim_matches(is_space)).find(|l| !l.is_empty() && !l.starts_with('>'))
}

/// Unicode white space (which includes the no-break spaces) and the invisible characters
/// clients put around text: zero-width space, word joiner, byte-order mark, and the
/// bidirectional marks, embeddings and isolates. Not the zero-width (non-)joiners, which
/// belong inside words of some scripts.
fn is_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn cmd(c: Command) -> Parsed {
        Parsed::Command(c)
    }

    fn invalid(text: &str) -> String {
        match parse(text) {
            Parsed::Invalid(usage) => usage,
            other => panic!("{text:?}: expected Invalid, got {other:?}"),
        }
    }

    const DAY: u64 = 24 * 60 * 60;

    #[test]
    fn the_argumentless_commands() {
        assert_eq!(parse("/close"), cmd(Command::Close));
        assert_eq!(parse("/reopen"), cmd(Command::Reopen));
        assert_eq!(parse("/status"), cmd(Command::Status));
    }

    #[test]
    fn command_words_are_ascii_case_insensitive() {
        assert_eq!(parse("/CLOSE"), cmd(Command::Close));
        assert_eq!(parse("/Close"), cmd(Command::Close));
        assert_eq!(parse("/SnOoZe 3d"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("/DONE Final-Report"), cmd(Command::Done("Final-Report".into())));
    }

    #[test]
    fn extra_words_after_an_argumentless_command_are_invalid() {
        assert_eq!(invalid("/close now"), USAGE_CLOSE);
        assert_eq!(invalid("/reopen please"), USAGE_REOPEN);
        assert_eq!(invalid("/status all"), USAGE_STATUS);
    }

    #[test]
    fn snooze_takes_one_duration() {
        assert_eq!(parse("/snooze 3d"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("/snooze 12h"), cmd(Command::Snooze(Duration::from_secs(12 * 3600))));
        assert_eq!(parse("/snooze 90m"), cmd(Command::Snooze(Duration::from_secs(90 * 60))));
        assert_eq!(parse("/snooze 2w"), cmd(Command::Snooze(Duration::from_secs(14 * DAY))));
        // One duration written in parts, as humantime itself writes them.
        assert_eq!(parse("/snooze 1d 12h"), cmd(Command::Snooze(Duration::from_secs(DAY + 12 * 3600))));
        assert_eq!(parse("/snooze 3 days"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("/snooze 365d"), cmd(Command::Snooze(MAX_SNOOZE)));
    }

    #[test]
    fn snooze_without_a_sensible_duration_is_invalid() {
        for text in ["/snooze", "/snooze    ", "/snooze 0s", "/snooze 0d", "/snooze 366d", "/snooze 1y", "/snooze soon"]
        {
            assert_eq!(invalid(text), USAGE_SNOOZE, "{text:?}");
        }
        assert_eq!(invalid("/snooze 3d please"), USAGE_SNOOZE);
        assert_eq!(invalid("/snooze -3d"), USAGE_SNOOZE);
        assert_eq!(invalid("/snooze 99999999999999999999999d"), USAGE_SNOOZE);
        assert!(USAGE_SNOOZE.contains("/snooze 3d"));
    }

    #[test]
    fn done_takes_exactly_one_id() {
        assert_eq!(parse("/done final-report"), cmd(Command::Done("final-report".into())));
        assert_eq!(invalid("/done"), USAGE_DONE);
        assert_eq!(invalid("/done final report"), USAGE_DONE);
    }

    #[test]
    fn who_takes_a_city_and_optional_topic_words() {
        assert_eq!(parse("/who leeds"), cmd(Command::Who { city: "leeds".into(), topic: None }));
        assert_eq!(
            parse("/who Hangzhou  public   libraries "),
            cmd(Command::Who { city: "Hangzhou".into(), topic: Some("public libraries".into()) })
        );
        assert_eq!(invalid("/who"), USAGE_WHO);
    }

    #[test]
    fn usage_lines_are_short_and_name_their_command() {
        for (usage, word) in [
            (USAGE_CLOSE, "/close"),
            (USAGE_REOPEN, "/reopen"),
            (USAGE_STATUS, "/status"),
            (USAGE_SNOOZE, "/snooze"),
            (USAGE_DONE, "/done"),
            (USAGE_WHO, "/who"),
        ] {
            assert!(usage.starts_with(&format!("usage: {word}")) && usage.len() < 80, "{usage}");
        }
    }

    #[test]
    fn slashes_that_are_no_known_command_are_ordinary_posts() {
        for text in [
            "/etc/hosts is broken",
            "/unknownword",
            "/closed the file",
            "/close.",
            "/snooze3d",
            "/",
            "/ close",
            "//close",
            "close",
            "Please /close this",
            "path: /close",
            "／close", // a full-width slash is not ours
            "",
            "   \n \n",
        ] {
            assert_eq!(parse(text), Parsed::NotACommand, "{text:?}");
        }
    }

    #[test]
    fn only_the_first_non_empty_line_counts_and_a_signature_is_ignored() {
        assert_eq!(parse("\n\n  /close\n--\nLi Wei\nHangzhou Library"), cmd(Command::Close));
        assert_eq!(parse("/close\r\nBest regards,\r\nAnne"), cmd(Command::Close));
        assert_eq!(parse("/snooze 3d\n/done x"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("Thanks, will do.\n/close"), Parsed::NotACommand);
        assert_eq!(parse("Thanks\n\n/close"), Parsed::NotACommand);
    }

    #[test]
    fn quoted_lines_are_skipped() {
        assert_eq!(parse("> On Mon, Leeds wrote:\n> /status\n>\n/close"), cmd(Command::Close));
        // A Matrix reply fallback: the quoted event, a blank line, then the new text.
        assert_eq!(parse("> <@anne:leeds.example> Any news?\n\n/status"), cmd(Command::Status));
        assert_eq!(parse("   > indented quote\n\t>>nested\n/reopen"), cmd(Command::Reopen));
        assert_eq!(parse("> /close"), Parsed::NotACommand);
        assert_eq!(parse("/close\n> previous message"), cmd(Command::Close));
    }

    #[test]
    fn invisible_and_unicode_spaces_around_a_command_are_trimmed() {
        assert_eq!(parse("\u{200B}/close"), cmd(Command::Close));
        assert_eq!(parse("\u{FEFF}/close"), cmd(Command::Close));
        assert_eq!(parse("\u{A0}/close\u{A0}"), cmd(Command::Close));
        assert_eq!(parse("\u{3000}/status"), cmd(Command::Status));
        assert_eq!(parse("/snooze\u{A0}3d"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("\u{202F}/done\u{2009}x\u{200B}"), cmd(Command::Done("x".into())));
        // A command copied from an Arabic reminder, where it sits in a left-to-right isolate.
        assert_eq!(parse("\u{2066}/snooze 3d\u{2069}"), cmd(Command::Snooze(Duration::from_secs(3 * DAY))));
        assert_eq!(parse("\u{200F}\u{2066}/done x\u{2069}"), cmd(Command::Done("x".into())));
        assert_eq!(parse("\u{200B}\n\u{A0}\n/close"), cmd(Command::Close));
    }

    #[test]
    fn a_too_long_line_is_no_command() {
        let long = format!("/who leeds {}", "word ".repeat(400));
        assert!(long.chars().count() > MAX_LINE_CHARS);
        assert_eq!(parse(&long), Parsed::NotACommand);
        let just = format!("/who leeds {}", "x".repeat(MAX_LINE_CHARS - "/who leeds ".len()));
        assert_eq!(just.chars().count(), MAX_LINE_CHARS);
        assert!(matches!(parse(&just), Parsed::Command(Command::Who { .. })));
        // Characters, not bytes: 999 three-byte characters are still a line we read.
        let wide = format!("/who 杭州 {}", "图".repeat(MAX_LINE_CHARS - "/who 杭州 ".chars().count()));
        assert!(matches!(parse(&wide), Parsed::Command(Command::Who { .. })));
    }

    #[test]
    fn megabyte_texts_are_read_in_linear_time() {
        let mb = 1 << 20;
        let started = Instant::now();
        let signature = format!("/close\n{}", "signature line\n".repeat(mb / 15));
        assert_eq!(parse(&signature), cmd(Command::Close));
        let one_line = format!("/close {}", "x".repeat(mb));
        assert_eq!(parse(&one_line), Parsed::NotACommand);
        let spaces = format!("{}/close", " ".repeat(mb));
        assert_eq!(parse(&spaces), cmd(Command::Close));
        let quoted = format!("{}/status", "> quoted history\n".repeat(mb / 17));
        assert_eq!(parse(&quoted), cmd(Command::Status));
        let blank_lines = format!("{}/reopen", "\n".repeat(mb));
        assert_eq!(parse(&blank_lines), cmd(Command::Reopen));
        let words = format!("/who {}", "a ".repeat(mb / 2));
        assert_eq!(parse(&words), Parsed::NotACommand);
        // Linear work is milliseconds even unoptimised; a quadratic scan would take hours.
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
