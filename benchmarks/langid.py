"""Accuracy and speed of the language identifier on a labelled TSV (lang<TAB>text).

    .venv/bin/python benchmarks/langid.py ../shared/data/lang_eval_dev.tsv

Prints the machine, accuracy per language and overall, accuracy on Vietnamese typed
without any diacritic (the case langdetect gets wrong), every miss, and the mean time
per text after a warm-up pass (the identifier's construction and langdetect's profile
loading are not counted). The last line is always:
RESULT accuracy=0.981 vi_nodiacritics=0.962 ms_per_text=0.21
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.langid import LanguageIdentifier

PASSES = 20  # timed passes over the whole file: enough for a stable mean on ~100 rows


def read(path: Path) -> list[tuple[str, str]]:
    """The labelled rows; the header is skipped, a tab inside the text is kept."""
    rows = []
    with path.open(encoding="utf-8-sig") as handle:
        next(handle, None)
        for line in handle:
            label, tab, text = line.rstrip("\r\n").partition("\t")
            if tab:
                rows.append((label.strip(), text))
    return rows


def no_diacritics(text: str) -> bool:
    """No letter outside ASCII: how many residents type Vietnamese on their phones."""
    return all(ch.isascii() for ch in text if ch.isalpha())


def share(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else float("nan")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: benchmarks/langid.py FILE.tsv", file=sys.stderr)
        return 2
    rows = read(Path(argv[1]))
    if not rows:
        print(f"{argv[1]}: no labelled rows", file=sys.stderr)
        return 1
    texts = [text for _, text in rows]
    identifier = LanguageIdentifier()
    predictions = [identifier.detect(text) for text in texts]  # also the warm-up pass

    started = time.perf_counter()
    for _ in range(PASSES):
        for text in texts:
            identifier.detect(text)
    ms_per_text = (time.perf_counter() - started) * 1000 / (PASSES * len(texts))

    print(
        f"machine: {platform.platform()} {platform.machine()} "
        f"cpus={os.cpu_count()} python={platform.python_version()}"
    )
    total, right = Counter[str](), Counter[str]()
    for (expected, _), got in zip(rows, predictions, strict=True):
        total[expected] += 1
        right[expected] += expected == got
    print(f"{'language':10} {'rows':>5} {'accuracy':>9}")
    for language in sorted(total):
        print(f"{language:10} {total[language]:5d} {right[language] / total[language]:9.3f}")
    accuracy = sum(right.values()) / len(rows)
    plain = [
        got == "vi"
        for (expected, text), got in zip(rows, predictions, strict=True)
        if expected == "vi" and no_diacritics(text)
    ]
    vi_plain = share(plain)
    for (expected, text), got in zip(rows, predictions, strict=True):
        if expected != got:
            print(f"miss: expected {expected}, got {got}: {text[:70]}")
    print(
        f"overall {accuracy:.3f} on {len(rows)} texts; Vietnamese without diacritics "
        f"{vi_plain:.3f} on {len(plain)}; {ms_per_text:.4f} ms per text "
        f"(mean of {PASSES} passes)"
    )
    print(
        f"RESULT accuracy={accuracy:.3f} vi_nodiacritics={vi_plain:.3f} "
        f"ms_per_text={ms_per_text:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
