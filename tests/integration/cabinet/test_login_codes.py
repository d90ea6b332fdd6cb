"""shared/login_codes.py without HTTP: concurrent asks for one phone get one code; per-IP limits."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.login_codes import LoginCode
from shared.login_codes import IssueStatus, VerifyStatus, hash_code, issue_code, verify_code

PHONE = "+79161234567"


async def ask(core: Core, settings: Settings, phone: str = PHONE, ip: str = "10.0.0.1") -> IssueStatus:
    async with core.transaction() as session:
        result = await issue_code(session, settings.cabinet, settings.secret, phone, ip, core.clock.now(), "ru")
    return result.status


async def test_concurrent_requests_for_one_phone_send_one_code(core: Core, settings: Settings) -> None:
    """Separate transactions at once (separate connections on PostgreSQL): the limits still hold."""
    answers = await asyncio.gather(*(ask(core, settings) for _ in range(8)))
    assert sorted(answers) == sorted([IssueStatus.SENT] + [IssueStatus.WAIT] * 7)
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(LoginCode))).scalar_one() == 1
        assert (
            await session.execute(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == "login_code"))
        ).scalar_one() == 1


async def test_the_code_is_kept_only_as_an_hmac(core: Core, settings: Settings) -> None:
    async with core.transaction() as session:
        await issue_code(session, settings.cabinet, settings.secret, PHONE, "ip", core.clock.now(), "ru", code="123456")
    async with core.reading() as session:
        row = (await session.execute(select(LoginCode))).scalar_one()
    assert row.code_hash == hash_code(settings.secret, PHONE, "123456")
    assert "123456" not in row.code_hash
    async with core.transaction() as session:
        wrong = await verify_code(session, settings.cabinet, settings.secret, PHONE, "654321", core.clock.now())
        right = await verify_code(session, settings.cabinet, settings.secret, PHONE, "123456", core.clock.now())
        again = await verify_code(session, settings.cabinet, settings.secret, PHONE, "123456", core.clock.now())
    assert (wrong.status, wrong.attempts_left) == (VerifyStatus.WRONG, 4)
    assert right.status is VerifyStatus.OK
    assert again.status is VerifyStatus.EXPIRED


async def test_concurrent_requests_from_one_address_respect_its_limit(core: Core, settings: Settings) -> None:
    limit = settings.cabinet.codes_per_ip_hour
    answers = await asyncio.gather(*(ask(core, settings, phone=f"+7916555{i:04d}") for i in range(limit + 5)))
    assert answers.count(IssueStatus.SENT) == limit
    assert answers.count(IssueStatus.LIMITED) == 5
