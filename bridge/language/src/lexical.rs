//! The lexical layer: Malay and Indonesian told apart by words each standard uses and the other
//! does not (Dewan Bahasa dan Pustaka and KBBI spellings and usage; e.g. Malay *kerana*, *boleh*,
//! *wang*, *sahaja*, *kereta*, *percuma*, *kerajaan*, *sila* against Indonesian *karena*, *bisa*,
//! *uang*, *saja*, *mobil*, *gratis*, *pemerintah*, *silakan*). Words both write (*terima kasih*,
//! *tidak*, *tak*, *kami*, *mohon*) are no evidence either way.

/// Words of Malaysian Malay that Indonesian writes otherwise.
pub const MALAY: &[&str] = &[
    "kerana",
    "boleh",
    "wang",
    "sahaja",
    "kereta",
    "percuma",
    "kerajaan",
    "sila",
    "tarikh",
    "mesyuarat",
    "pejabat",
    "bandaraya",
    "majlis",
    "hujung",
    "projek",
    "bajet",
    "kenderaan",
    "maklumat",
    "bahawa",
    "mahu",
    "cuba",
    "faham",
    "antarabangsa",
    "persidangan",
    "kemaskini",
    "pasukan",
    "rakan",
    "lepas",
    "belia",
    "jawatankuasa",
    "setiausaha",
    "pengarah",
    "sebarang",
    "sekiranya",
    "universiti",
    "teksi",
    "persefahaman",
    "mencadangkan",
    "cadangan",
    "sahkan",
    "pengesahan",
    "esok",
    "menghantar",
    "dihantar",
    "syarikat",
    "kakitangan",
    "lawatan",
    "encik",
    "ditangguhkan",
    "minit",
    "awak",
    // Standard Malay against Indonesian spellings and words (Malay *hendaklah*, *kahwin*,
    // *bahagian*, *kewajipan*, *keperibadian*, *iaitu*, *menubuhkan*; Indonesian *laki-laki*,
    // *kawin*, *bagian*, *kewajiban*, *kepribadian*, *yaitu*). Not *kanak-kanak* or *lelaki*:
    // Indonesian writes them too (*taman kanak-kanak*).
    "hendaklah",
    "kahwin",
    "berkahwin",
    "perkahwinan",
    "bahagian",
    "kewajipan",
    "keperibadian",
    "iaitu",
    "bahawasanya",
    "sejagat",
    "pertubuhan",
    "menubuhkan",
    "ditubuhkan",
    "penubuhan",
    "sesebuah",
    "sempadan",
    // Office words (DBP usage; Indonesian *pemberitahuan*, *pemesanan*, *telepon*, *nomor*, *surel*).
    "dimaklumkan",
    "memaklumkan",
    "makluman",
    "taklimat",
    "tempahan",
    "ditempah",
    "puan",
    "telefon",
    "emel",
    "nombor",
];

/// Words of Indonesian that Malaysian Malay writes otherwise.
pub const INDONESIAN: &[&str] = &[
    "karena",
    "bisa",
    "uang",
    "saja",
    "mobil",
    "gratis",
    "pemerintah",
    "silakan",
    "tanggal",
    "kantor",
    "proyek",
    "kendaraan",
    "informasi",
    "bahwa",
    "mau",
    "coba",
    "paham",
    "internasional",
    "konferensi",
    "tim",
    "rekan",
    "panitia",
    "sekretaris",
    "direktur",
    "kesepahaman",
    "mengusulkan",
    "usulan",
    "konfirmasi",
    "besok",
    "kemarin",
    "bapak",
    "provinsi",
    "ditunda",
    "menit",
    "nggak",
    "enggak",
    "gak",
    "aja",
    "banget",
    "kapan",
    "gimana",
    "walikota",
    "universitas",
    "taksi",
    "laki-laki",
    "kawin",
    "perkawinan",
    "bagian",
    "kewajiban",
    "kepribadian",
    "yaitu",
    "bahwasanya",
    "perserikatan",
    "perbatasan",
    "pemesanan",
    "telepon",
    "nomor",
    "surel",
];

