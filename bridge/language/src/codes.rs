//! Language codes: which codes are valid, and how whatlang's languages map to the codes we record.
//!
//! We record ISO 639-1 where one exists, else ISO 639-3. Every one of whatlang's 70 languages has an
//! ISO 639-1 code, so [`code_for`] never falls back to whatlang's own three-letter codes.
//!
//! A *valid* code ([`is_valid_code`]) is one we could record ourselves: one of the 184 ISO 639-1 codes,
//! or an ISO 639-3 code from [`ISO_639_3_ONLY`] (languages that have no ISO 639-1 code, chosen for
//! city cooperation: Chinese varieties, Philippine, Indonesian and Indian languages, a few European
//! regional ones). Three-letter codes of languages that *do* have a two-letter code (`eng`, `cmn`,
//! `zsm`, `pes`, ...) are **not** valid: accepting them would give one language two spellings, and a
//! message tagged `zh` would then look "not in the agreed language" of a partnership configured as
//! `cmn`. [`canonical_code`] turns such spellings into the valid one, for helpful error messages.

use whatlang::Lang;

/// All ISO 639-1 codes (184, including the deprecated-but-listed `bh`).
pub const ISO_639_1: [&str; 184] = [
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", //
    "ba", "be", "bg", "bh", "bi", "bm", "bn", "bo", "br", "bs", //
    "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", //
    "da", "de", "dv", "dz", //
    "ee", "el", "en", "eo", "es", "et", "eu", //
    "fa", "ff", "fi", "fj", "fo", "fr", "fy", //
    "ga", "gd", "gl", "gn", "gu", "gv", //
    "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", //
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", //
    "ja", "jv", //
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", //
    "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", //
    "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", //
    "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", //
    "oc", "oj", "om", "or", "os", //
    "pa", "pi", "pl", "ps", "pt", //
    "qu", //
    "rm", "rn", "ro", "ru", "rw", //
    "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", //
    "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", //
    "ug", "uk", "ur", "uz", //
    "ve", "vi", "vo", //
    "wa", "wo", //
    "xh", //
    "yi", "yo", //
    "za", "zh", "zu",
];

/// ISO 639-3 codes we accept: languages without an ISO 639-1 code that partner cities plausibly use.
/// Extend as configs need; keep it to languages that really lack a two-letter code.
pub const ISO_639_3_ONLY: &[&str] = &[
    // Chinese varieties (written standard Chinese is `zh`).
    "yue", "nan", "hak", "wuu", "gan", "hsn", "cdo", //
    // Philippines, Indonesia, Malaysia, Timor-Leste, Pacific.
    "fil", "ceb", "ilo", "hil", "war", "pam", "bcl", "min", "ban", "bug", "mad", "ace", "bjn", "tet", "tpi",
    "haw", //
    // South Asia.
    "mai", "bho", "awa", "mag", "kok", "sat", "mni", "doi", "brx", "new", //
    // Southeast/Central Asia, Caucasus, Russia.
    "hmn", "shn", "kaa", "crh", "sah", "bua", "kbd", "ady", "lez", //
    // Europe.
    "ast", "scn", "nap", "vec", "lij", "fur", "nds", "hsb", "dsb", "csb", "szl", "mwl", "ext", //
    // Africa and the Americas.
    "nso", "kea", "pap", "mfe", "kab", "luo", "kam", "mos", "dyu", "fon", "srn", "jam",
];

/// True for a code we could record: one of the 184 ISO 639-1 codes, or an ISO 639-3 code in
/// [`ISO_639_3_ONLY`]. Case-sensitive: codes are lowercase ASCII. Three-letter codes of languages
/// with a two-letter code (`eng`, `cmn`) are rejected; see [`canonical_code`].
pub fn is_valid_code(code: &str) -> bool {
    match code.len() {
        2 => ISO_639_1.binary_search(&code).is_ok(),
        3 => ISO_639_3_ONLY.contains(&code),
        _ => false,
    }
}

