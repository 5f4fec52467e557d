//! The tagger: the script layer, whatlang restricted to the configured languages, the lexical
//! layer for Malay and Indonesian, and the author's priors as evidence.

use std::fmt;

use c2c_core::LanguageTag;
use whatlang::{Detector, Lang};

use crate::codes::{canonical_code, code_for, lang_for};
use crate::lexical;
use crate::lexicon;
use crate::priors::{Choice, Detection, choose, prior_only, same_language};
use crate::sample::Sample;
use crate::script::{self, Counts, LETTERS, Script};

/// The layer that decided a tag (see the crate root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The script alone, or its characteristic letters (Cyrillic, Arabic).
    Script,
    /// whatlang, restricted to the configured languages.
    Detector,
    /// Marker words (Malay against Indonesian).
    Lexical,
    /// Word frequencies and letter trigrams from public word lists (`data/`).
    Lexicon,
    /// The author's languages, over an unsure detection.
    Prior,
    /// No letters: nothing to decide.
    None,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Script => "script",
            Layer::Detector => "detector",
            Layer::Lexical => "lexical",
            Layer::Lexicon => "lexicon",
            Layer::Prior => "prior",
            Layer::None => "none",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a text was tagged so: [`Tagger::explain`].
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub tag: LanguageTag,
    /// The layer that decided.
    pub layer: Layer,
    /// The second-best candidate and its confidence (rounded to two decimals), when there was one.
    pub second: Option<(String, f64)>,
}

/// Extra languages the tagger knows beyond whatlang's 70, with their English names.
const EXTRA_LANGUAGES: &[(&str, &str)] = &[
    ("bo", "Tibetan"),
    ("kk", "Kazakh"),
    ("ky", "Kyrgyz"),
    ("lo", "Lao"),
    ("mn", "Mongolian"),
    ("ms", "Malay"),
    ("tg", "Tajik"),
];

/// Every language the tagger can tag, `(code, English name)`, sorted by code.
pub fn known_languages() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&'static str, &'static str)> = Lang::all().iter().map(|&l| (code_for(l), l.eng_name())).collect();
    all.extend_from_slice(EXTRA_LANGUAGES);
    all.sort();
    all
}

fn is_known(code: &str) -> bool {
    lang_for(code).is_some() || EXTRA_LANGUAGES.iter().any(|(c, _)| *c == code)
}

fn round2(x: f64) -> f64 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// Tags texts with a language. Build it once (from the config) and share it: `tag` takes `&self`.
#[derive(Debug, Clone)]
pub struct Tagger {
    /// Built once: whatlang with an allowlist of `allowed`.
    detector: Detector,
    /// The languages the detector chooses among (for scripts several languages share).
    allowed: Vec<Lang>,
    /// Configured spellings other than [`code_for`]'s (`fil` for Tagalog).
    spellings: Vec<(Lang, &'static str)>,
    /// Configured codes the tagger knows, canonical spelling.
    configured: Vec<&'static str>,
    /// No config: every language is a candidate.
    all: bool,
    /// Configured codes the tagger cannot tag, sorted.
    unsupported: Vec<String>,
}

impl Tagger {
    /// A tagger for the languages a config mentions (cities', contacts', partnerships').
    ///
    /// English and Chinese (`zh`, needed to tell Han text from Japanese) are always added. Codes are
    /// first brought to their valid spelling ([`canonical_code`]: `cmn` → `zh`). Codes the tagger
    /// does not know go to [`Tagger::unsupported`]. For languages whatlang lacks (`ms`, `kk`, `mn`,
    /// `ky`, `tg`) a stand-in whatlang language is added to the detector (Indonesian for Malay,
    /// Russian for the Cyrillic ones), so that their text without telling letters or words is
    /// detected as its closest relative, which the lexical layer and the prior rules then examine.
    pub fn new<I, S>(languages: I) -> Tagger
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = vec![Lang::Eng, Lang::Cmn];
        let mut spellings: Vec<(Lang, &'static str)> = Vec::new();
        let mut canonical: Vec<Lang> = Vec::new();
        let mut configured: Vec<&'static str> = vec!["en", "zh"];
        let mut unsupported: Vec<String> = Vec::new();
        let allow = |allowed: &mut Vec<Lang>, lang: Lang| {
            if !allowed.contains(&lang) {
                allowed.push(lang);
            }
        };
        for code in languages {
            let raw = code.as_ref();
            if raw.trim().is_empty() {
                continue;
            }
            let Some(code) = canonical_code(raw) else {
                unsupported.push(raw.to_string());
                continue;
            };
            if let Some(lang) = lang_for(code) {
                allow(&mut allowed, lang);
                configured.push(code_for(lang));
                if code == code_for(lang) {
                    canonical.push(lang);
                } else {
                    spellings.push((lang, code));
                }
            } else {
                if let Some(only) = prior_only(code) {
                    allow(&mut allowed, only.stand_in);
                }
                if is_known(code) {
                    configured.push(code);
                } else {
                    unsupported.push(code.to_string());
                }
            }
        }
        // `tl` and `fil` both configured: record `tl`.
        spellings.retain(|(lang, _)| !canonical.contains(lang));
        configured.sort();
        configured.dedup();
        unsupported.sort();
        unsupported.dedup();
        Tagger {
            detector: Detector::with_allowlist(allowed.clone()),
            allowed,
            spellings,
            configured,
            all: false,
            unsupported,
        }
    }

    /// A tagger over every language it knows (for `tag-language` without a config).
    pub fn all_languages() -> Tagger {
        Tagger {
            detector: Detector::new(),
            allowed: Lang::all().to_vec(),
            spellings: Vec::new(),
            configured: Vec::new(),
            all: true,
            unsupported: Vec::new(),
        }
    }

