"""A small bar chart of a person's contacts per month, by service, drawn on the server.

The person page shows it as inline SVG with presentation attributes only (no
script, no style attributes, so it passes the strict Content Security
Policy), with a text description for screen readers and the same figures in
a table. The geometry is worked out here; the template only draws it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from early_warning.formatting import short_month, uk_month
from early_warning.wording import Wording
from review_ui.queue.case_file import TimelineEntry

MONTHS = 12
#: GOV.UK Frontend palette colours dark enough to stand out on white.
COLOURS = ("#1d70b8", "#00703c", "#4c2c92", "#d53880", "#b58840", "#505a5f", "#0b0c0c", "#6f72af")

WIDTH = 640
LEFT = 40
RIGHT = WIDTH - 10
TOP = 10
PLOT_HEIGHT = 160
LEGEND_COLUMN = 155
LEGEND_ROW = 22


@dataclass(frozen=True)
class Series:
    service: str
    label: str
    colour: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class LegendKey:
    x: float
    y: float
    series: Series


@dataclass(frozen=True)
class MonthRow:
    month: date
    counts: list[int]
    total: int


@dataclass(frozen=True)
class ContactChart:
    #: The page's font (council.scss's ``$moj-font-family``): an inline SVG's text does not get
    #: it from the page, because GOV.UK Frontend sets the font on its classes, not on <body>,
    #: and the browser's default serif font showed instead.
    font_family: ClassVar[str] = '"Helvetica Neue", Helvetica, Arial, sans-serif'

    series: list[Series]
    rows: list[MonthRow]
    bars: list[Bar]
    ticks: list[tuple[float, int]]
    month_labels: list[tuple[float, str, str]]
    legend: list[LegendKey]
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    total: int
    description: str


def _month(day: date) -> date:
    return day.replace(day=1)


def _months_back(last: date, count: int) -> list[date]:
    months = []
    year, month = last.year, last.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _step(top: int) -> int:
    """A tick step giving at most about five whole-number ticks."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000):
        if top / step <= 5:
            return step
    return -(-top // 5)


def contact_chart(timeline: Sequence[TimelineEntry], *, as_of: date, wording: Wording) -> ContactChart:
    """Contacts per month for the 12 months up to ``as_of``, by service, ready to draw
    (entries without a readable date are left out), services named in the app's ``wording``."""
    months = _months_back(_month(as_of), MONTHS)
    first = months[0]
    counted: Counter[tuple[date, str]] = Counter()
    order: list[str] = []
    for entry in timeline:
        day = entry.date
        if day is None or day > as_of or day < first:
            continue
        service = entry.service or "other"
        counted[(_month(day), service)] += 1
        if service not in order:
            order.append(service)
    order.sort(key=wording.service_title)
    series = [Series(s, wording.service_title(s), COLOURS[i % len(COLOURS)]) for i, s in enumerate(order)]
    rows = []
    for month in months:
        counts = [counted[(month, s.service)] for s in series]
        rows.append(MonthRow(month=month, counts=counts, total=sum(counts)))
    total = sum(row.total for row in rows)

    highest = max((row.total for row in rows), default=0)
    step = _step(max(highest, 1))
    top = max(step, -(-highest // step) * step)
    bottom = TOP + PLOT_HEIGHT
    slot = (RIGHT - LEFT) / MONTHS
    bar_width = round(slot * 0.6, 1)
    bars = []
    labels = []
    for index, row in enumerate(rows):
        x = round(LEFT + index * slot + (slot - bar_width) / 2, 1)
        labels.append(
            (
                round(LEFT + index * slot + slot / 2, 1),
                short_month(row.month),
                str(row.month.year) if index == 0 or row.month.month == 1 else "",
            )
        )
        y = float(bottom)
        for s, count in zip(series, row.counts, strict=True):
            if not count:
                continue
            height = round(count / top * PLOT_HEIGHT, 1)
            y = round(y - height, 1)
            title = f"{s.label}, {uk_month(row.month)}: {count}"
            bars.append(Bar(x=x, y=y, width=bar_width, height=height, colour=s.colour, title=title))
    ticks = [(round(bottom - value / top * PLOT_HEIGHT, 1), value) for value in range(0, top + 1, step)]
    per_row = max(1, (RIGHT - LEFT) // LEGEND_COLUMN)
    legend_top = bottom + 62
    legend = [
        LegendKey(
            x=LEFT + (i % per_row) * LEGEND_COLUMN, y=legend_top + (i // per_row) * LEGEND_ROW, series=s
        )
        for i, s in enumerate(series)
    ]
    legend_rows = -(-len(series) // per_row) if series else 0
    return ContactChart(
        series=series,
        rows=rows,
        bars=bars,
        ticks=ticks,
        month_labels=labels,
        legend=legend,
        width=WIDTH,
        height=legend_top + legend_rows * LEGEND_ROW + 4,
        plot_left=LEFT,
        plot_right=RIGHT,
        plot_bottom=bottom,
        total=total,
        description=_describe(series, rows, total),
    )


def _describe(series: list[Series], rows: list[MonthRow], total: int) -> str:
    span = f"{uk_month(rows[0].month)} to {uk_month(rows[-1].month)}"
    if total == 0:
        return f"Bar chart of contacts per month by service, {span}: no contacts."
    by_service = ", ".join(f"{s.label} {sum(row.counts[i] for row in rows)}" for i, s in enumerate(series))
    busiest = max(rows, key=lambda row: row.total)
    contacts = "contact" if total == 1 else "contacts"
    return (
        f"Bar chart of contacts per month by service, {span}. {total} {contacts} in all: {by_service}. "
        f"Busiest month: {uk_month(busiest.month)}, with {busiest.total}."
    )
