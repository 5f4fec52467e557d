//! The script layer: which script a text is written in, the languages a script of its own settles
//! at once, and the characteristic letters that decide within Cyrillic and Arabic script.

/// A writing system, as counted over a text's letters. Names are whatlang's where it has one
/// (`Mandarin` for Han), so tags keep the script names they always had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    Sinhala,
    Thai,
    Lao,
    Tibetan,
    Myanmar,
    Georgian,
    Ethiopic,
    Khmer,
    Mongolian,
    Greek,
    Armenian,
    Hiragana,
    Katakana,
    Mandarin,
    Hangul,
}

const ALL: [Script; 28] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Arabic,
    Script::Hebrew,
    Script::Devanagari,
    Script::Bengali,
    Script::Gurmukhi,
    Script::Gujarati,
    Script::Oriya,
    Script::Tamil,
    Script::Telugu,
    Script::Kannada,
    Script::Malayalam,
    Script::Sinhala,
    Script::Thai,
    Script::Lao,
    Script::Tibetan,
    Script::Myanmar,
    Script::Georgian,
    Script::Ethiopic,
    Script::Khmer,
    Script::Mongolian,
    Script::Greek,
    Script::Armenian,
    Script::Hiragana,
    Script::Katakana,
    Script::Mandarin,
    Script::Hangul,
];

impl Script {
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Cyrillic => "Cyrillic",
            Script::Arabic => "Arabic",
            Script::Hebrew => "Hebrew",
            Script::Devanagari => "Devanagari",
            Script::Bengali => "Bengali",
            Script::Gurmukhi => "Gurmukhi",
            Script::Gujarati => "Gujarati",
            Script::Oriya => "Oriya",
            Script::Tamil => "Tamil",
            Script::Telugu => "Telugu",
            Script::Kannada => "Kannada",
            Script::Malayalam => "Malayalam",
            Script::Sinhala => "Sinhala",
            Script::Thai => "Thai",
            Script::Lao => "Lao",
            Script::Tibetan => "Tibetan",
            Script::Myanmar => "Myanmar",
            Script::Georgian => "Georgian",
            Script::Ethiopic => "Ethiopic",
            Script::Khmer => "Khmer",
            Script::Mongolian => "Mongolian",
            Script::Greek => "Greek",
            Script::Armenian => "Armenian",
            Script::Hiragana => "Hiragana",
            Script::Katakana => "Katakana",
            Script::Mandarin => "Mandarin",
            Script::Hangul => "Hangul",
        }
    }

    /// whatlang's script, for the scripts it knows.
    pub fn whatlang(self) -> Option<whatlang::Script> {
        use whatlang::Script as W;
        Some(match self {
            Script::Latin => W::Latin,
            Script::Cyrillic => W::Cyrillic,
            Script::Arabic => W::Arabic,
            Script::Hebrew => W::Hebrew,
            Script::Devanagari => W::Devanagari,
            Script::Bengali => W::Bengali,
            Script::Gurmukhi => W::Gurmukhi,
            Script::Gujarati => W::Gujarati,
            Script::Oriya => W::Oriya,
            Script::Tamil => W::Tamil,
            Script::Telugu => W::Telugu,
            Script::Kannada => W::Kannada,
            Script::Malayalam => W::Malayalam,
            Script::Sinhala => W::Sinhala,
            Script::Thai => W::Thai,
            Script::Myanmar => W::Myanmar,
            Script::Georgian => W::Georgian,
            Script::Ethiopic => W::Ethiopic,
            Script::Khmer => W::Khmer,
            Script::Greek => W::Greek,
            Script::Armenian => W::Armenian,
            Script::Hiragana => W::Hiragana,
            Script::Katakana => W::Katakana,
            Script::Mandarin => W::Mandarin,
            Script::Hangul => W::Hangul,
            Script::Lao | Script::Tibetan | Script::Mongolian => return None,
        })
    }

    /// The script of one character, if it is a letter (or a sign) of a script we count.
    fn of(c: char) -> Option<Script> {
        let s = match c as u32 {
            0xd7 | 0xf7 => return None,
            0x41..=0x5a | 0x61..=0x7a | 0xc0..=0x24f | 0x1e00..=0x1eff => Script::Latin,
            0x370..=0x3ff | 0x1f00..=0x1fff => Script::Greek,
            0x400..=0x52f => Script::Cyrillic,
            0x531..=0x58f => Script::Armenian,
            0x591..=0x5ff => Script::Hebrew,
            0x620..=0x64a | 0x66e..=0x6d3 | 0x6fa..=0x6ff | 0x750..=0x77f | 0xfb50..=0xfdff | 0xfe70..=0xfeff => {
                Script::Arabic
            }
            0x900..=0x97f => Script::Devanagari,
            0x980..=0x9ff => Script::Bengali,
            0xa00..=0xa7f => Script::Gurmukhi,
            0xa80..=0xaff => Script::Gujarati,
            0xb00..=0xb7f => Script::Oriya,
            0xb80..=0xbff => Script::Tamil,
            0xc00..=0xc7f => Script::Telugu,
            0xc80..=0xcff => Script::Kannada,
            0xd00..=0xd7f => Script::Malayalam,
            0xd80..=0xdff => Script::Sinhala,
            0xe00..=0xe7f => Script::Thai,
            0xe80..=0xeff => Script::Lao,
            0xf00..=0xfff => Script::Tibetan,
            0x1000..=0x109f => Script::Myanmar,
            0x10a0..=0x10ff | 0x1c90..=0x1cbf => Script::Georgian,
            0x1100..=0x11ff | 0x3130..=0x318f | 0xac00..=0xd7af => Script::Hangul,
            0x1200..=0x139f => Script::Ethiopic,
            0x1780..=0x17ff | 0x19e0..=0x19ff => Script::Khmer,
            0x1800..=0x18af => Script::Mongolian,
            0x3041..=0x309f => Script::Hiragana,
            0x30a1..=0x30ff | 0x31f0..=0x31ff | 0xff66..=0xff9d => Script::Katakana,
            0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x3134f => Script::Mandarin,
            _ => return None,
        };
        Some(s)
    }
}

