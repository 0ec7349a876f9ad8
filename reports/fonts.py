"""The typeface for printed documents: DejaVu Sans, which covers every Vietnamese
letter, taken from matplotlib's own data so that no font has to be installed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Typeface:
    regular: Path
    bold: Path


def dejavu() -> Typeface:
    import matplotlib  # imported here: only documents need it

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    face = Typeface(folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf")
    for path in (face.regular, face.bold):
        if not path.is_file():
            raise FileNotFoundError(f"font missing from matplotlib's data: {path.name}")
    return face
