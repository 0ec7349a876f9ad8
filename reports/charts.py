"""The monthly report's charts, as PNG files for the PDF and for anyone who would rather
look than read. Only published figures are drawn: a masked count is a hatched bar of
fixed length labelled "<3", never its value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reports.figures import MASK_BELOW, MonthlyReport

_RED, _GREY, _DARK = "#be141e", "#b0b0b0", "#333333"
WIDTH_IN, DPI = 7.2, 150


def draw_all(report: MonthlyReport, folder: Path, gettext: Callable[[str], str]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 9}):
        return [
            _tips_by_category(pyplot, report, folder / "chart-tips-by-category.png", gettext),
            _coverage(pyplot, report, folder / "chart-coverage.png", gettext),
            _drug_free(pyplot, report, folder / "chart-drug-free.png", gettext),
            _participation(pyplot, report, folder / "chart-participation.png", gettext),
        ]


def _save(pyplot, figure, path: Path) -> Path:  # type: ignore[no-untyped-def]
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    pyplot.close(figure)
    return path


def _nothing(axes, text: str) -> None:  # type: ignore[no-untyped-def]
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=_DARK)
    axes.set_axis_off()


def _tips_by_category(pyplot, report: MonthlyReport, path: Path, _) -> Path:  # type: ignore[no-untyped-def]
    rows = list(reversed(report.tips_by_category))
    figure, axes = pyplot.subplots(figsize=(WIDTH_IN, max(1.8, 0.42 * len(rows) + 0.9)))
    axes.set_title(_("Tips received by category"))
    if not rows:
        _nothing(axes, _("No tips this month."))
        return _save(pyplot, figure, path)
    labels = [r.label for r in rows]
    lengths = [r.count.value if not r.count.hidden else MASK_BELOW - 1 for r in rows]
    bars = axes.barh(labels, lengths, color=[_GREY if r.count.hidden else _RED for r in rows])
    for bar, row in zip(bars, rows, strict=True):
        if row.count.hidden:
            bar.set_hatch("///")
        axes.text(bar.get_width() + 0.1, bar.get_y() + bar.get_height() / 2, str(row.count),
                  va="center")  # fmt: skip
    axes.set_xlim(0, max(lengths) * 1.2 + 1)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(pyplot, figure, path)


def _coverage(pyplot, report: MonthlyReport, path: Path, _) -> Path:  # type: ignore[no-untyped-def]
    reached, total = report.groups_reached.part, report.groups_reached.whole
    figure, axes = pyplot.subplots(figsize=(WIDTH_IN, 1.6))
    axes.set_title(_("Residential groups reached by awareness messages: {share}").format(
        share=report.groups_reached if total else "—"))  # fmt: skip
    if total == 0:
        _nothing(axes, _("No residential groups yet."))
        return _save(pyplot, figure, path)
    axes.barh([0], [reached], color=_RED, label=_("reached"))
    axes.barh([0], [total - reached], left=[reached], color=_GREY, label=_("not reached"))
    axes.set_xlim(0, total)
    axes.set_yticks([])
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, frameon=False)
    axes.spines[["top", "right", "left"]].set_visible(False)
    return _save(pyplot, figure, path)


def _drug_free(pyplot, report: MonthlyReport, path: Path, _) -> Path:  # type: ignore[no-untyped-def]
    rows = report.drug_free
    figure, axes = pyplot.subplots(figsize=(WIDTH_IN, 2.6))
    axes.set_title(_("Drug-free residential groups against the targets"))
    years = [str(r.year) for r in rows]
    axes.bar(years, [r.achieved for r in rows], color=_RED, label=_("drug-free"))
    targets = [(str(r.year), r.target) for r in rows if r.target is not None]
    if targets:
        axes.scatter([y for y, _t in targets], [t for _y, t in targets], marker="_", s=900,
                     linewidths=3, color=_DARK, label=_("target"), zorder=3)  # fmt: skip
    top = max([r.total for r in rows] + [1])
    axes.set_ylim(0, top * 1.05)
    axes.axhline(top, color=_GREY, linewidth=0.8, linestyle="--")
    axes.legend(frameon=False, loc="upper left")
    axes.spines[["top", "right"]].set_visible(False)
    return _save(pyplot, figure, path)


def _participation(pyplot, report: MonthlyReport, path: Path, _) -> Path:  # type: ignore[no-untyped-def]
    ranked = sorted(report.groups, key=lambda g: -(g.subscribers + g.household_pledges))
    rows = [g for g in ranked if g.subscribers + g.household_pledges + g.quiz_participants][:15]
    figure, axes = pyplot.subplots(figsize=(WIDTH_IN, 3.0))
    axes.set_title(_("Participation by residential group (the 15 most active)"))
    if not rows:
        _nothing(axes, _("No participation recorded yet."))
        return _save(pyplot, figure, path)
    positions = range(len(rows))
    width = 0.27
    series = (
        ([g.subscribers for g in rows], _("subscribers"), _RED),
        ([g.household_pledges for g in rows], _("family pledges"), _DARK),
        ([g.quiz_participants for g in rows], _("quiz participants"), _GREY),
    )
    for number, (values, label, colour) in enumerate(series):
        axes.bar([p + (number - 1) * width for p in positions], values, width, label=label,
                 color=colour)  # fmt: skip
    axes.set_xticks(list(positions), [g.name for g in rows], rotation=35, ha="right")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(pyplot, figure, path)