/// Characters per script in a text; the majority script is the text's.
#[derive(Debug, Default)]
pub struct Counts {
    counts: [usize; ALL.len()],
}

impl Counts {
    pub fn new(text: &str) -> Counts {
        let mut counts = Counts::default();
        for c in text.chars() {
            if let Some(s) = Script::of(c) {
                counts.counts[s as usize] += 1;
            }
        }
        counts
    }

    pub fn get(&self, script: Script) -> usize {
        self.counts[script as usize]
    }

    /// The script with the most characters (the first in [`ALL`] on a tie), if any.
    pub fn majority(&self) -> Option<Script> {
        let mut best: Option<(Script, usize)> = None;
        for s in ALL {
            let n = self.get(s);
            if n > 0 && best.is_none_or(|(_, m)| n > m) {
                best = Some((s, n));
            }
        }
        best.map(|(s, _)| s)
    }
}

/// The language a script of its own names, whatever the config: Hangul → `ko`, Thai → `th`, Lao →
/// `lo`, ... `None` for scripts several languages share (Latin, Cyrillic, Arabic, Devanagari,
/// Hebrew with Yiddish, Han with kana: decided elsewhere).
pub fn own_language(script: Script) -> Option<&'static str> {
    Some(match script {
        Script::Hangul => "ko",
        Script::Thai => "th",
        Script::Lao => "lo",
        Script::Khmer => "km",
        Script::Myanmar => "my",
        Script::Sinhala => "si",
        Script::Tamil => "ta",
        Script::Telugu => "te",
        Script::Kannada => "kn",
        Script::Malayalam => "ml",
        Script::Gujarati => "gu",
        Script::Gurmukhi => "pa",
        Script::Oriya => "or",
        Script::Bengali => "bn",
        Script::Georgian => "ka",
        Script::Armenian => "hy",
        Script::Greek => "el",
        Script::Ethiopic => "am",
        Script::Tibetan => "bo",
        Script::Mongolian => "mn",
        _ => return None,
    })
}

/// A language told from others of its script by its letters.
#[derive(Debug)]
pub struct Letters {
    pub code: &'static str,
    pub script: Script,
    /// Letters characteristic of it (its *markers*): seeing them is evidence for it.
    pub extras: &'static str,
    /// Letters other languages' markers that it also writes, without them being evidence.
    pub tolerated: &'static str,
    /// Letters of the script's common alphabet it does not have.
    pub lacks: &'static str,
}