    /// Tag one text. `priors`: the author's known languages (valid codes), most preferred first.
    /// See the crate documentation for the rules.
    pub fn tag(&self, text: &str, priors: &[String]) -> LanguageTag {
        self.decide(text, priors, false).tag
    }

    /// Tag one text and say why: the deciding layer and the second-best candidate. Slower than
    /// [`Tagger::tag`] (the detector may run twice); for `tag-language --explain`.
    pub fn explain(&self, text: &str, priors: &[String]) -> Explanation {
        self.decide(text, priors, true)
    }

    /// Can the text be tagged `code`: configured, an author's language, or no config at all.
    fn candidate(&self, code: &str, priors: &[String]) -> bool {
        self.all
            || self.configured.contains(&code)
            || lang_for(code).is_some_and(|l| self.allowed.contains(&l))
            || priors.iter().any(|p| same_language(p, code))
    }

    /// Does the config name any language written in `script` (else all of them are candidates)?
    fn configures(&self, script: Script) -> bool {
        let by_detector = script.whatlang().is_some_and(|w| self.allowed.iter().any(|l| w.langs().contains(l)));
        by_detector || LETTERS.iter().any(|l| l.script == script && self.configured.contains(&l.code))
    }

    fn decide(&self, text: &str, priors: &[String], explain: bool) -> Explanation {
        let undetermined = || Explanation { tag: LanguageTag::undetermined(), layer: Layer::None, second: None };
        let sample = Sample::new(text);
        if sample.letters == 0 {
            return undetermined();
        }
        let letters = sample.letters;
        let counts = Counts::new(&sample.text);
        let Some(script) = counts.majority() else {
            return undetermined();
        };
        // 1. The script layer.
        if let Some(code) = script::own_language(script) {
            let d = Detection::settled(code, whatlang_script(script), 1.0);
            return self.finish(
                Found { sample: &sample, script: script.name(), layer: Layer::Script, priors },
                d,
                None,
            );
        }
        let mut second: Option<(&'static str, f64)> = None;
        let settled = match script {
            Script::Mandarin | Script::Hiragana | Script::Katakana => {
                let kana = counts.get(Script::Hiragana) + counts.get(Script::Katakana);
                let han = counts.get(Script::Mandarin);
                if kana * 20 > han + kana {
                    Some(Detection::settled("ja", whatlang_script(script), 1.0))
                } else {
                    // Han alone: Chinese, surely so only when long enough; a Japanese author's
                    // short line may be Japanese (rule 4).
                    let c = (han as f64 / crate::priors::SHORT_HAN as f64).min(1.0);
                    second = Some(("ja", (1.0 - c).min(c)));
                    let mut d = Detection::settled("zh", whatlang::Script::Mandarin, c);
                    d.settled = false;
                    d.unsure = han < crate::priors::SHORT_HAN;
                    Some(d)
                }
            }
            Script::Cyrillic | Script::Arabic => {
                let open = !self.configures(script);
                let candidate = |code: &str| open || self.candidate(code, priors);
                let prior = |code: &str| priors.iter().any(|p| same_language(p, code));
                let fits = script::by_letters(script, &sample.text, letters, candidate, prior);
                // Languages fitting the letters alike (Persian and Urdu without ٹ ڈ ڑ ں ے ھ ہ; Kazakh
                // and Kyrgyz on ң, Kyrgyz and Mongolian on ө ү): their words or letter trigrams
                // decide, not the narrowest alphabet.
                if let Some((best, rest)) = &fits {
                    let tie = |f: &script::Fit| (f.foreign, f.words, f.prior) == (best.foreign, best.words, best.prior);
                    let tied: Vec<&'static str> =
                        std::iter::once(best.code).chain(rest.iter().filter(|f| tie(f)).map(|f| f.code)).collect();
                    if tied.len() > 1
                        && let Some((found, runner_up)) = self.lexicon_tie(&sample.text, &tied, script, letters, priors)
                    {
                        let at = Found { sample: &sample, script: script.name(), layer: Layer::Lexicon, priors };
                        return self.finish(at, found, runner_up);
                    }
                }
                fits.map(|(best, rest)| {
                    let next = rest.first();
                    let c = script::letters_confidence(&best, next);
                    second = next.map(|n| (n.code, script::letters_confidence(n, None).min(1.0 - c)));
                    Detection::settled(best.code, whatlang_script(script), c)
                })
            }
            Script::Hebrew if !self.candidate("yi", priors) => {
                Some(Detection::settled("he", whatlang::Script::Hebrew, 1.0))
            }
            _ => None,
        };
        if let Some(d) = settled {
            let found = Found { sample: &sample, script: script.name(), layer: Layer::Script, priors };
            return self.finish(found, d, second);
        }
        // 2. The detector. The allowlist finds nothing when no allowed language uses the text's
        //    script (Cyrillic text under an English/Chinese config): then ask about every language.
        let info = self.detector.detect(&sample.text).or_else(|| Detector::new().detect(&sample.text));
        let Some(info) = info else {
            return undetermined();
        };
        let mut d = Detection::new(&info, letters);
        let detected_script = info.script();
        let mut by_words = false;
        // 3a. Short Latin lines the detector is unsure of: the words of short messages, when only
        //     one candidate has any and the detector answered a language of the table.
        if d.script == whatlang::Script::Latin && d.unsure && lexical::SHORT_LATIN.iter().any(|(c, _)| *c == d.code) {
            let mut hits = lexical::count_in(lexical::SHORT_LATIN, &sample.text.to_lowercase());
            hits.retain(|&(code, n)| n > 0 && self.candidate(code, priors));
            if let [(winner, n)] = hits[..]
                && winner != d.code
            {
                // One word is weak evidence: still unsure, and an author's language outweighs it
                // (prior rule 4); two or more settle it (Indonesian: the Malay check follows).
                let c = if n < 2 { 0.45 } else { (0.6 + 0.1 * n as f64).min(1.0) };
                second = Some((d.code, d.confidence.min(1.0 - c)));
                let mut words = Detection::settled(winner, d.script, c);
                words.unsure = n < 2;
                words.settled = n >= 2 && winner != "id";
                d = words;
                by_words = true;
            }
        }
        // 3b. The lexical layer: pairs whatlang confuses (Hindi, Marathi, Nepali; Spanish,
        //    Portuguese; Tagalog, Indonesian), then Malay or Indonesian.
        let group = if by_words { None } else { lexical::GROUPS.iter().find(|g| g.triggers.contains(&d.code)) };
        if let Some(group) = group {
            let mut hits = group.count(&sample.text);
            hits.retain(|(code, _)| self.candidate(code, priors));
            hits.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
            if let Some(&(winner, n)) = hits.first() {
                let next = hits.get(1).copied();
                let diff = n - next.map_or(0, |(_, m)| m);
                let confirmed = winner == d.code;
                // Indonesian-or-Malay words: the Malay check and the priors still decide.
                if diff > 0 && !(confirmed && winner == "id") {
                    let c = (0.6 + 0.1 * diff as f64).min(1.0);
                    let c = if confirmed { c.max(d.confidence) } else { c };
                    d = Detection::settled(winner, d.script, c);
                    d.settled = winner != "id";
                    second = next.map(|(code, _)| (code, 1.0 - c));
                    by_words = true;
                }
            }
        }
        if d.script == whatlang::Script::Latin
            && (d.code == "id" || d.unsure)
            && (self.candidate("ms", priors) || d.code == "id")
        {
            let (ms, id) = lexical::count(&sample.text);
            let (winner, loser, diff) = if ms > id { ("ms", "id", ms - id) } else { ("id", "ms", id - ms) };
            let decisive = diff > 0 && (d.code == "id" || (ms.min(id) == 0 && diff >= 2));
            if decisive && self.candidate(winner, priors) {
                let c = (0.6 + 0.1 * diff as f64).min(1.0);
                let d = Detection::settled(winner, whatlang::Script::Latin, c);
                let found = Found { sample: &sample, script: detected_script.name(), layer: Layer::Lexical, priors };
                return self.finish(found, d, Some((loser, 1.0 - c)));
            }
        }
        if by_words {
            let found = Found { sample: &sample, script: detected_script.name(), layer: Layer::Lexical, priors };
            return self.finish(found, d, second);
        }
        // 4. The lexicon, where the detector may be wrong: see [`Tagger::lexicon`].
        if let Some((found, next)) = self.lexicon(&sample.text, &d, priors) {
            let found_at = Found { sample: &sample, script: detected_script.name(), layer: Layer::Lexicon, priors };
            return self.finish(found_at, found, next);
        }
        if explain && second.is_none() {
            second = self.runner_up(&sample.text, &info, &d);
        }
        let found = Found { sample: &sample, script: detected_script.name(), layer: Layer::Detector, priors };
        self.finish(found, d, second)
    }

    /// The lexicon layer (`src/lexicon.rs`) over a detection the earlier layers left standing,
    /// among the candidates it has data for, the detected language included (else `None`: it
    /// cannot say a language it has no data for is wrong); `None` also when it agrees (but see
    /// the Malay contrast below):
    /// - Cyrillic text, when Kazakh, Kyrgyz, Mongolian or Uzbek is a candidate (else whatlang
    ///   knows all the candidates): letter trigrams, at any length; another language than the
    ///   detected one needs a margin of 3 nats and 1 a word.
    /// - Devanagari text whatlang is unsure of: letter trigrams of Hindi, Marathi, Nepali, same
    ///   margin; Hindi's score gains [`lexicon::HINDI_LISTED`] nats times the share of the text's
    ///   words its list holds (top 25,000; [`lexicon::HINDI_LISTED_WORD`] for a single word; Marathi
    ///   and Nepali have no frequency lists).
    /// - Latin and Arabic text whatlang is unsure of: word frequencies (Latin: de, en, es, fr, id,
    ///   ms, pt, tl, vi; Arabic: ar, fa, ur); another language than the detected one needs a
    ///   margin of one Zipf unit (ten times as frequent) over the text. When no candidate lists
    ///   any of its words, the same languages' letter trigrams (and Uzbek's), as above. A Malay or
    ///   Indonesian answer (the detector's or this one) then goes to the contrast below when both
    ///   are candidates, which need only lean the other way ([`lexicon::MSID_LEAN`], 0.3 units).
    ///   When it lists none of the words, the letters of those neither language's list holds
    ///   ([`lexicon::malay_or_indonesian_by_letters`], in nats, an author's first language 4)
    ///   may relabel the answer, which keeps its confidence and standing, when the letters alone
    ///   lean the other way and the author's languages do not outweigh them (as for Spanish and
    ///   Portuguese below: `letters_verdict`).
    /// - An unsure Spanish or Portuguese answer, when both are candidates and neither list holds
    ///   any of the text's words: their letters ([`lexicon::spanish_or_portuguese_by_letters`],
    ///   in nats, an author's first language 4) may relabel it the same way, when the letters
    ///   alone lean the other way by [`lexicon::ESPT_LETTERS_LEAN`] and the author's languages do
    ///   not outweigh them.
    /// - A sure Indonesian detection when Malay is a candidate: the Malay/Indonesian contrast over
    ///   both languages' whole word lists ([`lexicon::malay_or_indonesian`]), same margin. When it
    ///   confirms Indonesian by that margin over a Malay author's bonus, the confirmation is
    ///   returned, settled, so that the prior rules do not undo it.
    ///
    /// Against a detection of a third language, Malay or Indonesian (Spanish or Portuguese) needs
    /// that margin over all but its twin ([`lexicon::twin`]): the lexicon scores twins alike, and
    /// the contrasts above choose between them; the finding's confidence still comes from its
    /// margin over the twin.
    ///
    /// Words without such a margin hand over to the trigrams. For Latin and Arabic text the
    /// margins shrink with whatlang's confidence `d` (times `d / 0.5`, at least a tenth).
    ///
    /// The confidence is `min(0.9, 0.5 + 0.1 × margin)` (words) or `min(0.9, 0.5 + margin / 20)`
    /// (trigrams), times the margin over the full one when under it, sure from 0.7 on; below
    /// that the prior rules still apply. The author's languages weigh in the scores themselves:
    /// the first adds 1.5 Zipf units (4 nats), the others a third of that, so a Malay author's
    /// *wang* is Malay, but their "Thanks" is English.
    fn lexicon(
        &self,
        text: &str,
        d: &Detection,
        priors: &[String],
    ) -> Option<(Detection, Option<(&'static str, f64)>)> {
        let found = self.lexicon_among(text, d, priors);
        // Short Latin text: when the answer is Malay or Indonesian and both are candidates, the
        // contrast of their whole word lists has the last word (the lists of all languages stop
        // at 5,000 words, too few to tell these two apart).
        let both = self.candidate("ms", priors) && self.candidate("id", priors);
        if d.script == whatlang::Script::Latin && d.unsure && both {
            let answer = found.as_ref().map_or(d.code, |(f, _)| f.code);
            if answer == "id" || answer == "ms" {
                let scores = lexicon::malay_or_indonesian(text);
                let verdict = match &scores {
                    Some(s) => Some(s.verdict(|code| prior_bonus(priors, code, 1.5))),
                    // No word the contrast lists: the letters of the words neither language's
                    // list holds, with an author's 4 nats (trigram scale). As for Spanish and
                    // Portuguese below, the letters themselves must lean away from the answer:
                    // an author's language may stop a relabel but not make one (the prior rules
                    // weigh it already), so a Malay author's Indonesian-looking word stays `id`
                    // here and rule 3 alone decides it.
                    None => lexicon::malay_or_indonesian_by_letters(text).and_then(|s| letters_verdict(&s, priors)),
                };
                // whatlang does not know Malay: its answer is no evidence either way, so the
                // contrast need only lean, by the least difference its table lists (a word twice
                // as common in one language), not by a Zipf unit. A weak lean stays unsure, and
                // the author's languages still outweigh it.
                if let Some(v) = verdict.filter(|v| v.best != answer && v.margin >= lexicon::MSID_LEAN) {
                    if scores.is_none() {
                        return Some(relabel(found, d, &v));
                    }
                    let c = (0.5 + 0.1 * v.margin).min(0.9);
                    let mut refined = Detection::settled(v.best, d.script, c);
                    refined.unsure = c < 0.7;
                    refined.settled = !refined.unsure;
                    return Some((refined, v.second.map(|s| (s, (1.0 - c).min(c)))));
                }
            }
        }
        // The same for Spanish against Portuguese, whose words the lexicon weighed already: the
        // letters of the words neither list holds, only when it holds none of the text's words.
        let both = self.candidate("es", priors) && self.candidate("pt", priors);
        if d.script == whatlang::Script::Latin && d.unsure && both {
            // Only an unsure answer: a finding of the lexicon's letter trigrams that stands
            // (*encaminhadas*, 0.9) must not fall to the letters and a Spanish author's 4 nats.
            // And the letters themselves must lean away from the answer: an author's language
            // may stop a relabel but not make one (the prior rules weigh it already), so a
            // Spanish author's *deletássemos* stays Portuguese.
            let current = found.as_ref().map_or(d, |(f, _)| f);
            let answer = current.code;
            if (answer == "es" || answer == "pt")
                && current.unsure
                && let Some(v) = lexicon::spanish_or_portuguese_by_letters(text)
                    .and_then(|s| letters_verdict(&s, priors))
                    .filter(|v| v.best != answer && v.margin >= lexicon::ESPT_LETTERS_LEAN)
            {
                return Some(relabel(found, d, &v));
            }
        }
        found
    }

    /// [`Tagger::lexicon`] among the languages of the text's script.
    fn lexicon_among(
        &self,
        text: &str,
        d: &Detection,
        priors: &[String],
    ) -> Option<(Detection, Option<(&'static str, f64)>)> {
        const CYRILLIC: &[&str] = &["bg", "kk", "ky", "mn", "ru", "uk", "uz"];
        const STAND_INS: &[&str] = &["kk", "ky", "mn", "uz"];
        const DEVANAGARI: &[&str] = &["hi", "mr", "ne"];
        const LATIN: &[&str] = &["de", "en", "es", "fr", "id", "ms", "pt", "tl", "uz", "vi"];
        const ARABIC: &[&str] = &["ar", "fa", "ur"];
        let pick = |codes: &[&'static str]| -> Vec<&'static str> {
            codes.iter().copied().filter(|c| *c == d.code || self.candidate(c, priors)).collect()
        };
        // The detector's answer must be among those weighed: the lexicon cannot say a language it
        // has no data for is wrong.
        let has = |codes: &[&str]| codes.contains(&d.code);
        let mut malay = false;
        let (scores, by_trigrams, among) = match d.script {
            whatlang::Script::Cyrillic if has(CYRILLIC) && STAND_INS.iter().any(|c| self.candidate(c, priors)) => {
                (lexicon::by_trigrams(text, &pick(CYRILLIC))?, true, None)
            }
            whatlang::Script::Devanagari if d.unsure && DEVANAGARI.contains(&d.code) => {
                let mut scores = lexicon::by_trigrams(text, &pick(DEVANAGARI))?;
                // A word Hindi's frequency list holds leans Hindi (Marathi and Nepali have none).
                let (share, words) = lexicon::listed_share(text, "hi");
                let full = if words == 1 { lexicon::HINDI_LISTED_WORD } else { lexicon::HINDI_LISTED };
                let lean = full * share;
                scores.scores.iter_mut().filter(|(c, _)| *c == "hi").for_each(|(_, s)| *s += lean);
                (scores, true, None)
            }
            whatlang::Script::Latin if d.unsure && has(LATIN) => Self::words_then_trigrams(text, pick(LATIN))?,
            whatlang::Script::Latin if d.code == "id" && self.candidate("ms", priors) => {
                malay = true;
                (lexicon::malay_or_indonesian(text)?, false, None)
            }
            whatlang::Script::Arabic if d.unsure && has(ARABIC) => Self::words_then_trigrams(text, pick(ARABIC))?,
            _ => return None,
        };
        // The margin needed to overrule whatlang shrinks with its own confidence in Latin and Arabic
        // text (word frequencies and trigrams from wordfreq): in full from 0.5 on, a tenth of it
        // for a guess it is not sure of at all (most single words). Not for the trigrams of
        // Tesseract's unweighted lists (Cyrillic, Devanagari).
        let lists = matches!(d.script, whatlang::Script::Latin | whatlang::Script::Arabic);
        let scale = if lists { (d.confidence / 0.5).clamp(0.1, 1.0) } else { 1.0 };
        let judge = |scores: &lexicon::Scores, by_trigrams: bool| {
            // The author's languages as evidence: the first weighs a Zipf unit and a half (or 4
            // nats), the others a third of that.
            let unit = if by_trigrams { 4.0 } else { 1.5 };
            let verdict = scores.verdict(|code| prior_bonus(priors, code, unit));
            // Twins (Malay and Indonesian, Spanish and Portuguese) share most letters and many
            // words, so the lexicon scores them alike: against a detection of a third language,
            // the best's lead over all but its twin counts, and the twin contrasts below choose
            // between the two (the finding's confidence still comes from its lead over the twin).
            let third = verdict.best != d.code && lexicon::twin(verdict.best) != Some(d.code);
            let m = if third { verdict.apart } else { verdict.margin };
            let need = if by_trigrams { 3.0_f64.max(verdict.words as f64) } else { 1.0 };
            // In Cyrillic and Devanagari (Tesseract's lists, full margins) a detection the best
            // leads by the full margin is wrong whatever the runner-up: the best is tagged even when
            // it barely leads a fourth language (*Жиберилди*: ky over uz, both far ahead of ru).
            let score =
                |c: &str| scores.scores.iter().find(|s| s.0 == c).map(|&(c, v)| v + prior_bonus(priors, c, unit));
            let beaten = !lists
                && third
                && score(verdict.best).zip(score(d.code)).is_some_and(|(best, detected)| best - detected >= need);
            (verdict, m >= scale * need || beaten)
        };
        let (mut verdict, mut enough) = judge(&scores, by_trigrams);
        let mut by_trigrams = by_trigrams;
        // Words that say nothing clear (listed rarely, or by several alike): their letters may.
        if !enough
            && let Some(candidates) = among
            && let Some(trigrams) = lexicon::by_trigrams(text, &candidates)
        {
            (verdict, enough) = judge(&trigrams, true);
            by_trigrams = true;
        }
        let m = verdict.margin;
        // An Indonesian detection the Malay contrast confirms over a Malay author's bonus stands:
        // the author's languages were weighed already, so the prior rules do not turn it to Malay.
        let outweighed = |code: Option<&str>| code.is_some_and(|c| priors.iter().any(|p| same_language(p, c)));
        if malay && verdict.best == d.code && enough && outweighed(verdict.second) {
            let c = (0.5 + 0.1 * m).min(0.9);
            return Some((Detection::settled(verdict.best, d.script, c), verdict.second.map(|s| (s, 1.0 - c))));
        }
        if verdict.best == d.code || !enough {
            return None;
        }
        // A margin under the full one (whatlang was barely guessing) gives a weak finding, which
        // an author's language still outweighs (prior rule 4).
        let full = if by_trigrams { 3.0_f64.max(verdict.words as f64) } else { 1.0 };
        let c = if by_trigrams { 0.5 + m / 20.0 } else { 0.5 + 0.1 * m }.min(0.9) * (m / full).min(1.0);
        let mut found = Detection::settled(verdict.best, d.script, c);
        found.unsure = c < 0.7;
        found.settled = !found.unsure;
        Some((found, verdict.second.map(|s| (s, (1.0 - c).min(c)))))
    }

    /// Languages the letters cannot tell apart (Persian and Urdu without ٹ ڈ ڑ ں ے ھ ہ; Kazakh,
    /// Kyrgyz, Mongolian or Uzbek on a word whose markers they share, *жаңа*), the first the
    /// letters' pick (the narrowest alphabet, which is no evidence), needing a model in the
    /// lexicon: another of them when the lexicon prefers it by
    /// the margins of [`Tagger::lexicon`], shrunk on short text (times letters / 25, at least a
    /// tenth); else `None`, and the letters' pick stands.
    fn lexicon_tie(
        &self,
        text: &str,
        tied: &[&'static str],
        script: Script,
        letters: usize,
        priors: &[String],
    ) -> Option<(Detection, Option<(&'static str, f64)>)> {
        // The letters' pick must be weighed too: the lexicon cannot say a language it has no data
        // for is wrong (Tajik).
        if !lexicon::TRIGRAM_LANGS.contains(&tied[0]) && !lexicon::WORD_LANGS.contains(&tied[0]) {
            return None;
        }
        let scale = (letters as f64 / crate::priors::SHORT_LETTERS as f64).clamp(0.1, 1.0);
        let (scores, by_trigrams, among) = Self::words_then_trigrams(text, tied.to_vec())?;
        let judge = |scores: &lexicon::Scores, by_trigrams: bool| {
            let verdict = scores.verdict(|code| prior_bonus(priors, code, if by_trigrams { 4.0 } else { 1.5 }));
            let full = if by_trigrams { 3.0_f64.max(verdict.words as f64) } else { 1.0 };
            (verdict, full)
        };
        let (mut verdict, mut full) = judge(&scores, by_trigrams);
        let mut by_trigrams = by_trigrams;
        if verdict.margin < scale * full
            && let Some(candidates) = among
            && let Some(trigrams) = lexicon::by_trigrams(text, &candidates)
        {
            (verdict, full) = judge(&trigrams, true);
            by_trigrams = true;
        }
        let m = verdict.margin;
        if verdict.best == tied[0] || m < scale * full {
            return None;
        }
        let c = if by_trigrams { 0.5 + m / 20.0 } else { 0.5 + 0.1 * m }.min(0.9) * (m / full).min(1.0);
        let mut found = Detection::settled(verdict.best, whatlang_script(script), c);
        found.unsure = c < 0.7;
        found.settled = !found.unsure;
        Some((found, Some((tied[0], (1.0 - c).min(c)))))
    }

    /// Word frequencies when some candidate lists a word of the text (with the candidates, for
    /// letter trigrams when the words say nothing clear), else letter trigrams.
    fn words_then_trigrams(text: &str, candidates: Vec<&'static str>) -> Option<Evidence> {
        match lexicon::by_words(text, &candidates) {
            Some(scores) => Some((scores, false, Some(candidates))),
            None => lexicon::by_trigrams(text, &candidates).map(|scores| (scores, true, None)),
        }
    }

    /// The detector's second choice: run again without its first.
    fn runner_up(&self, text: &str, info: &whatlang::Info, d: &Detection) -> Option<(&'static str, f64)> {
        let others: Vec<Lang> = self.allowed.iter().copied().filter(|&l| l != info.lang()).collect();
        let again = Detector::with_allowlist(others).detect(text)?;
        (again.script() == info.script()).then(|| (code_for(again.lang()), (1.0 - d.raw).min(d.confidence)))
    }

    /// Apply the prior rules to a layer's finding and build the tag.
    fn finish(&self, found: Found<'_>, d: Detection, runner_up: Option<(&'static str, f64)>) -> Explanation {
        let Found { sample, script, layer, priors } = found;
        let tag = |code: &str, confidence: f64| LanguageTag {
            code: code.to_string(),
            confidence: round2(confidence),
            script: script.to_string(),
        };
        let second = |s: Option<(&'static str, f64)>| s.map(|(code, c)| (self.spell(code).to_string(), round2(c)));
        match choose(&d, priors, &sample.text, sample.letters) {
            Choice::Detected(c) => Explanation { tag: tag(self.spell(d.code), c), layer, second: second(runner_up) },
            Choice::Prior(p, c) if same_language(p, d.code) => {
                Explanation { tag: tag(p, c), layer, second: second(runner_up) }
            }
            Choice::Prior(p, c) => {
                Explanation { tag: tag(p, c), layer: Layer::Prior, second: second(Some((d.code, d.confidence))) }
            }
        }
    }

    /// The codes this tagger chooses among, sorted: the detector's languages and the configured
    /// ones it tells by letters or words. Languages with a script of their own (Japanese kana,
    /// Korean, Thai, Lao, Khmer, Georgian, ...) are recognised whether listed or not.
    pub fn supported(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.allowed.iter().map(|&l| self.spelling(l).to_string()).collect();
        if self.all {
            codes.extend(EXTRA_LANGUAGES.iter().map(|(c, _)| c.to_string()));
        }
        for code in &self.configured {
            if lang_for(code).is_none() {
                codes.push(code.to_string());
            }
        }
        codes.sort();
        codes.dedup();
        codes
    }

    /// Configured codes the tagger does not know (invalid ones, languages without a model), sorted.
    pub fn unsupported(&self) -> Vec<String> {
        self.unsupported.clone()
    }

    fn spell(&self, code: &'static str) -> &'static str {
        lang_for(code).map_or(code, |l| self.spelling(l))
    }

    fn spelling(&self, lang: Lang) -> &'static str {
        self.spellings.iter().find(|(l, _)| *l == lang).map_or_else(|| code_for(lang), |(_, code)| code)
    }
}

/// The author's languages as evidence in the lexicon: the first adds `unit` to its score (a Zipf
/// unit and a half, or 4 nats), the others a third of that.
fn prior_bonus(priors: &[String], code: &str, unit: f64) -> f64 {
    match priors.iter().position(|p| same_language(p, code)) {
        Some(0) => unit,
        Some(_) => unit / 3.0,
        None => 0.0,
    }
}

/// The lexicon's evidence: the scores, whether by trigrams, and the candidates whose trigrams
/// to try when the words say nothing clear.
type Evidence = (lexicon::Scores, bool, Option<Vec<&'static str>>);

/// A layer's finding's context, for [`Tagger::finish`].
struct Found<'a> {
    sample: &'a Sample,
    script: &'a str,
    layer: Layer,
    priors: &'a [String],
}

/// whatlang's script for ours (Latin for the few it lacks; only the prior rules look at it).
fn whatlang_script(script: Script) -> whatlang::Script {
    script.whatlang().unwrap_or(whatlang::Script::Latin)
}

/// A letters contrast's verdict (Malay against Indonesian, Spanish against Portuguese), with an
/// author's first language 4 nats (trigram scale), the others a third of that; `None` when the
/// letters alone lean the other way. An author's language may so stop a relabel but never make
/// one: the prior rules weigh it already, and would count it twice.
fn letters_verdict(scores: &lexicon::Scores, priors: &[String]) -> Option<lexicon::Verdict> {
    let own = scores.verdict(|_| 0.0).best;
    let v = scores.verdict(|code| prior_bonus(priors, code, 4.0));
    (v.best == own).then_some(v)
}

/// A letters contrast's verdict applied to the lexicon's finding (or the detector's answer): it
/// only relabels, so the answer keeps its confidence and standing, and the prior rules treat it
/// as before.
fn relabel(
    found: Option<(Detection, Option<(&'static str, f64)>)>,
    d: &Detection,
    v: &lexicon::Verdict,
) -> (Detection, Option<(&'static str, f64)>) {
    let mut relabelled = found.map_or(*d, |(f, _)| f);
    relabelled.code = v.best;
    let c = relabelled.confidence;
    (relabelled, v.second.map(|s| (s, (1.0 - c).min(c))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priors(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn an_author_may_stop_a_letters_relabel_but_not_make_one() {
        let lean = |ms: f64| lexicon::Scores { scores: vec![("ms", ms), ("id", 0.0)], words: 1 };
        // Letters leaning Indonesian by a nat: a Malay author's 4 nats do not turn them Malay.
        assert_eq!(letters_verdict(&lean(-1.0), &priors(&["ms", "en"])), None);
        assert_eq!(letters_verdict(&lean(-1.0), &[]).map(|v| v.best), Some("id"));
        // Letters leaning Malay by 2 nats: an Indonesian author's 4 stop them, and a Malay
        // author's add to them.
        assert_eq!(letters_verdict(&lean(2.0), &priors(&["id", "en"])), None);
        let v = letters_verdict(&lean(2.0), &priors(&["ms", "en"])).unwrap();
        assert_eq!((v.best, v.margin), ("ms", 6.0));
        // Spanish against Portuguese alike, an author's second language too (4/3 nats).
        let espt = lexicon::Scores { scores: vec![("es", -0.5), ("pt", 0.0)], words: 2 };
        assert_eq!(letters_verdict(&espt, &priors(&["es", "en"])), None);
        assert_eq!(letters_verdict(&espt, &priors(&["en", "es"])), None);
        assert_eq!(letters_verdict(&espt, &priors(&["en", "pt"])).map(|v| v.best), Some("pt"));
    }

    #[test]
    fn supported_and_unsupported() {
        let t = Tagger::new(["zh", "ms", "kk", "cmn", "fil", "xx", "ja", "mn", "ms", ""]);
        assert_eq!(t.unsupported(), ["xx"]);
        assert_eq!(t.supported(), ["en", "fil", "id", "ja", "kk", "mn", "ms", "ru", "zh"]);
        let t = Tagger::new(Vec::<String>::new());
        assert_eq!(t.supported(), ["en", "zh"]);
        assert!(t.unsupported().is_empty());
        assert_eq!(Tagger::all_languages().supported().len(), 77);
        assert_eq!(known_languages().len(), 77);
        assert!(known_languages().contains(&("ms", "Malay")));
    }

    #[test]
    fn no_letters_is_undetermined_even_with_priors() {
        let t = Tagger::new(["en", "zh"]);
        for text in ["", "  ", "2025-03-01", "🙂👍", "https://example.org", "+86 571 8888 0000"] {
            assert_eq!(t.tag(text, &priors(&["zh"])), LanguageTag::undetermined(), "{text:?}");
        }
    }

    #[test]
    fn configured_alias_is_recorded() {
        let t = Tagger::new(["en", "fil"]);
        let text = "Magandang umaga po, ipinapadala ko ang talaan ng pagpupulong kahapon.";
        assert_eq!(t.tag(text, &[]).code, "fil");
        let both = Tagger::new(["en", "fil", "tl"]);
        assert_eq!(both.tag(text, &[]).code, "tl");
    }

    #[test]
    fn script_outside_the_allowlist_falls_back_to_all_languages() {
        let t = Tagger::new(["en"]);
        let tag = t.tag("Спасибо за письмо, мы подготовим ответ к пятнице.", &[]);
        assert_eq!(tag.code, "ru");
        assert_eq!(tag.script, "Cyrillic");
    }

    #[test]
    fn priors_follow_the_script() {
        let t = Tagger::new(["en", "zh", "ja", "ko", "th"]);
        let zh_en = priors(&["zh", "en"]);
        let cases = [
            ("Thanks!", "en", "Latin"),
            ("OK", "en", "Latin"),
            ("好的", "zh", "Mandarin"),
            ("はい", "ja", "Hiragana"),
            ("ハイ", "ja", "Katakana"),
            ("네", "ko", "Hangul"),
            ("ครับ", "th", "Thai"),
        ];
        for (text, code, script) in cases {
            let tag = t.tag(text, &zh_en);
            assert_eq!((tag.code.as_str(), tag.script.as_str()), (code, script), "{text}");
        }
        // Han only, Japanese author.
        assert_eq!(t.tag("了解", &priors(&["ja", "en"])).code, "ja");
        // A sure detection is not overridden by priors.
        let long = "Please find attached the draft memorandum for the library exchange programme.";
        let tag = t.tag(long, &priors(&["zh"]));
        assert_eq!((tag.code.as_str(), tag.confidence), ("en", 1.0));
    }

    #[test]
    fn malay_kazakh_mongolian_with_and_without_priors() {
        let t = Tagger::new(["en", "ms", "kk", "mn", "ru"]);
        let ms = "Terima kasih kerana menyambut delegasi kami dengan mesra minggu lepas.";
        assert_eq!(t.tag(ms, &priors(&["ms", "en"])).code, "ms");
        // Its words tell Malay even without priors.
        assert_eq!(t.tag(ms, &[]).code, "ms");
        // No telling words: Indonesian unless the author writes Malay.
        assert_eq!(t.tag("Baik, terima kasih.", &[]).code, "id");
        assert_eq!(t.tag("Baik, terima kasih.", &priors(&["ms"])).code, "ms");
        let kk = "Келесі кездесуді сәрсенбіге ауыстыруды ұсынамыз.";
        assert_eq!(t.tag(kk, &priors(&["ru", "kk"])).code, "kk");
        // Its letters tell Kazakh, whatever the priors.
        assert_eq!(t.tag(kk, &priors(&["ru"])).code, "kk");
        let mn = "Хотын зөвлөл багш солилцооны хөтөлбөрийн төсвийг баталлаа.";
        let tag = t.tag(mn, &priors(&["mn", "ru"]));
        assert_eq!((tag.code.as_str(), tag.script.as_str()), ("mn", "Cyrillic"));
        assert_eq!(t.tag(mn, &[]).code, "mn");
        let ru = "Спасибо за письмо, ответ подготовим к пятнице.";
        assert_eq!(t.tag(ru, &priors(&["kk", "ru"])).code, "ru");
        assert_eq!(t.tag(ru, &priors(&["mn"])).code, "ru");
    }

    #[test]
    fn letters_that_fit_several_languages_alike_go_to_the_trigrams() {
        // ң (or ө ү) alone fits Kazakh, Kyrgyz (and Mongolian) alike: the narrowest alphabet said
        // Kyrgyz (Mongolian); the letter trigrams of the tied languages decide instead.
        let t = Tagger::new(["en", "ru", "kk", "ky", "mn", "uz"]);
        for (text, code) in [("жаңа", "kk"), ("баланың", "kk"), ("көрүшөбүз", "ky")] {
            let why = t.explain(text, &[]);
            assert_eq!((why.tag.code.as_str(), why.layer), (code, Layer::Lexicon), "{text}");
        }
        // A Mongolian word still is Mongolian.
        assert_eq!(t.tag("өнөөдөр", &[]).code, "mn");
    }

    #[test]
    fn rarer_words_of_the_lists_tell_the_language() {
        // Not among the 5,000 most frequent words of any list: whatlang and trigrams alone were
        // unsure of them.
        let t = Tagger::new(["en", "es", "pt", "fr", "de", "id", "ms", "tl", "vi"]);
        for (text, code) in [("Pedágio", "pt"), ("desabafar", "pt"), ("peaje", "es"), ("nevera", "es")] {
            assert_eq!(t.tag(text, &[]).code, code, "{text}");
        }
    }

    #[test]
    fn a_malay_word_leaning_malay_in_the_contrast_is_malay() {
        // Twice to ten times as common in Malay as in Indonesian (under the Zipf unit asked of
        // other languages): whatlang's Indonesian is no evidence against it.
        let t = Tagger::new(["en", "ms", "id"]);
        for word in ["Pegawai", "Perbandaran", "Rakyat"] {
            assert_eq!(t.tag(word, &[]).code, "ms", "{word}");
            // Weak: an Indonesian author's language outweighs it.
            assert_eq!(t.tag(word, &priors(&["id", "en"])).code, "id", "{word}");
        }
    }

    #[test]
    fn short_latin_lines_by_their_words() {
        let t = Tagger::new(["en", "es", "pt", "fr", "de", "id", "ms", "tl", "uz", "vi"]);
        for (text, code) in [
            ("Thanks!", "en"),
            ("Thank you", "en"),
            ("Obrigado", "pt"),
            ("Merci beaucoup !", "fr"),
            ("Salamat po", "tl"),
            ("Sí, estoy de acuerdo.", "es"),
        ] {
            assert_eq!(t.tag(text, &[]).code, code, "{text}");
        }
        assert_eq!(t.explain("Obrigado", &[]).layer, Layer::Lexical);
        // One word is weak evidence: the author's language outweighs it, but Malay is not taken
        // that way (a Malay officer's "Thanks!" is English).
        assert_eq!(t.tag("Thanks!", &priors(&["ms", "en"])).code, "en");
        let tag = t.tag("Thanks!", &priors(&["es"]));
        assert_eq!((tag.code.as_str(), tag.confidence < 0.5), ("es", true));
    }

    #[test]
    fn one_configured_language_still_tags_others_by_script() {
        let t = Tagger::new(["ja"]);
        assert_eq!(t.tag("図書館交流プロジェクトの覚書の草案を添付いたします。", &[]).code, "ja");
        assert_eq!(t.tag("请查收图书馆交流项目的草案。", &[]).code, "zh");
        assert_eq!(t.tag("도서관 교류 사업 양해각서 초안을 첨부합니다.", &[]).code, "ko");
        assert_eq!(t.tag("Please find attached the draft.", &[]).code, "en");
    }

    #[test]
    fn confidence_is_rounded_and_bounded() {
        let t = Tagger::all_languages();
        for text in ["OK", "Thanks!", "好的", "はい", "Merci", "Library exchange"] {
            let tag = t.tag(text, &priors(&["en"]));
            assert!((0.0..=1.0).contains(&tag.confidence), "{tag:?}");
            assert_eq!((tag.confidence * 100.0).round() / 100.0, tag.confidence);
        }
    }
}