/// Which side a word is evidence for: `Some(true)` Malay, `Some(false)` Indonesian. Beyond the
/// lists: the enclitic *-nya* (*keperibadiannya*) is taken off, and the loan nouns Malay ends in
/// *-iti* and Indonesian in *-itas* (*aktiviti*/*aktivitas*, *kualiti*/*kualitas*, *komuniti*/
/// *komunitas*) count (after v l n r s t, not *-eliti*: *menyakiti*, *peneliti* are words of both).
fn side(word: &str) -> Option<bool> {
    let base = word.split('-').next().unwrap_or(word);
    let stem = word.strip_suffix("nya").filter(|s| s.len() >= 4);
    for w in [Some(word), Some(base), stem].into_iter().flatten() {
        if MALAY.contains(&w) {
            return Some(true);
        }
        if INDONESIAN.contains(&w) {
            return Some(false);
        }
    }
    let w = stem.unwrap_or(word);
    let loan_iti = w.strip_suffix("iti").and_then(|s| s.chars().last()).is_some_and(|c| "vlnrst".contains(c));
    if w.len() >= 7 && loan_iti && !w.ends_with("eliti") {
        return Some(true);
    }
    if w.len() >= 7 && w.ends_with("itas") {
        return Some(false);
    }
    None
}

/// Malay and Indonesian marker words in a text (lowercased, split on anything but letters and `-`).
pub fn count(text: &str) -> (usize, usize) {
    let (mut ms, mut id) = (0, 0);
    let mut word = String::new();
    for token in text.split(|c: char| !(c.is_alphabetic() || c == '-')) {
        if token.is_empty() || !token.is_ascii() {
            continue;
        }
        word.clear();
        word.extend(token.chars().map(|c| c.to_ascii_lowercase()));
        match side(word.trim_matches('-')) {
            Some(true) => ms += 1,
            Some(false) => id += 1,
            None => {}
        }
    }
    (ms, id)
}

/// Hindi, Marathi and Nepali (all in Devanagari) by their common function words: whatlang mixes
/// them up on short lines. Words two of them share (*को*, *हो*, *या*, *ही*, *का*, *की*, *के*, *धन्यवाद*, *कृपया*) are
/// left out.
pub const DEVANAGARI: &[(&str, &[&str])] = &[("hi", HINDI), ("mr", MARATHI), ("ne", NEPALI)];

const HINDI: &[&str] = &[
    "है",
    "हैं",
    "था",
    "थे",
    "और",
    "में",
    "नहीं",
    "यह",
    "कि",
    "भी",
    "हम",
    "आप",
    "आपके",
    "आपका",
    "आपकी",
    "रहे",
    "गया",
    "किया",
    "करें",
    "होगा",
    "होगी",
    "से",
    "बहुत",
    "हाँ",
    "हां",
    "मैं",
    "कल",
    "आपको",
    "मुझे",
    "हमें",
    "लिए",
];
const MARATHI: &[&str] = &[
    "आहे",
    "आहेत",
    "आणि",
    "व",
    "हे",
    "आम्ही",
    "आपण",
    "तुम्ही",
    "नाही",
    "करा",
    "केले",
    "होईल",
    "साठी",
    "मध्ये",
    "आपल्या",
    "आपले",
    "आपला",
    "आमच्या",
    "झाली",
    "झाले",
    "खूप",
    "होय",
    "बरं",
    "मी",
    "उद्या",
    "नक्की",
];
const NEPALI: &[&str] = &[
    "छ",
    "छन्",
    "र",
    "पनि",
    "गर्नुहोस्",
    "लागि",
    "हामी",
    "तपाईं",
    "तपाईंको",
    "हुनेछ",
    "गरेको",
    "भएको",
    "थियो",
    "गर्न",
    "मा",
    "हाम्रो",
    "गरिएको",
    "भयो",
    "धेरै",
    "म",
    "छु",
    "भोलि",
    "हजुर",
    "हुन्छ",
    "भेटौं",
    "मलाई",
    "तपाईंलाई",
];

