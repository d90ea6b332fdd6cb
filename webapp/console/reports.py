"""Reports: the list with headlines, one report with its chart, formula and table, and its CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from shared.core import Core
from shared.csv_export import csv_text
from shared.errors import FieldError, InvalidInput
from shared.inputs import date_problem
from shared.reports import REPORTS, Period, Report, ReportOptions, compute_report
from shared.segments import list_segments
from webapp.console.charts import render_chart
from webapp.console.pages import READ_REPORTS, page

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


def period_from(core: Core, since: str | None, until: str | None) -> Period:
    """The local days asked for, by default the last 30 days up to today."""
    zone = core.rules.zone
    today = core.clock.now().astimezone(zone).date()
    try:
        last = date.fromisoformat(until) if until else today
        first = date.fromisoformat(since) if since else last - timedelta(days=DEFAULT_DAYS - 1)
    except (ValueError, OverflowError) as exc:  # OverflowError: 30 days before 0001-01-01
        raise InvalidInput("Dates look like 2026-11-01.", [FieldError("period", "use YYYY-MM-DD")]) from exc
    for day in (first, last):
        if (problem := date_problem(day)) is not None:
            raise InvalidInput("The period is out of range.", [FieldError("period", problem)])
    if first > last:
        raise InvalidInput("The period ends before it starts.", [FieldError("period", "swap the dates")])
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput("The period is too long.", [FieldError("period", f"at most {MAX_DAYS} days")])
    return Period(first, last, zone)


def options_from(core: Core, segment: int | None) -> ReportOptions:
    """What reports that take options are asked for: a segment (optional) and the settings' bounds."""
    return ReportOptions(segment_id=segment, top_categories=core.settings.reports.overlap_top)


def heat(share: float | None) -> int:
    """The heat-map colour class of a share: 0 (none) to 10 (everyone), in steps of 10%."""
    return 0 if share is None else min(10, max(0, round(share * 10)))


def _report(code: str) -> Report:
    found = REPORTS.get(code)
    if found is None:
        raise NotFoundException(f"There is no report {code!r}.")
    return found


class ReportsController(Controller):
    path = "/console/reports"
    opt = {"roles": READ_REPORTS}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Template:
        period = period_from(core, since, until)
        options = options_from(core, None)
        async with core.reading() as session:
            results = [
                (report, await compute_report(report, session, core.rules, period, options))
                for report in REPORTS.values()
            ]
        return page(request, "console/reports/index.html.j2", period=period, results=results)

    @get("/{code:str}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        code: FromPath[str],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        segment: FromQuery[int | None] = None,
    ) -> Template:
        report = _report(code)
        period = period_from(core, since, until)
        options = options_from(core, segment)
        beside = REPORTS.get(getattr(report, "beside", ""))
        async with core.reading() as session:
            result = await compute_report(report, session, core.rules, period, options)
            beside_result = await compute_report(beside, session, core.rules, period, options) if beside else None
            segments = await list_segments(session) if getattr(report, "takes_options", False) else []
        return page(
            request,
            "console/reports/show.html.j2",
            period=period,
            report=report,
            result=result,
            chart=render_chart(result.chart, report.title),
            segments=segments,
            segment=segment,
            heat=heat,
            beside=beside,
            beside_result=beside_result,
            beside_chart=render_chart(beside_result.chart, beside.title) if beside and beside_result else None,
        )

    @get("/{code:str}/csv")
    async def export(
        self,
        core: NamedDependency[Core],
        code: FromPath[str],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        segment: FromQuery[int | None] = None,
    ) -> Response[bytes]:
        report = _report(code)
        period = period_from(core, since, until)
        async with core.reading() as session:
            result = await compute_report(report, session, core.rules, period, options_from(core, segment))
        text = csv_text(result.columns, result.rows)  # formulas in names neutralised, None as empty
        name = f"{code}_{period.first_day}_{period.last_day}{f'_segment{segment}' if segment else ''}.csv"
        return Response(
            text.encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
