"""Marketing reports: promo-code and gift-certificate use, and the RFM grid of the segments' scoring."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Purchase
from shared.db.models.promotions import CertificateOperation, GiftCertificate, PromoCode, PromoCodeBatch, PromoCodeUse
from shared.program import ProgramRules
from shared.reports.base import Chart, Period, ReportResult, money, percent, ratio, report
from shared.segments.rfm import GRID, TITLES, named_segment, rfm_scores

RFM_WINDOW_DAYS = 365


@report
class PromoCodeUseReport:
    code = "promo_codes"
    title = "Promo codes and gift certificates"
    formula = (
        "per batch: issued = codes generated (a seasonal shared code: its total limit of uses); redeemed = code "
        "uses on receipts confirmed in the period, less those released by a refund; share = redeemed / issued; "
        "discount given = the promotional discount of those receipts. Certificates: issued = certificates "
        "created in the period and their face value; outstanding = the sum of every certificate operation "
        "(issue +, payment −, refund +) up to the period end; paid = payments in the period"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        currency = rules.currency
        in_period = and_(
            PromoCodeUse.created_at >= period.start,
            PromoCodeUse.created_at < period.end,
            PromoCodeUse.released.is_(False),
        )
        codes = dict(
            (await session.execute(select(PromoCode.batch_id, func.count()).group_by(PromoCode.batch_id))).all()
        )
        used = {
            row[0]: (int(row[1]), int(row[2] or 0))
            for row in await session.execute(
                select(PromoCodeUse.batch_id, func.count(), func.sum(Purchase.discount))
                .join(Purchase, Purchase.id == PromoCodeUse.purchase_id)
                .where(in_period)
                .group_by(PromoCodeUse.batch_id)
            )
        }
        batches = (
            await session.execute(
                select(PromoCodeBatch).where(PromoCodeBatch.created_at < period.end).order_by(PromoCodeBatch.id)
            )
        ).scalars()
        rows: list[list[object]] = []
        redeemed_all = discount_all = issued_all = 0
        labels, redeemed_series = [], []
        for batch in batches:
            issued = batch.total_limit if batch.kind == "shared" else int(codes.get(batch.id, 0))
            redeemed, discount = used.get(batch.id, (0, 0))
            share = ratio(redeemed, issued) if issued else None
            rows.append(
                [batch.name, batch.kind, issued, redeemed, round(share, 4) if share is not None else None, discount]
            )
            redeemed_all, discount_all, issued_all = (
                redeemed_all + redeemed,
                discount_all + discount,
                issued_all + (issued or 0),
            )
            labels.append(batch.name)
            redeemed_series.append(float(redeemed))
        ops = CertificateOperation
        issued_count, issued_value = (
            await session.execute(
                select(func.count(), func.sum(GiftCertificate.initial)).where(
                    GiftCertificate.created_at >= period.start, GiftCertificate.created_at < period.end
                )
            )
        ).one()
        outstanding = (
            await session.execute(select(func.coalesce(func.sum(ops.amount), 0)).where(ops.created_at < period.end))
        ).scalar_one()
        paid = -(
            await session.execute(
                select(func.coalesce(func.sum(ops.amount), 0)).where(
                    ops.kind == "payment", ops.created_at >= period.start, ops.created_at < period.end
                )
            )
        ).scalar_one()
        rows += [
            ["gift certificates issued", "certificate", int(issued_count), None, None, int(issued_value or 0)],
            ["certificate balance outstanding at the period end", "certificate", None, None, None, int(outstanding)],
            ["paid with certificates", "certificate", None, None, None, int(paid)],
        ]
        return ReportResult(
            headline=(
                f"{redeemed_all} code uses, {money(discount_all, currency)} discount; certificates: "
                f"{int(issued_count)} issued, {money(int(paid), currency)} paid, "
                f"{money(int(outstanding), currency)} outstanding"
            ),
            chart=Chart("bar", labels or ["no batches"], [("redeemed", redeemed_series or [0.0])]),
            columns=["item", "kind", "issued", "redeemed", "redemption_share", "amount_minor"],
            rows=rows,
            value=float(redeemed_all),
            notes=[
                "amount_minor: discount given (batches) or money (certificates), in kopecks; "
                f"share {percent(ratio(redeemed_all, issued_all))} over all batches."
            ],
        )


@report
class RfmGrid:
    code = "rfm_grid"
    title = "RFM grid"
    formula = (
        f"members who bought in the {RFM_WINDOW_DAYS} days before the period end, scored 1–5 by quintile "
        "(NTILE(5), ties by member id): R on the last purchase time, F on the number of purchases, M on money "
        "paid net of refunds; cell (R, F) = members with those scores; named segments are sets of cells "
        "(Champions R5 F4–5 … Hibernating R1–2 F1–2)"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        scores = rfm_scores(period.end - timedelta(days=RFM_WINDOW_DAYS), period.end).subquery()
        cells = {
            (int(r), int(f)): int(n)
            for r, f, n in await session.execute(
                select(scores.c.r, scores.c.f, func.count()).group_by(scores.c.r, scores.c.f)
            )
        }
        per_segment = {name: sum(cells.get((r, f), 0) for r in rs for f in fs) for name, (rs, fs) in GRID.items()}
        rows = [[r, f, named_segment(r, f), cells.get((r, f), 0)] for r in range(5, 0, -1) for f in range(1, 6)]
        scored = sum(cells.values())
        top = max(per_segment, key=lambda name: per_segment[name]) if scored else None
        return ReportResult(
            headline=(
                f"{scored} members scored; largest segment: {TITLES[top][1]} ({per_segment[top]})"
                if top
                else "No purchases in the window"
            ),
            chart=Chart(
                "bar", [TITLES[name][1] for name in GRID], [("members", [float(v) for v in per_segment.values()])]
            ),
            columns=["r", "f", "segment", "members"],
            rows=rows,
            value=float(scored),
            notes=[
                "Grid, R (rows, 5 = most recent) × F (columns 1–5): "
                + "; ".join(
                    f"R{r}: " + " ".join(str(cells.get((r, f), 0)) for f in range(1, 6)) for r in range(5, 0, -1)
                )
            ],
        )