/// The Cyrillic and Arabic-script languages told apart by letters. Russian and Bulgarian have no
/// letters of their own: they are what the detector says when no marked language fits.
pub const LETTERS: &[Letters] = &[
    Letters { code: "kk", script: Script::Cyrillic, extras: "әғқңөұүһі", tolerated: "", lacks: "" },
    Letters { code: "ky", script: Script::Cyrillic, extras: "ңөү", tolerated: "", lacks: "" },
    Letters { code: "mn", script: Script::Cyrillic, extras: "өү", tolerated: "", lacks: "" },
    Letters { code: "uz", script: Script::Cyrillic, extras: "ўқғҳ", tolerated: "", lacks: "щы" },
    Letters { code: "tg", script: Script::Cyrillic, extras: "ғӣқӯҳҷ", tolerated: "", lacks: "щы" },
    Letters { code: "uk", script: Script::Cyrillic, extras: "іїєґ", tolerated: "", lacks: "ыэъё" },
    Letters { code: "be", script: Script::Cyrillic, extras: "іў", tolerated: "", lacks: "ищъ" },
    Letters {
        code: "sr", script: Script::Cyrillic, extras: "ђјљњћџ", tolerated: "", lacks: "йщъыьэюяё"
    },
    Letters {
        code: "mk", script: Script::Cyrillic, extras: "ѓќѕјљњџ", tolerated: "", lacks: "йщъыьэюяё"
    },
    // Arabic: teh marbuta, alef maksura, Arabic yeh and kaf.
    Letters { code: "ar", script: Script::Arabic, extras: "ةىيك", tolerated: "", lacks: "" },
    // Persian: peh, tcheh, jeh, gaf, Farsi yeh, keheh (also Urdu's).
    Letters { code: "fa", script: Script::Arabic, extras: "پچژگیک", tolerated: "ةىيك", lacks: "" },
    // Urdu: Persian's letters and tteh, ddal, rreh, noon ghunna, yeh barree, heh doachashmee, heh goal.
    Letters {
        code: "ur", script: Script::Arabic, extras: "پچژگیکٹڈڑںےھہۓ", tolerated: "ةىيك", lacks: ""
    },
];

/// Common words of the Turkic and Mongolian languages of Central Asia, for texts whose letters fit
/// several of them (ө ү alone: Mongolian, Kyrgyz or Kazakh?).
const WORDS: &[(&str, &[&str])] = &[("mn", MONGOLIAN), ("ky", KYRGYZ), ("kk", KAZAKH), ("uz", UZBEK), ("tg", TAJIK)];

const MONGOLIAN: &[&str] = &[
    "байна",
    "болно",
    "энэ",
    "тэр",
    "юм",
    "бөгөөд",
    "болон",
    "хотын",
    "манай",
    "танай",
    "таны",
    "бид",
    "уу",
    "үү",
    "юу",
    "ирэх",
    "өнөөдөр",
    "маргааш",
    "баярлалаа",
    "хүлээн",
    "авлаа",
    "хурал",
    "хурлын",
    "нь",
    "гэж",
    "гэх",
    "буюу",
    "тэд",
    "бүр",
    "бүх",
    "хүн",
    "эрх",
    "байх",
    "байгаа",
    "мөн",
    "ямар",
    "хэн",
];
const KYRGYZ: &[&str] = &[
    "жана",
    "үчүн",
    "менен",
    "бул",
    "шаар",
    "шаардын",
    "шаардык",
    "болот",
    "келет",
    "бүгүн",
    "эртең",
    "жолугушуу",
    "кеңеш",
    "кийинки",
    "күнү",
    "өтөт",
    "рахмат",
    "жарайт",
    "ар",
    "эмес",
    "дагы",
    "тийиш",
    "алар",
    "алардын",
    "анын",
    "болуп",
    "жок",
    "бирок",
    "кандай",
    "эч",
];
const KAZAKH: &[&str] = &[
    "және",
    "үшін",
    "бұл",
    "біз",
    "сіз",
    "қала",
    "қаланың",
    "рақмет",
    "бүгін",
    "ертең",
    "кездесу",
    "келесі",
    "күні",
    "өтеді",
    "жарайды",
    "рахмет",
    "емес",
    "немесе",
];
const UZBEK: &[&str] = &[
    "ва",
    "учун",
    "билан",
    "бу",
    "шаҳар",
    "раҳмат",
    "бугун",
    "эртага",
    "кейинги",
    "куни",
    "бўлади",
    "ёки",
    "эмас",
    "барча",
    "ушбу",
    "шундай",
    "бирор",
    "эга",
];
const TAJIK: &[&str] = &["ва", "барои", "бо", "ин", "мо", "шумо", "шаҳр", "ташаккур", "имрӯз", "фардо"];

/// Words of `code`'s list in the text (lowercased).
fn word_hits(code: &str, lower: &str) -> usize {
    let Some((_, words)) = WORDS.iter().find(|(c, _)| *c == code) else {
        return 0;
    };
    lower.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty() && words.contains(w)).count()
}