/// Spanish and Portuguese by their function words and letters (ã õ against ñ ¿ ¡); words both
/// write (*a*, *o*, *no*, *por*, *para*, *dos*, *está*, *estamos*) are left out.
const SPANISH: &[&str] = &[
    "el",
    "los",
    "las",
    "del",
    "y",
    "una",
    "muy",
    "con",
    "en",
    "gracias",
    "usted",
    "ustedes",
    "también",
    "le",
    "les",
    "hemos",
    "hay",
    "es",
    "son",
    "quedamos",
    "saludos",
    "cordiales",
    "atentamente",
    "reunión",
    "ayuntamiento",
    "alcalde",
    "ciudad",
    "nuestro",
    "nuestra",
    "su",
    "sus",
    "pero",
    "cuando",
    "ni",
    "nadie",
];
const PORTUGUESE: &[&str] = &[
    "os",
    "as",
    "do",
    "das",
    "e",
    "uma",
    "muito",
    "com",
    "em",
    "obrigado",
    "obrigada",
    "você",
    "vocês",
    "também",
    "não",
    "são",
    "é",
    "há",
    "temos",
    "reunião",
    "cidade",
    "prefeitura",
    "câmara",
    "atenciosamente",
    "cumprimentos",
    "ao",
    "aos",
    "à",
    "na",
    "nas",
    "seu",
    "sua",
    "nosso",
    "nossa",
    "mas",
    "quando",
    "pela",
    "pelo",
    "seus",
    "suas",
    "nem",
    "ninguém",
];

/// Tagalog against Indonesian (whatlang mixes them on short lines); an Indonesian answer then goes
/// on to the Malay check.
const TAGALOG: &[&str] = &[
    "ang", "ng", "mga", "sa", "po", "ay", "salamat", "namin", "ninyo", "kayo", "lang", "natin", "ito", "iyon", "hindi",
    "opo", "maraming", "pong", "ninyong", "aming", "inyong", "nang", "ni",
];
const INDONESIAN_OR_MALAY: &[&str] = &[
    "yang", "dan", "di", "ini", "itu", "untuk", "dengan", "kami", "akan", "tidak", "ada", "kita", "dari", "pada",
    "terima", "kasih", "mohon", "sudah", "belum", "bisa", "karena", "kerana", "boleh",
];

/// Short Latin-script lines (greetings, thanks, yes and agreement, the commonest function words)
/// that the detector is unsure of: whatlang's trigrams say little about "Thanks!", "Obrigado",
/// "Salamat po". Written from general knowledge of each language, not cut from a corpus; words two
/// of them write (*no*, *la*, *ya*, *va*, *ha*, *dia*, *will*, *entendido*) are left out.
pub const SHORT_LATIN: &[(&str, &[&str])] = &[
    ("en", ENGLISH_SHORT),
    ("fr", FRENCH_SHORT),
    ("de", GERMAN_SHORT),
    ("es", SPANISH_SHORT),
    ("pt", PORTUGUESE_SHORT),
    ("id", INDONESIAN_OR_MALAY_SHORT),
    ("tl", TAGALOG_SHORT),
    ("uz", UZBEK_LATIN_SHORT),
    ("vi", VIETNAMESE_SHORT),
];

const ENGLISH_SHORT: &[&str] = &[
    "the",
    "and",
    "you",
    "thank",
    "thanks",
    "hi",
    "hello",
    "please",
    "yes",
    "noted",
    "good",
    "morning",
    "afternoon",
    "evening",
    "sure",
    "great",
    "dear",
    "regards",
    "kindly",
    "received",
    "tomorrow",
    "today",
    "we",
    "our",
    "your",
    "of",
    "to",
    "is",
    "are",
    "for",
    "with",
    "confirm",
    "sounds",
    "agreed",
    "fine",
];
const FRENCH_SHORT: &[&str] = &[
    "merci",
    "beaucoup",
    "bonjour",
    "bonsoir",
    "salut",
    "oui",
    "et",
    "est",
    "nous",
    "vous",
    "pour",
    "avec",
    "une",
    "le",
    "les",
    "du",
    "au",
    "je",
    "bien",
    "reçu",
    "cordialement",
    "d'accord",
    "très",
    "demain",
];
const GERMAN_SHORT: &[&str] = &[
    "danke",
    "vielen",
    "und",
    "der",
    "die",
    "das",
    "ist",
    "nicht",
    "wir",
    "ich",
    "mit",
    "für",
    "bitte",
    "guten",
    "hallo",
    "ja",
    "gut",
    "grüße",
    "morgen",
    "heute",
    "sehr",
    "gerne",
    "einverstanden",
];
const SPANISH_SHORT: &[&str] = &[
    "gracias", "hola", "buenos", "buenas", "días", "sí", "muchas", "acuerdo", "usted", "el", "los", "y", "muy", "con",
    "vemos", "mañana", "hoy", "saludos", "reunión", "estoy", "claro", "perfecto", "vale",
];
const PORTUGUESE_SHORT: &[&str] = &[
    "obrigado",
    "obrigada",
    "olá",
    "bom",
    "boa",
    "sim",
    "certo",
    "entendi",
    "muito",
    "você",
    "não",
    "amanhã",
    "hoje",
    "reunião",
    "com",
    "os",
    "uma",
    "é",
    "tudo",
    "combinado",
    "perfeito",
];
const INDONESIAN_OR_MALAY_SHORT: &[&str] = &[
    "terima", "kasih", "baik", "baiklah", "selamat", "pagi", "siang", "malam", "mohon", "maaf", "tidak", "sudah",
    "akan", "kami", "yang", "dan", "ini", "itu", "untuk", "dengan", "jumpa", "setuju",
];
const TAGALOG_SHORT: &[&str] = &[
    "salamat",
    "po",
    "opo",
    "ang",
    "ng",
    "mga",
    "sa",
    "magandang",
    "umaga",
    "hapon",
    "gabi",
    "oo",
    "sige",
    "naintindihan",
    "ko",
    "namin",
    "kayo",
    "pong",
];
const VIETNAMESE_SHORT: &[&str] =
    &["cảm", "ơn", "vâng", "dạ", "được", "xin", "chào", "không", "anh", "chị", "tôi", "chúng", "của", "và"];
