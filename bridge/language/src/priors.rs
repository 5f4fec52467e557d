//! Choosing between what the detector says and what the author is known to write (their priors).
//! The rules and confidence formulas are documented at the crate root.

use whatlang::{Lang, Script};

use crate::codes::{code_for, lang_for};

/// Below this many letters a text in a script shared by several languages is "short": the detector's
/// confidence is scaled down by `letters / SHORT_LETTERS` and the text counts as unsure.
pub const SHORT_LETTERS: usize = 25;
/// The same for Han text (zh or ja?): one character carries far more than one Latin letter.
pub const SHORT_HAN: usize = 10;
/// Confidence never exceeds this for a language whatlang cannot detect (`ms`, `kk`, `mn`, ...).
pub const PRIOR_ONLY_CAP: f64 = 0.8;

/// A language whatlang cannot detect, tagged only when an author's priors name it.
#[derive(Debug)]
pub struct PriorOnly {
    pub code: &'static str,
    pub script: Script,
    /// The whatlang language a tagger configured with this one also detects, so that the text
    /// is not forced onto an unrelated language of the same script (Indonesian for Malay).
    pub stand_in: Lang,
    /// whatlang languages its text is detected as.
    pub close: &'static [Lang],
    /// whatlang cannot tell it from `close` at all: a close detection gives way even when sure.
    pub close_is_enough: bool,
    /// Letters it has and no `close` language has; seeing enough of them settles it, and a text of
    /// [`SHORT_LETTERS`] or more without them is taken not to be in this language.
    pub markers: &'static str,
}

const CYRILLIC: &[Lang] = &[Lang::Rus, Lang::Ukr, Lang::Bul, Lang::Bel, Lang::Srp, Lang::Mkd];

/// Languages whatlang cannot detect that we still tag through priors.
pub const PRIOR_ONLY: &[PriorOnly] = &[
    PriorOnly {
        code: "ms",
        script: Script::Latin,
        stand_in: Lang::Ind,
        close: &[Lang::Ind],
        close_is_enough: true,
        markers: "",
    },
    PriorOnly {
        code: "kk",
        script: Script::Cyrillic,
        stand_in: Lang::Rus,
        close: CYRILLIC,
        close_is_enough: false,
        markers: "әғқңөұүһӘҒҚҢӨҰҮҺ",
    },
    PriorOnly {
        code: "mn",
        script: Script::Cyrillic,
        stand_in: Lang::Rus,
        close: CYRILLIC,
        close_is_enough: false,
        markers: "өүӨҮ",
    },
    PriorOnly {
        code: "ky",
        script: Script::Cyrillic,
        stand_in: Lang::Rus,
        close: CYRILLIC,
        close_is_enough: false,
        markers: "ңөүҢӨҮ",
    },
    PriorOnly {
        code: "tg",
        script: Script::Cyrillic,
        stand_in: Lang::Rus,
        close: CYRILLIC,
        close_is_enough: false,
        markers: "ғӣқӯҳҷҒӢҚӮҲҶ",
    },
];

pub fn prior_only(code: &str) -> Option<&'static PriorOnly> {
    PRIOR_ONLY.iter().find(|p| p.code == code)
}

impl PriorOnly {
    /// At least one marker letter, and at least one per 50 letters.
    fn marked(&self, text: &str, letters: usize) -> bool {
        if self.markers.is_empty() {
            return false;
        }
        let marks = text.chars().filter(|c| self.markers.contains(*c)).count();
        marks > 0 && marks * 50 >= letters
    }

    /// Could the text be in this language, as far as its letters tell?
    fn possible(&self, text: &str, letters: usize) -> bool {
        self.markers.is_empty() || letters < SHORT_LETTERS || self.marked(text, letters)
    }
}

