"""The monthly report's charts, as PNG files for the PDF and for anyone who would rather
look than read. Only published figures are drawn: a masked count is a hatched bar of
fixed length labelled "<3" (its `Count` carries no value to draw), a withheld count is
no bar at all, only its "x"."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.figures import MASK_BELOW, LabelledCount, MonthlyReport

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

Translate = Callable[[str], str]

WIDTH_IN = 7.0  # the PDF's text width is 180 mm (7.09 in): the charts print at their size
DPI = 150
_EMPTY_IN = 1.3  # a chart with nothing to draw: its title and one line of text
MASKED_LENGTH = MASK_BELOW - 1  # a "<3" bar is drawn this long, whatever the count was
_RED, _GREY, _LIGHT, _DARK = "#be141e", "#9a9a9a", "#e4e4e4", "#333333"
_STYLE: dict[RcKeyType, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.color": _DARK,
    "savefig.facecolor": "white",
}

TIPS_BY_CATEGORY = "chart-tips-by-category.png"
COVERAGE = "chart-coverage.png"
DRUG_FREE = "chart-drug-free.png"
PARTICIPATION = "chart-participation.png"


def draw_charts(report: MonthlyReport, out_dir: Path, gettext: Translate) -> tuple[Path, ...]:
    """Writes the four charts into out_dir; returns their paths in the report's order."""
    import matplotlib

    matplotlib.use("Agg")  # no display: before pyplot is imported
    from matplotlib import pyplot

    with matplotlib.rc_context(_STYLE):
        return (
            _tips_by_category(pyplot, report, out_dir / TIPS_BY_CATEGORY, gettext),
            _coverage(pyplot, report, out_dir / COVERAGE, gettext),
            _drug_free(pyplot, report, out_dir / DRUG_FREE, gettext),
            _participation(pyplot, report, out_dir / PARTICIPATION, gettext),
        )


@contextmanager
def _figure(pyplot: Any, path: Path, height_in: float) -> Iterator[Any]:
    """One figure's axes; saved to path on leaving, and closed whatever happens. Axes
    placed by hand (`axes.set_position`) stay where they were put."""
    figure, axes = pyplot.subplots(figsize=(WIDTH_IN, height_in))
    placed = axes.get_position().bounds
    try:
        yield axes
        if axes.get_position().bounds == placed:
            figure.tight_layout()
        figure.savefig(path, dpi=DPI)
    finally:
        pyplot.close(figure)


def _nothing(axes: Any, text: str) -> None:
    axes.text(
        0.5, 0.5, text, ha="center", va="center", fontsize=11, color=_DARK, transform=axes.transAxes
    )
    axes.set_axis_off()


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _tips_by_category(pyplot: Any, report: MonthlyReport, path: Path, _: Translate) -> Path:
    rows: list[LabelledCount] = list(reversed(report.tips_by_category))  # largest on top
    with _figure(pyplot, path, 0.38 * len(rows) + 1.0 if rows else _EMPTY_IN) as axes:
        axes.set_title(_("Tips received by category"))
        if not rows:
            _nothing(
                axes, _("No tips this month.") if report.monthly else _("No tips in this period.")
            )
            return path
        labels = [textwrap.fill(_short(r.label, 80), 42) for r in rows]
        lengths = [
            0 if r.count.withheld else MASKED_LENGTH if r.count.masked else r.count.value
            for r in rows
        ]
        bars = axes.barh(
            range(len(rows)),
            lengths,
            height=0.6,
            color=[_LIGHT if r.count.hidden else _RED for r in rows],
            edgecolor=[_DARK if r.count.hidden else _RED for r in rows],
            linewidth=0.6,
        )
        axes.set_yticks(range(len(rows)), labels)
        top = max([*lengths, MASKED_LENGTH])
        for bar, row in zip(bars, rows, strict=True):
            if row.count.masked:
                bar.set_hatch("////")
            axes.text(
                bar.get_width() + top * 0.015,
                bar.get_y() + bar.get_height() / 2,
                str(row.count),
                va="center",
                fontweight="bold",
                color=_DARK,
            )
        axes.set_xlim(0, top * 1.15 + 0.5)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel(_("tips"))
    return path