const UZBEK_LATIN_SHORT: &[&str] =
    &["rahmat", "salom", "bilan", "uchun", "bu", "yaxshi", "xayr", "kerak", "ertaga", "bugun"];

/// Arabic, Persian and Urdu lines without the letters that tell them apart (`src/script.rs`), by
/// their function words and short-message words; words two of them write (*من*, *ما*, *کی*, *پر*,
/// *سلام*) are left out.
const ARABIC: &[&str] = &[
    "في",
    "على",
    "إلى",
    "هذا",
    "هذه",
    "التي",
    "الذي",
    "نعم",
    "أنا",
    "شكرا",
    "شكراً",
    "حسنا",
    "حسناً",
    "مع",
    "أن",
    "إن",
    "كان",
    "لقد",
    "سوف",
    "نحن",
    "عن",
];
const PERSIAN: &[&str] = &[
    "است",
    "این",
    "را",
    "از",
    "که",
    "با",
    "ممنون",
    "متشکرم",
    "بله",
    "خیلی",
    "برای",
    "شما",
    "هست",
    "نیست",
    "آن",
    "یک",
    "بسیار",
];
const URDU: &[&str] =
    &["اور", "ہے", "ہیں", "کے", "کا", "میں", "یہ", "وہ", "شکریہ", "جی", "ہاں", "نہیں", "آپ", "ہم", "سے", "بھی"];

/// Languages whatlang confuses, told apart by words (and a few letters) when it answers one of them.
pub struct Group {
    /// whatlang answers that bring the group in.
    pub triggers: &'static [&'static str],
    pub words: &'static [(&'static str, &'static [&'static str])],
    /// Letters only one of them writes: each occurrence counts as a word.
    pub letters: &'static [(&'static str, &'static str)],
}

pub const GROUPS: &[Group] = &[
    Group { triggers: &["hi", "mr", "ne"], words: DEVANAGARI, letters: &[] },
    Group {
        triggers: &["es", "pt"],
        words: &[("es", SPANISH), ("pt", PORTUGUESE)],
        letters: &[("es", "ñÑ¿¡"), ("pt", "ãõÃÕ")],
    },
    Group { triggers: &["tl", "id"], words: &[("tl", TAGALOG), ("id", INDONESIAN_OR_MALAY)], letters: &[] },
    Group { triggers: &["ar", "fa", "ur"], words: &[("ar", ARABIC), ("fa", PERSIAN), ("ur", URDU)], letters: &[] },
];

impl Group {
    /// Hits per language: its words and letters in the text.
    pub fn count(&self, text: &str) -> Vec<(&'static str, usize)> {
        let mut hits = count_in(self.words, &text.to_lowercase());
        for (code, letters) in self.letters {
            let n = text.chars().filter(|c| letters.contains(*c)).count();
            if let Some(h) = hits.iter_mut().find(|(c, _)| c == code) {
                h.1 += n;
            }
        }
        hits
    }
}