/// What a layer said about a text, with our view of its certainty.
#[derive(Debug, Clone, Copy)]
pub struct Detection {
    /// The recorded code of the language found (`zh`, `tl`, `kk`).
    pub code: &'static str,
    pub script: Script,
    /// whatlang's own confidence (1.0 for the other layers).
    pub raw: f64,
    /// The confidence scaled down for short text: what we report for the language found.
    pub confidence: f64,
    /// Not reliable by whatlang's measure (raw ≤ 0.9) or short.
    pub unsure: bool,
    /// Decided by letters or words (the script and lexical layers): only agreement with a prior
    /// changes it, none of the other prior rules.
    pub settled: bool,
}

impl Detection {
    pub fn new(info: &whatlang::Info, letters: usize) -> Detection {
        let script = info.script();
        let raw = info.confidence();
        let short_below = match script {
            Script::Latin | Script::Cyrillic | Script::Arabic | Script::Devanagari | Script::Hebrew => SHORT_LETTERS,
            Script::Mandarin => SHORT_HAN,
            // A script of its own (Hangul, Thai, kana, Greek, ...) names the language.
            _ => 0,
        };
        let length_factor = if letters < short_below { letters as f64 / short_below as f64 } else { 1.0 };
        Detection {
            code: code_for(info.lang()),
            script,
            raw,
            confidence: raw * length_factor,
            unsure: !info.is_reliable() || letters < short_below,
            settled: false,
        }
    }

    /// Decided by the script or lexical layer, with this confidence.
    pub fn settled(code: &'static str, script: Script, confidence: f64) -> Detection {
        Detection { code, script, raw: 1.0, confidence, unsure: false, settled: true }
    }
}

/// Do a prior and a recorded code name the same language (`fil` and `tl`)?
pub fn same_language(prior: &str, code: &str) -> bool {
    prior == code || lang_for(prior).is_some_and(|l| lang_for(code) == Some(l))
}

/// The outcome: the detected language, or one of the author's priors (as spelled there).
#[derive(Debug, PartialEq)]
pub enum Choice<'a> {
    Detected(f64),
    Prior(&'a str, f64),
}

/// Can text in `script` be in the whatlang language `code`? (`false` for other codes.)
fn fits(code: &str, script: Script) -> bool {
    match lang_for(code) {
        Some(Lang::Jpn) => matches!(script, Script::Mandarin | Script::Hiragana | Script::Katakana),
        Some(lang) => script.langs().contains(&lang),
        None => false,
    }
}

/// Below this confidence an unsure detection gives way to the author's first language written in
/// the text's script (rule 4): the prior is a weight, not a blind fallback.
pub const PRIOR_OVERRIDES_BELOW: f64 = 0.5;

