//! The lexicon layer: word frequencies and letter-trigram models from public word lists (not the
//! UDHR, not lingua-rs's test files), as evidence for short texts and the pairs whatlang confuses.
//! `data/build.py` rebuilds both files; `data/README.md` gives the sources and their licenses.
//!
//! - `data/words.tsv`: the 5,000 most frequent words of Arabic, German, English, Spanish, Persian,
//!   French, Hindi, Indonesian, Malay, Portuguese, Tagalog, Urdu and Vietnamese (PyPI `wordfreq`
//!   3.1.1), each
//!   with its frequency on the Zipf scale (log10 per billion words) times ten. A text's score in a
//!   language is the sum of its words' Zipf values there; a word the language does not list
//!   scores half a unit below its last listed word; words no candidate lists are skipped.
//! - `data/trigrams.tsv`: 3,000 letter trigrams of word types (padded with a space each side) per
//!   language for Russian, Ukrainian, Bulgarian, Kazakh, Kyrgyz, Mongolian, Uzbek (Cyrillic), Hindi,
//!   Marathi, Nepali and the languages of `words.tsv` (`wordfreq`; the word lists in Tesseract's
//!   trained data), with the cost
//!   `-10 ln p` of each. A text's cost in a language is the sum over its words' trigrams that some
//!   candidate lists.
//! - `data/msid.tsv`: Malay against Indonesian over both languages' whole `wordfreq` lists (about
//!   30,000 words each): a word's Zipf frequency in Malay minus that in Indonesian, times ten,
//!   where they differ by 0.3 units or more, capped at 2 units (a word one list lacks is taken at
//!   that list's rarest word). The lists of `words.tsv` stop at 5,000 words, too few to tell two
//!   languages that share most of their common words.
//! - `data/msid_letters.tsv`: Malay against Indonesian by letters, for words neither language's
//!   list holds (the contrast above is silent on them): the 3,000 letter 2- to 4-grams (word
//!   edges marked `_`) that best tell the words only Malay's list holds from those only
//!   Indonesian's holds, each with `10 ln(P_ms / P_id)`; 22 KB. See
//!   [`malay_or_indonesian_by_letters`].
//! - `data/espt_letters.tsv`: Spanish against Portuguese the same way, for short text none of
//!   whose words either list holds (top 25,000): the 6,000 letter 2- to 4-grams that best tell
//!   the words of Spanish's whole list from those of Portuguese's (the words both hold count for
//!   both), each with `10 ln(P_es / P_pt)`; 47 KB. See [`spanish_or_portuguese_by_letters`].
//!
//! - `data/rare.bin`: the rarer words of the same lists for ar, de, en, es, fa, fr, id, ms, pt, tl,
//!   ur, vi and hi (ranks 5,000 to 25,000), as 27 bits of each word's FNV-1a hash and its Zipf value:
//!   about 243,000 entries in 740 KB, where the words themselves would take several MB. A word
//!   a language lists in neither table then scores half a unit under its rarest kept word.
//!   (Hindi's rarer words serve only the Devanagari lean, [`HINDI_LISTED`]: Hindi is never
//!   weighed by word frequencies against another language.)
//!
//! Words are looked up by binary search in the embedded text (no heap; `words.tsv`, `msid.tsv`,
//! `msid_letters.tsv` and `espt_letters.tsv`); the trigram table is
//! parsed once, on first use, into sorted integer keys and their costs (about 0.5 MB).

use std::sync::OnceLock;

static WORDS: &str = include_str!("../data/words.tsv");
static TRIGRAMS: &str = include_str!("../data/trigrams.tsv");
static MSID: &str = include_str!("../data/msid.tsv");
static MSID_LETTERS: &str = include_str!("../data/msid_letters.tsv");
static ESPT_LETTERS: &str = include_str!("../data/espt_letters.tsv");
static RARE: &[u8] = include_bytes!("../data/rare.bin");

/// Languages of `data/rare.bin`, in its order.
pub const RARE_LANGS: &[&str] = &["ar", "de", "en", "es", "fa", "fr", "id", "ms", "pt", "tl", "ur", "vi", "hi"];
/// Hash buckets of `data/rare.bin`.
const RARE_BUCKETS: usize = 2048;

