#!/usr/bin/env python3
"""Rebuild the tagger's lexicon layer (issue 18) from public word lists:

- `words.tsv`: the most frequent words of the languages whose pairs whatlang confuses, with their
  frequency on the Zipf scale (log10 of occurrences per billion words) times ten, from the PyPI
  package `wordfreq` 3.1.1 (its "small" lists). One line per word: `word<TAB>lang=zipf10,...`;
  the line `#unseen<TAB>...` gives each language's score of a word it does not list.
- `trigrams.tsv`: letter-trigram models of word types for the Cyrillic and Devanagari languages
  the tagger tells apart (Kazakh, Kyrgyz, Mongolian, Uzbek, Russian, Ukrainian, Bulgarian; Hindi,
  Marathi, Nepali) and for the languages of `words.tsv` but Hindi, from `wordfreq` (those, and
  ru, uk, bg, hi) and from the word lists inside Tesseract's
  trained data in Debian's `tesseract-ocr-{kaz,kir,mon,uzb-cyrl,uzb,mar,nep}` packages (4.1.0),
  which have no frequencies (Uzbek: one model of both scripts). One line per trigram: `trigram<TAB>lang=cost,...`, cost = round(-10 ln p);
  the line `#unseen<TAB>...` gives each language's cost of a trigram it does not list.
- `rare.bin`: the words of ranks 5,000 to 25,000 of the same lists, as hashes
  with their Zipf frequency: see `write_rare`.
- `msid.tsv`: Malay against Indonesian by word frequency, over the whole of both `wordfreq`
  "small" lists (about 30,000 words each, down to Zipf 3.0): for each word, its Zipf frequency in
  Malay minus that in Indonesian, times ten (a word one list lacks is taken at that list's rarest
  word, so a contrast is never overstated), kept when the two differ by a factor of two or more
  (0.3 Zipf units) and capped at a factor of 100 (2 units). One line per word:
  `word<TAB>difference`.
- `msid_letters.tsv`: Malay against Indonesian by letters, for words neither list holds: letter
  2- to 4-grams of the words only one of the two whole lists holds, `round(10 ln(P_ms / P_id))`,
  the MSID_GRAMS most telling: see `write_msid_letters`.
- `espt_letters.tsv`: Spanish against Portuguese by letters, the same way over all the words of
  the two whole lists, `round(10 ln(P_es / P_pt))`, the ESPT_GRAMS most telling: see
  `write_espt_letters`.

Neither source is the UDHR or lingua-rs's test data. Licenses (see `README.md` here):
`wordfreq` is Apache-2.0 with data under CC BY-SA 4.0 (attribution: Robyn Speer, wordfreq;
its sources include Wikipedia, OpenSubtitles 2018, SUBTLEX, Google Books, Twitter, Reddit,
Common Crawl via the OSCAR corpus); Tesseract's tessdata is Apache-2.0 (Google / the Tesseract
OCR project). The generated files carry the same licenses as their sources.

Needs: python3 with `msgpack`, `pip`, `apt-get download`, and `combine_tessdata` and
`dawg2wordlist` (Debian package `tesseract-ocr`). Downloads into a cache directory:

    python3 bridge/language/data/build.py [--cache /tmp/c2c-lexicon]
"""

import argparse
import gzip
import math
import os
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
WORDFREQ = "wordfreq==3.1.1"