def _coverage(pyplot: Any, report: MonthlyReport, path: Path, _: Translate) -> Path:
    share = report.groups_reached
    reached, total = share.part, share.whole
    with _figure(pyplot, path, 1.35 if total else _EMPTY_IN) as axes:
        axes.set_title(
            _("Residential groups reached by awareness messages: {share}").format(
                share=share if total else "—"
            )
        )
        if total == 0:
            _nothing(axes, _("No residential groups yet."))
            return path
        missed = max(total - reached, 0)
        axes.barh([0], [reached], height=0.6, color=_RED, label=_("reached"))
        axes.barh(
            [0],
            [missed],
            left=[reached],
            height=0.6,
            color=_LIGHT,
            edgecolor=_GREY,
            linewidth=0.6,
            label=_("not reached"),
        )
        for start, size, colour in ((0, reached, "white"), (reached, missed, _DARK)):
            if size and size >= total * 0.04:
                axes.text(
                    start + size / 2,
                    0,
                    str(size),
                    ha="center",
                    va="center",
                    color=colour,
                    fontweight="bold",
                )
        axes.set_xlim(0, total)
        axes.set_ylim(-0.5, 0.5)
        axes.set_yticks([])
        axes.spines["left"].set_visible(False)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_position((0.03, 0.42, 0.94, 0.3))  # the bar, its scale, the key below
        axes.figure.legend(loc="lower center", ncol=2, frameon=False, fontsize=8)
    return path


def _drug_free(pyplot: Any, report: MonthlyReport, path: Path, _: Translate) -> Path:
    rows = sorted(report.drug_free, key=lambda r: r.year)
    with _figure(pyplot, path, 2.7 if rows else _EMPTY_IN) as axes:
        axes.set_title(_("Drug-free residential groups against the targets"))
        if not rows:
            _nothing(axes, _("No drug-free records yet."))
            return path
        places = list(range(len(rows)))
        axes.bar(
            places,
            [r.total for r in rows],
            width=0.55,
            color=_LIGHT,
            label=_("all residential groups"),
        )
        bars = axes.bar(
            places, [r.achieved for r in rows], width=0.55, color=_RED, label=_("drug-free")
        )
        for bar, row in zip(bars, rows, strict=True):  # "12/40" above the year's column
            axes.text(
                bar.get_x() + bar.get_width() / 2,
                max(row.total, row.target or 0),
                f"{row.achieved}/{row.total}",
                ha="center",
                va="bottom",
                fontsize=8,
                fontweight="bold",
                color=_DARK,
            )
        targets = [(p, r.target) for p, r in zip(places, rows, strict=True) if r.target is not None]
        if targets:
            axes.hlines(
                [t for _p, t in targets],
                [p - 0.38 for p, _t in targets],
                [p + 0.38 for p, _t in targets],
                colors=_DARK,
                linewidths=2.2,
                label=_("target"),
                zorder=3,
            )
        axes.set_xticks(places, [str(r.year) for r in rows])
        top = max([r.total for r in rows] + [r.target or 0 for r in rows] + [1])
        axes.set_ylim(0, top * 1.15)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return path


def _participation(pyplot: Any, report: MonthlyReport, path: Path, _: Translate) -> Path:
    active = [g for g in report.groups if g.subscribers + g.household_pledges + g.quiz_participants]
    ranked = sorted(
        active, key=lambda g: (-(g.subscribers + g.household_pledges), -g.quiz_participants, g.name)
    )[:15]
    with _figure(pyplot, path, 3.3 if ranked else _EMPTY_IN) as axes:
        axes.set_title(_("Participation by residential group (the 15 most active)"))
        if not ranked:
            _nothing(axes, _("No participation recorded yet."))
            return path
        width = 0.27
        series = (
            ([g.subscribers for g in ranked], _("subscribers"), _RED),
            ([g.household_pledges for g in ranked], _("family pledges"), _DARK),
            ([g.quiz_participants for g in ranked], _("quiz participants"), _GREY),
        )
        for number, (values, label, colour) in enumerate(series):
            axes.bar(
                [p + (number - 1) * width for p in range(len(ranked))],
                values,
                width,
                label=label,
                color=colour,
            )
        axes.set_xticks(
            range(len(ranked)),
            [_short(g.name, 18) for g in ranked],
            rotation=35,
            ha="right",
            rotation_mode="anchor",
        )
        axes.set_xlim(-0.6, len(ranked) - 0.4)
        tallest = max(max(values) for values, _label, _colour in series)
        axes.set_ylim(0, max(tallest, 1) * 1.3)  # room for the legend above the bars
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.legend(frameon=False, ncol=3, loc="upper center", fontsize=8)
    return path
