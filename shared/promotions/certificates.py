"""Gift certificates: issued with a number and a balance, checked, paying part of a receipt,
refunded back onto the certificate. The balance only moves through a conditional UPDATE."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.db.models.promotions import CertificateOperation, GiftCertificate
from shared.errors import FieldErrors, NotFound
from shared.inputs import moment_problem

G, OPS = GiftCertificate.__table__, CertificateOperation.__table__
NUMBER_DIGITS = 16
MAX_AMOUNT = 10**10  # 100 million roubles

UNKNOWN = "unknown certificate"
INACTIVE = "certificate is blocked"
EXPIRED = "certificate expired"
EMPTY = "certificate has no balance left"


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def new_number() -> str:
    body = "9" + "".join(secrets.choice("0123456789") for _ in range(NUMBER_DIGITS - 2))
    return body + luhn_digit(body)


def valid_number(number: str) -> bool:
    return number.isdigit() and len(number) == NUMBER_DIGITS and luhn_digit(number[:-1]) == number[-1]


@dataclass
class HeldCertificate:
    id: int
    number: str
    balance: int
    reason: str | None


_FIND = select(G.c.id, G.c.number, G.c.balance, G.c.active, G.c.expires_at).where(G.c.number == bindparam("number"))
_DEBIT = (
    update(G)
    .where(G.c.id == bindparam("cid"), G.c.balance >= bindparam("amount"))
    .values(balance=G.c.balance - bindparam("amount"), updated_at=bindparam("now"))
)
_CREDIT = (
    update(G)
    .where(G.c.id == bindparam("cid"))
    .values(balance=G.c.balance + bindparam("amount"), updated_at=bindparam("now"))
)


async def hold(conn: AsyncConnection, number: str, at: datetime, *, lock: bool) -> HeldCertificate:
    """Read a certificate for paying (locked on PostgreSQL when confirming) and say why it cannot pay."""
    stmt = _FIND.with_for_update() if lock and conn.dialect.name == "postgresql" else _FIND
    row = (await conn.execute(stmt, {"number": number.strip()})).one_or_none()
    if row is None:
        return HeldCertificate(0, number, 0, UNKNOWN)
    reason = None
    if not row.active:
        reason = INACTIVE
    elif row.expires_at is not None and row.expires_at <= at:
        reason = EXPIRED
    elif row.balance <= 0:
        reason = EMPTY
    return HeldCertificate(row.id, row.number, row.balance if reason is None else 0, reason)


async def debit(
    conn: AsyncConnection, held: HeldCertificate, amount: int, purchase_id: uuid.UUID, now: datetime
) -> bool:
    result = await conn.execute(_DEBIT, {"cid": held.id, "amount": amount, "now": now})
    if result.rowcount != 1:
        return False
    await conn.execute(
        OPS.insert(),
        {
            "certificate_id": held.id,
            "kind": "payment",
            "amount": -amount,
            "purchase_id": purchase_id,
            "refund_id": None,
            "created_at": now,
        },
    )
    return True


async def restore(
    conn: AsyncConnection, purchase_id: uuid.UUID, refunded: int, whole: int, refund_id: str, now: datetime
) -> list[dict[str, Any]]:
    """Give back each certificate's share of the refunded part of a receipt (rounded down, per receipt)."""
    rows = (
        await conn.execute(
            select(
                OPS.c.certificate_id,
                G.c.number,
                func.sum(OPS.c.amount).filter(OPS.c.kind == "payment"),
                func.coalesce(func.sum(OPS.c.amount).filter(OPS.c.kind == "refund"), 0),
            )
            .join(G, G.c.id == OPS.c.certificate_id)
            .where(OPS.c.purchase_id == purchase_id)
            .group_by(OPS.c.certificate_id, G.c.number)
            .order_by(OPS.c.certificate_id)
        )
    ).all()
    given = []
    for cid, number, paid, back in rows:
        due = (-int(paid) * refunded) // whole if whole > 0 else 0
        amount = due - int(back)
        if amount <= 0:
            continue
        await conn.execute(_CREDIT, {"cid": cid, "amount": amount, "now": now})
        await conn.execute(
            OPS.insert(),
            {
                "certificate_id": cid,
                "kind": "refund",
                "amount": amount,
                "purchase_id": purchase_id,
                "refund_id": refund_id,
                "created_at": now,
            },
        )
        given.append({"number": number, "amount": amount})
    return given


@dataclass(frozen=True)
class IssueRequest:
    amount: int
    count: int
    expires_at: datetime | None


def read_issue(body: Any) -> IssueRequest:
    """The fields of an issue body, every problem a field error (no database needed)."""
    problems = FieldErrors()
    data = body if isinstance(body, dict) else {}
    if not isinstance(body, dict):
        problems.add("body", "must be a JSON object")
    amount, count = data.get("amount"), data.get("count", 1)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        problems.add("amount", "a positive integer of kopecks, e.g. 500000 for 5,000.00")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        problems.add("count", "from 1 to 10000")
    expires_at = None
    if data.get("expires_at") is not None:
        try:
            expires_at = datetime.fromisoformat(str(data["expires_at"]))
            if moment_problem(expires_at) is not None:
                raise ValueError
        except ValueError:
            problems.add("expires_at", "an RFC 3339 time with offset")
    problems.raise_if_any("The certificates could not be issued.")
    assert isinstance(amount, int)
    return IssueRequest(amount, count, expires_at)


async def issue(session: AsyncSession, body: Any, now: datetime) -> list[GiftCertificate]:
    """Issue certificates from {"amount", "count"?, "expires_at"?}; each gets its own number."""
    asked = read_issue(body)
    amount, count, expires_at = asked.amount, asked.count, asked.expires_at
    issued = []
    for _ in range(count):
        cert = GiftCertificate(
            number=new_number(),
            initial=amount,
            balance=amount,
            active=True,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        session.add(cert)
        issued.append(cert)
    await session.flush()
    session.add_all(
        [
            CertificateOperation(
                certificate_id=c.id, kind="issue", amount=amount, purchase_id=None, refund_id=None, created_at=now
            )
            for c in issued
        ]
    )
    await session.flush()
    return issued


async def find_certificate(session: AsyncSession, number: str) -> GiftCertificate:
    cert = (
        await session.execute(select(GiftCertificate).where(GiftCertificate.number == number.strip()))
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound(f"No gift certificate {number}.")
    return cert


async def certificate_view(session: AsyncSession, cert: GiftCertificate, now: datetime) -> dict[str, Any]:
    ops = (
        (
            await session.execute(
                select(CertificateOperation)
                .where(CertificateOperation.certificate_id == cert.id)
                .order_by(CertificateOperation.id)
            )
        )
        .scalars()
        .all()
    )
    usable = cert.active and (cert.expires_at is None or cert.expires_at > now) and cert.balance > 0
    return {
        "number": cert.number,
        "initial": cert.initial,
        "balance": cert.balance,
        "active": cert.active,
        "usable": usable,
        "expires_at": cert.expires_at.isoformat() if cert.expires_at else None,
        "created_at": cert.created_at.isoformat(),
        "operations": [
            {
                "kind": op.kind,
                "amount": op.amount,
                "created_at": op.created_at.isoformat(),
                "purchase_id": str(op.purchase_id) if op.purchase_id else None,
                "refund_id": op.refund_id,
            }
            for op in ops
        ],
    }