# Exact-word lists: language code (ours) -> wordfreq list, and how many of the most frequent words.
WORD_LANGS = {
    "ar": "ar", "de": "de", "en": "en", "es": "es", "fa": "fa", "fr": "fr", "hi": "hi",
    "id": "id", "ms": "ms", "pt": "pt", "tl": "fil", "ur": "ur", "vi": "vi",
}
TOP_WORDS = 5000
# The rarer words (`rare.bin`): ranks TOP_WORDS..RARE_WORDS of the same lists, as hashes.
# Hindi last: the indices of the others are unchanged.
RARE_LANGS = ["ar", "de", "en", "es", "fa", "fr", "id", "ms", "pt", "tl", "ur", "vi", "hi"]
RARE_WORDS = 25000
RARE_BUCKETS = 2048
# The Malay/Indonesian contrast (`msid.tsv`): differences under MSID_MIN are left out (they say
# little), larger ones capped at MSID_CAP (one word is never more than 100 times likelier).
MSID_MIN = 0.3
MSID_CAP = 2.0
# The Malay/Indonesian letter contrast (`msid_letters.tsv`): the MSID_GRAMS letter 2- to 4-grams
# (word edges marked `_`) that best tell the words only Malay's list holds from those only
# Indonesian's holds, by count times |log ratio|, add-MSID_ALPHA smoothed.
MSID_GRAMS = 3000
MSID_ALPHA = 0.5
# The same for Spanish against Portuguese (`espt_letters.tsv`), over all their words.
ESPT_GRAMS = 6000
ESPT_ALPHA = 0.5

# Trigram models: language -> ("wordfreq", list) or ("tesseract", traineddata name, Debian package).
TRIGRAM_LANGS = {
    "ar": ("wordfreq", "ar"),
    "de": ("wordfreq", "de"),
    "en": ("wordfreq", "en"),
    "es": ("wordfreq", "es"),
    "fa": ("wordfreq", "fa"),
    "fr": ("wordfreq", "fr"),
    "id": ("wordfreq", "id"),
    "ms": ("wordfreq", "ms"),
    "pt": ("wordfreq", "pt"),
    "tl": ("wordfreq", "fil"),
    "ur": ("wordfreq", "ur"),
    "vi": ("wordfreq", "vi"),
    "ru": ("wordfreq", "ru"),
    "uk": ("wordfreq", "uk"),
    "bg": ("wordfreq", "bg"),
    "hi": ("wordfreq", "hi"),
    "kk": ("tesseract", "kaz", "tesseract-ocr-kaz"),
    "ky": ("tesseract", "kir", "tesseract-ocr-kir"),
    "mn": ("tesseract", "mon", "tesseract-ocr-mon"),
    "uz": ("tesseract", "uzb_cyrl", "tesseract-ocr-uzb-cyrl", "uzb", "tesseract-ocr-uzb"),
    "mr": ("tesseract", "mar", "tesseract-ocr-mar"),
    "ne": ("tesseract", "nep", "tesseract-ocr-nep"),
}
TOP_TYPES = 30000  # word types from a wordfreq list for its trigram model
TOP_TRIGRAMS = 3000  # trigrams kept per language

# Each language's alphabet, so that a web-crawled word list keeps only words written in it
# (Tesseract's Kyrgyz list also has Kazakh and Russian-only words).
RU = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
ALPHABETS = {
    "ru": RU,
    "uk": set("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'"),
    "bg": set("абвгдежзийклмнопрстуфхцчшщъьюя"),
    "kk": RU | set("әғқңөұүһі"),
    "ky": RU | set("ңөү"),
    "mn": RU | set("өү"),
    # Uzbek in both scripts (one model: the scripts' trigrams do not meet).
    "uz": (RU - set("щы")) | set("ўқғҳ") | set("abcdefghijklmnopqrstuvxyz"),
}


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def wordfreq_wheel(cache):
    wheels = [f for f in os.listdir(cache) if f.startswith("wordfreq-3.1.1") and f.endswith(".whl")]
    if not wheels:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", cache, WORDFREQ])
        wheels = [f for f in os.listdir(cache) if f.startswith("wordfreq-3.1.1") and f.endswith(".whl")]
    return zipfile.ZipFile(os.path.join(cache, wheels[0]))


def wordfreq_list(wheel, name):
    """(word, zipf) of a wordfreq 'small' list, most frequent first (the cBpack format: the
    index of each bucket is minus its frequency in centibels)."""
    import msgpack

    data = msgpack.unpackb(gzip.decompress(wheel.read(f"wordfreq/data/small_{name}.msgpack.gz")), raw=False)
    assert data[0] == {"format": "cB", "version": 1}, data[0]
    out = []
    for i, bucket in enumerate(data[1:]):
        for word in bucket:
            out.append((word, 9.0 - i / 100.0))
    return out


