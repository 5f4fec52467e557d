//! The pairs detectors confuse, on lines an officer would write in an official message: Malay and
//! Indonesian; Kazakh, Kyrgyz, Mongolian and Russian; Uzbek in Cyrillic; Persian, Urdu and Arabic;
//! Hindi, Marathi and Nepali; Spanish and Portuguese; Tagalog and Indonesian.
//! And the priors as evidence, not a blind fallback: a Malay officer writing English is tagged `en`.

use c2c_language::{Layer, Tagger};

/// A region's config: the languages its cities, contacts and partnerships name.
const REGION: &[&str] = &["en", "zh", "ms", "id", "kk", "ky", "mn", "uz", "ru", "fa", "ur", "ar"];

mod common;

use common::{check, priors};

const MALAY: &[(&str, &str)] = &[
    ("ms", "Terima kasih kerana sudi menerima kunjungan delegasi kami."),
    ("ms", "Sila sahkan kehadiran tuan sebelum hujung minggu ini."),
    ("ms", "Mesyuarat jawatankuasa akan diadakan di pejabat Datuk Bandar pada hari Isnin."),
    ("ms", "Kerajaan negeri telah meluluskan peruntukan untuk program ini."),
    ("ms", "Kami boleh menghantar dokumen tersebut esok."),
    ("ms", "Penyertaan adalah percuma untuk semua pegawai majlis."),
    ("ms", "Sila hubungi pejabat kami sekiranya terdapat sebarang pertanyaan."),
];

const INDONESIAN: &[(&str, &str)] = &[
    ("id", "Terima kasih karena telah menerima kunjungan delegasi kami."),
    ("id", "Silakan konfirmasi kehadiran Bapak sebelum akhir pekan ini."),
    ("id", "Rapat panitia akan diadakan di kantor Wali Kota pada hari Senin."),
    ("id", "Pemerintah provinsi telah menyetujui anggaran untuk program ini."),
    ("id", "Kami bisa mengirimkan dokumen tersebut besok."),
    ("id", "Mohon maaf, rapat hari ini ditunda sampai besok pagi."),
];

#[test]
fn malay_and_indonesian() {
    for tagger in [Tagger::new(REGION), Tagger::all_languages()] {
        check(&tagger, "Malay, no priors", &[], MALAY);
        check(&tagger, "Indonesian, no priors", &[], INDONESIAN);
        // Their words outweigh the author's languages.
        check(&tagger, "Malay, Indonesian author", &["id"], MALAY);
        check(&tagger, "Indonesian, Malay author", &["ms", "en"], INDONESIAN);
    }
    // No telling words: Indonesian, unless the author writes Malay.
    let t = Tagger::new(REGION);
    check(&t, "shared words", &[], &[("id", "Baik, terima kasih atas perhatian Bapak dan Ibu.")]);
    check(&t, "shared words, Malay author", &["ms", "en"], &[("ms", "Baik, terima kasih.")]);
}

/// Lines with no marker word of either list: the two languages' word frequencies decide (the
/// lexicon's Malay/Indonesian contrast, `data/msid.tsv`: *jadual*, *selepas*, *dalaman* are far
/// commoner in Malay, *jadwal*, *terkait*, *dilaksanakan* in Indonesian).
const MALAY_BY_FREQUENCY: &[(&str, &str)] = &[
    ("ms", "Jadual perjalanan delegasi telah dikemas kini oleh jabatan berkenaan."),
    ("ms", "Pihak kami akan memberi maklum balas selepas perbincangan dalaman."),
];
const INDONESIAN_BY_FREQUENCY: &[(&str, &str)] = &[
    ("id", "Jadwal perjalanan delegasi sudah diperbarui oleh dinas terkait."),
    ("id", "Acara penandatanganan akan dilaksanakan di balai kota pada pukul sepuluh pagi."),
];

#[test]
fn malay_and_indonesian_by_word_frequency() {
    for tagger in [Tagger::new(REGION), Tagger::all_languages()] {
        check(&tagger, "Malay by frequency, no priors", &[], MALAY_BY_FREQUENCY);
        check(&tagger, "Malay by frequency, Malay author", &["ms", "en"], MALAY_BY_FREQUENCY);
        check(&tagger, "Indonesian by frequency, no priors", &[], INDONESIAN_BY_FREQUENCY);
        check(&tagger, "Indonesian by frequency, Indonesian author", &["id"], INDONESIAN_BY_FREQUENCY);
        // The contrast outweighs a Malay author's language: Indonesian stays Indonesian.
        check(&tagger, "Indonesian by frequency, Malay author", &["ms", "en"], INDONESIAN_BY_FREQUENCY);
    }
    let t = Tagger::new(REGION);
    let ms = t.explain(MALAY_BY_FREQUENCY[0].1, &[]);
    assert_eq!((ms.tag.code.as_str(), ms.layer), ("ms", Layer::Lexicon));
    assert_eq!(ms.second.as_ref().map(|(c, _)| c.as_str()), Some("id"));
    let id = t.explain(INDONESIAN_BY_FREQUENCY[0].1, &priors(&["ms", "en"]));
    assert_eq!((id.tag.code.as_str(), id.layer), ("id", Layer::Lexicon));
    assert_eq!(id.second.as_ref().map(|(c, _)| c.as_str()), Some("ms"));
}

