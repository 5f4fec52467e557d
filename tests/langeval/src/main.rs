//! `c2c-langeval`: accuracy of the language tagger per length class and per language on a labelled
//! corpus, beside whatlang alone (and lingua, with the `lingua` feature), and tags/s on
//! sentence-length lines (issue 18).
//!
//! ```text
//! cargo run --release -p c2c-langeval -- tests/langeval/corpus/lines.tsv [--seconds S] [--misses]
//! cargo run --release -p c2c-langeval --features lingua -- tests/langeval/corpus/udhr.tsv
//! cargo run --release -p c2c-langeval --features lingua -- tests/langeval/corpus/gtk.tsv
//! ```
//!
//! The corpora (`tests/langeval/corpus/README.md`): `lines.tsv` (ours), `udhr.tsv` (the UDHR),
//! `gtk.tsv` (GTK and GNOME Settings messages, held out from the tagger's development), and a
//! development set of single words and pairs from Tesseract's word lists, `tesseract.tsv`, with a
//! second one for Tagalog and Latin-script Uzbek, `tesseract_tluz.tsv`.
//!
//! The contenders, all over the corpus's own languages:
//! - **whatlang**: `whatlang::Detector` restricted to the corpus's languages whatlang knows; lines in
//!   languages it lacks (`ms`, `kk`, `ky`, `mn`, `lo`) count as wrong.
//! - **tagger**: `c2c_language::Tagger::new(corpus languages)`, no priors.
//! - **tagger + priors**: the same, with the author's languages as priors: the line's true language,
//!   then English (as an officer's `languages` would be).
//! - with `--features lingua`: **lingua high** and **lingua low**, lingua-rs's detector in its
//!   high- and low-accuracy modes with the corpus's languages it has loaded (it lacks `ky`, `uz`,
//!   `ne`, `si`, `km`, `lo`, `my`: those lines count as wrong), models preloaded.
//!
//! Speed: each contender in turn on the sentence lines, round after round, for `--seconds`
//! (default 2) on one thread. Output: markdown.

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

/// A way of tagging a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Whatlang,
    Tagger,
    Priors,
    #[cfg(feature = "lingua")]
    LinguaHigh,
    #[cfg(feature = "lingua")]
    LinguaLow,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Whatlang => "whatlang alone",
            Who::Tagger => "tagger, no priors",
            Who::Priors => "tagger, author's language + en",
            #[cfg(feature = "lingua")]
            Who::LinguaHigh => "lingua high",
            #[cfg(feature = "lingua")]
            Who::LinguaLow => "lingua low",
        }
    }
}

/// lingua-rs in both modes, over the corpus's languages it has.
#[cfg(feature = "lingua")]
struct Lingua {
    high: lingua::LanguageDetector,
    low: lingua::LanguageDetector,
    /// The corpus's codes lingua knows, sorted.
    codes: Vec<String>,
}

#[cfg(feature = "lingua")]
impl Lingua {
    fn new(languages: &[String]) -> Option<Lingua> {
        use lingua::{Language, LanguageDetectorBuilder};
        let mut langs: Vec<Language> =
            Language::all().into_iter().filter(|l| languages.contains(&l.iso_code_639_1().to_string())).collect();
        if langs.is_empty() {
            return None;
        }
        langs.sort();
        let mut codes: Vec<String> = langs.iter().map(|l| l.iso_code_639_1().to_string()).collect();
        codes.sort();
        let high = LanguageDetectorBuilder::from_languages(&langs).with_preloaded_language_models().build();
        let low = LanguageDetectorBuilder::from_languages(&langs)
            .with_low_accuracy_mode()
            .with_preloaded_language_models()
            .build();
        Some(Lingua { high, low, codes })
    }

    fn tag(detector: &lingua::LanguageDetector, text: &str) -> String {
        detector.detect_language_of(text).map_or_else(|| "und".to_string(), |l| l.iso_code_639_1().to_string())
    }
}

/// The contenders.
struct Contenders {
    whatlang: Detector,
    tagger: Tagger,
    #[cfg(feature = "lingua")]
    lingua: Option<Lingua>,
}

