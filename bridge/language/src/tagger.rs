//! The tagger: a whatlang detector restricted to the configured languages, plus the author's priors.

use c2c_core::LanguageTag;
use whatlang::{Detector, Lang};

use crate::codes::{canonical_code, code_for, lang_for};
use crate::priors::{Choice, Detection, choose, prior_only};
use crate::sample::Sample;

/// Tags texts with a language. Build it once (from the config) and share it: `tag` takes `&self`.
#[derive(Debug, Clone)]
pub struct Tagger {
    /// Built once: whatlang with an allowlist of `allowed`.
    detector: Detector,
    /// The languages the detector chooses among (for scripts several languages share).
    allowed: Vec<Lang>,
    /// Configured spellings other than [`code_for`]'s (`fil` for Tagalog).
    spellings: Vec<(Lang, &'static str)>,
    /// Configured codes whatlang cannot detect, sorted.
    unsupported: Vec<String>,
}

impl Tagger {
    /// A tagger for the languages a config mentions (cities', contacts', partnerships').
    ///
    /// English and Chinese (`zh`, needed to tell Han text from Japanese) are always added. Codes are
    /// first brought to their valid spelling ([`canonical_code`]: `cmn` → `zh`). Codes whatlang
    /// cannot detect go to [`Tagger::unsupported`]; for the prior-only languages among them (`ms`,
    /// `kk`, `mn`, `ky`, `tg`) a stand-in whatlang language is added to the detector (Indonesian for
    /// Malay, Russian for the Cyrillic ones), so that their text is detected as its closest relative,
    /// which the prior rules then recognise.
    pub fn new<I, S>(languages: I) -> Tagger
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = vec![Lang::Eng, Lang::Cmn];
        let mut spellings: Vec<(Lang, &'static str)> = Vec::new();
        let mut canonical: Vec<Lang> = Vec::new();
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
                if code == code_for(lang) {
                    canonical.push(lang);
                } else {
                    spellings.push((lang, code));
                }
            } else {
                if let Some(only) = prior_only(code) {
                    allow(&mut allowed, only.stand_in);
                }
                unsupported.push(code.to_string());
            }
        }
        // `tl` and `fil` both configured: record `tl`.
        spellings.retain(|(lang, _)| !canonical.contains(lang));
        unsupported.sort();
        unsupported.dedup();
        Tagger { detector: Detector::with_allowlist(allowed.clone()), allowed, spellings, unsupported }
    }

    /// A tagger over every language whatlang knows (for `tag-language` without a config).
    pub fn all_languages() -> Tagger {
        Tagger {
            detector: Detector::new(),
            allowed: Lang::all().to_vec(),
            spellings: Vec::new(),
            unsupported: Vec::new(),
        }
    }

    /// Tag one text. `priors`: the author's known languages (valid codes), most preferred first.
    /// See the crate documentation for the rules.
    pub fn tag(&self, text: &str, priors: &[String]) -> LanguageTag {
        let sample = Sample::new(text);
        if sample.letters == 0 {
            return LanguageTag::undetermined();
        }
        // The allowlist finds nothing when no allowed language uses the text's script (Cyrillic
        // text under an English/Chinese config): then ask about every language.
        let info = self.detector.detect(&sample.text).or_else(|| Detector::new().detect(&sample.text));
        let Some(info) = info else {
            // Letters, but in a script whatlang does not know (Lao, Tibetan, ...).
            return LanguageTag::undetermined();
        };
        let detection = Detection::new(&info, sample.letters);
        let (code, confidence) = match choose(&detection, priors, &sample.text, sample.letters) {
            Choice::Detected(confidence) => (self.spelling(detection.lang), confidence),
            Choice::Prior(code, confidence) => (code, confidence),
        };
        LanguageTag {
            code: code.to_string(),
            confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0,
            script: info.script().name().to_string(),
        }
    }

    /// The codes this tagger's detector chooses among, sorted. Languages with a script of their own
    /// (Japanese kana, Korean, Thai, Greek, Georgian, ...) are recognised whether listed or not.
    pub fn supported(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.allowed.iter().map(|&l| self.spelling(l).to_string()).collect();
        codes.sort();
        codes
    }

    /// Configured codes whatlang cannot detect (`ms`, `kk`, `mn`, invalid ones), sorted. Tagged only
    /// through authors' priors.
    pub fn unsupported(&self) -> Vec<String> {
        self.unsupported.clone()
    }

    fn spelling(&self, lang: Lang) -> &'static str {
        self.spellings.iter().find(|(l, _)| *l == lang).map_or_else(|| code_for(lang), |(_, code)| code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priors(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn supported_and_unsupported() {
        let t = Tagger::new(["zh", "ms", "kk", "cmn", "fil", "xx", "ja", "mn", "ms", ""]);
        assert_eq!(t.unsupported(), ["kk", "mn", "ms", "xx"]);
        assert_eq!(t.supported(), ["en", "fil", "id", "ja", "ru", "zh"]);
        let t = Tagger::new(Vec::<String>::new());
        assert_eq!(t.supported(), ["en", "zh"]);
        assert!(t.unsupported().is_empty());
        assert_eq!(Tagger::all_languages().supported().len(), 70);
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
    fn malay_kazakh_mongolian_through_priors() {
        let t = Tagger::new(["en", "ms", "kk", "mn", "ru"]);
        let ms = "Terima kasih kerana menyambut delegasi kami dengan mesra minggu lepas.";
        assert_eq!(t.tag(ms, &priors(&["ms", "en"])).code, "ms");
        assert_eq!(t.tag(ms, &[]).code, "id");
        let kk = "Келесі кездесуді сәрсенбіге ауыстыруды ұсынамыз.";
        assert_eq!(t.tag(kk, &priors(&["ru", "kk"])).code, "kk");
        assert_eq!(t.tag(kk, &priors(&["ru"])).code, "ru");
        let mn = "Хотын зөвлөл багш солилцооны хөтөлбөрийн төсвийг баталлаа.";
        let tag = t.tag(mn, &priors(&["mn", "ru"]));
        assert_eq!((tag.code.as_str(), tag.confidence, tag.script.as_str()), ("mn", 0.8, "Cyrillic"));
        let ru = "Спасибо за письмо, ответ подготовим к пятнице.";
        assert_eq!(t.tag(ru, &priors(&["kk", "ru"])).code, "ru");
        assert_eq!(t.tag(ru, &priors(&["mn"])).code, "ru");
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
