"""Points by coalition partner over any period: where points were issued and spent, and the money each
way by the agreements. Monthly settlements, with closing, are shared/settlement.py's; this report reads
the same live figures over the console's period."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from shared.program import ProgramRules
from shared.reports.base import Chart, Period, ReportResult, money, report
from shared.settlement import FIGURES, FORMULA, Figures, line_maker, live_figures

OWN = "(program)"


@report
class PointsByPartner:
    code = "partners"
    title = "Points by partner"
    formula = (
        "each ledger entry of the period counts at the store of its receipt, under that store's partner "
        "(the retailer's own stores, and bonuses, on the program's line); " + FORMULA
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        make = await line_maker(session)
        live = await live_figures(session, period.start, period.end)
        figures: dict[str, Figures] = defaultdict(Figures)
        pays: dict[str, int] = defaultdict(int)  # partner → program
        paid: dict[str, int] = defaultdict(int)  # program → partner
        for key, counted in live.items():
            line = make(key, counted, None)
            name = line.partner or OWN
            figures[name] = figures[name] + counted
            pays[name] += line.partner_pays
            paid[name] += line.program_pays
        names = sorted(figures, key=lambda name: (name != OWN, name))
        rows: list[list[object]] = [[n, *(getattr(figures[n], f) for f in FIGURES), pays[n], paid[n]] for n in names]
        owed = sum(pays.values()) - sum(paid.values())
        issued = [float(figures[n].issued) for n in names]
        spent = [float(figures[n].spent) for n in names]
        return ReportResult(
            headline=f"{len(names) - (OWN in names)} partners; they owe the program {money(owed, rules.currency)} net",
            chart=Chart("bar", names, [("issued", issued), ("spent", spent)], unit="points"),
            columns=["partner", *FIGURES, "partner_pays", "program_pays"],
            rows=rows,
            value=float(owed),
        )