/// Languages with a word list in `data/words.tsv`.
pub const WORD_LANGS: &[&str] = &["ar", "de", "en", "es", "fa", "fr", "hi", "id", "ms", "pt", "tl", "ur", "vi"];
/// Languages with a trigram model in `data/trigrams.tsv`.
pub const TRIGRAM_LANGS: &[&str] = &[
    "ar", "bg", "de", "en", "es", "fa", "fr", "hi", "id", "kk", "ky", "mn", "mr", "ms", "ne", "pt", "ru", "tl", "uk",
    "ur", "uz", "vi",
];

/// The least difference `data/msid.tsv` lists (Zipf units: a word twice as common in one
/// language as in the other).
pub const MSID_LEAN: f64 = 0.3;

/// The most nats [`malay_or_indonesian_by_letters`] leans either way: under an author's 4 (in
/// nats, see `Tagger::lexicon`), so that a Malay or Indonesian author's own language still
/// decides a word only the letters speak for. The sum of a word's grams is a naive-Bayes one
/// (overlapping grams, counted as if independent) and overstates itself; only its sign is used
/// without priors.
pub const MSID_LETTERS_CAP: f64 = 3.5;

/// The most nats [`spanish_or_portuguese_by_letters`] leans either way, for the same reason as
/// [`MSID_LETTERS_CAP`].
pub const ESPT_LETTERS_CAP: f64 = 3.5;

/// The least lean of [`spanish_or_portuguese_by_letters`] that relabels a Spanish or Portuguese
/// answer (nats).
pub const ESPT_LETTERS_LEAN: f64 = 0.3;

/// The nats Hindi's letter-trigram score gains on Devanagari text, times the share of the text's
/// words that Hindi's list holds (its top 25,000 words, about all of wordfreq's "small" list). Marathi and Nepali have no frequency list (their
/// trigrams come from Tesseract's unweighted lists, where a rare inflection counts as much as a
/// common word), so without this a common Hindi word (*अच्छा*) fell to whichever of them its
/// letters happened to fit. Two nats, not more: many common words are Nepali or Marathi too (*तथा*),
/// and this must not undo the trigrams' three-nat margin alone.
pub const HINDI_LISTED: f64 = 2.0;

/// [`HINDI_LISTED`] for a single word: the trigrams' whole margin (3 nats), so that a word of
/// Hindi's list (*अच्छी*, *आपने*) beats an unsure Marathi or Nepali guess unless the letters
/// lean that way too. A single word has nothing else to weigh; in longer text the other words'
/// letters count, and a shared word (*तथा*) must not outweigh them. Kept under an author's
/// bonus in trigrams (4 nats), so that a Nepali or Marathi author's word both languages write
/// (*धन्यवाद*) stays theirs: 4 to 6 nats gained more on the development set (300 Hindi words
/// against 20 Marathi and 20 Nepali).
pub const HINDI_LISTED_WORD: f64 = 3.0;

/// The most words of a text looked at (a long text has been settled by then or never will be).
const MAX_WORDS: usize = 40;

/// The lexicon's finding among some candidates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub best: &'static str,
    pub second: Option<&'static str>,
    /// How much better the best fits than the second, in nats (trigrams) or Zipf units (words)
    /// summed over the text: `f64::INFINITY` with one candidate.
    pub margin: f64,
    /// Words that counted (listed by some candidate).
    pub words: usize,
    /// How much better the best fits than the best candidate other than its [`twin`].
    pub apart: f64,
}

/// The language closest to `code` among those with a contrast of their own after the lexicon
/// (Malay and Indonesian, Spanish and Portuguese).
pub fn twin(code: &str) -> Option<&'static str> {
    match code {
        "ms" => Some("id"),
        "id" => Some("ms"),
        "es" => Some("pt"),
        "pt" => Some("es"),
        _ => None,
    }
}

/// `lang=value,...` into `(lang, value)` pairs.
fn values(field: &'static str) -> impl Iterator<Item = (&'static str, u16)> {
    field.split(',').filter_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        Some((k, v.parse().ok()?))
    })
}

