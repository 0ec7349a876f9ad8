"""The toolchain is pinned: constraints.txt (which README's two commands and so .ci/run
install from) fixes one version of everything, within pyproject.toml's ranges, and ruff
is one exact version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
    ]


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name]), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside {requirement}"
        )


def test_ruff_is_one_exact_version() -> None:
    (ruff,) = [r for r in _requirements() if r.name == "ruff"]
    assert re.fullmatch(r"==\d+\.\d+\.\d+", str(ruff.specifier))
    assert _pins()["ruff"] == str(ruff.specifier).removeprefix("==")


def test_both_readme_commands_install_from_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in ("run", "test"):
        command = readme.split(f"<!-- ci:{block} -->\n```sh\n")[1].splitlines()[0]
        assert ".venv/bin/pip install -c constraints.txt -e " in command, command


def test_ruff_format_owns_the_layout() -> None:
    """No line switches the formatter off without saying why on the same line."""
    root = Path(__file__).resolve().parents[1]
    bare = [
        f"{path.relative_to(root)}:{number}"
        for folder in (
            "bot",
            "handlers",
            "reports",
            "notices",
            "broadcasts",
            "engine",
            "campaign",
            "storage",
            "kernel",
            "tests",
            "benchmarks",
            "tools",
        )
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.rstrip().endswith("# " + "fmt: skip")
    ]
    assert bare == []
