//! Language tags for c2c-bridge messages.
//!
//! Every relayed message carries a [`c2c_core::LanguageTag`]: a code (ISO 639-1 where one exists,
//! else ISO 639-3; `und` when nothing can be said), a confidence in 0.0..=1.0 rounded to two
//! decimals, and the script. The tag comes from [`whatlang`] restricted to the languages the
//! config mentions, corrected by the author's known languages (their *priors*, most preferred
//! first) when the text is short or the detector unsure. Build one [`Tagger`] from the config and
//! call [`Tagger::tag`] on the hot path (about 15–90 µs a message in release builds, depending on
//! length; whatlang's trigram scoring is most of it).
//!
//! ```
//! use c2c_language::Tagger;
//!
//! let tagger = Tagger::new(["en", "zh", "ms"]);
//! let author = vec!["zh".to_string(), "en".to_string()];
//! let tag = tagger.tag("Thanks!", &author);
//! assert_eq!((tag.code.as_str(), tag.script.as_str()), ("en", "Latin"));
//! assert_eq!(tagger.tag("好的", &author).code, "zh");
//! assert_eq!(tagger.unsupported(), ["ms"]);
//! ```
//!
//! # Layout
//! - `src/codes.rs`: code tables. [`is_valid_code`], [`code_for`], [`lang_for`], [`canonical_code`].
//! - `src/sample.rs`: the part of a text the detector sees (bounded, cleaned prefix).
//! - `src/priors.rs`: the prior rules and confidence formulas below; the prior-only languages.
//! - `src/tagger.rs`: [`Tagger`]: builds the detector once, tags texts.
//! - `tests/corpus.tsv`, `tests/corpus.rs`: a multilingual corpus of city-cooperation messages
//!   (`expected<TAB>priors<TAB>text`) and the accuracy check over it.
//!
//! # Codes
//! A valid code is one we could record: one of the 184 ISO 639-1 codes, or an ISO 639-3 code of a
//! language without a two-letter code from a fixed table ([`ISO_639_3_ONLY`]: `fil`, `yue`, `nan`,
//! `ceb`, `tet`, ...). All 70 whatlang languages have ISO 639-1 codes, so whatlang's own codes are
//! translated (`cmn` → `zh`, `pes` → `fa`, `ind` → `id`, `jpn` → `ja`, `nob` → `nb`, `tgl` → `tl`)
//! and are themselves *not* valid: one language, one spelling, so a tag can be compared with a
//! partnership's language as a string. [`canonical_code`] suggests the valid spelling (`cmn`,
//! `zh-CN`, `ZHO` → `zh`). Two valid codes name a whatlang language under another code ([`ALIASES`]):
//! `fil` (Tagalog) and `no` (Bokmål); a tagger configured with one records that spelling.
//!
//! # What the detector sees
//! The first [`MAX_CHARS`] (2,000) characters, cut on a character boundary, without URLs, email
//! addresses and runs without letters (numbers, dates, emoji). Text with no letters left gives
//! [`c2c_core::LanguageTag::undetermined`] (`und`, 0.0, `Unknown`) *whatever the priors*: guessing
//! is worse than saying nothing. So does text whose letters are all in a script whatlang does not
//! know (Lao, Tibetan, traditional Mongolian).
//!
//! # The detector
//! whatlang with an allowlist, built once in [`Tagger::new`]: the configured languages whatlang
//! knows, plus English and Chinese (Chinese because whatlang decides Han text between `zh` and `ja`
//! only when `zh` is allowed), plus a stand-in per prior-only language (below). The allowlist thus
//! always has at least two languages. It only matters for scripts several languages share (Latin,
//! Cyrillic, Arabic, Devanagari, Hebrew): a script of its own names the language whatever the
//! config (kana → `ja`, Hangul → `ko`, Thai → `th`, Greek, Georgian, Armenian, Bengali, Tamil, ...).
//! Han text is `ja` when more than 5% of it is kana, else `zh` (whatlang's rule). When no allowed
//! language uses the text's script (Cyrillic text under an English/Chinese config), every whatlang
//! language is tried instead. [`Tagger::all_languages`] allows all 70.
//!
//! The script is whatlang's name for it: `Latin`, `Cyrillic`, `Arabic`, `Devanagari`, `Hangul`,
//! `Thai`, `Hiragana`, `Katakana`, and `Mandarin` for Han, also for Japanese mostly written in kanji.
//!
//! # Certainty
//! `d`, the confidence in the detected language, is whatlang's confidence times a length factor:
//! `min(1, letters / 25)` for the shared scripts, `min(1, letters / 10)` for Han, 1 for a script of
//! its own. The detection is *unsure* when whatlang calls it unreliable (its confidence ≤ 0.9) or
//! the text has fewer letters than those 25 / 10.
//!
//! # Priors
//! With priors, the first of these rules that applies decides (without priors: the detected
//! language, confidence `d`):
//! 1. The text has the marker letters of a prior-only prior (see below): that prior, 0.8.
//! 2. The detected language is among the priors: keep it, `(1 + d) / 2` (detector and author agree).
//! 3. The detected language is the close relative of a prior-only prior and cannot be told apart
//!    from it (see below): that prior, `min(0.8, (1 + d) / 2)`.
//! 4. Unsure: the first prior that can be written in the text's script (Latin text from a
//!    `["zh", "en"]` author → `en`; Han text → `zh`, or `ja` for a Japanese author), with
//!    `0.5 × (1 − d / 2)`: never more than a coin toss, less the more the detector preferred
//!    something else. Kana, Hangul and Thai need no prior: they name their language.
//! 5. Otherwise the detected language, `d`.
//!
//! A prior-only language is never reported above 0.8.
//!
//! # Malay, Kazakh, Mongolian
//! whatlang cannot detect Malay (`ms`), Kazakh (`kk`) or Mongolian (`mn`). A configured one is
//! listed by [`Tagger::unsupported`] and is only ever tagged through an author's priors.
//!
//! - **Malay.** For an author with `ms` among their priors, Latin-script text detected as
//!   Indonesian, at any confidence (whatlang cannot tell the two apart), is tagged `ms`; so is an
//!   unsure detection of a language that is not among the author's priors, when `ms` is the first
//!   of their priors written in Latin script. Confidence is at most 0.8. Without an `ms` prior,
//!   Malay text is tagged `id` (Indonesian, the closest language whatlang knows); a tagger configured
//!   with `ms` detects Indonesian for this reason, even if `id` is not configured.
//! - **Kazakh and Mongolian.** For an author with `kk` or `mn` among their priors, Cyrillic text is
//!   decided by its letters. Letters Russian lacks (Kazakh ә ғ қ ң ө ұ ү һ; Mongolian ө ү), at least
//!   one per 50 letters, give `kk` / `mn` (the first such prior) with confidence 0.8, even over a
//!   Russian prior or a confident Russian detection. A short text (under 25 letters) without them
//!   gives `kk` / `mn` unless the detected language is itself among the author's priors (then,
//!   typically, `ru`). A longer Cyrillic text without them is taken not to be Kazakh or Mongolian,
//!   and the other rules decide (usually `ru`). Without a `kk` / `mn` prior, Kazakh and Mongolian
//!   text is tagged as the closest Cyrillic language allowed: `ru` under a config naming `kk` or
//!   `mn` (a tagger configured with either detects Russian for this reason), sometimes `be` or `bg`
//!   under [`Tagger::all_languages`].
//! - Kyrgyz (`ky`, markers ң ө ү) and Tajik (`tg`, markers ғ ӣ қ ӯ ҳ ҷ) follow the Kazakh rules.
//!
//! # Room for improvement
//! - `lingua` (1.8) is far more accurate on short texts and knows Malay, Kazakh and Mongolian, at
//!   7–15× the time and ~100 MB more for 27 languages: [`Tagger`] hides the detector, so it can be
//!   swapped in (or used as a second opinion on unsure detections only) without touching callers.
//! - When only one allowed language uses a script, whatlang reports confidence 1.0 for it: French
//!   text under an English/Chinese config is tagged `en`, confidently. A second opinion over all
//!   languages for long texts would catch it.
//! - Cantonese (`yue`) and other Chinese varieties are tagged `zh`; Lao and Tibetan text is `und`.
//! - A bilingual message gets the language of its majority script.

mod codes;
mod priors;
mod sample;
mod tagger;

pub use codes::{ALIASES, ISO_639_1, ISO_639_3_ONLY, canonical_code, code_for, is_valid_code, lang_for};
pub use sample::MAX_CHARS;
pub use tagger::Tagger;
/// The detector crate, so callers can name [`whatlang::Lang`] without depending on it.
pub use whatlang;