/// The `#unseen` line of a table.
fn unseen(table: &'static str) -> &'static str {
    table.lines().find_map(|l| l.strip_prefix("#unseen\t")).unwrap_or("")
}

/// The body of `words.tsv` (after its `#` lines), whose lines are sorted by word.
fn word_body() -> &'static str {
    body(WORDS)
}

/// A table's lines after its `#` lines.
fn body(table: &'static str) -> &'static str {
    let mut body = table;
    while body.starts_with('#') {
        body = body.split_once('\n').map_or("", |(_, rest)| rest);
    }
    body
}

/// The values field of `word` in `words.tsv`.
fn lookup_word(body: &'static str, word: &str) -> Option<&'static str> {
    let bytes = body.as_bytes();
    let (mut lo, mut hi) = (0usize, bytes.len());
    // Invariant: lo and hi are line starts (or the end); the word, if present, starts a line in lo..hi.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[lo..mid].iter().rposition(|&b| b == b'\n').map_or(lo, |i| lo + i + 1);
        let end = bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| start + i);
        let line = &body[start..end];
        let (key, field) = line.split_once('\t').unwrap_or((line, ""));
        match key.cmp(word) {
            std::cmp::Ordering::Equal => return Some(field),
            std::cmp::Ordering::Less => lo = (end + 1).min(bytes.len()),
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    None
}

/// The words of a text, lowercased: runs of letters and marks. Arabic vowel marks and the
/// tatweel are taken out, as `wordfreq` does. A word with Latin combining accents (decomposed
/// text, *Vie\u{0323}\u{0302}t*) is left out: the lists hold composed letters and there is no
/// normalisation here.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphabetic() || is_mark(c) || is_latin_mark(c)))
        .filter(|w| !w.is_empty() && !w.chars().any(is_latin_mark))
        .map(|w| w.chars().filter(|&c| !is_arabic_mark(c)).flat_map(char::to_lowercase).collect::<String>())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
}

/// Combining marks of the scripts the lists cover (Devanagari vowel signs, Arabic harakat, ZWNJ).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}' | '\u{0962}' | '\u{0963}')
        || is_arabic_mark(c)
        || c == '\u{200C}'
}

/// Arabic vowel marks (harakat, superscript alef) and the tatweel.
fn is_arabic_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}')
}

/// Combining accents of Latin letters (decomposed text).
fn is_latin_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}')
}

