"""Reading residential groups from a CSV file: name, optional code, optional aliases.

A header row (name/tên, code/mã, aliases/tên khác) is recognised; without one the
columns are taken in that order. Aliases are separated by ';'. UTF-8 with or without
a byte-order mark, as spreadsheet programs write it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kernel.search_keys import search_key
from storage.wards import N_, GroupRow, Problem, WardError, check_rows

_HEADERS = {
    "name": "name",
    "ten": "name",
    "ten to dan pho": "name",
    "to dan pho": "name",
    "code": "code",
    "ma": "code",
    "aliases": "aliases",
    "alias": "aliases",
    "ten khac": "aliases",
    "bi danh": "aliases",
}
MAX_BYTES = 2_000_000


def read_groups(path: Path) -> list[GroupRow]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WardError(
            Problem(
                N_("cannot read {path}: {reason}"), None, {"path": path, "reason": exc.strerror}
            )
        ) from None
    if len(data) > MAX_BYTES:
        raise WardError(Problem(N_("the file is larger than 2 MB")))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WardError(
            Problem(N_("the file is not UTF-8 text; save it as CSV UTF-8"), line)
        ) from None
    return parse_groups(text)


def parse_groups(text: str) -> list[GroupRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = ["name", "code", "aliases"]
    rows: list[GroupRow] = []
    problems: list[Problem] = []
    first = True
    try:
        parsed = [(reader.line_num, cells) for cells in reader]
    except csv.Error:
        raise WardError(Problem(N_("the file is not valid CSV"), reader.line_num)) from None
    for line, cells in parsed:
        if not any(cell.strip() for cell in cells):
            continue
        if first:
            first = False
            header = [_HEADERS.get(search_key(cell)) for cell in cells]
            if "name" in header:
                if any(column is None for column in header):
                    problems.append(Problem(N_("unknown column in the header row"), line))
                columns = [column or "" for column in header]
                continue
        if len(cells) > len(columns):
            problems.append(
                Problem(
                    N_("{count} columns, at most {max} expected"),
                    line,
                    {"count": len(cells), "max": len(columns)},
                )
            )
            continue
        values = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
        aliases = tuple(a.strip() for a in values.get("aliases", "").split(";") if a.strip())
        rows.append(
            GroupRow(
                line, " ".join(values.get("name", "").split()), values.get("code") or None, aliases
            )
        )
    problems += check_rows(rows)
    if problems:
        raise WardError(*sorted(problems, key=lambda p: p.line or 0))
    if not rows:
        raise WardError(Problem(N_("the file has no residential groups")))
    return rows