def tesseract_words(cache, name, package):
    words_file = os.path.join(cache, f"{name}.words.txt")
    if not os.path.exists(words_file):
        debs = [f for f in os.listdir(cache) if f.startswith(package + "_") and f.endswith(".deb")]
        if not debs:
            run(["apt-get", "download", package], cwd=cache)
            debs = [f for f in os.listdir(cache) if f.startswith(package + "_") and f.endswith(".deb")]
        root = os.path.join(cache, "deb")
        run(["dpkg-deb", "-x", os.path.join(cache, debs[0]), root])
        traineddata = None
        for dirpath, _, files in os.walk(root):
            if f"{name}.traineddata" in files:
                traineddata = os.path.join(dirpath, f"{name}.traineddata")
        prefix = os.path.join(cache, f"{name}.")
        run(["combine_tessdata", "-u", traineddata, prefix], stdout=subprocess.DEVNULL)
        run(["dawg2wordlist", prefix + "lstm-unicharset", prefix + "lstm-word-dawg", words_file],
            stdout=subprocess.DEVNULL)
    with open(words_file, encoding="utf-8") as f:
        return [w.strip() for w in f if w.strip()]


def is_word(word):
    return all(c.isalpha() or unicodedata.category(c).startswith("M") for c in word)


def listable(word):
    """A wordfreq entry the word tables keep: lowercase letters (and marks), at most 24."""
    return word == word.lower() and is_word(word) and len(word) <= 24


def split_words(words):
    """Tesseract's entries cut where the tagger cuts words: at anything but letters (Uzbek
    *o'zbek* gives *o* and *zbek*)."""
    for entry in words:
        word = ""
        for c in entry + " ":
            if c.isalpha() or unicodedata.category(c).startswith("M"):
                word += c
            elif word:
                yield word
                word = ""


def clean(lang, words):
    """Lowercase words only (capitalised ones are mostly names), letters only, 2 to 24
    characters, in the language's alphabet where one is given; first occurrence kept."""
    alphabet = ALPHABETS.get(lang)
    seen, out = set(), []
    for w in words:
        if w != w.lower() or not is_word(w) or not 2 <= len(w) <= 24 or w in seen:
            continue
        if alphabet and not set(w) <= alphabet:
            continue
        seen.add(w)
        out.append(w)
    return out


def script_of(word):
    """The script of a word's first letter: `LATIN` (with Vietnamese's extended letters), else the
    first word of its Unicode name (`CYRILLIC`, `ARABIC`, `DEVANAGARI`)."""
    c = word[0]
    if c < "\u0250" or "\u1e00" <= c <= "\u1eff":
        return "LATIN"
    return unicodedata.name(c, "UNKNOWN").split()[0]


def trigrams(word):
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def fnv1a(word):
    h = 0x811C9DC5
    for b in word.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def write_rare(wheel):
    """`rare.bin`: the words of ranks TOP_WORDS..RARE_WORDS of each RARE_LANGS list (kept as for
    `words.tsv`), as 27 bits of their FNV-1a hash (a false match about once in 500 lookups) and
    their Zipf frequency. Layout: `C2W1`, one byte per RARE_LANGS language (the Zipf × 10 of a
    word it lists in neither file: half a unit under its rarest kept), RARE_BUCKETS + 1 little-
    endian u32 entry indices (bucket = hash >> 21), then 3 bytes per entry, sorted by bucket
    then the rest: u16 (hash >> 5) & 0xffff, u8 language index << 4 | (Zipf × 10 - 26), 0..15."""
    entries, floors = [], []
    for i, lang in enumerate(RARE_LANGS):
        kept, seen, last = 0, set(), None
        for word, zipf in wordfreq_list(wheel, WORD_LANGS[lang]):
            if kept == RARE_WORDS:
                break
            if not listable(word) or word in seen:
                continue
            seen.add(word)
            kept += 1
            if kept <= TOP_WORDS:
                continue
            z = max(0, min(15, round(zipf * 10) - 26))
            last = round(zipf * 10)
            h = fnv1a(word)
            entries.append((h >> 21, (h >> 5) & 0xFFFF, i << 4 | z))
        floors.append(last - 5)
    entries = sorted(set(entries))
    starts = [0] * (RARE_BUCKETS + 1)
    for b, _, _ in entries:
        starts[b + 1] += 1
    for b in range(RARE_BUCKETS):
        starts[b + 1] += starts[b]
    out = bytearray(b"C2W1") + bytes(floors)
    for s in starts:
        out += s.to_bytes(4, "little")
    for _, rest, lz in entries:
        out += rest.to_bytes(2, "little") + bytes([lz])
    with open(os.path.join(HERE, "rare.bin"), "wb") as f:
        f.write(out)
    print(f"rare.bin: {len(entries)} entries, {len(out)} bytes", file=sys.stderr)