/// The valid spelling of a language code, if we can tell: valid codes themselves, whatlang's ISO 639-3
/// codes (`cmn` → `zh`, `pes` → `fa`), a few ISO 639-2 and individual-language codes (`zho` → `zh`,
/// `zsm` → `ms`, `khk` → `mn`), any case, with a region or script subtag dropped (`pt-BR` → `pt`).
/// For configuration error messages ("did you mean `zh`?"), not the hot path.
pub fn canonical_code(code: &str) -> Option<&'static str> {
    let lower = code.trim().to_ascii_lowercase();
    let base = lower.split(['-', '_']).next().unwrap_or_default();
    if let Ok(i) = ISO_639_1.binary_search(&base) {
        return Some(ISO_639_1[i]);
    }
    if let Some(found) = ISO_639_3_ONLY.iter().find(|c| **c == base) {
        return Some(found);
    }
    if let Some(lang) = Lang::from_code(base) {
        return Some(code_for(lang));
    }
    OTHER_SPELLINGS.iter().find(|(from, _)| *from == base).map(|(_, to)| *to)
}

/// Other three-letter spellings of languages that have a two-letter code (besides whatlang's own).
const OTHER_SPELLINGS: &[(&str, &str)] = &[
    ("zho", "zh"),
    ("chi", "zh"),
    ("msa", "ms"),
    ("may", "ms"),
    ("zsm", "ms"),
    ("kaz", "kk"),
    ("mon", "mn"),
    ("khk", "mn"),
    ("kir", "ky"),
    ("tgk", "tg"),
    ("lao", "lo"),
    ("fas", "fa"),
    ("per", "fa"),
    ("arb", "ar"),
    ("swa", "sw"),
    ("swh", "sw"),
    ("npi", "ne"),
    ("uzn", "uz"),
    ("azj", "az"),
    ("ger", "de"),
    ("fre", "fr"),
    ("dut", "nl"),
    ("cze", "cs"),
    ("gre", "el"),
    ("rum", "ro"),
    ("slo", "sk"),
    ("arm", "hy"),
    ("geo", "ka"),
    ("bur", "my"),
    ("wel", "cy"),
    ("nor", "no"),
    ("nno", "nn"),
];

