"""Promotions as marketers describe them: checked field by field, saved, listed, changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Segment
from shared.db.models.promotions import PromoCode, PromoCodeBatch, Promotion
from shared.errors import FieldError, FieldErrors, InvalidInput, NotFound
from shared.inputs import CONTROL_MESSAGE, has_control, moment_problem
from shared.program import ProgramRules
from shared.promotions import catalog
from shared.promotions.terms import ACCRUAL, BUNDLE, DISCOUNT, KINDS, PERSONAL

LISTS = ("store_ids", "tier_codes", "segment_ids", "skus", "categories", "with_skus", "with_categories")
NUMBERS = {
    "priority": (-1000, 1000),
    "min_total": (0, 10**13),
    "percent": (0, 100),
    "amount": (0, 10**13),
    "multiplier": (0, 10),
    "extra_percent": (0, 100),
    "points": (0, 10**7),
    "offer_days": (0, 366),
}
LIMITS = ("max_uses", "max_uses_per_member")
MAX_INT = 2**31 - 1  # an INTEGER column
FLAGS = ("active", "combinable", "code_only")
DEFAULTS: dict[str, Any] = {
    "active": True,
    "combinable": True,
    "code_only": False,
    "starts_at": None,
    "ends_at": None,
    "max_uses": None,
    "max_uses_per_member": None,
    **{k: [] for k in LISTS},
    **dict.fromkeys(NUMBERS, 0),
}


def _time(problems: FieldErrors, value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.add(key, "an RFC 3339 time with offset, e.g. 2026-12-05T00:00:00+03:00")
        return None
    if (problem := moment_problem(moment)) is not None:
        problems.add(key, problem)
        return None
    return moment


def read_fields(body: Any, rules: ProgramRules, *, partial: bool) -> dict[str, Any]:
    """The fields of a promotion body, every problem a field error (never a crash)."""
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    problems = FieldErrors()
    unknown = set(body) - {"name", "kind", *FLAGS, "starts_at", "ends_at", *LISTS, *NUMBERS, *LIMITS}
    for key in sorted(unknown):
        problems.add(key, "is not a field of a promotion")
    fields: dict[str, Any] = {}
    if "name" in body or not partial:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            problems.add("name", "is required: at most 200 characters")
        elif has_control(name):
            problems.add("name", CONTROL_MESSAGE)
        else:
            fields["name"] = name.strip()
    if "kind" in body or not partial:
        if body.get("kind") not in KINDS:
            problems.add("kind", "one of " + ", ".join(KINDS))
        else:
            fields["kind"] = body["kind"]
    for key in FLAGS:
        if key in body:
            if not isinstance(body[key], bool):
                problems.add(key, "true or false")
            else:
                fields[key] = body[key]
    for key in ("starts_at", "ends_at"):
        if key in body:
            fields[key] = _time(problems, body[key], key)
    for key in LISTS:
        if key in body:
            fields[key] = _list(problems, body[key], key, rules)
    for key, (low, high) in NUMBERS.items():
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.add(key, f"a whole number from {low} to {high}")
            else:
                fields[key] = value
    for key in LIMITS:
        if key in body:
            value = body[key]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT
            ):
                problems.add(key, "a positive whole number, or null for no limit")
            else:
                fields[key] = value
    problems.raise_if_any("The promotion has invalid fields.")
    return fields


def _list(problems: FieldErrors, value: Any, key: str, rules: ProgramRules) -> list[Any]:
    if key == "segment_ids":
        if (
            not isinstance(value, list)
            or len(value) > 1000
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_INT for v in value)
        ):
            problems.add(key, "a list of segment ids")
            return []
        return sorted(set(value))
    if (
        not isinstance(value, list)
        or len(value) > 1000
        or not all(isinstance(v, str) and 0 < len(v) <= 64 and not has_control(v) for v in value)
    ):
        problems.add(key, "a list of strings")
        return []
    if key == "tier_codes":
        known = {t.code for t in rules.tiers}
        for code in value:
            if code not in known:
                problems.add(key, f"unknown tier {code!r}; tiers: {', '.join(sorted(known))}")
    return sorted(set(value))


def check_mechanics(values: dict[str, Any]) -> None:
    """A promotion must do exactly one understandable thing."""
    problems = FieldErrors()
    kind = values["kind"]
    if kind == DISCOUNT and bool(values["percent"]) == bool(values["amount"]):
        problems.add("percent", "a discount needs either percent or amount (kopecks off), not both")
    if kind == BUNDLE:
        if not values["percent"]:
            problems.add("percent", "a bundle needs the percent off its items")
        if not values["with_skus"] and not values["with_categories"]:
            problems.add("with_categories", 'a bundle needs with_skus or with_categories (the "with" items)')
    if kind == ACCRUAL and not (values["multiplier"] or values["extra_percent"] or values["points"]):
        problems.add("multiplier", "boosted accrual needs multiplier, extra_percent or points")
    if kind == PERSONAL:
        _check_personal(problems, values)
    if values["starts_at"] and values["ends_at"] and values["ends_at"] <= values["starts_at"]:
        problems.add("ends_at", "must be after starts_at")
    problems.raise_if_any("The promotion does not describe a mechanic.")


def _check_personal(problems: FieldErrors, values: dict[str, Any]) -> None:
    """Each member's own item is the target: the promotion boosts points and says for how long."""
    if not (values["multiplier"] or values["extra_percent"]):
        problems.add("multiplier", "a personal offer needs multiplier or extra_percent (its boost)")
    if values["points"] or values["percent"] or values["amount"]:
        problems.add("points", "a personal offer boosts points by multiplier or extra_percent only")
    if not values["offer_days"]:
        problems.add("offer_days", "a personal offer needs offer_days: how many days each member's offer lasts")
    for key in ("skus", "categories", "with_skus", "with_categories"):
        if values[key]:
            problems.add(key, "a personal offer's item is each member's own recommendation; leave it empty")
    if values["code_only"]:
        problems.add("code_only", "a personal offer is not unlocked by a code")