def write_letters(name, a, b, codes, grams, alpha, shared):
    """A contrast of two languages by letters, for words neither list holds (`msid_letters.tsv`,
    `espt_letters.tsv`). Each word of the two whole lists (`a`, `b`) counts its distinct letter 2-
    to 4-grams (the word framed by `_`) once for each language whose list holds it: only the words
    one list holds alone, or, with `shared`, the words both hold too; a gram's value is
    ln(P_a / P_b) of those counts, add-`alpha` smoothed over all grams seen; the `grams` grams of
    the largest count times |value| are kept, as round(10 × value)."""
    counts = {"a": Counter(), "b": Counter()}
    for word in set(a) | set(b) if shared else set(a) ^ set(b):
        framed = "_" + word + "_"
        seen_grams = {framed[i:i + n] for n in (2, 3, 4) for i in range(len(framed) - n + 1)}
        for side, held in (("a", a), ("b", b)):
            if word in held:
                counts[side].update(seen_grams)
    total_a, total_b = sum(counts["a"].values()), sum(counts["b"].values())
    seen = set(counts["a"]) | set(counts["b"])
    rows = []
    for gram in seen:
        x, y = counts["a"][gram], counts["b"][gram]
        value = math.log((x + alpha) / (total_a + alpha * len(seen))) - math.log(
            (y + alpha) / (total_b + alpha * len(seen)))
        rows.append((abs(value) * (x + y), gram, value))
    rows.sort(reverse=True)
    kept = sorted((gram, round(value * 10)) for _, gram, value in rows[:grams] if round(value * 10) != 0)
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write(f"# generated by build.py from {WORDFREQ} (CC BY-SA 4.0 data); letter 2-4-gram (word edges _)"
                f"<TAB>round(10 ln(P_{codes[0]} / P_{codes[1]})) over the words "
                f"{'of' if shared else 'only one of'} the two lists{'' if shared else ' holds'}\n")
        for gram, value in kept:
            f.write(f"{gram}\t{value}\n")


def write_msid_letters(ms, id_):
    """`msid_letters.tsv`: Malay against Indonesian by letters (see `write_letters`)."""
    write_letters("msid_letters.tsv", ms, id_, ("ms", "id"), MSID_GRAMS, MSID_ALPHA, False)