impl Contenders {
    fn new(languages: &[String]) -> Contenders {
        let allow: Vec<Lang> = languages.iter().filter_map(|c| lang_for(c)).collect();
        Contenders {
            whatlang: Detector::with_allowlist(allow),
            tagger: Tagger::new(languages),
            #[cfg(feature = "lingua")]
            lingua: Lingua::new(languages),
        }
    }

    /// The contenders in column order.
    fn all(&self) -> Vec<Who> {
        #[allow(unused_mut)]
        let mut all = vec![Who::Whatlang, Who::Tagger, Who::Priors];
        #[cfg(feature = "lingua")]
        if self.lingua.is_some() {
            all.extend([Who::LinguaHigh, Who::LinguaLow]);
        }
        all
    }

    /// The codes `who` can answer among the corpus's, or `None` for all of them.
    #[allow(clippy::unused_self)]
    fn knows(&self, who: Who) -> Option<&[String]> {
        match who {
            #[cfg(feature = "lingua")]
            Who::LinguaHigh | Who::LinguaLow => self.lingua.as_ref().map(|l| l.codes.as_slice()),
            _ => None,
        }
    }

    /// `who`'s tag for a line whose author writes `code`.
    fn tag(&self, who: Who, text: &str, code: &str) -> String {
        match who {
            Who::Whatlang => self.whatlang(text).to_string(),
            Who::Tagger => self.tagger.tag(text, &[]).code,
            Who::Priors => self.tagger.tag(text, &author(code)).code,
            #[cfg(feature = "lingua")]
            Who::LinguaHigh => self.lingua.as_ref().map_or_else(|| "und".into(), |l| Lingua::tag(&l.high, text)),
            #[cfg(feature = "lingua")]
            Who::LinguaLow => self.lingua.as_ref().map_or_else(|| "und".into(), |l| Lingua::tag(&l.low, text)),
        }
    }

    fn whatlang(&self, text: &str) -> &'static str {
        self.whatlang.detect_lang(text).map_or("und", code_for)
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

/// Right answers of each contender (in [`Contenders::all`] order) over some lines.
#[derive(Debug, Default, Clone)]
struct Score {
    n: usize,
    right: Vec<usize>,
}

impl Score {
    fn add(&mut self, right: &[bool]) {
        self.n += 1;
        self.right.resize(right.len(), 0);
        for (r, ok) in self.right.iter_mut().zip(right) {
            *r += usize::from(*ok);
        }
    }

    fn get(&self, i: usize) -> usize {
        self.right.get(i).copied().unwrap_or(0)
    }

