"""Accuracy and speed of the language identifier on a labelled TSV (lang<TAB>text).

    .venv/bin/python benchmarks/langid.py ../shared/data/lang_eval_dev.tsv

Prints accuracy per language and overall, on Vietnamese typed without any diacritic,
and the mean time per text, then one line: RESULT accuracy=.. vi_nodiacritics=.. ms_per_text=..
"""

from __future__ import annotations

import csv
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.langid import LanguageIdentifier

PASSES = 20


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row[0], row[1]) for row in rows[1:] if len(row) >= 2]


def no_diacritics(text: str) -> bool:
    return all(ch.isascii() for ch in text if ch.isalpha())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: benchmarks/langid.py FILE.tsv", file=sys.stderr)
        return 2
    rows = read(Path(argv[1]))
    identifier = LanguageIdentifier()
    identifier.detect("warm up the langdetect profiles, if they are needed")
    predictions = [identifier.detect(text) for _, text in rows]

    total, right = Counter(), Counter()
    for (expected, _), got in zip(rows, predictions, strict=True):
        total[expected] += 1
        right[expected] += expected == got
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(f"{'language':10} {'rows':>5} {'accuracy':>9}")
    for language in sorted(total):
        print(f"{language:10} {total[language]:5d} {right[language] / total[language]:9.3f}")
    accuracy = sum(right.values()) / len(rows)
    plain = [
        (e, g)
        for (e, text), g in zip(rows, predictions, strict=True)
        if e == "vi" and no_diacritics(text)
    ]
    vi_plain = sum(e == g for e, g in plain) / len(plain) if plain else float("nan")
    misses = [(e, g, t) for (e, t), g in zip(rows, predictions, strict=True) if e != g]
    for expected, got, text in misses:
        print(f"miss: expected {expected}, got {got}: {text[:60]}")

    started = time.perf_counter()
    for _ in range(PASSES):
        for _, text in rows:
            identifier.detect(text)
    ms_per_text = (time.perf_counter() - started) * 1000 / (PASSES * len(rows))
    print(
        f"overall {accuracy:.3f} on {len(rows)} texts; vi without diacritics "
        f"{vi_plain:.3f} on {len(plain)}; {ms_per_text:.3f} ms per text"
    )
    print(
        f"RESULT accuracy={accuracy:.3f} vi_nodiacritics={vi_plain:.3f} "
        f"ms_per_text={ms_per_text:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
