"""SMSC delivery reports name a message by (id, phone); one id covers a whole batch, so the phone decides."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from notifications.planner import message_row
from shared.config import Settings, SmsSettings
from shared.core import Core
from shared.db.models.messages import Message
from tests.conftest import app_client
from webapp.app import create_app

SECRET = "s3cret-callback-0123456789"
PHONES = ("+79123456781", "+79123456782", "+79123456783")


async def queue(core: Core) -> list[int]:
    now = core.clock.now()
    context = {"language": "ru", "points": 42, "balance": 142, "pending": 42, "available_on": "23.11"}
    rows = [
        message_row(
            source=f"report:{n}",
            recipient=phone,
            member_id=None,
            kind="points_accrued",
            channel="sms",
            address=phone,
            rest=(),
            when=now,
            now=now,
            context=context,
        )
        for n, phone in enumerate(PHONES)
    ]
    async with core.transaction() as session:
        await session.execute(insert(Message), rows)
        ids = list((await session.execute(select(Message.id).order_by(Message.id))).scalars())
        # one batch sent under the first message's id; the third's send is not recorded yet
        for mid, phone in zip(ids[:2], PHONES, strict=False):
            await session.execute(
                update(Message)
                .where(Message.id == mid)
                .values(status="sent", provider_id=f"{ids[0]}:{phone.lstrip('+')}")
            )
    return ids


async def test_batch_reports_reach_the_message_of_that_phone(settings: Settings, core: Core) -> None:
    ids = await queue(core)
    app = create_app(settings.model_copy(update={"sms": SmsSettings(callback_secret=SECRET)}), core=core)  # type: ignore[arg-type]
    async with app_client(app) as http:
        for phone in PHONES:  # all three reports carry the batch's id
            answer = await http.post(
                f"/callbacks/sms/smsc/{SECRET}", data={"id": str(ids[0]), "phone": phone[1:], "status": "1"}
            )
            assert answer.status_code == 200
    async with core.reading() as session:
        statuses = dict((await session.execute(select(Message.id, Message.status))).all())
    assert statuses[ids[0]] == "delivered"
    assert statuses[ids[1]] == "delivered"  # found by (id, phone), not taken for the batch's first message
    assert statuses[ids[2]] != "delivered"  # not recorded as sent yet: not mistaken for message ids[0] either


async def test_a_provider_id_sent_twice_reaches_the_newest_message(settings: Settings, core: Core) -> None:
    """A batch re-sent under an earlier batch's id names two messages to one phone the same way: the
    report goes to the newest send, never a 500."""
    ids = await queue(core)
    twice = f"{ids[0]}:{PHONES[0].lstrip('+')}"
    async with core.transaction() as session:
        await session.execute(
            update(Message).where(Message.id == ids[2]).values(status="sent", provider_id=twice, address=PHONES[0])
        )
    app = create_app(settings.model_copy(update={"sms": SmsSettings(callback_secret=SECRET)}), core=core)  # type: ignore[arg-type]
    async with app_client(app) as http:
        answer = await http.post(
            f"/callbacks/sms/smsc/{SECRET}", data={"id": str(ids[0]), "phone": PHONES[0][1:], "status": "1"}
        )
    assert answer.status_code == 200
    async with core.reading() as session:
        statuses = dict((await session.execute(select(Message.id, Message.status))).all())
    assert statuses[ids[2]] == "delivered"
    assert statuses[ids[0]] == "sent"