const CYRILLIC: &[(&str, &str)] = &[
    ("kk", "Қалалық әкімдік іс-шара бағдарламасын бекітті."),
    ("kk", "Келесі кездесу сәрсенбі күні сағат онда өтеді."),
    ("kk", "Рақмет, құжаттарды алдық."),
    ("kk", "Жастар делегациясының сапар күндерін растауыңызды сұраймыз."),
    ("ky", "Шаардык кеңеш жаштар алмашуу программасын бекитти."),
    ("ky", "Катыңыз үчүн рахмат, жообубузду жумага чейин даярдайбыз."),
    ("ky", "Сиздердин делегацияңызды күтөбүз."),
    // ө ү without ң: its common words tell it from Mongolian.
    ("ky", "Кийинки жолугушуу шаршемби күнү саат ондо өтөт."),
    ("mn", "Хотын захиргаа залуучуудын солилцооны хөтөлбөрийг баталлаа."),
    ("mn", "Бичиг баримтыг хүлээн авлаа, баярлалаа."),
    ("mn", "Өнгөрсөн долоо хоногт манай төлөөлөгчдийг хүлээн авсанд баярлалаа."),
    ("ru", "Благодарим за приглашение, делегация прибудет в среду."),
    ("ru", "Просим подтвердить участие до конца недели."),
    ("ru", "Направляем вам проект программы визита для согласования."),
    ("uz", "Шаҳар ҳокимлиги ёшлар алмашинуви дастурини тасдиқлади."),
    ("uz", "Ҳужжатларни олдик, раҳмат."),
    ("uz", "Келгуси учрашув чоршанба куни бўлиб ўтади."),
];

#[test]
fn kazakh_kyrgyz_mongolian_uzbek_russian() {
    let t = Tagger::new(REGION);
    check(&t, "Cyrillic, no priors", &[], CYRILLIC);
    check(&t, "Cyrillic, Russian author", &["ru", "en"], CYRILLIC);
    // Without a config the letters still decide; plain Russian is whatlang's among all Cyrillic
    // languages (it takes the first Russian line for Bulgarian), so an author's Russian helps.
    check(&Tagger::all_languages(), "Cyrillic, Russian author, no config", &["ru", "en"], CYRILLIC);
    let marked: Vec<(&str, &str)> = CYRILLIC.iter().copied().filter(|(code, _)| *code != "ru").collect();
    check(&Tagger::all_languages(), "Cyrillic, no priors, no config", &[], &marked);
    // A Russian-only config still tags Russian text Russian, and nothing it does not name.
    let ru = Tagger::new(["en", "ru"]);
    check(&ru, "Russian config", &[], &[("ru", "Просим подтвердить участие до конца недели.")]);
    // A config without Cyrillic languages: every Cyrillic language is a candidate.
    let en = Tagger::new(["en"]);
    check(&en, "English config", &[], &[("kk", "Рақмет, құжаттарды алдық."), ("uz", "Ҳужжатларни олдик, раҳмат.")]);
}

const ARABIC_SCRIPT: &[(&str, &str)] = &[
    ("fa", "از دعوت شما سپاسگزاریم؛ هیئت ما روز چهارشنبه می‌رسد."),
    ("fa", "لطفاً حضور خود را تا پایان هفته تأیید کنید."),
    ("fa", "پیش‌نویس تفاهم‌نامه پیوست است."),
    ("ur", "آپ کی دعوت کا شکریہ، ہمارا وفد بدھ کو پہنچے گا۔"),
    ("ur", "براہ کرم ہفتے کے آخر تک اپنی شرکت کی تصدیق کریں۔"),
    ("ur", "مفاہمت کی یادداشت کا مسودہ منسلک ہے۔"),
    ("ar", "نشكركم على الدعوة، وسيصل الوفد يوم الأربعاء."),
    ("ar", "يرجى تأكيد حضوركم قبل نهاية الأسبوع."),
    ("ar", "مرفق مسودة مذكرة التفاهم."),
];

#[test]
fn persian_urdu_arabic() {
    for tagger in [Tagger::new(REGION), Tagger::all_languages()] {
        check(&tagger, "Arabic script, no priors", &[], ARABIC_SCRIPT);
        check(&tagger, "Arabic script, Arabic author", &["ar", "en"], ARABIC_SCRIPT);
    }
}

