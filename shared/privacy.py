"""Personal data rights (152-FZ, GDPR): export everything held about a member, erase the person.

Erasing keeps the member row as an anonymous account: its ledger, lots and purchases stay, so the
program's points liability still adds up, but every field that names or reaches the person is
cleared, the card number and phone are replaced by values that can never resolve, and everything
that only exists to reach them (push subscriptions, wallet registrations, login codes, message
addresses and texts) is deleted or blanked. One transaction, recorded in the audit log without any
personal data.

Tables owned by `notifications` and `wallet` are reached through lightweight Core tables here:
`shared` imports no other package of ours.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, Uuid, column, delete, or_, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit, ledger
from shared.clock import Clock
from shared.db.models import Consent, Entry, Lot, Member, OutboxEvent, Purchase, Refund, SegmentMember
from shared.db.models.console import AuditEntry
from shared.db.models.login_codes import LoginCode
from shared.db.types import JSONType, UTCDateTime
from shared.errors import FieldErrors, NotFound
from shared.events import EventKind, emit
from shared.members import mark_updated

ERASED_PHONE_PREFIX = "erased:"  # "erased:" + 12 hex characters fits the 20-character phone column
ERASED_CARD_PREFIX = "X"  # "X" + 12 hex characters: 13 characters, never a valid EAN-13
SCRUBBED_AUDIT_KEYS = ("phone", "card_number", "email", "first_name", "last_name", "birth_date")
FINAL_MESSAGE_STATES = ("sent", "delivered", "failed", "undeliverable", "skipped")

messages = table(
    "messages",
    column("id", Integer),
    column("source", String),
    column("recipient", String),
    column("member_id", Uuid),
    column("channel", String),
    column("kind", String),
    column("promotional", Boolean),
    column("address", Text),
    column("language", String),
    column("subject", String),
    column("text", Text),
    column("html", Text),
    column("meta", JSONType),
    column("status", String),
    column("attempts", Integer),
    column("error", Text),
    column("created_at", UTCDateTime()),
    column("sent_at", UTCDateTime()),
    column("delivered_at", UTCDateTime()),
)
channel_status = table(
    "channel_status",
    column("member_id", Uuid),
    column("channel", String),
    column("unreachable_since", UTCDateTime()),
    column("reason", String),
)
push_subscriptions = table(
    "push_subscriptions",
    column("member_id", Uuid),
    column("endpoint", String),
    column("created_at", UTCDateTime()),
    column("last_used_at", UTCDateTime()),
)
wallet_registrations = table(
    "wallet_registrations",
    column("device_id", String),
    column("serial", String),
    column("push_token", String),
    column("created_at", UTCDateTime()),
)
wallet_google_notices = table("wallet_google_notices", column("member_id", Uuid), column("sent_at", UTCDateTime()))


def is_erased(member: Member) -> bool:
    return member.phone.startswith(ERASED_PHONE_PREFIX)


def _plain(value: Any) -> Any:
    """JSON-ready: times and dates as ISO 8601, UUIDs as strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _row(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in names}


