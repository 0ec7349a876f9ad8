"""Language identification: held-out accuracy, determinism, odd input, the benchmark."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from bot.langid import UNDETERMINED, LanguageIdentifier

ROOT = Path(__file__).resolve().parent.parent
HOLDOUT = Path(__file__).with_name("data") / "lang_holdout.tsv"
DEV_SET = ROOT.parent / "shared" / "data" / "lang_eval_dev.tsv"


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row[0], row[1]) for row in rows[1:]]


def test_held_out_accuracy_meets_the_targets() -> None:
    """The held-out texts were written after the design was fixed; the code was not
    tuned on them."""
    identifier = LanguageIdentifier()
    rows = _rows(HOLDOUT)
    assert len(rows) >= 150
    right = [identifier.detect(text) == expected for expected, text in rows]
    plain_vi = [
        identifier.detect(text) == "vi"
        for expected, text in rows
        if expected == "vi" and all(ch.isascii() for ch in text if ch.isalpha())
    ]
    assert len(plain_vi) >= 50
    assert sum(right) / len(right) >= 0.97
    assert sum(plain_vi) / len(plain_vi) >= 0.95


def test_deterministic_across_calls_and_instances() -> None:
    texts = [text for _, text in _rows(HOLDOUT)]
    first, second = LanguageIdentifier(), LanguageIdentifier()
    answers = [first.detect(t) for t in texts]
    assert answers == [first.detect(t) for t in texts] == [second.detect(t) for t in texts]


@pytest.mark.parametrize(
    "text", ["", "   ", "ok", "1", "?", "👍", "15B1-234.56", "\u200b\u200b", "...", "hi"]
)
def test_too_short_to_tell(text: str) -> None:
    assert LanguageIdentifier().detect(text) == UNDETERMINED


@pytest.mark.parametrize(
    "text",
    [
        "\u0301\u0303\u0309" * 10,  # combining marks alone
        "a\x00b\x00c\x00 d e f",
        "\u202eعكس الاتجاه\u202c mixed with text",
        "x" * 100_000,
        "https://example.com/a/b?c=d user@example.com",
        "𝕳𝖊𝖑𝖑𝖔 𝖜𝖔𝖗𝖑𝖉 𝖋𝖗𝖔𝖒 𝖒𝖆𝖙𝖍 𝖑𝖊𝖙𝖙𝖊𝖗𝖘",
    ],
)
def test_odd_unicode_never_raises(text: str) -> None:
    result = LanguageIdentifier().detect(text)
    assert isinstance(result, str) and 2 <= len(result) <= 3


def test_vietnamese_with_and_without_diacritics_and_shorthand() -> None:
    identifier = LanguageIdentifier()
    assert identifier.detect("Nhà văn hóa tổ 9 có người tụ tập") == "vi"
    assert identifier.detect("nha van hoa to 9 co nguoi tu tap") == "vi"
    assert identifier.detect("ko bit dc ten, chi thay ho o day") == "vi"
    assert identifier.detect("the bar near the market sells pills") == "en"


@pytest.mark.skipif(not DEV_SET.exists(), reason="../shared/data is not beside this checkout")
def test_benchmark_prints_its_result_line() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/langid.py", str(DEV_SET)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    figures = dict(item.split("=") for item in last.split()[1:])
    assert set(figures) == {"accuracy", "vi_nodiacritics", "ms_per_text"}
    assert float(figures["accuracy"]) >= 0.97
    assert float(figures["vi_nodiacritics"]) >= 0.95
    assert float(figures["ms_per_text"]) < 1.0
