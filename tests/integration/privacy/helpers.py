"""Builders for the privacy tests: a member with everything a shopper leaves behind."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from notifications.push_subscriptions import push_policy, save_subscription
from shared.core import Core
from shared.db.models import Member
from shared.db.models.messages import Message
from shared.db.models.wallet import WalletRegistration
from shared.login_codes import issue_code
from shared.members import Registration, register
from tests.integration.core.helpers import confirm, receipt

PHONE = "+79161112233"
PUSH = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc123", "keys": {"p256dh": "B" * 87, "auth": "a" * 22}}


def message(
    member_id: uuid.UUID | None,
    created_at: datetime,
    *,
    source: str,
    address: str = PHONE,
    text: str = "Anna, your code is 123456",
    status: str = "delivered",
    channel: str = "sms",
    recipient: str | None = None,
) -> Message:
    return Message(
        source=source,
        recipient=recipient or (str(member_id) if member_id else address),
        member_id=member_id,
        channel=channel,
        kind="login_code",
        promotional=False,
        address=address,
        language="ru",
        subject="Hello Anna",
        text=text,
        html="<p>Anna</p>",
        meta={"context": {"name": "Anna"}},
        cascade=[],
        status=status,
        attempts=1,
        next_attempt_at=created_at,
        created_at=created_at,
    )


async def rich_member(core: Core, phone: str = PHONE) -> Member:
    """Anna: profile, consents, a purchase, a message, a push subscription, a wallet device, a login code."""
    now = core.clock.now()
    async with core.transaction() as session:
        member, _ = await register(
            session,
            core.clock,
            core.rules,
            Registration(
                phone=phone,
                first_name="Anna",
                last_name="Ivanova",
                email="anna@example.com",
                birth_date=date(1990, 5, 17),
                telegram_user_id=777001,
                source="pos",
                store_id="msk-001",
                consents={"sms": True, "email": False},
            ),
        )
        await save_subscription(session, member.id, PUSH, now, push_policy(core.settings))
        session.add(
            WalletRegistration(
                device_id="device-anna-1", serial=member.wallet_serial, push_token="apns-token-anna", created_at=now
            )
        )
        session.add(message(member.id, now, source="event:1"))
        session.add(message(member.id, now, source="event:2", channel="telegram", address="777001", status="queued"))
        await issue_code(session, core.settings.cabinet, core.settings.secret, phone, "10.0.0.7", now, "ru")
    answer, _ = await confirm(core, receipt("r-anna-1", phone, amount=150000))
    assert answer["accrue"] > 0
    return member


async def rows(core: Core, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    async with core.reading() as session:
        return list((await session.execute(text(sql), params)).all())