async def export_member(session: AsyncSession, member: Member, now: datetime) -> dict[str, Any]:
    """Everything held about one member, as a JSON-ready dict (the right of access)."""
    mid = member.id
    consents = (
        await session.execute(select(Consent).where(Consent.member_id == mid).order_by(Consent.channel))
    ).scalars()
    entries = (await session.execute(select(Entry).where(Entry.member_id == mid).order_by(Entry.id))).scalars()
    lots = (await session.execute(select(Lot).where(Lot.member_id == mid).order_by(Lot.id))).scalars()
    purchases = list(
        (
            await session.execute(
                select(Purchase).where(Purchase.member_id == mid).order_by(Purchase.purchased_at, Purchase.id)
            )
        ).scalars()
    )
    refunds = (
        list(
            (
                await session.execute(
                    select(Refund).where(Refund.purchase_id.in_([p.id for p in purchases])).order_by(Refund.id)
                )
            ).scalars()
        )
        if purchases
        else []
    )
    message_rows = (
        (
            await session.execute(
                select(
                    messages.c.id,
                    messages.c.channel,
                    messages.c.kind,
                    messages.c.promotional,
                    messages.c.address,
                    messages.c.language,
                    messages.c.subject,
                    messages.c.text,
                    messages.c.status,
                    messages.c.created_at,
                    messages.c.sent_at,
                    messages.c.delivered_at,
                )
                .where(messages.c.member_id == mid)
                .order_by(messages.c.id)
            )
        )
        .mappings()
        .all()
    )
    unreachable = (await session.execute(select(channel_status).where(channel_status.c.member_id == mid))).mappings()
    pushes = (
        await session.execute(
            select(
                push_subscriptions.c.endpoint, push_subscriptions.c.created_at, push_subscriptions.c.last_used_at
            ).where(push_subscriptions.c.member_id == mid)
        )
    ).mappings()
    wallets = (
        await session.execute(
            select(wallet_registrations.c.device_id, wallet_registrations.c.created_at).where(
                wallet_registrations.c.serial == member.wallet_serial
            )
        )
    ).mappings()
    codes = (
        await session.execute(select(LoginCode).where(LoginCode.phone == member.phone).order_by(LoginCode.id))
    ).scalars()
    return {
        "exported_at": now.isoformat(),
        "member": _row(
            member,
            (
                "id",
                "phone",
                "first_name",
                "last_name",
                "email",
                "email_confirmed_at",
                "birth_date",
                "time_zone",
                "language",
                "telegram_user_id",
                "registration_store",
                "created_at",
                "updated_at",
            ),
        )
        | {"registration_channel": member.source, "registration_source": member.referral},
        "card": {
            "card_number": member.card_number,
            "wallet_serial": member.wallet_serial,
            "wallet_updated_at": _plain(member.wallet_updated_at),
        },
        "balance": {
            "available": member.available,
            "pending": member.pending,
            "debt": member.debt,
            "tier": member.tier_code,
            "tier_changed_at": _plain(member.tier_changed_at),
            "last_purchase_at": _plain(member.last_purchase_at),
        },
        "consents": [_row(c, ("channel", "granted", "changed_at", "source", "method")) for c in consents],
        "ledger": [
            _row(
                e,
                (
                    "id",
                    "kind",
                    "points",
                    "created_at",
                    "available_at",
                    "expires_at",
                    "purchase_id",
                    "lot_id",
                    "comment",
                ),
            )
            for e in entries
        ],
        "lots": [
            _row(
                lot,
                (
                    "id",
                    "source",
                    "points",
                    "remaining",
                    "status",
                    "created_at",
                    "available_at",
                    "expires_at",
                    "purchase_id",
                ),
            )
            for lot in lots
        ],
        "purchases": [
            _row(
                p,
                (
                    "id",
                    "store_id",
                    "receipt_id",
                    "purchased_at",
                    "total",
                    "discount",
                    "redeemed",
                    "paid",
                    "accrued",
                    "refunded_amount",
                    "points_reversed",
                    "points_restored",
                    "lines",
                ),
            )
            for p in purchases
        ],
        "refunds": [
            _row(r, ("purchase_id", "refund_id", "amount", "points_reversed", "points_restored", "created_at"))
            for r in refunds
        ],
        "messages": [_plain(dict(m)) for m in message_rows],
        "unreachable_channels": [_plain({k: v for k, v in row.items() if k != "member_id"}) for row in unreachable],
        "devices": {
            "push_subscriptions": [_plain(dict(p)) for p in pushes],
            "wallet_registrations": [_plain(dict(w)) for w in wallets],
        },
        "login_codes": [_row(c, ("created_at", "expires_at", "used_at", "attempts", "ip")) for c in codes],
    }


def validate_reason(reason: str) -> str:
    reason = (reason or "").strip()
    problems = FieldErrors()
    if not 3 <= len(reason) <= 300:
        problems.add("reason", "say why, in 3 to 300 characters (no personal data)")
    problems.raise_if_any("The member was not erased.")
    return reason