/// Apply the prior rules (see the crate root) in order; the first that applies wins.
pub fn choose<'a>(d: &Detection, priors: &'a [String], text: &str, letters: usize) -> Choice<'a> {
    let c = d.confidence;
    // 2 (first when settled). The layers agree with a prior.
    let agreeing = priors.iter().find(|p| same_language(p, d.code));
    if d.settled {
        return match agreeing {
            Some(p) => Choice::Prior(p, (1.0 + c) / 2.0),
            None => Choice::Detected(c),
        };
    }
    // A prior-only prior that fits this text's script and letters.
    let only = |p: &String| prior_only(p).filter(|o| o.script == d.script && o.possible(text, letters));
    // 1. Letters only a prior-only language has.
    if let Some(p) = priors.iter().find(|p| only(p).is_some_and(|o| o.marked(text, letters))) {
        return Choice::Prior(p, PRIOR_ONLY_CAP);
    }
    // 2. The detector agrees with a prior.
    if let Some(p) = agreeing {
        return Choice::Prior(p, (1.0 + c) / 2.0);
    }
    // 3. The detector found the close relative of a prior-only language, and cannot be trusted to
    //    tell them apart.
    let detected = lang_for(d.code);
    let gives_way = |o: &PriorOnly| detected.is_some_and(|l| o.close.contains(&l)) && (o.close_is_enough || d.unsure);
    if let Some(p) = priors.iter().find(|p| only(p).is_some_and(gives_way)) {
        return Choice::Prior(p, PRIOR_ONLY_CAP.min((1.0 + c) / 2.0));
    }
    // 4. Unsure and weak: the author's first language that can be written in this script. Malay
    //    needs evidence (an Indonesian detection, rule 3, or its words): a Malay officer writing
    //    English is tagged English.
    let fitting = |p: &&String| fits(p, d.script) || only(p).is_some_and(|o| !o.close_is_enough);
    if d.unsure
        && c < PRIOR_OVERRIDES_BELOW
        && let Some(p) = priors.iter().find(fitting)
    {
        return Choice::Prior(p, 0.5 * (1.0 - c / 2.0));
    }
    Choice::Detected(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(lang: Lang, script: Script, raw: f64, letters: usize) -> Detection {
        Detection::new(&whatlang::Info::new(script, lang, raw), letters)
    }

    fn priors(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn short_text_is_unsure_and_scaled() {
        let d = detection(Lang::Eng, Script::Latin, 1.0, 5);
        assert!(d.unsure);
        assert!((d.confidence - 0.2).abs() < 1e-9);
        let d = detection(Lang::Kor, Script::Hangul, 1.0, 2);
        assert!(!d.unsure);
        assert_eq!(d.confidence, 1.0);
        let d = detection(Lang::Cmn, Script::Mandarin, 1.0, 12);
        assert!(!d.unsure);
    }

    #[test]
    fn rules_in_order() {
        let latin_short = detection(Lang::Tgl, Script::Latin, 1.0, 6);
        let p = priors(&["zh", "en"]);
        assert_eq!(choose(&latin_short, &p, "Thanks", 6), Choice::Prior("en", 0.5 * (1.0 - 0.12)));
        // No prior fits the script: keep the detection.
        assert_eq!(choose(&latin_short, &priors(&["zh", "ja"]), "Thanks", 6), Choice::Detected(0.24));
        // Sure detections are kept.
        let sure = detection(Lang::Fra, Script::Latin, 1.0, 40);
        assert_eq!(choose(&sure, &p, "", 40), Choice::Detected(1.0));
        // Agreement.
        assert_eq!(choose(&sure, &priors(&["en", "fr"]), "", 40), Choice::Prior("fr", 1.0));
        // Malay: Indonesian gives way even when sure.
        let ind = detection(Lang::Ind, Script::Latin, 1.0, 40);
        assert_eq!(choose(&ind, &priors(&["en", "ms"]), "", 40), Choice::Prior("ms", 0.8));
        assert_eq!(choose(&ind, &priors(&["en"]), "", 40), Choice::Detected(1.0));
        // Kazakh letters beat a Russian prior.
        let rus = detection(Lang::Rus, Script::Cyrillic, 1.0, 30);
        let kk = "Біз кездесуге дайынбыз, рақмет сізге";
        assert_eq!(choose(&rus, &priors(&["ru", "kk"]), kk, 30), Choice::Prior("kk", 0.8));
        // Plain Russian from a Kazakh author stays Russian.
        let ru = "Спасибо, встреча переносится на вторник";
        assert_eq!(choose(&rus, &priors(&["kk", "ru"]), ru, 30), Choice::Prior("ru", 1.0));
        assert_eq!(choose(&rus, &priors(&["kk"]), ru, 30), Choice::Detected(1.0));
    }

    #[test]
    fn scripts_fit() {
        assert!(fits("ja", Script::Mandarin));
        assert!(fits("ja", Script::Hiragana));
        assert!(!fits("zh", Script::Hiragana));
        assert!(fits("zh", Script::Mandarin));
        assert!(!fits("ms", Script::Latin));
        assert!(fits("fil", Script::Latin));
        assert!(!fits("yue", Script::Mandarin));
    }
}
