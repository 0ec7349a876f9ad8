"""Only storage/ speaks SQL (issue 17): no module outside it imports SQLAlchemy, at the
top or inside a function. Tests, benchmarks and tools may; nothing else is excused."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAY_IMPORT_SQL = {"storage", "tests", "benchmarks", "tools"}
NOT_SOURCE = {".venv", ".git", "build", "dist", "node_modules"}


def _modules() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in MAY_IMPORT_SQL or any(p in NOT_SOURCE or p.startswith(".") for p in parts):
            continue
        found.append(path)
    return found


def _sql_imports(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "sqlalchemy" or name.startswith("sqlalchemy."):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
    return found


def test_the_scan_sees_the_packages() -> None:
    scanned = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert {"bot", "handlers", "broadcasts", "campaign", "reports", "notices"} <= scanned


def test_only_storage_imports_sqlalchemy() -> None:
    offenders = [line for path in _modules() for line in _sql_imports(path)]
    assert offenders == [], "SQL outside storage/:\n" + "\n".join(offenders)


def test_the_scan_would_catch_an_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy_utils_not_it\n"
        "def f():\n    from sqlalchemy import select\n    import sqlalchemy.orm\n"
    )
    assert _sql_imports(module, tmp_path) == [
        "m.py:3: sqlalchemy",
        "m.py:4: sqlalchemy.orm",
    ]