async def erase_member(session: AsyncSession, clock: Clock, member_id: uuid.UUID, *, actor: str, reason: str) -> Member:
    """Remove the person, keep the accounts (call inside the caller's one transaction)."""
    reason = validate_reason(reason)
    member = await ledger.lock_member(session, member_id)
    if is_erased(member):
        raise NotFound("This member has already been erased.")
    now = clock.now()
    phone, email, telegram = member.phone, member.email, member.telegram_user_id
    old_serial = member.wallet_serial
    addresses = [a for a in (phone, email, str(telegram) if telegram is not None else None) if a]

    await session.execute(delete(Consent).where(Consent.member_id == member.id))
    await session.execute(delete(SegmentMember).where(SegmentMember.member_id == member.id))
    await session.execute(delete(LoginCode).where(LoginCode.phone == phone))
    await session.execute(delete(push_subscriptions).where(push_subscriptions.c.member_id == member.id))
    await session.execute(delete(wallet_registrations).where(wallet_registrations.c.serial == member.wallet_serial))
    await session.execute(delete(wallet_google_notices).where(wallet_google_notices.c.member_id == member.id))
    await session.execute(delete(channel_status).where(channel_status.c.member_id == member.id))
    # Messages: the row stays (delivery counts and costs add up), its address and text do not; whatever
    # was still waiting to go out is stopped.
    about = or_(
        messages.c.member_id == member.id, messages.c.address.in_(addresses), messages.c.recipient.in_(addresses)
    )
    await session.execute(
        update(messages)
        .where(about, messages.c.status.not_in(FINAL_MESSAGE_STATES))
        .values(status="skipped", error="member erased")
    )
    await session.execute(
        update(messages)
        .where(about)
        .values(
            address="", text="", html=None, subject=None, meta={}, recipient=("erased:" + messages.c.id.cast(String))
        )
    )
    # Outbox events carried names, codes and addresses in their payloads; pending ones are settled.
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.member_id == member.id).values(payload={"erased": True})
    )
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.member_id == member.id, OutboxEvent.processed_at.is_(None))
        .values(processed_at=now)
    )
    codes = (
        await session.execute(
            select(OutboxEvent).where(OutboxEvent.kind == EventKind.LOGIN_CODE.value, OutboxEvent.member_id.is_(None))
        )
    ).scalars()
    for event in codes:  # codes asked for before they registered
        if isinstance(event.payload, dict) and event.payload.get("phone") == phone:
            event.payload = {"erased": True}
            event.processed_at = event.processed_at or now
    # Earlier audit entries about this member kept snapshots with the phone and card number.
    audited = (
        await session.execute(
            select(AuditEntry).where(AuditEntry.target_kind == "member", AuditEntry.target_id == str(member.id))
        )
    ).scalars()
    for entry in audited:
        entry.before, entry.after = _scrub(entry.before), _scrub(entry.after)

    member.phone = ERASED_PHONE_PREFIX + secrets.token_hex(6)
    member.card_number = ERASED_CARD_PREFIX + secrets.token_hex(6)
    for name in (
        "first_name",
        "last_name",
        "email",
        "email_confirmed_at",
        "birth_date",
        "birth_mmdd",
        "time_zone",
        "telegram_user_id",
        "referral",
    ):
        setattr(member, name, None)
    member.wallet_serial = "erased-" + secrets.token_hex(16)
    member.wallet_auth_token = secrets.token_urlsafe(24)
    member.session_generation += 1  # every cabinet session ends
    member.updated_at = now
    await mark_updated(session, member, ["erased"], now)  # integrators drop what they copied
    # Google keeps the card's object (name, number, balance) on our behalf: the wallet worker expires it
    await emit(session, EventKind.WALLET_REVOKED, member.id, {"serial": old_serial}, now)
    audit.record(
        session,
        clock,
        actor,
        "member.erase",
        ("member", str(member.id)),
        before=None,
        after={"erased": True},
        reason=reason,
    )
    await session.flush()
    return member


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("erased" if k in SCRUBBED_AUDIT_KEYS and v is not None else _scrub(v)) for k, v in value.items()}
    return value


async def find_for_privacy(session: AsyncSession, phone: str) -> Member:
    """A member by normalised phone, or NotFound (erased members have no phone any more)."""
    member = (await session.execute(select(Member).where(Member.phone == phone))).scalar_one_or_none()
    if member is None:
        raise NotFound(f"No member with phone {phone}.")
    return member
