"""push_subscriptions: save, re-save by the same member, another member refused, validation, removal."""

from __future__ import annotations

import pytest

from notifications.push_subscriptions import push_policy, remove_subscription, save_subscription, subscriptions_of
from shared.config import Settings
from shared.core import Core
from shared.errors import Conflict, InvalidInput
from shared.members import Registration, register

SUB = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": "BPk" + "a" * 84, "auth": "x" * 22}}


async def test_save_update_and_remove(core: Core, settings: Settings) -> None:
    policy = push_policy(settings)
    async with core.transaction() as session:
        anna, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456781"))
        boris, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456782"))
        await save_subscription(session, anna.id, SUB, core.clock.now(), policy)
        await save_subscription(session, anna.id, {**SUB, "endpoint": SUB["endpoint"] + "2"}, core.clock.now(), policy)
    async with core.transaction() as session:  # Anna's browser again, with fresh keys
        await save_subscription(
            session, anna.id, {**SUB, "keys": {"p256dh": "BQ", "auth": "y"}}, core.clock.now(), policy
        )
    with pytest.raises(Conflict):  # whoever learns the endpoint cannot take Anna's browser over
        async with core.transaction() as session:
            await save_subscription(session, boris.id, SUB, core.clock.now(), policy)
    async with core.reading() as session:
        annas = await subscriptions_of(session, anna.id)
        assert await subscriptions_of(session, boris.id) == []
    assert [s.endpoint for s in annas] == [SUB["endpoint"], SUB["endpoint"] + "2"]
    assert annas[0].as_subscription()["keys"] == {"p256dh": "BQ", "auth": "y"}
    async with core.transaction() as session:
        assert await remove_subscription(session, SUB["endpoint"], member_id=boris.id) is False
        assert await remove_subscription(session, SUB["endpoint"]) is True
    async with core.reading() as session:
        assert [s.endpoint for s in await subscriptions_of(session, anna.id)] == [SUB["endpoint"] + "2"]


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"endpoint": "ftp://x", "keys": SUB["keys"]},
        {"endpoint": SUB["endpoint"]},
        {"endpoint": SUB["endpoint"], "keys": {"p256dh": "", "auth": "x"}},
        {"endpoint": SUB["endpoint"], "keys": ["p256dh"]},
        {"endpoint": "https://fcm.googleapis.com/" + "a" * 2000, "keys": SUB["keys"]},
        {"endpoint": "http://127.0.0.1:9/x", "keys": SUB["keys"]},
        {"endpoint": "https://push.example/x", "keys": SUB["keys"]},
    ],
)
async def test_invalid_subscriptions_are_refused(core: Core, settings: Settings, bad: dict[str, object]) -> None:
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456781"))
        with pytest.raises(InvalidInput):
            await save_subscription(session, member.id, bad, core.clock.now(), push_policy(settings))
