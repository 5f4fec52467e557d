#!/usr/bin/env python3
"""Build `tesseract_tluz.tsv`, a second development set of single words and word pairs, for the
two languages `tesseract.tsv` cannot measure: Tagalog (one sentence there) and Latin-script Uzbek
(Cyrillic only there). From the word lists inside Tesseract 4.1.0's trained data (Debian bookworm
packages `tesseract-ocr-<lang>`, Apache-2.0), like `tesseract.py`, whose helpers it uses.

- Tagalog: Tesseract's `fil` (Filipino) list. The tagger's Tagalog data come from `wordfreq`, not
  from this list, so these lines measure it.
- Latin Uzbek: Tesseract's `uzb` list. The tagger's Uzbek trigrams come from this same list (and
  `uzb_cyrl`), so these lines flatter Uzbek: a change that loses Uzbek lines here loses at least
  as many on other Uzbek text. Use them to see costs, not gains.

Per language of the two, 150 single words and 50 pairs (lowercase, 4 letters or more, Latin
letters, in no list of the other languages below); then 20 single words of each of the other
languages of `tesseract.tsv` (ar, de, en, es, fa, fr, hi, id, ms, pt, ur, vi, kk, ky, mn, ne, mr,
ru, and Cyrillic Uzbek), so that the tagger is configured with the same languages as on
`tesseract.tsv`. Seeded, so a rerun gives the same file.

    python3 tests/langeval/corpus/tesseract_tluz.py [--out tests/langeval/corpus/tesseract_tluz.tsv]
"""

import argparse
import os
import random
import tempfile
import unicodedata

import tesseract

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"fil": "tl", "uzb": "uz"}
OTHERS = dict(tesseract.MAIN, **tesseract.CONFIG_ONLY)


def keep(w):
    return w == w.lower() and len(w) >= 4 and all(c.isalpha() for c in w) and tesseract.script(w) == "L"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "tesseract_tluz.tsv"))
    args = parser.parse_args()
    raw = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(TARGETS) + sorted(OTHERS):
            sub = os.path.join(tmp, name)
            os.mkdir(sub)
            raw[name] = tesseract.words_of(sub, name)
    random.seed(29)
    out = []
    for name, code in sorted(TARGETS.items()):
        others = set().union(*(set(raw[n]) for n in raw if n != name))
        pool = sorted(w for w in set(raw[name]) if keep(w) and w not in others)
        for w in random.sample(pool, 150):
            out.append((code, "word", w))
        for _ in range(50):
            a, b = random.sample(pool, 2)
            out.append((code, "pair", a + " " + b))
    for name, code in sorted(OTHERS.items()):
        ws = sorted(w for w in set(raw[name]) if w == w.lower() and len(w) >= 4
                    and all(c.isalpha() or unicodedata.category(c).startswith("M") for c in w))
        for w in random.sample(ws, 20):
            out.append((code, "word", w))
    tesseract.write(args.out, out)


if __name__ == "__main__":
    main()