/// One language's fit to a text's letters.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub code: &'static str,
    /// Its marker letters in the text.
    pub markers: usize,
    /// Letters it does not write (other languages' markers, letters it lacks).
    pub foreign: usize,
    /// Letters in its marker set: the smaller, the more specific a match.
    pub breadth: usize,
    /// Its common words in the text (counted only when several languages fit).
    pub words: usize,
    /// Among the author's priors.
    pub prior: bool,
}

impl Fit {
    /// Best first: fewest foreign letters, then the most common words, then an author's language,
    /// then the narrowest alphabet (ө ү alone is Mongolian, not Kyrgyz or Kazakh), then the most
    /// markers.
    fn key(&self) -> (usize, std::cmp::Reverse<usize>, bool, usize, std::cmp::Reverse<usize>) {
        use std::cmp::Reverse;
        (self.foreign, Reverse(self.words), !self.prior, self.breadth, Reverse(self.markers))
    }
}

/// The best and second-best language among `candidates` for a Cyrillic or Arabic-script text, by
/// its letters: only languages whose markers appear, at least one per 50 letters. `None` when no
/// candidate's markers appear (the detector decides).
pub fn by_letters(
    script: Script,
    text: &str,
    letters: usize,
    candidate: impl Fn(&str) -> bool,
    prior: impl Fn(&str) -> bool,
) -> Option<(Fit, Vec<Fit>)> {
    let table: Vec<&Letters> = LETTERS.iter().filter(|l| l.script == script && candidate(l.code)).collect();
    if table.is_empty() {
        return None;
    }
    let all_markers = LETTERS.iter().filter(|l| l.script == script).flat_map(|l| l.extras.chars());
    let special: Vec<char> = all_markers.chain(table.iter().flat_map(|l| l.lacks.chars())).collect();
    // (letter, count) for the letters that matter.
    let mut seen: Vec<(char, usize)> = Vec::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if special.contains(&c) {
            match seen.iter_mut().find(|(s, _)| *s == c) {
                Some((_, n)) => *n += 1,
                None => seen.push((c, 1)),
            }
        }
    }
    let short = letters < crate::priors::SHORT_LETTERS;
    if seen.is_empty() && !table.iter().any(|l| WORDS.iter().any(|(c, _)| *c == l.code)) {
        return None;
    }
    let all: Vec<Fit> = table
        .iter()
        .map(|l| {
            let mut fit = Fit {
                code: l.code,
                markers: 0,
                foreign: 0,
                breadth: l.extras.chars().count(),
                words: 0,
                prior: prior(l.code),
            };
            for &(c, n) in &seen {
                if l.extras.contains(c) {
                    fit.markers += n;
                } else if l.lacks.contains(c) || !l.tolerated.contains(c) && all_is_marker(script, c) {
                    fit.foreign += n;
                }
            }
            fit
        })
        .collect();
    let mut fits: Vec<Fit> = all.iter().copied().filter(|f| f.markers > 0 && f.markers * 50 >= letters).collect();
    if fits.len() > 1 {
        let lower = text.to_lowercase();
        for fit in &mut fits {
            fit.words = word_hits(fit.code, &lower);
        }
    } else if fits.is_empty() {
        // A line without telling letters, or with fewer than one in 50 ("Жарайды.", "Маргааш
        // уулзъя.", "Ар бир адам ... менен ... укуктуу."): its common words, if it has nothing the
        // language does not write; one for a short line, two for a longer one.
        let need = if short { 1 } else { 2 };
        let lower = text.to_lowercase();
        fits = all
            .into_iter()
            .filter(|f| f.foreign == 0)
            .map(|f| Fit { words: word_hits(f.code, &lower), ..f })
            .filter(|f| f.words >= need)
            .collect();
    }
    fits.sort_by_key(Fit::key);
    let mut fits = fits.into_iter();
    let best = fits.next()?;
    Some((best, fits.collect()))
}

fn all_is_marker(script: Script, c: char) -> bool {
    LETTERS.iter().any(|l| l.script == script && l.extras.contains(c))
}

