//! `c2c-langeval`: accuracy of the language tagger per length class and per language on a labelled
//! corpus, beside whatlang alone, and tags/s on sentence-length lines (issue 18).
//!
//! ```text
//! cargo run --release -p c2c-langeval -- tests/langeval/corpus/lines.tsv [--seconds S] [--misses]
//! ```
//!
//! Three taggers over the corpus's own languages:
//! - **whatlang**: `whatlang::Detector` restricted to the corpus's languages whatlang knows; lines in
//!   languages it lacks (`ms`, `kk`, `ky`, `mn`, `lo`) count as wrong.
//! - **tagger**: `c2c_language::Tagger::new(corpus languages)`, no priors.
//! - **tagger + priors**: the same, with the author's languages as priors: the line's true language,
//!   then English (as an officer's `languages` would be).
//!
//! Speed: each tagger in turn on the sentence lines, round after round, for `--seconds` (default 2)
//! on one thread. Output: markdown.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use c2c_language::{Tagger, code_for, lang_for};
use whatlang::{Detector, Lang};

/// The length classes, in report order.
const CLASSES: [&str; 4] = ["word", "pair", "sentence", "chat"];

/// One labelled line of the corpus.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    /// 1-based line number in the file.
    number: usize,
    code: String,
    class: &'static str,
    text: String,
}

/// Parses `code<TAB>class<TAB>text` lines; `#` lines and blank lines are skipped.
fn parse(corpus: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (i, raw) in corpus.lines().enumerate() {
        let number = i + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let mut fields = raw.splitn(3, '\t');
        let (Some(code), Some(class), Some(text)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("line {number}: want 3 tab-separated fields: {raw:?}"));
        };
        let Some(class) = CLASSES.iter().find(|c| **c == class) else {
            return Err(format!("line {number}: unknown length class {class:?} (want one of {CLASSES:?})"));
        };
        if code.is_empty() || text.trim().is_empty() {
            return Err(format!("line {number}: empty code or text"));
        }
        lines.push(Line { number, code: code.to_string(), class, text: text.to_string() });
    }
    Ok(lines)
}

/// The corpus's languages, sorted.
fn languages(lines: &[Line]) -> Vec<String> {
    let mut codes: Vec<String> = lines.iter().map(|l| l.code.clone()).collect();
    codes.sort();
    codes.dedup();
    codes
}

/// The three ways of tagging a line.
struct Contenders {
    whatlang: Detector,
    tagger: Tagger,
}

impl Contenders {
    fn new(languages: &[String]) -> Contenders {
        let allow: Vec<Lang> = languages.iter().filter_map(|c| lang_for(c)).collect();
        Contenders { whatlang: Detector::with_allowlist(allow), tagger: Tagger::new(languages) }
    }

    fn whatlang(&self, text: &str) -> &'static str {
        self.whatlang.detect_lang(text).map_or("und", code_for)
    }

    fn tagger(&self, text: &str) -> String {
        self.tagger.tag(text, &[]).code
    }

    fn with_priors(&self, text: &str, priors: &[String]) -> String {
        self.tagger.tag(text, priors).code
    }
}

/// The author's languages for a line: its own, then English.
fn author(code: &str) -> Vec<String> {
    let mut priors = vec![code.to_string()];
    if code != "en" {
        priors.push("en".to_string());
    }
    priors
}

/// Right answers of each contender over some lines.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    n: usize,
    whatlang: usize,
    tagger: usize,
    priors: usize,
}

impl Score {
    fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {} | {} | {} | {} |",
            self.n,
            percent(self.whatlang, self.n),
            percent(self.tagger, self.n),
            percent(self.priors, self.n)
        )
    }
}

fn percent(right: usize, n: usize) -> String {
    if n == 0 { "–".to_string() } else { format!("{:.1} %", 100.0 * right as f64 / n as f64) }
}

/// A wrong answer, for the misses list.
struct Miss {
    who: &'static str,
    got: String,
    line: Line,
}

