"""The staff statistics as one PNG: questions a day by outcome, the most frequent unanswered
questions, and eligibility checks started against finished.

matplotlib's object API on an Agg canvas, never pyplot: no GUI backend is chosen, no global
figure state is kept, and a server can draw charts from several threads.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bot.i18n import Translator
from bot.report.fonts import printable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

    from bot.store.stats import Stats

WIDTH_PX: Final = 1000  # phone width: a chat app shows it without shrinking the text much
DPI: Final = 100
LABEL_CHARS: Final = 18
COLOURS: Final = {"answered": "#1b7a3e", "clarified": "#d08a1e", "declined": "#b23b3b"}
STARTED, FINISHED = "#9fb4d3", "#163e78"


@dataclass(frozen=True)
class DayCounts:
    day: date
    answered: int
    clarified: int
    declined: int


@dataclass(frozen=True)
class StatsChart:
    since: date
    until: date
    days: list[DayCounts] = field(default_factory=list)
    unanswered: list[tuple[str, int]] = field(default_factory=list)  # (question, count), most first
    interviews_started: int = 0
    interviews_finished: int = 0


def shorten_label(text: str, limit: int = LABEL_CHARS) -> str:
    """About `limit` Chinese characters' width; Latin letters count half, so English keeps ~2x."""
    text = " ".join(text.split())
    room = 2 * limit
    out: list[str] = []
    for ch in text:
        width = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if room - width < 0:
            cut = "".join(out)
            space = cut.rfind(" ")
            return (cut[:space] if space > len(cut) - 10 else cut).rstrip(" ,，、") + "…"
        room -= width
        out.append(ch)
    return text


def every_day(chart: StatsChart) -> list[DayCounts]:
    """One entry for each day from since to until (a quiet day is a zero, not a gap)."""
    given = {d.day: d for d in chart.days}
    span = (chart.until - chart.since).days
    if span < 0 or span > 366:
        return sorted(chart.days, key=lambda d: d.day)
    days = (chart.since + timedelta(days=n) for n in range(span + 1))
    return [given.get(day, DayCounts(day, 0, 0, 0)) for day in days]


def _whole_numbers(axis: Axis) -> None:
    """Counts have no halves: integer ticks only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _per_day(ax: Axes, chart: StatsChart, t: Translator, font: Path) -> None:
    days = every_day(chart)
    xs = list(range(len(days)))
    bottom = [0] * len(days)
    for key, label in (
        ("answered", t("report.chart.answered")),
        ("clarified", t("report.chart.clarified")),
        ("declined", t("report.chart.declined")),
    ):
        values = [getattr(d, key) for d in days]
        ax.bar(xs, values, bottom=bottom, color=COLOURS[key], label=printable(label, font), width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(printable(t("report.chart.per_day"), font), loc="left", fontsize=17)
    step = max(1, -(-len(days) // 10))  # at most ~10 date labels fit across a phone
    ax.set_xticks(xs[::step], [f"{d.day:%m-%d}" for d in days[::step]])
    _whole_numbers(ax.yaxis)
    ax.legend(loc="upper left", ncols=3, frameon=False, fontsize=14)
    ax.set_ylim(0, max([*bottom, 1]) * 1.25)  # head-room for the legend
    ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
    if not any(bottom):
        ax.text(
            0.5,
            0.5,
            printable(t("report.chart.none"), font),
            transform=ax.transAxes,
            ha="center",
            fontsize=14,
        )


def _unanswered(ax: Axes, chart: StatsChart, t: Translator, font: Path) -> None:
    ax.set_title(printable(t("report.chart.unanswered"), font), loc="left", fontsize=17)
    topics = chart.unanswered
    if not topics:
        ax.set_axis_off()
        ax.text(0.02, 0.4, printable(t("report.chart.none"), font), transform=ax.transAxes, fontsize=14)
        return
    counts = [count for _, count in topics]
    ys = list(range(len(topics)))
    ax.barh(ys, counts, color=COLOURS["declined"], height=0.42)
    # Each question written above its bar, not as a tick label: the bars keep the full width.
    for y, (text, count) in zip(ys, topics, strict=True):
        ax.text(0, y - 0.26, printable(shorten_label(text), font), va="bottom", fontsize=14)
        ax.text(count, y, f" {count}", va="center", fontsize=13)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(len(topics) - 0.5, -0.95)  # inverted: the most frequent on top
    ax.set_xlim(0, max(counts) * 1.12)
    _whole_numbers(ax.xaxis)


def _interviews(ax: Axes, chart: StatsChart, t: Translator, font: Path) -> None:
    started, finished = chart.interviews_started, chart.interviews_finished
    title = t("report.chart.interviews")
    if started:
        title += "  ·  " + t("report.chart.completion", rate=round(100 * finished / started))
    ax.set_title(printable(title, font), loc="left", fontsize=17)
    labels = [printable(t("report.chart.started"), font), printable(t("report.chart.finished"), font)]
    ax.barh([0, 1], [started, finished], color=[STARTED, FINISHED], height=0.6)
    ax.set_yticks([0, 1], labels, fontsize=14)
    ax.invert_yaxis()
    ax.set_xlim(0, max(started, finished, 1) * 1.15)
    for y, count in enumerate((started, finished)):
        ax.text(count, y, f" {count}", va="center", fontsize=13)
    _whole_numbers(ax.xaxis)


def stats_png(chart: StatsChart, t: Translator, *, font: Path) -> bytes:
    """The three charts, one above the other, as a PNG about 1000 px wide."""
    import matplotlib as mpl
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure, SubFigure

    font_manager.fontManager.addfont(str(font))
    family = font_manager.FontProperties(fname=str(font)).get_name()
    rows = max(len(chart.unanswered), 2)
    heights = [4.4, 0.62 * rows + 0.8, 1.7]  # inches: the topics panel grows with its rows
    with mpl.rc_context(
        {
            "font.family": [family],
            "font.size": 13,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.labelsize": 13,
            "ytick.labelsize": 14,
        }
    ):
        figure = Figure(figsize=(WIDTH_PX / DPI, sum(heights) + 0.6), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        title = t("report.chart.title", since=chart.since.isoformat(), until=chart.until.isoformat())
        figure.suptitle(printable(title, font), fontsize=20, x=0.02, ha="left")
        # Sub-figures are laid out apart, so one panel's long labels do not narrow the others.
        panels = figure.subfigures(3, 1, height_ratios=heights)
        assert not isinstance(panels, SubFigure)  # three rows give an array
        for panel, draw in zip(panels, (_per_day, _unanswered, _interviews), strict=True):
            draw(panel.subplots(), chart, t, font)
        out = BytesIO()
        figure.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()


def from_stats(stats: Stats) -> StatsChart:
    """The chart of what /stats and `policybot stats` count (bot/store/stats.py)."""
    days = [
        DayCounts(day, counts.get("answer", 0), counts.get("clarify", 0), counts.get("decline", 0))
        for day, counts in stats.by_day
    ]
    return StatsChart(
        since=stats.since,
        until=stats.until,
        days=days,
        unanswered=list(stats.unanswered),
        interviews_started=stats.interviews_started,
        interviews_finished=stats.interviews_finished,
    )
