//! The multilingual corpus in `corpus.tsv`: realistic city-cooperation messages, tagged with the
//! configured-languages tagger. Unambiguous lines must all be right; lines marked `~` (genuinely
//! ambiguous short texts) only count towards the overall accuracy, which must be at least 95%.

use c2c_language::{Tagger, is_valid_code};

const CONFIG: &[&str] =
    &["en", "zh", "ja", "ko", "th", "vi", "id", "ms", "ru", "kk", "mn", "hi", "ar", "fr", "es", "de", "pt"];

struct Line {
    number: usize,
    expected: String,
    ambiguous: bool,
    priors: Vec<String>,
    text: String,
}

fn corpus() -> Vec<Line> {
    include_str!("corpus.tsv")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let mut fields = l.splitn(3, '\t');
            let (Some(expected), Some(priors), Some(text)) = (fields.next(), fields.next(), fields.next()) else {
                panic!("corpus.tsv:{}: want 3 tab-separated fields", i + 1);
            };
            let ambiguous = expected.starts_with('~');
            let priors: Vec<String> = priors.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect();
            Line {
                number: i + 1,
                expected: expected.trim_start_matches('~').to_string(),
                ambiguous,
                priors,
                text: text.to_string(),
            }
        })
        .collect()
}

/// Tags every line; returns (right, misses as printable lines, unambiguous misses).
fn run(tagger: &Tagger, lines: &[Line]) -> (usize, Vec<String>, usize) {
    let mut right = 0;
    let mut misses = Vec::new();
    let mut hard = 0;
    for line in lines {
        let tag = tagger.tag(&line.text, &line.priors);
        assert!((0.0..=1.0).contains(&tag.confidence));
        if tag.code == line.expected {
            right += 1;
        } else {
            hard += usize::from(!line.ambiguous);
            misses.push(format!(
                "  corpus.tsv:{}: want {}{} got {} ({}, {}) priors {:?}: {}",
                line.number,
                if line.ambiguous { "~" } else { "" },
                line.expected,
                tag.code,
                tag.confidence,
                tag.script,
                line.priors,
                line.text
            ));
        }
    }
    (right, misses, hard)
}

#[test]
fn corpus_is_well_formed() {
    let lines = corpus();
    assert!(lines.len() >= 80, "{} lines", lines.len());
    for line in &lines {
        assert!(line.expected == "und" || is_valid_code(&line.expected), "line {}", line.number);
        for p in &line.priors {
            assert!(is_valid_code(p), "line {}: prior {p}", line.number);
        }
    }
}

#[test]
fn configured_tagger_on_the_corpus() {
    let lines = corpus();
    let tagger = Tagger::new(CONFIG);
    let (right, misses, hard) = run(&tagger, &lines);
    let accuracy = right as f64 / lines.len() as f64;
    println!("configured languages: {right}/{} right ({:.1}%)", lines.len(), accuracy * 100.0);
    for miss in &misses {
        println!("{miss}");
    }
    assert_eq!(hard, 0, "unambiguous lines mis-tagged:\n{}", misses.join("\n"));
    assert!(accuracy >= 0.95, "accuracy {accuracy:.3}");
}

/// Without a config (every whatlang language) short Latin texts suffer most; the priors recover
/// much of it. Reported, with a looser floor.
#[test]
fn all_languages_tagger_on_the_corpus() {
    let lines = corpus();
    let (right, misses, _) = run(&Tagger::all_languages(), &lines);
    let accuracy = right as f64 / lines.len() as f64;
    println!("all languages: {right}/{} right ({:.1}%)", lines.len(), accuracy * 100.0);
    for miss in &misses {
        println!("{miss}");
    }
    assert!(accuracy >= 0.85, "accuracy {accuracy:.3}");
}
