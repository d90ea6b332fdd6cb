"""Pieces of the console that need no database: periods and the SVG chart (sign-in limits live in the
shared counters: tests/integration/console/test_sign_in_limits.py)."""

from __future__ import annotations

import itertools
from datetime import date
from zoneinfo import ZoneInfo

from shared.reports import Chart, Period
from webapp.console.charts import render_chart


def test_a_period_is_whole_local_days_in_at_most_31_buckets() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    week = Period(date(2026, 11, 20), date(2026, 11, 26), moscow)
    assert week.start.isoformat() == "2026-11-20T00:00:00+03:00"
    assert week.end.isoformat() == "2026-11-27T00:00:00+03:00"
    assert len(week.buckets()) == 7
    year = Period(date(2026, 1, 1), date(2026, 12, 31), moscow)
    buckets = year.buckets()
    assert len(buckets) <= 31
    assert buckets[0][1] == year.start
    assert buckets[-1][2] == year.end
    assert all(a[2] == b[1] for a, b in itertools.pairwise(buckets))


def test_the_chart_is_escaped_svg_with_a_title_and_a_legend() -> None:
    chart = Chart("bar", ["<a>", "b"], [("members & co", [1.0, 3.0]), ("new", [0.0, 2.0])])
    svg = str(render_chart(chart, "Members <over> time"))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert "<title>Members &lt;over&gt; time</title>" in svg
    assert "members &amp; co" in svg
    assert svg.count("<rect") == 4 + 2  # four bars and two legend swatches
    assert "<a>" not in svg
    line = str(render_chart(Chart("line", ["x", "y"], [("only", [0.0, 0.0])]), "flat"))
    assert "<polyline" in line  # all-zero series still draw
