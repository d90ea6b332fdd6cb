"""Reading and checking POS request bodies: every problem becomes a field error, never a crash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shared.errors import FieldErrors, InvalidInput
from shared.inputs import CONTROL_MESSAGE, has_control, moment_problem

MAX_LINES = 1000
MAX_MONEY = 10**13  # 100 billion roubles in kopecks: far above any receipt
MAX_ID = 64
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Line:
    sku: str
    name: str | None
    category: str | None
    quantity: Decimal
    price: int
    amount: int


@dataclass(frozen=True)
class CertificatePart:
    """A gift certificate the shopper pays with; amount None means as much as it can."""

    number: str
    amount: int | None


@dataclass(frozen=True)
class ReceiptRequest:
    store_id: str
    receipt_id: str
    purchased_at: datetime | None
    member: dict[str, Any] | None
    lines: tuple[Line, ...]
    redeem: int | str
    promo_code: str | None
    body_hash: str
    certificates: tuple[CertificatePart, ...] = ()

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    lines: tuple[tuple[str, Decimal], ...] | None
    amount: int | None
    body_hash: str


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(problems: FieldErrors, body: dict[str, Any], key: str, *, required: bool, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            problems.add(key, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(key, "must be a non-empty string")
        return None
    if len(value) > limit:
        problems.add(key, f"at most {limit} characters")
        return None
    if has_control(value):
        problems.add(key, CONTROL_MESSAGE)
        return None
    return value.strip()


def money(problems: FieldErrors, value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(field, "must be an integer number of minor units (kopecks), e.g. 25000 for 250.00")
        return 0
    if value < 0:
        problems.add(field, "must not be negative")
        return 0
    if value > MAX_MONEY:
        problems.add(field, "is implausibly large")
        return 0
    return value


def quantity(problems: FieldErrors, value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 40:
        problems.add(field, "must be a number")
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        problems.add(field, "must be a number")
        return Decimal(0)
    if not number.is_finite() or number <= 0:
        problems.add(field, "must be greater than zero")
        return Decimal(0)
    if number > 10**6 or number != number.quantize(Decimal("0.001")):  # the bound first: 1e30 cannot quantize
        problems.add(field, "at most 3 decimals and at most 1,000,000")
        return Decimal(0)
    return number


def parse_time(problems: FieldErrors, value: Any, field: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(field, "must be an RFC 3339 time with offset, e.g. 2026-11-22T12:00:00+03:00")
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.add(field, "must be an RFC 3339 time with offset, e.g. 2026-11-22T12:00:00+03:00")
        return None
    if (problem := moment_problem(moment)) is not None:
        problems.add(field, problem)
        return None
    if moment > now + CLOCK_SKEW:
        problems.add(field, "is in the future; check the till's clock")
        return None
    return moment


def parse_receipt(body: Any, now: datetime) -> ReceiptRequest:
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    problems = FieldErrors()
    store_id = _text(problems, body, "store_id", required=True, limit=MAX_ID)
    receipt_id = _text(problems, body, "receipt_id", required=True, limit=MAX_ID)
    purchased_at = parse_time(problems, body.get("purchased_at"), "purchased_at", now)
    member = body.get("member")
    if member is not None and not isinstance(member, dict):
        problems.add("member", 'must be {"phone"}, {"card_number"}, {"member_id"} or null')
        member = None
    raw_lines = body.get("lines")
    lines: list[Line] = []
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.add("lines", "a receipt needs at least one line")
    elif len(raw_lines) > MAX_LINES:
        problems.add("lines", f"at most {MAX_LINES} lines")
    else:
        for i, raw in enumerate(raw_lines):
            line = _parse_line(problems, raw, f"lines[{i}]")
            if line is not None:
                lines.append(line)
    redeem = body.get("redeem", 0)
    if redeem is None:
        redeem = 0
    if redeem != "max" and (isinstance(redeem, bool) or not isinstance(redeem, int) or not 0 <= redeem <= MAX_MONEY):
        problems.add("redeem", 'must be a non-negative whole number of points or "max"')
        redeem = 0
    promo_code = body.get("promo_code")
    if promo_code is not None and (
        not isinstance(promo_code, str) or len(promo_code) > MAX_ID or has_control(promo_code)
    ):
        problems.add("promo_code", "must be a string of at most 64 characters or null")
        promo_code = None
    certificates = _parse_certificates(problems, body.get("certificates"))
    problems.raise_if_any("The receipt has invalid fields.")
    assert store_id is not None
    assert receipt_id is not None
    return ReceiptRequest(
        store_id=store_id,
        receipt_id=receipt_id,
        purchased_at=purchased_at,
        member=member,
        lines=tuple(lines),
        redeem=redeem,
        promo_code=promo_code.strip() or None if isinstance(promo_code, str) else None,
        body_hash=body_hash(body),
        certificates=certificates,
    )


def _parse_certificates(problems: FieldErrors, raw: Any) -> tuple[CertificatePart, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 10:
        problems.add("certificates", 'must be a list of at most 10 {"number", "amount"}')
        return ()
    parts, seen = [], set()
    for i, item in enumerate(raw):
        where = f"certificates[{i}]"
        number = item.get("number") if isinstance(item, dict) else None
        if not isinstance(number, str) or not number.strip() or len(number) > MAX_ID or has_control(number):
            problems.add(f"{where}.number", "the certificate's number, a string")
            continue
        if number.strip() in seen:
            problems.add(f"{where}.number", "the same certificate twice")
            continue
        seen.add(number.strip())
        amount = None
        if item.get("amount") is not None:
            amount = money(problems, item["amount"], f"{where}.amount")
            if amount == 0:
                problems.add(f"{where}.amount", "must be greater than zero, or omitted for as much as it can")
        parts.append(CertificatePart(number.strip(), amount))
    return tuple(parts)


def _parse_line(problems: FieldErrors, raw: Any, where: str) -> Line | None:
    if not isinstance(raw, dict):
        problems.add(where, "must be an object with sku, quantity, price and amount")
        return None
    before = len(problems.items)
    sku = _text(problems, raw, "sku", required=True, limit=MAX_ID)
    name = _text(problems, raw, "name", required=False, limit=200)
    category = _text(problems, raw, "category", required=False, limit=MAX_ID)
    qty = quantity(problems, raw.get("quantity"), f"{where}.quantity")
    price = money(problems, raw.get("price"), f"{where}.price")
    amount = money(problems, raw.get("amount"), f"{where}.amount")
    for item in problems.items[before:]:  # name nested fields by their line
        if not item.field.startswith(where):
            problems.items[problems.items.index(item)] = type(item)(f"{where}.{item.field}", item.message)
    if len(problems.items) > before:
        return None
    expected = int((Decimal(price) * qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if amount != expected:
        problems.add(f"{where}.amount", f"must equal price × quantity = {expected}, got {amount}")
        return None
    assert sku is not None
    return Line(sku=sku, name=name, category=category, quantity=qty, price=price, amount=amount)


def parse_refund(body: Any) -> RefundRequest:
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    problems = FieldErrors()
    refund_id = _text(problems, body, "refund_id", required=True, limit=MAX_ID)
    lines, amount = None, None
    has_lines, has_amount = body.get("lines") is not None, body.get("amount") is not None
    if has_lines == has_amount:
        problems.add("lines", "give either lines [{sku, quantity}] or amount, not both")
    elif has_amount:
        amount = money(problems, body["amount"], "amount")
        if amount == 0:
            problems.add("amount", "must be greater than zero")
    else:
        raw_lines = body["lines"]
        if not isinstance(raw_lines, list) or not raw_lines or len(raw_lines) > MAX_LINES:
            problems.add("lines", "must be a non-empty list of {sku, quantity}")
        else:
            parsed = []
            for i, raw in enumerate(raw_lines):
                sku = raw.get("sku") if isinstance(raw, dict) else None
                if not isinstance(sku, str) or len(sku) > MAX_ID or has_control(sku):
                    problems.add(f"lines[{i}]", "must be an object with sku and quantity")
                    continue
                parsed.append((raw["sku"], quantity(problems, raw.get("quantity"), f"lines[{i}].quantity")))
            lines = tuple(parsed)
    problems.raise_if_any("The refund has invalid fields.")
    assert refund_id is not None
    return RefundRequest(refund_id=refund_id, lines=lines, amount=amount, body_hash=body_hash(body))
