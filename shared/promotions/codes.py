"""Promo codes: unique single-use batches (generated, exportable) and shared seasonal codes,
with per-member and total limits. A use is claimed by one conditional UPDATE, so two tills
racing for the last use cannot both win."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.db.models.promotions import PromoCode, PromoCodeBatch, PromoCodeUse, Promotion
from shared.errors import Conflict, FieldErrors, NotFound
from shared.inputs import text_problem

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till
UNIQUE, SHARED = "unique", "shared"
MAX_BATCH = 1_000_000
C, B, U = PromoCode.__table__, PromoCodeBatch.__table__, PromoCodeUse.__table__

# Stable reasons a code is refused; the till shows them, docs/promotions.md lists them.
UNKNOWN = "unknown promo code"
NOT_ACTIVE = "promotion is not active"
NOT_STARTED = "promo code is not valid yet"
EXPIRED = "promo code expired"
USED = "promo code already used"
LIMIT = "promo code limit reached"
MEMBER_LIMIT = "promo code already used by this member"
NEEDS_MEMBER = "identify the member to use this promo code"
NOT_HERE = "promo code is not valid for this store or member"
NOTHING = "nothing on the receipt qualifies"


def normalize_code(code: str) -> str:
    return code.strip().upper()


@dataclass(frozen=True)
class FoundCode:
    code_id: int
    batch_id: int
    promotion_id: int
    uses: int
    max_uses: int | None
    per_member_limit: int | None
    kind: str


_FIND = (
    select(C.c.id, C.c.batch_id, B.c.promotion_id, C.c.uses, C.c.max_uses, B.c.per_member_limit, B.c.kind)
    .join(B, B.c.id == C.c.batch_id)
    .where(C.c.code == bindparam("code"))
)
_MEMBER_USES = (
    select(func.count())
    .select_from(U)
    .where(U.c.batch_id == bindparam("batch_id"), U.c.member_id == bindparam("member_id"), U.c.released.is_(False))
)
_CLAIM = (
    update(C)
    .where(C.c.id == bindparam("code_id"), or_(C.c.max_uses.is_(None), C.c.uses < C.c.max_uses))
    .values(uses=C.c.uses + 1)
)
_RELEASE = update(C).where(C.c.id == bindparam("code_id"), C.c.uses > 0).values(uses=C.c.uses - 1)


async def find_code(conn: AsyncConnection, code: str) -> FoundCode | None:
    row = (await conn.execute(_FIND, {"code": normalize_code(code)})).one_or_none()
    return None if row is None else FoundCode(*row)


def exhausted_reason(found: FoundCode) -> str | None:
    if found.max_uses is not None and found.uses >= found.max_uses:
        return USED if found.kind == UNIQUE else LIMIT
    return None


async def member_reason(conn: AsyncConnection, found: FoundCode, member_id: uuid.UUID | None) -> str | None:
    if found.per_member_limit is None:
        return None
    if member_id is None:
        return NEEDS_MEMBER
    used = (await conn.execute(_MEMBER_USES, {"batch_id": found.batch_id, "member_id": member_id})).scalar_one()
    return MEMBER_LIMIT if used >= found.per_member_limit else None


async def claim_code(conn: AsyncConnection, found: FoundCode) -> str | None:
    """Take one use; None when taken, else the reason it could not be (someone took the last one)."""
    result = await conn.execute(_CLAIM, {"code_id": found.code_id})
    return None if result.rowcount == 1 else (USED if found.kind == UNIQUE else LIMIT)


async def unclaim_code(conn: AsyncConnection, found: FoundCode) -> None:
    await conn.execute(_RELEASE, {"code_id": found.code_id})


async def record_use(
    conn: AsyncConnection, found: FoundCode, member_id: uuid.UUID | None, purchase_id: uuid.UUID, now: datetime
) -> None:
    await conn.execute(
        U.insert(),
        {
            "code_id": found.code_id,
            "batch_id": found.batch_id,
            "member_id": member_id,
            "purchase_id": purchase_id,
            "released": False,
            "created_at": now,
        },
    )


async def release_uses(conn: AsyncConnection, purchase_id: uuid.UUID) -> list[str]:
    """A fully refunded receipt gives its code back (a single-use code can be used again)."""
    rows = (
        await conn.execute(
            select(U.c.id, U.c.code_id, C.c.code)
            .join(C, C.c.id == U.c.code_id)
            .where(and_(U.c.purchase_id == purchase_id, U.c.released.is_(False)))
        )
    ).all()
    for use_id, code_id, _ in rows:
        await conn.execute(update(U).where(U.c.id == use_id).values(released=True))
        await conn.execute(_RELEASE, {"code_id": code_id})
    return [code for _, _, code in rows]


def generate_codes(count: int, prefix: str, length: int = 8) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(prefix + "".join(secrets.choice(ALPHABET) for _ in range(length)))
    return sorted(codes)


@dataclass(frozen=True)
class BatchRequest:
    kind: str
    count: int
    prefix: str
    code: str
    name: str | None
    limits: dict[str, int | None]


def read_batch(body: object) -> BatchRequest:
    """The fields of a batch body, every problem a field error (no database needed)."""
    problems = FieldErrors()
    data = body if isinstance(body, dict) else {}
    if not isinstance(body, dict):
        problems.add("body", "must be a JSON object")
    kind = data.get("kind", UNIQUE)
    if kind not in (UNIQUE, SHARED):
        problems.add("kind", "must be unique or shared")
    limits = {}
    for key in ("total_limit", "per_member_limit", "count"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31):
            problems.add(key, "must be a positive integer")
            value = None
        limits[key] = value
    prefix = data.get("prefix") or ""
    if not isinstance(prefix, str) or len(prefix) > 16 or (prefix and not prefix.replace("-", "").isalnum()):
        problems.add("prefix", "letters, digits and '-', at most 16")
        prefix = ""
    code = data.get("code")
    if kind == SHARED and (
        not isinstance(code, str)
        or not code.strip()
        or len(code.strip()) > 64
        or not code.strip().replace("-", "").isalnum()
    ):
        problems.add("code", "a shared batch needs a code: letters, digits and '-', at most 64")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or text_problem(name, 200) is not None):
        problems.add("name", "a string of at most 200 characters, without control characters")
    count = limits["count"] or 0
    if kind == UNIQUE and not 1 <= count <= MAX_BATCH:
        problems.add("count", f"a unique batch needs a count from 1 to {MAX_BATCH}")
    problems.raise_if_any("The promo-code batch has invalid fields.")
    return BatchRequest(kind, count, prefix, code if isinstance(code, str) else "", name or None, limits)


async def create_batch(session: AsyncSession, promotion_id: int, body: object, now: datetime) -> PromoCodeBatch:
    """A batch from an API body: {"kind": "unique", "count", "prefix"} or {"kind": "shared", "code"},
    with optional "name", "total_limit", "per_member_limit"."""
    if await session.get(Promotion, promotion_id) is None:
        raise NotFound(f"No promotion {promotion_id}.")
    asked = read_batch(body)
    kind, limits = asked.kind, asked.limits
    codes = (
        [normalize_code(asked.code)] if kind == SHARED else generate_codes(asked.count, normalize_code(asked.prefix))
    )
    taken = (await session.execute(select(C.c.code).where(C.c.code.in_(codes[:1000])))).scalars().first()
    if taken is not None:
        raise Conflict(f"The promo code {taken} exists already.")
    batch = PromoCodeBatch(
        promotion_id=promotion_id,
        name=asked.name or codes[0],
        kind=kind,
        count=len(codes),
        total_limit=limits["total_limit"],
        per_member_limit=limits["per_member_limit"],
        created_at=now,
    )
    session.add(batch)
    await session.flush()
    max_uses = 1 if kind == UNIQUE else limits["total_limit"]
    for start in range(0, len(codes), 5000):
        await session.execute(
            C.insert(),
            [{"batch_id": batch.id, "code": c, "uses": 0, "max_uses": max_uses} for c in codes[start : start + 5000]],
        )
    return batch


async def batch_codes(session: AsyncSession, batch_id: int) -> list[tuple[str, int, int | None]]:
    rows = await session.execute(
        select(C.c.code, C.c.uses, C.c.max_uses).where(C.c.batch_id == batch_id).order_by(C.c.code)
    )
    return [tuple(r) for r in rows.all()]


def batch_view(batch: PromoCodeBatch, used: int) -> dict[str, object]:
    return {
        "id": batch.id,
        "promotion_id": batch.promotion_id,
        "name": batch.name,
        "kind": batch.kind,
        "count": batch.count,
        "total_limit": batch.total_limit,
        "per_member_limit": batch.per_member_limit,
        "used": used,
        "created_at": batch.created_at.isoformat(),
    }
