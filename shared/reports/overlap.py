"""The category-overlap report: of the members who bought category A in the period, the share who
also bought category B, for the categories with the most buyers, as a matrix for the heat map."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Segment
from shared.db.types import UTCDateTime
from shared.errors import FieldError, InvalidInput
from shared.inputs import int_problem
from shared.offers.recommend import RECEIPT_LINES
from shared.program import ProgramRules
from shared.reports.base import Chart, Matrix, Period, ReportOptions, ReportResult, percent, ratio, report

# One statement on both databases; only how a receipt's JSON lines become rows differs (RECEIPT_LINES).
_OVERLAP = """
WITH bought AS (
    SELECT DISTINCT p.member_id AS member_id, {category} AS category
    FROM purchases AS p {lines}
    WHERE p.purchased_at >= :start AND p.purchased_at < :end AND p.member_id IS NOT NULL
        AND {category} IS NOT NULL {segment}
),
ranked AS (
    SELECT category, count(*) AS buyers FROM bought
    GROUP BY category ORDER BY count(*) DESC, category LIMIT :top
)
SELECT a.category AS a, ra.buyers AS buyers, b.category AS b, count(*) AS together
FROM bought AS a
JOIN ranked AS ra ON ra.category = a.category
JOIN bought AS b ON b.member_id = a.member_id
JOIN ranked AS rb ON rb.category = b.category
GROUP BY a.category, ra.buyers, b.category
"""
_IN_SEGMENT = (
    "AND EXISTS (SELECT 1 FROM segment_members AS s WHERE s.segment_id = :segment AND s.member_id = p.member_id)"
)


@report
class CategoryOverlap:
    code = "category_overlap"
    title = "Category overlap"
    formula = (
        "share(A → B) = members who bought both A and B in the period / members who bought A in the period "
        "(identified purchases, refunds not subtracted; a segment limits the members to its snapshot); rows and "
        "columns are the categories with the most buyers (LOYALTY_REPORTS_OVERLAP_TOP); the diagonal is 100%"
    )
    takes_options = True
    beside = "rfm_grid"  # the console shows the RFM overview next to it

    async def compute(
        self, session: AsyncSession, rules: ProgramRules, period: Period, options: ReportOptions | None = None
    ) -> ReportResult:
        options = options or ReportOptions()
        if options.segment_id is not None:
            if (problem := int_problem(options.segment_id, 1)) is not None:
                raise InvalidInput("There is no such segment.", [FieldError("segment", problem)])
            if await session.get(Segment, options.segment_id) is None:
                raise InvalidInput(
                    "There is no such segment.", [FieldError("segment", "choose a segment from the list")]
                )
        lines, value = RECEIPT_LINES[session.get_bind().dialect.name]
        statement = text(
            _OVERLAP.format(
                lines=lines,
                category=value.format(key="category"),
                segment=_IN_SEGMENT if options.segment_id is not None else "",
            )
        ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
        values: dict[str, Any] = {"start": period.start, "end": period.end, "top": options.top_categories}
        if options.segment_id is not None:
            values["segment"] = options.segment_id
        found = (await session.execute(statement, values)).all()
        buyers = {str(row.a): int(row.buyers) for row in found}
        labels = sorted(buyers, key=lambda name: (-buyers[name], name))
        together = {(str(row.a), str(row.b)): int(row.together) for row in found}
        counts = [[together.get((a, b), 0) for b in labels] for a in labels]
        shares = [[ratio(together.get((a, b), 0), buyers[a]) for b in labels] for a in labels]
        rows = [
            [a, b, buyers[a], counts[i][j], round(shares[i][j] or 0.0, 4)]
            for i, a in enumerate(labels)
            for j, b in enumerate(labels)
        ]
        pairs = [(shares[i][j] or 0.0, counts[i][j], a, b) for i, a in enumerate(labels) for j, b in enumerate(labels)]
        best = max((pair for pair in pairs if pair[2] != pair[3]), default=None)
        headline = (
            f"{len(labels)} categories; strongest: of {buyers[best[2]]} buying {best[2]}, "
            f"{percent(best[0])} also buy {best[3]}"
            if best is not None and best[1]
            else "No category bought together with another in the period"
        )
        return ReportResult(
            headline=headline,
            chart=Chart(
                "bar", labels or ["no purchases"], [("members buying", [float(buyers[a]) for a in labels] or [0.0])]
            ),
            columns=["category_a", "category_b", "members_a", "members_a_and_b", "share"],
            rows=rows,
            value=best[0] if best is not None else None,
            notes=["Read a row: of the members who bought the row's category, the share who also bought the column's."],
            matrix=Matrix(labels, [buyers[a] for a in labels], counts, shares),
        )
