#!/usr/bin/env python3
"""Build `gtk.tsv`, a third evaluation corpus held out from the tagger's development: the
translated user-interface messages of GTK 3 and GNOME Settings, as Debian ships them
(`libgtk-3-common` and `gnome-control-center-data`, bookworm), read from their gettext `.mo`
files. Neither the tagger's rules nor its word lists were written from these messages, and the
tagger was not changed after this file's first run (see README.md).

Lines are `code<TAB>class<TAB>text`. Per language, drawn in a fixed pseudo-random order (SHA-1 of
language and text, so a rerun gives the same file): up to 10 sentences (7 or more words; for
scripts without spaces, 15 or more characters), 5 chat lines (3 to 6 words; 6 to 14 characters),
5 pairs (2 words; GUI labels such as "Open File") and 5 single words (at least 3 letters). Only
messages whose translation differs from the English, without format directives, markup, mnemonic
underscores, and, for languages not written in Latin letters, without Latin letters (product
names, units). English lines are the messages' English originals. Tagalog/Filipino and Lao have
no translation in these packages, so this corpus has 28 of the 30 languages.

    python3 tests/langeval/corpus/gtk.py [--out tests/langeval/corpus/gtk.tsv]
"""

import argparse
import gettext
import hashlib
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ["libgtk-3-common", "gnome-control-center-data"]
DOMAINS = ["gtk30", "gnome-control-center-2.0"]
# Our code -> the gettext locale (uz twice: both scripts).
LOCALES = {
    "ar": ["ar"], "bn": ["bn"], "de": ["de"], "es": ["es"], "fa": ["fa"], "fr": ["fr"],
    "hi": ["hi"], "id": ["id"], "ja": ["ja"], "kk": ["kk"], "km": ["km"], "ko": ["ko"],
    "ky": ["ky"], "mn": ["mn"], "mr": ["mr"], "ms": ["ms"], "my": ["my"], "ne": ["ne"],
    "pt": ["pt"], "ru": ["ru"], "si": ["si"], "ta": ["ta"], "th": ["th"], "ur": ["ur"],
    "uz": ["uz", "uz@cyrillic"], "vi": ["vi"], "zh": ["zh_CN"],
}
UNSPACED = {"ja", "zh", "th", "km", "my"}
# Languages written in Latin letters (Uzbek in both scripts): they keep their Latin letters.
LATIN = {"de", "es", "fr", "id", "ms", "pt", "vi", "uz"}
PER_CLASS = {"sentence": 10, "chat": 5, "pair": 5, "word": 5}


def catalog(root, locale):
    out = {}
    for domain in DOMAINS:
        path = os.path.join(root, "usr/share/locale", locale, "LC_MESSAGES", domain + ".mo")
        if os.path.exists(path):
            with open(path, "rb") as f:
                for key, value in gettext.GNUTranslations(f)._catalog.items():
                    if isinstance(key, str) and key and isinstance(value, str):
                        out[key] = value
    return out


def clean(text):
    """One line of plain text, or None for messages that are not plain prose."""
    if re.search(r"%|\{|\}|<|>|&|\\|\n|\t|\||http|@", text):
        return None
    text = text.replace("_", "").replace("…", "").replace("...", "").strip()
    text = re.sub(r"\s+", " ", text)
    return text or None


def classify(code, text):
    if code in UNSPACED:
        n = len(text.replace(" ", ""))
        if 2 <= n <= 3:
            return "word"
        if 4 <= n <= 5:
            return "pair"
        if 6 <= n <= 14:
            return "chat"
        return "sentence" if n >= 15 else None
    words = text.split(" ")
    letters = sum(c.isalpha() for c in text)
    if len(words) == 1:
        return "word" if letters >= 3 else None
    if len(words) == 2:
        return "pair"
    if len(words) <= 6:
        return "chat"
    return "sentence"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "gtk.tsv"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True, stderr=subprocess.DEVNULL)
        root = os.path.join(tmp, "root")
        for deb in sorted(os.listdir(tmp)):
            if deb.endswith(".deb"):
                subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
        versions = subprocess.run(["dpkg-deb", "-f", *[os.path.join(tmp, d) for d in sorted(os.listdir(tmp)) if d.endswith(".deb")][:1], "Version"],
                                  capture_output=True, text=True).stdout.strip()
        lines = []
        english = {}
        for code, locales in sorted(LOCALES.items()):
            pool = {c: [] for c in PER_CLASS}
            for locale in locales:
                for msgid, msgstr in catalog(root, locale).items():
                    source, text = clean(msgid.split("\x04")[-1]), clean(msgstr)
                    if not source or not text or text == source:
                        continue
                    if code not in LATIN and re.search(r"[A-Za-z]", text):
                        continue
                    cls = classify(code, text)
                    if cls:
                        pool[cls].append(text)
                    ecls = classify("en", source)
                    if ecls:
                        english.setdefault(ecls, set()).add(source)
            for cls, n in PER_CLASS.items():
                texts = sorted(set(pool[cls]), key=lambda t: hashlib.sha1(f"{code}\t{t}".encode()).hexdigest())
                lines += [(code, cls, t) for t in texts[:n]]
        for cls, n in PER_CLASS.items():
            texts = sorted(english.get(cls, ()), key=lambda t: hashlib.sha1(f"en\t{t}".encode()).hexdigest())
            lines += [("en", cls, t) for t in texts[:n]]
    lines.sort(key=lambda l: (l[0], list(PER_CLASS).index(l[1])))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("# Held-out corpus: GTK 3 and GNOME Settings messages (Debian libgtk-3-common, gnome-control-center-data"
                f" {versions}); built by gtk.py, see README.md. LGPL-2.1+ / GPL-2+ translations.\n")
        for code, cls, text in lines:
            f.write(f"{code}\t{cls}\t{text}\n")
    print(f"{len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