async def _check_segments(session: AsyncSession, ids: list[int]) -> None:
    if not ids:
        return
    found = set((await session.execute(select(Segment.id).where(Segment.id.in_(ids)))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput("Unknown segments.", [FieldError("segment_ids", f"no segment {missing[0]}")])


def _changed(session: AsyncSession) -> None:
    """Tills of this process see the change at once after commit; others within FRESHNESS_SECONDS."""
    engine = session.bind
    catalog.forget(engine)  # type: ignore[arg-type]
    event.listen(session.sync_session, "after_commit", lambda _: catalog.forget(engine), once=True)  # type: ignore


async def create_promotion(session: AsyncSession, rules: ProgramRules, body: Any, now: datetime) -> Promotion:
    fields = read_fields(body, rules, partial=False)
    values = {**DEFAULTS, **fields}
    check_mechanics(values)
    await _check_segments(session, values["segment_ids"])
    promotion = Promotion(**values, uses=0, version=1, created_at=now, updated_at=now)
    session.add(promotion)
    await session.flush()
    _changed(session)
    return promotion


async def update_promotion(
    session: AsyncSession, rules: ProgramRules, promotion_id: int, body: Any, now: datetime
) -> Promotion:
    promotion = await get_promotion(session, promotion_id)
    fields = read_fields(body, rules, partial=True)
    values = {key: getattr(promotion, key) for key in DEFAULTS} | {"kind": promotion.kind} | fields
    check_mechanics(values)
    await _check_segments(session, values["segment_ids"])
    for key, value in fields.items():
        setattr(promotion, key, value)
    promotion.version += 1
    promotion.updated_at = now
    await session.flush()
    _changed(session)
    return promotion


async def get_promotion(session: AsyncSession, promotion_id: int) -> Promotion:
    promotion = await session.get(Promotion, promotion_id)
    if promotion is None:
        raise NotFound(f"No promotion {promotion_id}.")
    return promotion


async def list_promotions(session: AsyncSession, active: bool | None) -> list[Promotion]:
    stmt = select(Promotion).order_by(Promotion.priority.desc(), Promotion.id)
    if active is not None:
        stmt = stmt.where(Promotion.active.is_(active))
    return list((await session.execute(stmt)).scalars())


async def code_counts(session: AsyncSession, promotion_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(PromoCodeBatch, func.coalesce(func.sum(PromoCode.uses), 0))
        .outerjoin(PromoCode, PromoCode.batch_id == PromoCodeBatch.id)
        .where(PromoCodeBatch.promotion_id == promotion_id)
        .group_by(PromoCodeBatch.id)
        .order_by(PromoCodeBatch.id)
    )
    return [{"id": b.id, "name": b.name, "kind": b.kind, "count": b.count, "used": int(used)} for b, used in rows]


def promotion_view(p: Promotion) -> dict[str, Any]:
    view = {
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        **{k: getattr(p, k) for k in DEFAULTS},
        "uses": p.uses,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }
    for key in ("starts_at", "ends_at"):
        view[key] = view[key].isoformat() if view[key] else None
    return view