struct Results {
    by_class: BTreeMap<&'static str, Score>,
    by_language: BTreeMap<String, Score>,
    /// Per language, sentences only.
    sentences: BTreeMap<String, Score>,
    total: Score,
    misses: Vec<Miss>,
}

fn evaluate(c: &Contenders, lines: &[Line]) -> Results {
    let mut r = Results {
        by_class: BTreeMap::new(),
        by_language: BTreeMap::new(),
        sentences: BTreeMap::new(),
        total: Score::default(),
        misses: Vec::new(),
    };
    for line in lines {
        let w = c.whatlang(&line.text);
        let t = c.tagger(&line.text);
        let p = c.with_priors(&line.text, &author(&line.code));
        let mut scores =
            vec![r.by_class.entry(line.class).or_default(), r.by_language.entry(line.code.clone()).or_default()];
        if line.class == "sentence" {
            scores.push(r.sentences.entry(line.code.clone()).or_default());
        }
        scores.push(&mut r.total);
        for s in scores {
            s.n += 1;
            s.whatlang += usize::from(w == line.code);
            s.tagger += usize::from(t == line.code);
            s.priors += usize::from(p == line.code);
        }
        if t != line.code {
            r.misses.push(Miss { who: "tagger", got: t, line: line.clone() });
        }
        if p != line.code {
            r.misses.push(Miss { who: "tagger + priors", got: p, line: line.clone() });
        }
    }
    r
}

/// Tags/s of `tag` over `texts`, whole rounds for at least `budget` on this thread.
fn rate(texts: &[&str], budget: Duration, mut tag: impl FnMut(&str) -> usize) -> f64 {
    let start = Instant::now();
    let mut tags = 0usize;
    let mut sink = 0usize;
    while start.elapsed() < budget {
        for text in texts {
            sink = sink.wrapping_add(tag(black_box(text)));
        }
        tags += texts.len();
    }
    black_box(sink);
    tags as f64 / start.elapsed().as_secs_f64()
}

