"""Program reports for the console: each with its formula, chart data and CSV rows.

Add a report by writing a class with code, title, formula and compute() in a module here,
decorating it with @report and importing the module below.
"""

from shared.reports import members, overlap, partners, points, purchases, reach, rfm_and_codes  # noqa: F401 - registers the reports
from shared.reports.base import (
    REPORTS,
    Chart,
    Matrix,
    Period,
    Report,
    ReportOptions,
    ReportResult,
    compute_report,
    report,
)

__all__ = [
    "REPORTS",
    "Chart",
    "Matrix",
    "Period",
    "Report",
    "ReportOptions",
    "ReportResult",
    "compute_report",
    "report",
]
