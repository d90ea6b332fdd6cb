"""Program rules saved at run time: validated like the file, previewed, in force in every process."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared import core as core_module
from shared import jobs
from shared.audit import recent
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from shared.errors import InvalidInput
from shared.program_versions import preview_tier_moves, rules_data, save_rules, validate_rules
from tests.integration.core.helpers import confirm, new_member, receipt


def with_changes(core: Core, **tiers: int) -> dict[str, object]:
    data = rules_data(core.rules)
    for tier in data["tiers"]:
        if tier["code"] in tiers:
            tier["threshold"] = tiers[tier["code"]]
    return data


async def test_validation_is_the_program_files(core: Core) -> None:
    data = with_changes(core, gold=120_000)  # above platinum's 100,000
    with pytest.raises(InvalidInput) as problem:
        validate_rules(data)
    assert "threshold of 'platinum' must be above 'gold'" in problem.value.errors[0].message
    data = rules_data(core.rules)
    data["redemption_cap_percent"] = 101
    with pytest.raises(InvalidInput) as problem:
        validate_rules(data)
    assert problem.value.errors[0].field == "redemption_cap_percent"


async def test_preview_counts_members_moving_up_and_down(core: Core, clock: FixedClock) -> None:
    await new_member(core, "+79123450021")
    await new_member(core, "+79123450022")
    await new_member(core, "+79123450023")
    await confirm(core, receipt("P1", "+79123450021", amount=2_000_000))  # 20,000 ₽: standard
    await confirm(core, receipt("P2", "+79123450022", amount=3_500_000))  # 35,000 ₽: becomes gold
    clock.advance(minutes=1)
    lower = validate_rules(with_changes(core, gold=15_000))
    higher = validate_rules(with_changes(core, gold=40_000))
    async with core.reading() as session:
        up = await preview_tier_moves(session, lower, clock.now())
        down = await preview_tier_moves(session, higher, clock.now())
    assert (up.up, up.down, up.unchanged) == (1, 0, 2)
    assert up.by_tier == {"standard": 1, "gold": 2, "platinum": 0}
    assert (down.up, down.down, down.unchanged) == (0, 1, 2)


async def test_a_saved_version_is_in_force_here_at_once_and_elsewhere_within_seconds(
    core: Core, settings: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Core(settings, clock)  # another process
    try:
        async with other.reading():
            pass
        assert other.rules.tier("gold").threshold == 30_000
        new = validate_rules(with_changes(core, gold=25_000))
        async with core.transaction() as session:
            version = await save_rules(
                session, core.clock, core.rules, new, actor="m@example.com", comment="members stuck on tier 1"
            )
        core.use_rules(version.id, new)
        assert core.rules.tier("gold").threshold == 25_000
        async with other.reading():
            pass
        assert other.rules.tier("gold").threshold == 30_000  # checked less than a few seconds ago
        monkeypatch.setattr(core_module, "RULES_CHECK_SECONDS", 0.0)
        async with other.transaction():
            pass
        assert other.rules.tier("gold").threshold == 25_000
        assert other.rules_version == version.id
        fresh = Core(settings, clock)  # a process starting now loads the newest version
        async with fresh.reading():
            pass
        assert fresh.rules.tier("gold").threshold == 25_000
        await fresh.close()
        async with core.reading() as session:
            entry = (await recent(session))[0]
        assert entry.action == "program.update"
        assert entry.reason == "members stuck on tier 1"
        assert entry.before["tiers"][1]["threshold"] == 30_000
        assert entry.after["tiers"][1]["threshold"] == 25_000
        # the new threshold is what the till applies
        await new_member(core, "+79123450031")
        clock.advance(minutes=1)
        await confirm(core, receipt("T1", "+79123450031", amount=2_600_000))
        async with core.reading() as session:
            tier = (await session.execute(select(Member.tier_code))).scalar_one()
        assert tier == "gold"
    finally:
        await other.close()


async def test_due_jobs_in_a_process_just_started_apply_the_saved_rules(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    await new_member(core, "+79123450041")
    await confirm(core, receipt("J1", "+79123450041", amount=2_600_000))  # 26,000 ₽: standard by the file
    new = validate_rules(with_changes(core, gold=25_000))
    async with core.transaction() as session:
        await save_rules(session, core.clock, core.rules, new, actor="m@example.com", comment="lower gold")
    clock.advance(minutes=1)
    async with Core(settings, clock) as fresh:  # what `loyalty jobs run-due` starts with
        assert fresh.rules_version is None  # the file's rules until it looks
        report = await jobs.run_due(fresh, fresh.clock)
    assert report.tier_changes == 1
    async with core.reading() as session:
        assert (await session.execute(select(Member.tier_code))).scalar_one() == "gold"