def write_espt_letters(es, pt):
    """`espt_letters.tsv`: Spanish against Portuguese by letters (see `write_letters`), over all
    the words of the two whole Latin-script lists (the words both hold too: on the development
    set, 6,000 grams so trained gained 10 lines net, from only-one-list words 7)."""
    write_letters("espt_letters.tsv", es, pt, ("es", "pt"), ESPT_GRAMS, ESPT_ALPHA, True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="/tmp/c2c-lexicon")
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    wheel = wordfreq_wheel(args.cache)

    # Exact words.
    table, floor = {}, {}
    for lang, name in sorted(WORD_LANGS.items()):
        kept = 0
        for word, zipf in wordfreq_list(wheel, name):
            if kept == TOP_WORDS:
                break
            if not listable(word):
                continue
            table.setdefault(word, {})[lang] = round(zipf * 10)
            floor[lang] = round(zipf * 10) - 5
            kept += 1
    with open(os.path.join(HERE, "words.tsv"), "w", encoding="utf-8") as f:
        f.write(f"# generated by build.py from {WORDFREQ} (CC BY-SA 4.0 data); word<TAB>lang=zipf*10,...\n")
        # A word past a language's cut is taken as half a Zipf unit rarer than its last kept word.
        f.write("#unseen\t" + ",".join(f"{l}={z}" for l, z in sorted(floor.items())) + "\n")
        for word in sorted(table):
            f.write(word + "\t" + ",".join(f"{l}={z}" for l, z in sorted(table[word].items())) + "\n")

    write_rare(wheel)

    # Malay against Indonesian over both whole lists.
    def latin_words(name):
        out = {}
        for word, zipf in wordfreq_list(wheel, name):
            if listable(word) and script_of(word) == "LATIN":
                out.setdefault(word, zipf)
        return out

    ms, id_ = latin_words("ms"), latin_words("id")
    rarest_ms, rarest_id = min(ms.values()), min(id_.values())
    with open(os.path.join(HERE, "msid.tsv"), "w", encoding="utf-8") as f:
        f.write(f"# generated by build.py from {WORDFREQ} (CC BY-SA 4.0 data); word<TAB>(zipf ms - zipf id)*10, "
                f"|difference| >= {MSID_MIN}, capped at {MSID_CAP}\n")
        for word in sorted(set(ms) | set(id_)):
            diff = ms.get(word, rarest_ms) - id_.get(word, rarest_id)
            if abs(diff) >= MSID_MIN:
                f.write(f"{word}\t{round(max(-MSID_CAP, min(MSID_CAP, diff)) * 10)}\n")

    write_msid_letters(ms, id_)
    write_espt_letters(latin_words("es"), latin_words("pt"))

    # Trigram models of word types.
    models, unseen = {}, {}
    for lang, source in sorted(TRIGRAM_LANGS.items()):
        if source[0] == "wordfreq":
            words = clean(lang, [w for w, _ in wordfreq_list(wheel, source[1])])[:TOP_TYPES]
        else:
            lists = [tesseract_words(args.cache, name, package) for name, package in zip(source[1::2], source[2::2])]
            words = clean(lang, split_words(w for words in lists for w in words))
        # One model per script, each with its own top trigrams: both of Uzbek's; for the other
        # languages only the script most of their words are written in (wordfreq's Hindi and
        # Arabic lists also hold English words).
        by_script = {}
        for w in words:
            by_script.setdefault(script_of(w), []).append(w)
        parts = sorted(by_script.values(), key=len, reverse=True)
        if lang != "uz":
            parts = parts[:1]
        models[lang], unseen[lang] = {}, 0
        for part in parts:
            counts = Counter(g for w in part for g in trigrams(w))
            total = sum(counts.values())
            top = counts.most_common(TOP_TRIGRAMS)
            # Add-half smoothing over the trigrams seen; one unseen cost for the rest (those past
            # the cut cost what the last kept one would at most).
            vocab = len(counts)
            cost = lambda c: round(-10 * math.log((c + 0.5) / (total + 0.5 * vocab)))
            models[lang].update({g: cost(c) for g, c in top})
            unseen[lang] = max(unseen[lang], cost(min(c for _, c in top) * 0.5))
            print(f"{lang}: {len(part)} words, {vocab} trigrams, kept {len(top)}", file=sys.stderr)
    merged = {}
    for lang, model in models.items():
        for g, c in model.items():
            merged.setdefault(g, {})[lang] = c
    with open(os.path.join(HERE, "trigrams.tsv"), "w", encoding="utf-8") as f:
        f.write("# generated by build.py from wordfreq 3.1.1 (CC BY-SA 4.0 data) and Tesseract 4.1.0 "
                "tessdata word lists (Apache-2.0); trigram<TAB>lang=cost,... with cost = -10 ln p\n")
        f.write("#unseen\t" + ",".join(f"{l}={c}" for l, c in sorted(unseen.items())) + "\n")
        for g in sorted(merged):
            f.write(g + "\t" + ",".join(f"{l}={c}" for l, c in sorted(merged[g].items())) + "\n")


if __name__ == "__main__":
    main()