const DEVANAGARI: &[(&str, &str)] = &[
    ("hi", "हम आपके सहयोग के लिए आभारी हैं।"),
    ("hi", "बैठक अगले सोमवार को सुबह दस बजे होगी।"),
    ("hi", "कृपया कार्यक्रम की तिथि की पुष्टि करें।"),
    ("mr", "आपल्या सहकार्याबद्दल आम्ही आभारी आहोत."),
    ("mr", "पुढील बैठक सोमवारी सकाळी दहा वाजता होईल."),
    ("mr", "कृपया कार्यक्रमाच्या तारखेची पुष्टी करा."),
    ("ne", "तपाईंको सहयोगका लागि हामी आभारी छौं।"),
    ("ne", "अर्को बैठक सोमबार बिहान दस बजे हुनेछ।"),
    ("ne", "कृपया कार्यक्रमको मिति पुष्टि गर्नुहोस्।"),
];

#[test]
fn hindi_marathi_nepali() {
    for tagger in [Tagger::new(["en", "hi", "mr", "ne"]), Tagger::all_languages()] {
        check(&tagger, "Devanagari, no priors", &[], DEVANAGARI);
        check(&tagger, "Devanagari, Hindi author", &["hi", "en"], DEVANAGARI);
    }
}

const LATIN_PAIRS: &[(&str, &str)] = &[
    ("es", "Muchas gracias por su hospitalidad durante la visita."),
    ("es", "Le confirmamos la reunión del próximo martes."),
    ("es", "Adjunto el borrador del memorando de entendimiento."),
    ("es", "Quedamos atentos a sus comentarios."),
    ("pt", "Muito obrigado pela hospitalidade durante a visita."),
    ("pt", "Confirmamos a reunião da próxima terça-feira."),
    ("pt", "Segue em anexo o rascunho do memorando de entendimento."),
    ("pt", "Ficamos no aguardo dos seus comentários."),
    ("tl", "Maraming salamat po sa mainit na pagtanggap sa aming delegasyon."),
    ("tl", "Ipinapadala namin ang burador ng kasunduan."),
    ("tl", "Pakikumpirma po ang petsa ng pulong."),
    ("id", "Terima kasih atas sambutan hangat kepada delegasi kami."),
    ("id", "Mohon konfirmasi tanggal rapat berikutnya."),
];

#[test]
fn spanish_portuguese_tagalog_indonesian() {
    for tagger in [Tagger::new(["en", "es", "pt", "tl", "id"]), Tagger::all_languages()] {
        check(&tagger, "Latin pairs, no priors", &[], LATIN_PAIRS);
        check(&tagger, "Latin pairs, Spanish author", &["es", "en"], LATIN_PAIRS);
    }
}

#[test]
fn a_malay_officer_writing_english_is_tagged_english() {
    let lines = [
        ("en", "Noted with thanks."),
        ("en", "Well received, thank you."),
        ("en", "Please find attached the minutes of the meeting."),
        ("en", "Thank you, we will revert by Friday."),
        ("en", "Kindly confirm your attendance by Monday."),
    ];
    let t = Tagger::new(REGION);
    check(&t, "English, Malay author", &["ms"], &lines);
    check(&t, "English, Malay-then-English author", &["ms", "en"], &lines);
    check(&t, "English, Kazakh author", &["kk", "ru"], &lines);
    // Without a config, whatlang alone is weaker on short English (French for the last line): an
    // English prior, not a Malay one, is what rescues it.
    check(&Tagger::all_languages(), "English, Malay-then-English author, no config", &["ms", "en"], &lines);
}

#[test]
fn explain_names_the_layer_and_the_runner_up() {
    let t = Tagger::new(REGION);
    let kk = t.explain("Рақмет, құжаттарды алдық.", &[]);
    assert_eq!((kk.tag.code.as_str(), kk.layer), ("kk", Layer::Script));
    let ms = t.explain("Sila sahkan kehadiran tuan sebelum hujung minggu ini.", &[]);
    assert_eq!((ms.tag.code.as_str(), ms.layer), ("ms", Layer::Lexical));
    assert_eq!(ms.second.as_ref().map(|(c, _)| c.as_str()), Some("id"));
    let en = t.explain("Please find attached the minutes of the meeting.", &[]);
    assert_eq!((en.tag.code.as_str(), en.layer), ("en", Layer::Detector));
    assert!(en.second.is_some());
    let prior = t.explain("了解", &priors(&["ja", "en"]));
    assert_eq!((prior.tag.code.as_str(), prior.layer), ("ja", Layer::Prior));
    assert_eq!(prior.second.as_ref().map(|(c, _)| c.as_str()), Some("zh"));
    for e in [&kk, &ms, &en, &prior] {
        let (_, c) = e.second.as_ref().unwrap();
        assert!((0.0..=1.0).contains(c) && *c <= e.tag.confidence.max(0.5), "{e:?}");
    }
}
