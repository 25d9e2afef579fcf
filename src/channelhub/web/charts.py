"""Charts as inline SVG, drawn on the server in pure Python: no plotting library, no JavaScript.

`stacked_bars(hours, series, title=...)` draws one bar per hour, stacked by series (a channel, a movement kind),
with a y axis scaled to the tallest bar, an x label every few hours and a legend. Every piece of text is
escaped (series names come from the config and the database), and the result is `Markup` for a Jinja2
template with autoescape on. Colours are attributes, not `style=`: the dashboard's Content-Security-Policy
allows no inline styles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup, escape

WIDTH = 760
HEIGHT = 220
LEFT = 44  # room for the y labels
RIGHT = 8
TOP = 12
BOTTOM = 34  # room for the x labels
LEGEND_ROW = 18
# Distinguishable on white, for people with the common colour-vision deficiencies too (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `value` (the y axis top; 1 for nothing)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="#333">{escape(text)}</text>'


def stacked_bars(
    hours: Sequence[datetime],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    label_every: int = 6,
) -> Markup:
    """An SVG bar chart of `series` (name -> one count per entry of `hours`), stacked in the mapping's order.
    Series shorter than `hours` count as 0 where they end; negative counts are drawn as 0."""
    names = list(series)
    slots = len(hours)
    totals = [sum(max(0, _at(series[name], i)) for name in names) for i in range(slots)]
    top = nice_ceiling(max(totals, default=0))
    legend_rows = (len(names) + 3) // 4
    height = HEIGHT + legend_rows * LEGEND_ROW
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    slot_w = plot_w / max(slots, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):  # gridlines with their values
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(LEFT - 6, y + 4, f"{top * fraction:g}", "end"))
    for i, at in enumerate(hours):
        base = float(TOP + plot_h)
        x = LEFT + i * slot_w
        for n, name in enumerate(names):
            value = max(0, _at(series[name], i))
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            tip = escape(f"{at:%d %b %H}:00 {name}: {value}")
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{base:.1f}" width="{max(slot_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{tip}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(_text(x + slot_w / 2, TOP + plot_h + 16, f"{at:%H}:00", "middle", 10))
            if at.hour < label_every:  # the first label of a day carries the date
                parts.append(_text(x + slot_w / 2, TOP + plot_h + 28, f"{at:%d %b}", "middle", 9))
    for n, name in enumerate(names):
        lx = LEFT + (n % 4) * (plot_w / 4)
        ly = HEIGHT + (n // 4) * LEGEND_ROW
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>')
        parts.append(_text(lx + 14, ly, f"{name} ({sum(max(0, v) for v in series[name])})"))
    if not any(totals):
        parts.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, "nothing in this period", "middle", 12))
    parts.append("</svg>")
    return Markup("".join(parts))


def _at(values: Sequence[int], i: int) -> int:
    return values[i] if i < len(values) else 0