struct Args {
    path: String,
    seconds: f64,
    misses: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        path: concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/lines.tsv").to_string(),
        seconds: 2.0,
        misses: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                let s = it.next().ok_or("--seconds wants a number")?;
                args.seconds = s.parse().map_err(|e| format!("--seconds {s}: {e}"))?;
            }
            "--misses" => args.misses = true,
            "-h" | "--help" => {
                return Err("usage: c2c-langeval [CORPUS.tsv] [--seconds S] [--misses]".to_string());
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => args.path = arg,
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let corpus = match std::fs::read_to_string(&args.path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", args.path);
            return ExitCode::FAILURE;
        }
    };
    let lines = match parse(&corpus) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {e}", args.path);
            return ExitCode::FAILURE;
        }
    };
    let langs = languages(&lines);
    let contenders = Contenders::new(&langs);
    let unsupported = contenders.tagger.unsupported();
    if !unsupported.is_empty() {
        eprintln!("{}: codes the tagger does not know: {unsupported:?}", args.path);
        return ExitCode::FAILURE;
    }
    let lacking: Vec<&str> = langs.iter().map(String::as_str).filter(|c| lang_for(c).is_none()).collect();
    let r = evaluate(&contenders, &lines);

    println!("Corpus `{}`: {} lines, {} languages.", args.path, lines.len(), langs.len());
    println!("whatlang lacks (its lines count as wrong): {}.", lacking.join(", "));
    println!();
    println!("### Accuracy per length class");
    println!();
    println!("| class | lines | whatlang alone | tagger, no priors | tagger, author's language + en |");
    println!("|---|---:|---:|---:|---:|");
    for class in CLASSES {
        if let Some(s) = r.by_class.get(class) {
            println!("{}", s.row(class));
        }
    }
    println!("{}", r.total.row("**all**"));
    println!();
    println!("### Accuracy per language (all classes; sentences only)");
    println!();
    println!(
        "| language | lines | whatlang | tagger | tagger + priors | sentences | whatlang | tagger | tagger + priors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (code, s) in &r.by_language {
        let t = r.sentences.get(code).copied().unwrap_or_default();
        println!(
            "| {code} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.n,
            percent(s.whatlang, s.n),
            percent(s.tagger, s.n),
            percent(s.priors, s.n),
            t.n,
            percent(t.whatlang, t.n),
            percent(t.tagger, t.n),
            percent(t.priors, t.n)
        );
    }

    let sentences: Vec<&str> = lines.iter().filter(|l| l.class == "sentence").map(|l| l.text.as_str()).collect();
    let chars = sentences.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / sentences.len().max(1) as f64;
    let budget = Duration::from_secs_f64(args.seconds);
    let en = vec!["en".to_string()];
    let speeds = [
        ("whatlang alone (restricted)", rate(&sentences, budget, |t| contenders.whatlang(t).len())),
        ("tagger, no priors", rate(&sentences, budget, |t| contenders.tagger(t).len())),
        ("tagger, priors `en`", rate(&sentences, budget, |t| contenders.with_priors(t, &en).len())),
    ];
    println!();
    println!(
        "### Speed on the {} sentence lines (mean {chars:.0} characters), one thread, {:.1} s each",
        sentences.len(),
        args.seconds
    );
    println!();
    println!("| tagger | tags/s | µs/tag |");
    println!("|---|---:|---:|");
    for (who, per_s) in speeds {
        println!("| {who} | {per_s:.0} | {:.1} |", 1e6 / per_s);
    }

    if args.misses {
        println!();
        println!("### Misses of the tagger");
        println!();
        for m in &r.misses {
            println!(
                "- {}: line {} ({}, {}) want `{}` got `{}`: {}",
                m.who, m.line.number, m.line.class, m.line.code, m.line.code, m.got, m.line.text
            );
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use c2c_language::known_languages;

    const CORPUS: &str = include_str!("../corpus/lines.tsv");

    #[test]
    fn the_corpus_parses_and_every_code_is_known_to_the_tagger() {
        let lines = parse(CORPUS).unwrap();
        assert!((300..=500).contains(&lines.len()), "{} lines", lines.len());
        let known: Vec<&str> = known_languages().into_iter().map(|(code, _)| code).collect();
        for line in &lines {
            assert!(known.contains(&line.code.as_str()), "line {}: {} unknown to the tagger", line.number, line.code);
        }
        let langs = languages(&lines);
        assert!(Tagger::new(&langs).unsupported().is_empty());
        for class in CLASSES {
            assert!(lines.iter().any(|l| l.class == class), "no {class} lines");
        }
        // No line twice.
        let mut texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), lines.len());
    }

    #[test]
    fn the_region_is_covered() {
        let langs = languages(&parse(CORPUS).unwrap());
        for code in [
            "ms", "id", "kk", "ky", "mn", "ru", "uz", "ne", "hi", "mr", "fa", "ur", "ar", "es", "pt", "tl", "en", "zh",
            "ja", "ko", "th", "vi", "km", "lo", "my", "si", "ta", "bn",
        ] {
            assert!(langs.iter().any(|l| l == code), "{code} missing");
        }
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(parse("en\tword").is_err());
        assert!(parse("en\tparagraph\tHello there").is_err());
        assert!(parse("\tword\tHello").is_err());
        let ok = parse("# comment\n\nen\tword\tHello\n").unwrap();
        assert_eq!(ok, [Line { number: 3, code: "en".into(), class: "word", text: "Hello".into() }]);
    }

    #[test]
    fn evaluation_counts_each_contender() {
        let lines =
            parse("en\tsentence\tPlease find attached the minutes of the meeting.\nms\tword\tDimaklumkan\n").unwrap();
        let c = Contenders::new(&languages(&lines));
        let r = evaluate(&c, &lines);
        assert_eq!(r.total.n, 2);
        // whatlang has no Malay.
        assert!(r.by_language["ms"].whatlang == 0);
        assert_eq!(r.by_class["sentence"].tagger, 1);
        assert_eq!(author("ms"), ["ms", "en"]);
        assert_eq!(author("en"), ["en"]);
    }
}
