#!/usr/bin/env python3
"""Build `tesseract.tsv`, a development set of single words and word pairs for the tagger's short-
line rules, from the word lists inside Tesseract 4.1.0's trained data (Debian bookworm packages
`tesseract-ocr-<lang>`, Apache-2.0): not the UDHR, not GTK, not lingua-rs's test files, and not
`wordfreq`, from which the lexicon layer's word lists come (but the kk, ky, mn, uz, mr and ne
trigram models of `bridge/language/data/` are made from these same Tesseract lists: their lines
here are only there so the tagger is configured with them, and say nothing of its accuracy).

Per language of ar, de, en, es, fa, fr, hi, id, ms, pt, ur, vi: 200 single words and 100 pairs of
two words, drawn (Python's `random`, seeded) from its list's lowercase words of 4 letters or more,
written in its main script, that no other of these twelve lists holds (so Malay words are words
Tesseract's Indonesian list lacks, and so on). Then 20 single words each from the Kazakh, Kyrgyz,
Mongolian, Uzbek (Cyrillic), Nepali, Marathi and Russian lists, and one Tagalog sentence written
for it (Tesseract has no Tagalog list), so that the tagger is configured with the region's
languages as on the other corpora. Tesseract's lists are noisy: they hold names, brand names and
foreign words (`bajufamilyday` in the Malay one), so no contender can reach 100 %.

    python3 tests/langeval/corpus/tesseract.py [--out tests/langeval/corpus/tesseract.tsv]

Needs `apt-get download`, `dpkg-deb`, and `combine_tessdata` and `dawg2wordlist` (Debian package
`tesseract-ocr`).
"""

import argparse
import os
import random
import subprocess
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
# Tesseract's name -> our code.
MAIN = {
    "ara": "ar", "deu": "de", "eng": "en", "fas": "fa", "fra": "fr", "hin": "hi", "ind": "id",
    "msa": "ms", "por": "pt", "spa": "es", "urd": "ur", "vie": "vi",
}
CONFIG_ONLY = {
    "kaz": "kk", "kir": "ky", "mon": "mn", "uzb_cyrl": "uz", "nep": "ne", "mar": "mr", "rus": "ru",
}
TAGALOG = "Maraming salamat po sa inyong pagtanggap sa aming delegasyon."


def words_of(tmp, name):
    package = "tesseract-ocr-" + name.replace("_", "-")
    subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    deb = next(f for f in os.listdir(tmp) if f.startswith(package + "_") and f.endswith(".deb"))
    root = os.path.join(tmp, "deb")
    subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
    traineddata = next(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f == f"{name}.traineddata"
    )
    prefix = os.path.join(tmp, f"{name}.")
    subprocess.run(["combine_tessdata", "-u", traineddata, prefix], check=True, stdout=subprocess.DEVNULL)
    out = prefix + "words.txt"
    subprocess.run(["dawg2wordlist", prefix + "lstm-unicharset", prefix + "lstm-word-dawg", out],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as f:
        return [w.strip() for w in f]


def script(word):
    c = word[0]
    if c < "\u0250" or "\u1e00" <= c <= "\u1eff":
        return "L"
    return unicodedata.name(c, "?").split()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "tesseract.tsv"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = {code: words_of(tmp, name) for name, code in sorted(MAIN.items())}
        extra = {code: words_of(tmp, name) for name, code in CONFIG_ONLY.items()}

    def keep(w):
        return w == w.lower() and all(c.isalpha() or unicodedata.category(c).startswith("M") for c in w) and len(w) >= 4

    # In the order of MAIN (the draw depends on it).
    lists = {code: [w for w in raw[code] if keep(w)] for code in MAIN.values()}
    main_script = {}
    for code, ws in lists.items():
        scripts = [script(w) for w in ws]
        main_script[code] = max(set(scripts), key=scripts.count)
    sets = {code: set(ws) for code, ws in lists.items()}
    random.seed(22)
    out = []
    for code, ws in lists.items():
        others = set().union(*(s for k, s in sets.items() if k != code))
        pool = sorted(w for w in set(ws) if script(w) == main_script[code] and w not in others)
        for w in random.sample(pool, min(200, len(pool))):
            out.append((code, "word", w))
        for _ in range(100):
            a, b = random.sample(pool, 2)
            out.append((code, "pair", a + " " + b))
    random.seed(7)
    for code, ws in extra.items():
        ws = [w for w in ws if keep(w)]
        for w in random.sample(ws, 20):
            out.append((code, "word", w))
    out.append(("tl", "sentence", TAGALOG))
    write(args.out, out)


def write(path, lines):
    """The corpus file: one `code<TAB>class<TAB>text` line each."""
    with open(path, "w", encoding="utf-8") as f:
        for code, cls, text in lines:
            f.write(f"{code}\t{cls}\t{text}\n")
    print(f"{path}: {len(lines)} lines")


if __name__ == "__main__":
    main()
