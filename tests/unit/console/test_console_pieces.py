"""Pieces of the console that need no database: login limits, periods and the SVG chart."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from shared.reports import Chart, Period
from webapp.console.charts import render_chart
from webapp.console.login_limits import LoginLimits


def test_failures_block_the_account_and_the_address_and_success_clears_the_account() -> None:
    limits = LoginLimits(per_account=3, per_address=5)
    for _ in range(3):
        limits.failed("a@x.org", "10.0.0.1")
    assert limits.blocked("a@x.org", "10.0.0.9")
    assert not limits.blocked("b@x.org", "10.0.0.1")
    limits.failed("b@x.org", "10.0.0.1")
    limits.failed("c@x.org", "10.0.0.1")
    assert limits.blocked("d@x.org", "10.0.0.1")  # five failures from one address
    limits.succeeded("a@x.org")
    assert not limits.blocked("a@x.org", "10.0.0.9")


def test_failures_are_forgotten_after_the_window() -> None:
    limits = LoginLimits(per_account=1, window=0)
    limits.failed("a@x.org", "ip")
    assert not limits.blocked("a@x.org", "ip")


def test_a_period_is_whole_local_days_in_at_most_31_buckets() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    week = Period(date(2026, 11, 20), date(2026, 11, 26), moscow)
    assert week.start.isoformat() == "2026-11-20T00:00:00+03:00"
    assert week.end.isoformat() == "2026-11-27T00:00:00+03:00"
    assert len(week.buckets()) == 7
    year = Period(date(2026, 1, 1), date(2026, 12, 31), moscow)
    buckets = year.buckets()
    assert len(buckets) <= 31
    assert buckets[0][1] == year.start and buckets[-1][2] == year.end
    assert all(a[2] == b[1] for a, b in zip(buckets, buckets[1:], strict=False))


def test_the_chart_is_escaped_svg_with_a_title_and_a_legend() -> None:
    chart = Chart("bar", ["<a>", "b"], [("members & co", [1.0, 3.0]), ("new", [0.0, 2.0])])
    svg = str(render_chart(chart, "Members <over> time"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<title>Members &lt;over&gt; time</title>" in svg and "members &amp; co" in svg
    assert svg.count("<rect") == 4 + 2  # four bars and two legend swatches
    assert "<a>" not in svg
    line = str(render_chart(Chart("line", ["x", "y"], [("only", [0.0, 0.0])]), "flat"))
    assert "<polyline" in line  # all-zero series still draw
