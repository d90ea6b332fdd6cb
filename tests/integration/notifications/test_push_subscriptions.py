"""push_subscriptions: save, re-save (same endpoint), validation, removal."""

from __future__ import annotations

import pytest

from notifications.push_subscriptions import remove_subscription, save_subscription, subscriptions_of
from shared.core import Core
from shared.errors import InvalidInput
from shared.members import Registration, register

SUB = {"endpoint": "https://push.example/send/abc", "keys": {"p256dh": "BPk" + "a" * 84, "auth": "x" * 22}}


async def test_save_update_and_remove(core: Core) -> None:
    async with core.transaction() as session:
        anna, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456781"))
        boris, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456782"))
        await save_subscription(session, anna.id, SUB, core.clock.now())
        await save_subscription(
            session, anna.id, {**SUB, "endpoint": SUB["endpoint"] + "2"}, core.clock.now()
        )
    async with core.transaction() as session:  # the browser now belongs to Boris
        await save_subscription(
            session, boris.id, {**SUB, "keys": {"p256dh": "BQ", "auth": "y"}}, core.clock.now()
        )
    async with core.reading() as session:
        annas = await subscriptions_of(session, anna.id)
        boriss = await subscriptions_of(session, boris.id)
    assert [s.endpoint for s in annas] == [SUB["endpoint"] + "2"]
    assert [s.as_subscription()["keys"] for s in boriss] == [{"p256dh": "BQ", "auth": "y"}]
    async with core.transaction() as session:
        assert await remove_subscription(session, SUB["endpoint"], member_id=anna.id) is False
        assert await remove_subscription(session, SUB["endpoint"]) is True
    async with core.reading() as session:
        assert await subscriptions_of(session, boris.id) == []


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"endpoint": "ftp://x", "keys": SUB["keys"]},
        {"endpoint": SUB["endpoint"]},
        {"endpoint": SUB["endpoint"], "keys": {"p256dh": "", "auth": "x"}},
        {"endpoint": SUB["endpoint"], "keys": ["p256dh"]},
        {"endpoint": "https://x/" + "a" * 2000, "keys": SUB["keys"]},
    ],
)
async def test_invalid_subscriptions_are_refused(core: Core, bad: dict[str, object]) -> None:
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456781"))
        with pytest.raises(InvalidInput):
            await save_subscription(session, member.id, bad, core.clock.now())