    fn cells(&self, columns: usize) -> String {
        (0..columns).map(|i| format!(" {} |", percent(self.get(i), self.n))).collect()
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
    /// Per class, only lines in languages every contender knows (when one does not know all).
    common: BTreeMap<&'static str, Score>,
    total: Score,
    common_total: Score,
    misses: Vec<Miss>,
}

/// The corpus languages every contender but whatlang knows (whatlang's lacks are the point of the
/// tagger; the subset is for the contenders that know fewer languages than the tagger).
fn common_languages(c: &Contenders, langs: &[String]) -> Option<Vec<String>> {
    let mut common: Vec<String> = langs.to_vec();
    let mut narrowed = false;
    for who in c.all() {
        if let Some(known) = c.knows(who) {
            common.retain(|l| known.contains(l));
            narrowed = true;
        }
    }
    narrowed.then_some(common)
}

fn evaluate(c: &Contenders, lines: &[Line], common: Option<&[String]>) -> Results {
    let mut r = Results {
        by_class: BTreeMap::new(),
        by_language: BTreeMap::new(),
        sentences: BTreeMap::new(),
        common: BTreeMap::new(),
        total: Score::default(),
        common_total: Score::default(),
        misses: Vec::new(),
    };
    let all = c.all();
    for line in lines {
        let tags: Vec<String> = all.iter().map(|&who| c.tag(who, &line.text, &line.code)).collect();
        let right: Vec<bool> = tags.iter().map(|t| *t == line.code).collect();
        r.by_class.entry(line.class).or_default().add(&right);
        r.by_language.entry(line.code.clone()).or_default().add(&right);
        if line.class == "sentence" {
            r.sentences.entry(line.code.clone()).or_default().add(&right);
        }
        r.total.add(&right);
        if common.is_some_and(|langs| langs.contains(&line.code)) {
            r.common.entry(line.class).or_default().add(&right);
            r.common_total.add(&right);
        }
        for (who, tag) in all.iter().zip(tags) {
            if matches!(who, Who::Tagger | Who::Priors) && tag != line.code {
                r.misses.push(Miss { who: who.name(), got: tag, line: line.clone() });
            }
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

fn header(first: &str, extra: &[&str], all: &[Who]) {
    let names: Vec<&str> = all.iter().map(|w| w.name()).collect();
    let columns: Vec<&str> = extra.iter().copied().chain(names).collect();
    println!("| {first} | {} |", columns.join(" | "));
    println!("|---|{}{}", "---:|".repeat(extra.len()), "---:|".repeat(all.len()));
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
    let all = contenders.all();
    let lacking: Vec<&str> = langs.iter().map(String::as_str).filter(|c| lang_for(c).is_none()).collect();
    let common = common_languages(&contenders, &langs);
    let r = evaluate(&contenders, &lines, common.as_deref());

    println!("Corpus `{}`: {} lines, {} languages.", args.path, lines.len(), langs.len());
    println!("whatlang lacks (its lines count as wrong): {}.", lacking.join(", "));
    for &who in &all {
        if let Some(known) = contenders.knows(who) {
            let lacks: Vec<&str> = langs.iter().map(String::as_str).filter(|c| !known.iter().any(|k| k == c)).collect();
            println!("{} lacks (its lines count as wrong): {}.", who.name(), lacks.join(", "));
        }
    }
    println!();
    println!("### Accuracy per length class");
    println!();
    header("class", &["lines"], &all);
    for class in CLASSES {
        if let Some(s) = r.by_class.get(class) {
            println!("| {class} | {} |{}", s.n, s.cells(all.len()));
        }
    }
    println!("| **all** | {} |{}", r.total.n, r.total.cells(all.len()));
    if let Some(common) = &common {
        println!();
        println!("### Accuracy per length class, lines in the {} languages every contender knows", common.len());
        println!();
        println!("Languages: {}.", common.join(", "));
        println!();
        header("class", &["lines"], &all);
        for class in CLASSES {
            if let Some(s) = r.common.get(class) {
                println!("| {class} | {} |{}", s.n, s.cells(all.len()));
            }
        }
        println!("| **all** | {} |{}", r.common_total.n, r.common_total.cells(all.len()));
    }
    println!();
    println!("### Accuracy per language, sentences only (then all classes)");
    println!();
    // Columns: sentences, the contenders on sentences, lines, the contenders on all classes.
    let names: Vec<&str> = all.iter().map(|w| w.name()).collect();
    println!("| language | sentences | {} | lines | {} |", names.join(" | "), names.join(" | "));
    println!("|---|---:|{}---:|{}", "---:|".repeat(all.len()), "---:|".repeat(all.len()));
    let tagger = all.iter().position(|w| *w == Who::Tagger).unwrap_or(1);
    let mut below = Vec::new();
    for (code, s) in &r.by_language {
        let t = r.sentences.get(code).cloned().unwrap_or_default();
        println!("| {code} | {} |{} {} |{}", t.n, t.cells(all.len()), s.n, s.cells(all.len()));
        if t.n > 0 && t.get(tagger) * 10 < t.n * 9 {
            below.push(format!("{code} ({})", percent(t.get(tagger), t.n)));
        }
    }
    println!();
    if below.is_empty() {
        println!("Every language at or above 90 % on sentences (tagger, no priors).");
    } else {
        println!("Below 90 % on sentences (tagger, no priors): {}.", below.join(", "));
    }

    let sentences: Vec<&str> = lines.iter().filter(|l| l.class == "sentence").map(|l| l.text.as_str()).collect();
    let chars = sentences.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / sentences.len().max(1) as f64;
    let budget = Duration::from_secs_f64(args.seconds);
    println!();
    println!(
        "### Speed on the {} sentence lines (mean {chars:.0} characters), one thread, {:.1} s each",
        sentences.len(),
        args.seconds
    );
    println!();
    println!("| contender | tags/s | µs/tag |");
    println!("|---|---:|---:|");
    for &who in &all {
        let per_s = match who {
            Who::Whatlang => rate(&sentences, budget, |t| contenders.whatlang(t).len()),
            // An author writing English: the prior rules run, but name no line's own language.
            _ => rate(&sentences, budget, |t| contenders.tag(who, t, "en").len()),
        };
        let name = if who == Who::Priors { "tagger, priors `en`" } else { who.name() };
        println!("| {name} | {per_s:.0} | {:.1} |", 1e6 / per_s);
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
    const UDHR: &str = include_str!("../corpus/udhr.tsv");
    const GTK: &str = include_str!("../corpus/gtk.tsv");

    #[test]
    fn the_corpora_parse_and_every_code_is_known_to_the_tagger() {
        let known: Vec<&str> = known_languages().into_iter().map(|(code, _)| code).collect();
        for (corpus, classes) in [(CORPUS, &CLASSES[..]), (UDHR, &CLASSES[..3]), (GTK, &CLASSES[..])] {
            let lines = parse(corpus).unwrap();
            assert!((300..=700).contains(&lines.len()), "{} lines", lines.len());
            for line in &lines {
                assert!(
                    known.contains(&line.code.as_str()),
                    "line {}: {} unknown to the tagger",
                    line.number,
                    line.code
                );
            }
            let langs = languages(&lines);
            assert!(Tagger::new(&langs).unsupported().is_empty());
            for class in classes {
                assert!(lines.iter().any(|l| l.class == *class), "no {class} lines");
            }
            // No line twice.
            let mut texts: Vec<(&str, &str)> = lines.iter().map(|l| (l.code.as_str(), l.text.as_str())).collect();
            texts.sort();
            texts.dedup();
            assert_eq!(texts.len(), lines.len());
        }
    }

    #[test]
    fn the_development_set_parses() {
        let lines = parse(include_str!("../corpus/tesseract.tsv")).unwrap();
        assert_eq!(lines.len(), 3741);
        let known: Vec<&str> = known_languages().into_iter().map(|(code, _)| code).collect();
        assert!(lines.iter().all(|l| known.contains(&l.code.as_str())));
        assert!(Tagger::new(languages(&lines)).unsupported().is_empty());
        // The second development set (Tagalog and Latin Uzbek) configures the same languages.
        let tluz = parse(include_str!("../corpus/tesseract_tluz.tsv")).unwrap();
        assert_eq!(tluz.len(), 780);
        assert_eq!(languages(&tluz), languages(&lines));
        assert_eq!(tluz.iter().filter(|l| l.code == "tl" && l.text.is_ascii()).count(), 200);
    }

    #[test]
    fn the_region_is_covered() {
        for corpus in [CORPUS, UDHR] {
            let langs = languages(&parse(corpus).unwrap());
            for code in [
                "ms", "id", "kk", "ky", "mn", "ru", "uz", "ne", "hi", "mr", "fa", "ur", "ar", "es", "pt", "tl", "en",
                "zh", "ja", "ko", "th", "vi", "km", "lo", "my", "si", "ta", "bn",
            ] {
                assert!(langs.iter().any(|l| l == code), "{code} missing");
            }
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
        let all = c.all();
        let r = evaluate(&c, &lines, None);
        assert_eq!(r.total.n, 2);
        assert_eq!(r.total.right.len(), all.len());
        // whatlang has no Malay.
        assert_eq!(r.by_language["ms"].get(0), 0);
        assert_eq!(r.by_class["sentence"].get(1), 1);
        assert!(r.common.is_empty());
        assert_eq!(author("ms"), ["ms", "en"]);
        assert_eq!(author("en"), ["en"]);
    }

    #[test]
    fn scores_add_up() {
        let mut s = Score::default();
        s.add(&[true, false]);
        s.add(&[true, true]);
        assert_eq!((s.n, s.get(0), s.get(1), s.get(5)), (2, 2, 1, 0));
        assert_eq!(s.cells(2), " 100.0 % | 50.0 % |");
    }
}