/// How sure the letters make us of `best` over `second`.
pub fn letters_confidence(best: &Fit, second: Option<&Fit>) -> f64 {
    let alone = if best.markers == 0 {
        0.5 + 0.1 * best.words.min(3) as f64
    } else {
        0.8 + 0.05 * best.markers.min(4) as f64 - 0.1 * best.foreign as f64
    };
    match second {
        Some(s) if s.foreign == best.foreign => (alone - 0.2).max(0.5),
        _ => alone.max(0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_script() {
        assert_eq!(Counts::new("Hello мир world").majority(), Some(Script::Latin));
        assert_eq!(Counts::new("ສະບາຍດີ").majority(), Some(Script::Lao));
        assert_eq!(Counts::new("好的").majority(), Some(Script::Mandarin));
        assert_eq!(Counts::new("はい").majority(), Some(Script::Hiragana));
        assert_eq!(Counts::new("123 !?").majority(), None);
        assert_eq!(Counts::new("ᠮᠣᠩᠭᠣᠯ").majority(), Some(Script::Mongolian));
    }

    fn decide(script: Script, text: &str, candidates: &[&str], priors: &[&str]) -> Option<&'static str> {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        by_letters(script, text, letters, |c| candidates.contains(&c), |c| priors.contains(&c)).map(|(b, _)| b.code)
    }

    #[test]
    fn cyrillic_letters() {
        let all = ["kk", "ky", "mn", "uz", "tg", "uk", "be", "sr", "mk"];
        let c = Script::Cyrillic;
        assert_eq!(decide(c, "Қалалық мәслихат бюджетін бекітті", &all, &[]), Some("kk"));
        assert_eq!(decide(c, "Жыйынга катышууңузду суранабыз", &all, &[]), Some("ky"));
        assert_eq!(decide(c, "Хотын зөвлөл төсвийг баталлаа", &all, &[]), Some("mn"));
        assert_eq!(decide(c, "Ҳужжатларни кўриб чиқдик", &all, &[]), Some("uz"));
        assert_eq!(decide(c, "Дякуємо за лист", &all, &[]), Some("uk"));
        assert_eq!(decide(c, "Спасибо за письмо", &all, &[]), None);
        assert_eq!(decide(c, "Спасибо за письмо, ответ подготовим к пятнице.", &all, &[]), None);
        // Short lines without telling letters: common words.
        assert_eq!(decide(c, "Жарайды.", &all, &[]), Some("kk"));
        assert_eq!(decide(c, "Маргааш уулзъя.", &all, &[]), Some("mn"));
        assert_eq!(decide(c, "Маргааш уулзъя.", &["kk", "ky"], &[]), None);
        // Only among the candidates: ө ү with Mongolian not configured.
        assert_eq!(decide(c, "Хотын зөвлөл төсвийг баталлаа", &["kk", "ky"], &[]), Some("ky"));
        assert_eq!(decide(c, "Хотын зөвлөл төсвийг баталлаа", &["ru"], &[]), None);
        // The author's language breaks a tie.
        assert_eq!(decide(c, "Рақмет", &all, &["kk", "ru"]), Some("kk"));
        assert_eq!(decide(c, "Өтө жакшы", &all, &["ky"]), Some("ky"));
        assert_eq!(decide(c, "Өтө жакшы", &all, &[]), Some("mn"));
        // Common words before the narrowest alphabet, and before the author's language.
        assert_eq!(decide(c, "Кийинки жолугушуу шаршемби күнү саат ондо өтөт.", &all, &[]), Some("ky"));
        assert_eq!(decide(c, "Кийинки жолугушуу шаршемби күнү саат ондо өтөт.", &all, &["kk"]), Some("ky"));
        // Longer lines without (enough) telling letters: two common words or more.
        assert_eq!(
            decide(c, "Ар бир адам тынч чогулуштар менен ассоциациялар эркиндигине укуктуу.", &all, &[]),
            Some("ky")
        );
        assert_eq!(
            decide(c, "Тэд гэрлэхдээ, гэрлэснийхээ дараа болон гэрлэлтээ цуцлуулах үед тэгш эрх эдэлнэ.", &all, &[]),
            Some("mn")
        );
        assert_eq!(decide(c, "Ар бир адам граждандык алууга укуктуу.", &all, &[]), None);
        assert_eq!(decide(c, "Мы же говорили, что встреча же состоится в пятницу вечером.", &all, &[]), None);
    }

    #[test]
    fn arabic_letters() {
        let all = ["ar", "fa", "ur"];
        let a = Script::Arabic;
        assert_eq!(decide(a, "از همکاری شما سپاسگزاریم", &all, &[]), Some("fa"));
        assert_eq!(decide(a, "آپ کے تعاون کا شکریہ", &all, &[]), Some("ur"));
        assert_eq!(decide(a, "شكرا لتعاونكم في هذه المبادرة", &all, &[]), Some("ar"));
        assert_eq!(decide(a, "سلام", &all, &[]), None);
    }
}