/// The code we record for a whatlang language: ISO 639-1 (every whatlang 0.18 language has one).
pub fn code_for(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

/// Valid codes that name a whatlang language under another code: Filipino is standardised Tagalog,
/// `no` (Norwegian) is written as Bokmål by most. A tagger configured with one of these records it.
pub const ALIASES: &[(&str, Lang)] = &[("fil", Lang::Tgl), ("no", Lang::Nob)];

/// The whatlang language for a recorded code (`zh` → `Cmn`), or for an alias in [`ALIASES`]
/// (`fil` → `Tgl`). `None` for codes whatlang cannot detect (`ms`, `kk`, `mn`, ...) and for
/// non-canonical spellings (`cmn`, `EN`).
pub fn lang_for(code: &str) -> Option<Lang> {
    let lang = match code {
        "eo" => Lang::Epo,
        "en" => Lang::Eng,
        "ru" => Lang::Rus,
        "zh" => Lang::Cmn,
        "es" => Lang::Spa,
        "pt" => Lang::Por,
        "it" => Lang::Ita,
        "bn" => Lang::Ben,
        "fr" => Lang::Fra,
        "de" => Lang::Deu,
        "uk" => Lang::Ukr,
        "ka" => Lang::Kat,
        "ar" => Lang::Ara,
        "hi" => Lang::Hin,
        "ja" => Lang::Jpn,
        "he" => Lang::Heb,
        "yi" => Lang::Yid,
        "pl" => Lang::Pol,
        "am" => Lang::Amh,
        "jv" => Lang::Jav,
        "ko" => Lang::Kor,
        "nb" => Lang::Nob,
        "da" => Lang::Dan,
        "sv" => Lang::Swe,
        "fi" => Lang::Fin,
        "tr" => Lang::Tur,
        "nl" => Lang::Nld,
        "hu" => Lang::Hun,
        "cs" => Lang::Ces,
        "el" => Lang::Ell,
        "bg" => Lang::Bul,
        "be" => Lang::Bel,
        "mr" => Lang::Mar,
        "kn" => Lang::Kan,
        "ro" => Lang::Ron,
        "sl" => Lang::Slv,
        "hr" => Lang::Hrv,
        "sr" => Lang::Srp,
        "mk" => Lang::Mkd,
        "lt" => Lang::Lit,
        "lv" => Lang::Lav,
        "et" => Lang::Est,
        "ta" => Lang::Tam,
        "vi" => Lang::Vie,
        "ur" => Lang::Urd,
        "th" => Lang::Tha,
        "gu" => Lang::Guj,
        "uz" => Lang::Uzb,
        "pa" => Lang::Pan,
        "az" => Lang::Aze,
        "id" => Lang::Ind,
        "te" => Lang::Tel,
        "fa" => Lang::Pes,
        "ml" => Lang::Mal,
        "or" => Lang::Ori,
        "my" => Lang::Mya,
        "ne" => Lang::Nep,
        "si" => Lang::Sin,
        "km" => Lang::Khm,
        "tk" => Lang::Tuk,
        "ak" => Lang::Aka,
        "zu" => Lang::Zul,
        "sn" => Lang::Sna,
        "af" => Lang::Afr,
        "la" => Lang::Lat,
        "sk" => Lang::Slk,
        "ca" => Lang::Cat,
        "tl" => Lang::Tgl,
        "hy" => Lang::Hye,
        "cy" => Lang::Cym,
        _ => return ALIASES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l),
    };
    Some(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_639_1_table_is_sorted_unique_two_lowercase_letters() {
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_639_1.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn iso_639_3_table_has_no_duplicates_and_no_two_letter_equivalents() {
        for (i, code) in ISO_639_3_ONLY.iter().enumerate() {
            assert_eq!(code.len(), 3, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_lowercase()), "{code}");
            assert!(!ISO_639_3_ONLY[i + 1..].contains(code), "duplicate {code}");
            assert!(Lang::from_code(*code).is_none(), "{code} is whatlang's, has a 639-1");
            assert!(!OTHER_SPELLINGS.iter().any(|(from, _)| from == code), "{code}");
        }
    }

    #[test]
    fn every_whatlang_language_maps_to_a_valid_code_and_back() {
        assert_eq!(Lang::all().len(), 70);
        let mut seen = Vec::new();
        for &lang in Lang::all() {
            let code = code_for(lang);
            assert!(is_valid_code(code), "{lang:?} -> {code}");
            assert_eq!(lang_for(code), Some(lang), "{code}");
            assert_eq!(canonical_code(lang.code()), Some(code), "{lang:?}");
            assert!(!seen.contains(&code), "{code} used twice");
            seen.push(code);
        }
    }

    #[test]
    fn asian_languages_get_their_two_letter_codes() {
        let expected = [
            (Lang::Cmn, "zh"),
            (Lang::Pes, "fa"),
            (Lang::Ind, "id"),
            (Lang::Jpn, "ja"),
            (Lang::Kor, "ko"),
            (Lang::Tha, "th"),
            (Lang::Vie, "vi"),
            (Lang::Hin, "hi"),
            (Lang::Tgl, "tl"),
            (Lang::Nob, "nb"),
        ];
        for (lang, code) in expected {
            assert_eq!(code_for(lang), code);
        }
    }

    #[test]
    fn valid_and_invalid_codes() {
        for code in ["en", "zh", "ja", "ms", "kk", "mn", "fil", "yue", "ko", "th", "no", "bh"] {
            assert!(is_valid_code(code), "{code} should be valid");
        }
        for code in ["xx", "english", "EN", "", "e", "cmn", "eng", "zsm", "zh-CN", " en", "qq", "sh", "mo"] {
            assert!(!is_valid_code(code), "{code} should be invalid");
        }
    }

    #[test]
    fn lang_for_unknown_and_aliases() {
        for code in ["ms", "kk", "mn", "yue", "xx", "", "cmn", "EN", "und"] {
            assert_eq!(lang_for(code), None, "{code}");
        }
        assert_eq!(lang_for("fil"), Some(Lang::Tgl));
        assert_eq!(lang_for("no"), Some(Lang::Nob));
        for (code, _) in ALIASES {
            assert!(is_valid_code(code));
        }
    }

    #[test]
    fn canonical_spellings() {
        let cases = [
            ("cmn", Some("zh")),
            ("zho", Some("zh")),
            ("zh-CN", Some("zh")),
            ("zh_TW", Some("zh")),
            ("EN", Some("en")),
            (" pt-BR ", Some("pt")),
            ("eng", Some("en")),
            ("pes", Some("fa")),
            ("zsm", Some("ms")),
            ("khk", Some("mn")),
            ("kaz", Some("kk")),
            ("FIL", Some("fil")),
            ("yue", Some("yue")),
            ("english", None),
            ("xx", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical_code(input), expected, "{input}");
        }
        for (_, to) in OTHER_SPELLINGS {
            assert!(is_valid_code(to), "{to}");
        }
    }
}
