"""The charts: hourly series from the database (the window's edges, every hour present) and their SVG."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from channelhub.services.dashboard import movements_per_hour, orders_per_hour
from channelhub.services.stock import adjust_stock
from channelhub.web.charts import nice_ceiling, stacked_bars
from dashboard_seed import Seeded

NOW = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 2, 3, 6, 11, 49, 51, 999)] == [1, 1, 2, 5, 10, 20, 50, 100, 1000]


def test_bars_stack_per_hour_with_a_legend_and_escaped_names() -> None:
    hours = [NOW.replace(minute=0) - timedelta(hours=2 - i) for i in range(3)]
    svg = stacked_bars(hours, {"a<b>": [1, 0, 2], "web": [3, 0]}, title="Orders & more")
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "a&lt;b&gt; (3)" in svg and "web (3)" in svg
    assert "Orders &amp; more" in svg
    assert len(re.findall(r"<rect [^>]*><title>", svg)) == 3  # one bar per non-zero count
    assert "style=" not in svg  # the Content-Security-Policy allows no inline styles
    heights = sorted(float(h) for h in re.findall(r'height="([\d.]+)" fill="#[0-9A-F]+"><title>', svg))
    assert heights[1] == 2 * heights[0] and abs(heights[2] - 3 * heights[0]) < 0.2  # counts 1, 2, 3 to scale
    assert ">5</text>" in svg  # the y axis tops at the nice ceiling of the tallest stack (1 + 3)


def test_an_empty_chart_says_so() -> None:
    hours = [NOW - timedelta(hours=i) for i in range(3)]
    assert "nothing in this period" in stacked_bars(hours, {}, title="x")


def test_orders_per_hour_counts_the_last_48_hours_by_channel(seeded: Seeded) -> None:
    now = datetime.now(UTC)
    with seeded.hub.db.transaction() as session:
        series = orders_per_hour(session, now=now)
        later = orders_per_hour(session, now=now + timedelta(hours=50))
    assert len(series.hours) == 48 and series.hours[-1] == now.replace(minute=0, second=0, microsecond=0)
    assert all(b - a == timedelta(hours=1) for a, b in zip(series.hours, series.hours[1:], strict=False))
    assert series.series == {"shop": series.series["shop"]} and series.total == 3  # placed two hours ago
    assert later.total == 0  # out of the window


def test_movements_per_hour_by_kind(seeded: Seeded) -> None:
    adjust_stock(seeded.hub, "MUG-1", 2, location="main", reason="delivery")
    with seeded.hub.db.transaction() as session:
        series = movements_per_hour(session)
    assert series.series["set"][-1] == 1 and series.series["adjust"][-1] == 1
    assert series.series["reserve"][-1] >= 1  # W-1 reserved its mug