/// FNV-1a, 32 bits, of a word's UTF-8 bytes (as `data/build.py` hashes the rare words).
fn fnv1a(word: &str) -> u32 {
    word.bytes().fold(0x811C_9DC5, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A little-endian u32 of `data/rare.bin` at `at`.
fn rare_u32(at: usize) -> usize {
    RARE.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The Zipf value (times ten) of a word a [`RARE_LANGS`] language lists in neither table.
fn rare_floor(lang: usize) -> u16 {
    RARE.get(4 + lang).map_or(30, |&z| u16::from(z))
}

/// The rarer words (ranks 5,000 to 25,000 of the same lists): `f(language index, Zipf × 10)` for
/// each [`RARE_LANGS`] language whose list holds `word` (27 bits of its hash; a false match
/// about once in 500 lookups, at a rare word's weight).
fn rare_lookup(word: &str, mut f: impl FnMut(usize, u16)) {
    let h = fnv1a(word);
    let (bucket, rest) = ((h >> 21) as usize, ((h >> 5) & 0xFFFF) as u16);
    let index = 4 + RARE_LANGS.len();
    let entries = index + 4 * (RARE_BUCKETS + 1);
    for e in rare_u32(index + 4 * bucket)..rare_u32(index + 4 * (bucket + 1)) {
        let Some(&[a, b, lz]) = RARE.get(entries + 3 * e..entries + 3 * e + 3) else { return };
        match u16::from_le_bytes([a, b]).cmp(&rest) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => f(usize::from(lz >> 4), u16::from(lz & 15) + 26),
            std::cmp::Ordering::Greater => return,
        }
    }
}

/// Each candidate's score (higher is better) over the words that counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub scores: Vec<(&'static str, f64)>,
    pub words: usize,
}

impl Scores {
    /// The best and its margin, after adding `bonus` to each candidate's score (the author's
    /// languages as evidence).
    pub fn verdict(&self, bonus: impl Fn(&str) -> f64) -> Verdict {
        let mut scores: Vec<(&'static str, f64)> = self.scores.iter().map(|&(c, s)| (c, s + bonus(c))).collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let (best, top) = scores[0];
        let (second, margin) = scores.get(1).map_or((None, f64::INFINITY), |&(c, s)| (Some(c), top - s));
        let twin = twin(best);
        let apart = scores[1..].iter().find(|(c, _)| Some(*c) != twin).map_or(f64::INFINITY, |&(_, s)| top - s);
        Verdict { best, second, margin, words: self.words, apart }
    }
}

fn scores(scores: Vec<(&'static str, f64)>, words: usize) -> Option<Scores> {
    (words > 0 && !scores.is_empty()).then_some(Scores { scores, words })
}

/// `word`'s Zipf value (times ten) in each of `langs`, into `row` (same order): from the top
/// 5,000 (`words.tsv`), else from the rarer words (`rare.bin`); `None` where neither lists it.
fn word_values(body: &'static str, word: &str, langs: &[&str], row: &mut [Option<u16>]) {
    for (k, v) in lookup_word(body, word).into_iter().flat_map(values) {
        if let Some(i) = langs.iter().position(|l| *l == k) {
            row[i] = Some(v);
        }
    }
    if row.iter().any(Option::is_none) {
        rare_lookup(word, |lang, v| {
            if let Some(i) = langs.iter().position(|l| *l == RARE_LANGS[lang])
                && row[i].is_none()
            {
                row[i] = Some(v);
            }
        });
    }
}

/// The share of the words of `text` (0 to 1) that `lang`'s list holds, its top 5,000 (`words.tsv`)
/// or its rarer words (`rare.bin`) (0 for text without words), and the number of words.
pub fn listed_share(text: &str, lang: &str) -> (f64, u32) {
    let body = word_body();
    let (mut found, mut all) = (0u32, 0u32);
    for word in words(text) {
        all += 1;
        let mut row = [None];
        word_values(body, &word, &[lang], &mut row);
        if row[0].is_some() {
            found += 1;
        }
    }
    (if all == 0 { 0.0 } else { f64::from(found) / f64::from(all) }, all)
}

/// Word-frequency evidence among `candidates` (those without a word list are left out): the sum of
/// Zipf values. `None` when fewer than two candidates have lists or no word is listed.
pub fn by_words(text: &str, candidates: &[&'static str]) -> Option<Scores> {
    let langs: Vec<&'static str> = candidates.iter().copied().filter(|c| WORD_LANGS.contains(c)).collect();
    if langs.len() < 2 {
        return None;
    }
    // A word a language lists in neither table: under its rarest listed word.
    let floor: Vec<u16> = langs
        .iter()
        .map(|l| match RARE_LANGS.iter().position(|r| r == l) {
            Some(i) => rare_floor(i),
            None => values(unseen(WORDS)).find(|(k, _)| k == l).map_or(30, |(_, v)| v),
        })
        .collect();
    let body = word_body();
    let mut sums = vec![0u32; langs.len()];
    let mut counted = 0;
    for word in words(text) {
        let mut row: Vec<Option<u16>> = vec![None; langs.len()];
        word_values(body, &word, &langs, &mut row);
        if row.iter().all(Option::is_none) {
            continue;
        }
        counted += 1;
        for (i, v) in row.iter().enumerate() {
            sums[i] += u32::from(v.unwrap_or(floor[i]));
        }
    }
    scores(langs.iter().zip(&sums).map(|(l, s)| (*l, f64::from(*s) / 10.0)).collect(), counted)
}

/// Malay against Indonesian by the two languages' whole word-frequency lists (`data/msid.tsv`):
/// each word's Zipf frequency in Malay minus that in Indonesian (capped at 2 units, words within
/// 0.3 units left out), summed over the text. Scores `ms` = that sum, `id` = 0, so the margin is
/// how many Zipf units likelier the text is in one than the other. `None` when no word is listed.
pub fn malay_or_indonesian(text: &str) -> Option<Scores> {
    let body = body(MSID);
    let (mut sum, mut counted) = (0i32, 0);
    for word in words(text) {
        let Some(diff) = lookup_word(body, &word).and_then(|field| field.parse::<i32>().ok()) else { continue };
        sum += diff;
        counted += 1;
    }
    scores(vec![("ms", f64::from(sum) / 10.0), ("id", 0.0)], counted)
}

/// Malay against Indonesian by letters (`data/msid_letters.tsv`), for short text whose words the
/// word contrast ([`malay_or_indonesian`]) does not list: see [`by_letters`], with `ms` = the
/// lean and `id` = 0, capped at ±[`MSID_LETTERS_CAP`] nats.
pub fn malay_or_indonesian_by_letters(text: &str) -> Option<Scores> {
    by_letters(MSID_LETTERS, ["ms", "id"], MSID_LETTERS_CAP, false, text)
}

/// Spanish against Portuguese by letters (`data/espt_letters.tsv`): see [`by_letters`], with
/// `es` = the lean and `pt` = 0, capped at ±[`ESPT_LETTERS_CAP`] nats; `None` too when either
/// list holds any of the text's words (the lexicon weighed those already, and on the
/// development set letters beside a listed word lost more lines than they gained).
pub fn spanish_or_portuguese_by_letters(text: &str) -> Option<Scores> {
    by_letters(ESPT_LETTERS, ["es", "pt"], ESPT_LETTERS_CAP, true, text)
}

/// Two languages by letters (a table of `data/build.py`'s `write_letters`): the sum, over the
/// text's words that neither language's list holds (top 25,000), of their letter 2- to 4-grams'
/// `ln(P_first / P_second)` (word edges count as a letter), capped at ±`cap` nats. Scores the
/// first language that sum and the second 0. `None` when no such word has a listed gram (or,
/// with `only_unlisted`, when either list holds any word of the text): a word either list holds
/// says more by its frequencies (or, listed alike in both, nothing), and the letters must not
/// overrule that.
fn by_letters(
    table: &'static str,
    codes: [&'static str; 2],
    cap: f64,
    only_unlisted: bool,
    text: &str,
) -> Option<Scores> {
    let (listed, grams) = (word_body(), body(table));
    let (mut sum, mut counted) = (0i32, 0);
    let mut framed = String::new();
    let mut bounds: Vec<usize> = Vec::new();
    for word in words(text) {
        let mut row = [None; 2];
        word_values(listed, &word, &codes, &mut row);
        if row.iter().any(Option::is_some) {
            if only_unlisted {
                return None;
            }
            continue;
        }
        framed.clear();
        framed.push('_');
        framed.push_str(&word);
        framed.push('_');
        bounds.clear();
        bounds.extend(framed.char_indices().map(|(i, _)| i).chain([framed.len()]));
        let mut hit = false;
        for n in 2..=4 {
            for w in bounds.windows(n + 1) {
                if let Some(v) = lookup_word(grams, &framed[w[0]..w[n]]).and_then(|f| f.parse::<i32>().ok()) {
                    sum += v;
                    hit = true;
                }
            }
        }
        counted += usize::from(hit);
    }
    let lean = (f64::from(sum) / 10.0).clamp(-cap, cap);
    scores(vec![(codes[0], lean), (codes[1], 0.0)], counted)
}

/// A cost per language of [`TRIGRAM_LANGS`].
type Costs = [u8; TRIGRAM_COUNT];
const TRIGRAM_COUNT: usize = 22;

/// The trigram table, compact: the trigrams as sorted integer keys, each with its languages'
/// costs (about 0.5 MB for the 28,600 trigrams and their 69,000 costs, against about 3 MB as a
/// hash map of strings).
struct TrigramTable {
    /// Sorted keys ([`key`]).
    keys: Vec<u64>,
    /// `costs[starts[i]..starts[i + 1]]` are the `(language index, cost)` of `keys[i]`.
    starts: Vec<u32>,
    costs: Vec<(u8, u8)>,
    /// The cost of a trigram a language does not list.
    unseen: Costs,
}

/// Three characters as one integer (21 bits each).
fn key(a: char, b: char, c: char) -> u64 {
    (u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(c)
}

/// The trigram table, parsed on first use.
fn trigram_table() -> &'static TrigramTable {
    static TABLE: OnceLock<TrigramTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let pairs = |field: &'static str| {
            values(field).filter_map(|(k, v)| {
                let i = TRIGRAM_LANGS.iter().position(|l| *l == k)?;
                Some((u8::try_from(i).ok()?, u8::try_from(v).unwrap_or(u8::MAX)))
            })
        };
        let mut rows: Vec<(u64, &'static str)> = TRIGRAMS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let (g, field) = line.split_once('\t')?;
                let mut chars = g.chars();
                let (a, b, c) = (chars.next()?, chars.next()?, chars.next()?);
                chars.next().is_none().then_some((key(a, b, c), field))
            })
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        let mut table = TrigramTable {
            keys: Vec::with_capacity(rows.len()),
            starts: Vec::with_capacity(rows.len() + 1),
            costs: Vec::new(),
            unseen: [0; TRIGRAM_COUNT],
        };
        table.starts.push(0);
        for (k, field) in rows {
            table.keys.push(k);
            table.costs.extend(pairs(field));
            table.starts.push(u32::try_from(table.costs.len()).unwrap_or(u32::MAX));
        }
        table.costs.shrink_to_fit();
        for (i, v) in pairs(unseen(TRIGRAMS)) {
            table.unseen[usize::from(i)] = v;
        }
        table
    })
}

impl TrigramTable {
    /// The costs of a trigram per language (0: not listed), if any language lists it.
    fn get(&self, k: u64) -> Option<Costs> {
        let i = self.keys.binary_search(&k).ok()?;
        let mut costs = [0; TRIGRAM_COUNT];
        for &(lang, cost) in &self.costs[self.starts[i] as usize..self.starts[i + 1] as usize] {
            costs[usize::from(lang)] = cost;
        }
        Some(costs)
    }
}

/// Letter-trigram evidence among `candidates` (those without a model are left out): the total
/// cost, lower is better, as a margin in nats. `None` when fewer than two candidates have models.
pub fn by_trigrams(text: &str, candidates: &[&'static str]) -> Option<Scores> {
    let idx: Vec<usize> =
        TRIGRAM_LANGS.iter().enumerate().filter(|(_, l)| candidates.contains(l)).map(|(i, _)| i).collect();
    if idx.len() < 2 {
        return None;
    }
    let table = trigram_table();
    let mut sums = vec![0u32; idx.len()];
    let mut counted = 0;
    let mut chars: Vec<char> = Vec::new();
    for word in words(text) {
        chars.clear();
        chars.push(' ');
        chars.extend(word.chars());
        chars.push(' ');
        let mut any = false;
        for w in chars.windows(3) {
            let Some(costs) = table.get(key(w[0], w[1], w[2])) else { continue };
            if idx.iter().all(|&i| costs[i] == 0) {
                continue;
            }
            any = true;
            for (s, &i) in sums.iter_mut().zip(&idx) {
                *s += u32::from(if costs[i] == 0 { table.unseen[i] } else { costs[i] });
            }
        }
        counted += usize::from(any);
    }
    scores(idx.iter().zip(&sums).map(|(&i, &s)| (TRIGRAM_LANGS[i], -f64::from(s) / 10.0)).collect(), counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_weighs_twins_apart_from_the_rest() {
        let scores = Scores { scores: vec![("tl", 5.0), ("id", 9.9), ("ms", 10.0)], words: 1 };
        let v = scores.verdict(|_| 0.0);
        assert_eq!((v.best, v.second), ("ms", Some("id")));
        assert!((v.margin - 0.1).abs() < 1e-9 && (v.apart - 5.0).abs() < 1e-9);
        // No twin among the rest: the same as the margin; only twins: no third to lead.
        let v = Scores { scores: vec![("en", 2.0), ("es", 3.0)], words: 1 }.verdict(|_| 0.0);
        assert_eq!((v.margin, v.apart), (1.0, 1.0));
        let v = Scores { scores: vec![("pt", 2.0), ("es", 3.0)], words: 1 }.verdict(|_| 0.0);
        assert_eq!((v.margin, v.apart), (1.0, f64::INFINITY));
    }

    #[test]
    fn tables_are_sorted_and_complete() {
        let body = word_body();
        let keys: Vec<&str> = body.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "words.tsv is sorted by word");
        for key in keys.iter().step_by(97) {
            assert!(lookup_word(body, key).is_some(), "{key}");
        }
        assert_eq!(lookup_word(body, "zzzzzz"), None);
        assert_eq!(lookup_word(body, ""), None);
        assert_eq!(values(unseen(WORDS)).count(), WORD_LANGS.len());
        assert_eq!(values(unseen(TRIGRAMS)).count(), TRIGRAM_LANGS.len());
        let table = trigram_table();
        assert!(table.keys.len() > 3_000 && table.keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(table.starts.len(), table.keys.len() + 1);
        assert!(table.unseen.iter().all(|&c| c > 0));
        assert!(
            table
                .get(key(' ', 'с', 'п'))
                .is_some_and(|c| c[TRIGRAM_LANGS.iter().position(|l| *l == "ru").unwrap()] > 0)
        );
        assert_eq!(TRIGRAM_LANGS.len(), TRIGRAM_COUNT);
    }

    #[test]
    fn words_are_cut_and_cleaned() {
        let got: Vec<String> = words("Xin cảm ơn! Vie\u{0323}\u{0302}t Nam; مُحَمَّد ـكتب").collect();
        assert_eq!(got, ["xin", "cảm", "ơn", "nam", "محمد", "كتب"]);
    }

    #[test]
    fn words_tell_malay_from_indonesian() {
        let v = by_words("kerana", &["ms", "id"]).unwrap().verdict(|_| 0.0);
        assert_eq!((v.best, v.second), ("ms", Some("id")));
        assert_eq!(by_words("karena", &["ms", "id"]).unwrap().verdict(|_| 0.0).best, "id");
        assert_eq!(by_words("Obrigado pela reunião", &["es", "pt"]).unwrap().verdict(|_| 0.0).best, "pt");
        // One candidate with a list: nothing to compare.
        assert_eq!(by_words("kerana", &["ms", "zh"]), None);
        assert_eq!(by_words("12345", &["ms", "id"]), None);
    }

    #[test]
    fn the_rare_table_is_sorted_and_found() {
        let index = 4 + RARE_LANGS.len();
        assert_eq!(&RARE[..4], b"C2W1");
        let starts: Vec<usize> = (0..=RARE_BUCKETS).map(|b| rare_u32(index + 4 * b)).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        let entries = index + 4 * (RARE_BUCKETS + 1);
        assert_eq!(RARE.len(), entries + 3 * starts[RARE_BUCKETS]);
        assert!(starts[RARE_BUCKETS] > 100_000);
        for b in (0..RARE_BUCKETS).step_by(61) {
            let rests: Vec<u16> = (starts[b]..starts[b + 1])
                .map(|e| u16::from_le_bytes([RARE[entries + 3 * e], RARE[entries + 3 * e + 1]]))
                .collect();
            assert!(rests.windows(2).all(|w| w[0] <= w[1]), "bucket {b}");
        }
        assert!((0..RARE_LANGS.len()).all(|i| (20..40).contains(&rare_floor(i))));
        // Every list has its rarer words, so that a word none of them lists scores each at a
        // floor alike (Vietnamese's top-5,000 floor, Zipf 3.1, beat a rarer Spanish word at 3.0),
        // and Hindi's rarer words lean Hindi too.
        assert!(WORD_LANGS.iter().all(|l| RARE_LANGS.contains(l)));
        let found = |word: &str| {
            let mut langs = Vec::new();
            rare_lookup(word, |i, z| langs.push((RARE_LANGS[i], z)));
            langs
        };
        // Past the 5,000 most frequent words of Portuguese (ranks about 18,000).
        assert!(found("desabafar").iter().any(|&(l, z)| l == "pt" && (30..=37).contains(&z)));
        assert!(found("qzxwv").is_empty());
    }

    #[test]
    fn malay_letters_weigh_only_unlisted_words() {
        let lean = |text: &str| malay_or_indonesian_by_letters(text).map(|s| (s.scores[0].1, s.words));
        // Listed in both languages' lists: the letters say nothing.
        assert_eq!(lean("tempat"), None);
        assert_eq!(lean(""), None);
        // Unlisted: a lean each way, never past the cap; a listed word beside it is left out.
        let (ms, words) = lean("kenderaanlah").unwrap();
        assert!(ms > 0.0 && ms <= MSID_LETTERS_CAP && words == 1, "{ms} {words}");
        let (id, _) = lean("kepolisiannya").unwrap();
        assert!((-MSID_LETTERS_CAP..0.0).contains(&id), "{id}");
        assert_eq!(lean("tempat kenderaanlah").map(|(_, w)| w), Some(1));
    }

    #[test]
    fn spanish_letters_need_every_word_unlisted() {
        let lean = |text: &str| spanish_or_portuguese_by_letters(text).map(|s| (s.scores[0].1, s.words));
        assert_eq!(lean("casa"), None);
        assert_eq!(lean(""), None);
        let (es, words) = lean("despapelizar").unwrap();
        assert!(es > 0.0 && es <= ESPT_LETTERS_CAP && words == 1, "{es} {words}");
        let (pt, _) = lean("ajuizaremos").unwrap();
        assert!((-ESPT_LETTERS_CAP..0.0).contains(&pt), "{pt}");
        // Unlike Malay's, a listed word beside it silences the letters.
        assert_eq!(lean("casa despapelizar"), None);
    }

    #[test]
    fn rarer_words_count_too() {
        // Neither word is among the 5,000 most frequent of Spanish or Portuguese.
        assert_eq!(lookup_word(word_body(), "desabafar"), None);
        let best = |text: &str| by_words(text, &["es", "pt", "fr"]).map(|s| s.verdict(|_| 0.0).best);
        assert_eq!(best("desabafar"), Some("pt"));
        assert_eq!(best("peaje"), Some("es"));
    }

    #[test]
    fn the_contrast_tells_malay_from_indonesian() {
        let body = body(MSID);
        let keys: Vec<&str> = body.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert!(keys.len() > 10_000 && keys.windows(2).all(|w| w[0] < w[1]), "msid.tsv is sorted by word");
        for line in body.lines().step_by(53) {
            let (word, diff) = line.split_once('\t').unwrap();
            let diff: i32 = diff.parse().unwrap();
            assert!((3..=20).contains(&diff.abs()), "{line}");
            assert_eq!(lookup_word(body, word), Some(diff.to_string().as_str()));
        }
        let best = |text: &str| malay_or_indonesian(text).unwrap().verdict(|_| 0.0);
        let v = best("Selepas mesyuarat, sila semak jadual yang dikemas kini.");
        assert_eq!((v.best, v.second), ("ms", Some("id")));
        assert!(v.margin >= 1.0);
        let v = best("Setelah rapat, silakan cek jadwal yang sudah diperbarui.");
        assert_eq!((v.best, v.second), ("id", Some("ms")));
        assert!(v.margin >= 1.0);
        // Words neither list tells apart (or lists at all): no evidence.
        assert_eq!(malay_or_indonesian("terima kasih"), None);
        assert_eq!(malay_or_indonesian("12345"), None);
    }

    #[test]
    fn trigrams_tell_kyrgyz_and_mongolian_from_russian() {
        let all = ["ru", "kk", "ky", "mn"];
        let best = |text: &str| by_trigrams(text, &all).unwrap().verdict(|_| 0.0).best;
        assert_eq!(best("Спасибо, получили"), "ru");
        assert_eq!(best("Маргааш уулзъя"), "mn");
        assert_eq!(best("Рахмат, макулдашылды"), "ky");
    }
}