/// Marker words per language of `table` in the text (split on whitespace and punctuation).
pub fn count_in(table: &[(&'static str, &[&str])], text: &str) -> Vec<(&'static str, usize)> {
    let mut hits: Vec<(&'static str, usize)> = table.iter().map(|(code, _)| (*code, 0)).collect();
    let punctuation =
        |c: char| c.is_ascii_punctuation() || matches!(c, '।' | '॥' | '“' | '”' | '‘' | '’' | '،' | '؟' | '؛' | '۔');
    for word in text.split(|c: char| c.is_whitespace()).map(|w| w.trim_matches(punctuation)) {
        for (i, (_, words)) in table.iter().enumerate() {
            if words.contains(&word) {
                hits[i].1 += 1;
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_do_not_overlap() {
        for w in MALAY {
            assert!(!INDONESIAN.contains(w), "{w}");
        }
    }

    #[test]
    fn devanagari_words() {
        let hits = count_in(DEVANAGARI, "हम आपके सहयोग के लिए आभारी हैं।");
        assert_eq!(hits, [("hi", 4), ("mr", 0), ("ne", 0)]);
        let hits = count_in(DEVANAGARI, "आपल्या सहकार्याबद्दल आम्ही आभारी आहोत.");
        assert_eq!(hits, [("hi", 0), ("mr", 2), ("ne", 0)]);
        let hits = count_in(DEVANAGARI, "तपाईंको सहयोगका लागि हामी आभारी छौं।");
        assert_eq!(hits, [("hi", 0), ("mr", 0), ("ne", 3)]);
        for (i, (_, a)) in DEVANAGARI.iter().enumerate() {
            for (_, b) in &DEVANAGARI[i + 1..] {
                assert!(a.iter().all(|w| !b.contains(w)), "shared word");
            }
        }
    }

    #[test]
    fn groups() {
        let iberian = &GROUPS[1];
        assert_eq!(iberian.count("Muchas gracias, nos vemos en la reunión del lunes."), [("es", 4), ("pt", 0)]);
        assert_eq!(iberian.count("Muito obrigado, nos vemos na reunião de segunda."), [("es", 0), ("pt", 5)]);
        let arabic = &GROUPS[3];
        assert_eq!(arabic.count("نعم، أنا موافق."), [("ar", 2), ("fa", 0), ("ur", 0)]);
        assert_eq!(arabic.count("ممنون"), [("ar", 0), ("fa", 1), ("ur", 0)]);
        let tagalog = &GROUPS[2];
        assert_eq!(tagalog.count("Maraming salamat po sa inyong pagtanggap."), [("tl", 5), ("id", 0)]);
        for group in GROUPS {
            for (i, (_, a)) in group.words.iter().enumerate() {
                for (_, b) in &group.words[i + 1..] {
                    assert!(a.iter().all(|w| !b.contains(w)), "shared word");
                }
            }
        }
    }

    #[test]
    fn short_latin_words() {
        assert_eq!(count_in(SHORT_LATIN, "thanks!")[0], ("en", 1));
        let hits = count_in(SHORT_LATIN, "salamat po");
        assert_eq!(hits.iter().find(|(c, _)| *c == "tl"), Some(&("tl", 2)));
        assert_eq!(hits.iter().map(|(_, n)| n).sum::<usize>(), 2);
        for (i, (_, a)) in SHORT_LATIN.iter().enumerate() {
            assert!(a.iter().all(|w| *w == w.to_lowercase()), "lowercase only");
            for (_, b) in &SHORT_LATIN[i + 1..] {
                assert!(a.iter().all(|w| !b.contains(w)), "shared word");
            }
        }
    }

    #[test]
    fn counts_markers() {
        assert_eq!(count("Terima kasih kerana menyambut delegasi kami dengan mesra minggu lepas."), (2, 0));
        assert_eq!(count("Mohon maaf, rapat hari ini ditunda sampai besok pagi."), (0, 2));
        assert_eq!(count("Baik, terima kasih."), (0, 0));
        assert_eq!(count("Bersama-sama ini dilampirkan draf memorandum persefahaman"), (1, 0));
        assert_eq!(count("Mohon kirim proyek-proyek itu"), (0, 1));
        // -nya off; -iti against -itas; teliti is both.
        assert_eq!(count("Kami menghargai keperibadiannya dan kewajibannya."), (1, 1));
        assert_eq!(count("Aktiviti komuniti minggu ini"), (2, 0));
        assert_eq!(count("Kualitas dan prioritas program"), (0, 2));
        assert_eq!(count("Data itu sedang diteliti oleh peneliti kami."), (0, 0));
        assert_eq!(count("Jangan menyakiti hati"), (0, 0));
    }
}
