"""Trigger chains: "no purchase for N days -> message -> wait 7 days -> bonus if still no purchase".

Members enter in bulk (INSERT ... SELECT) when they lapse; each due progress row runs its steps in
the transaction that advances it, so a step happens once per member and entry however often the
scheduler runs. A purchase after entering ends the chain for that member; lapsing again later
starts a new entry."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns.audience import MEMBER_FIELDS, member_fields, recipients_of
from notifications.campaigns.grants import grant_bonus
from notifications.campaigns.texts import check_variants, refused_texts, texts_for
from notifications.planner import insert_messages, message_row
from notifications.routing import next_channel, send_time
from notifications.templates import TextRefused
from shared.core import Core
from shared.db.models import Member, Segment, SegmentMember
from shared.db.models.campaigns import ChainProgress, TriggerChain
from shared.errors import FieldErrors, NotFound
from shared.inputs import CONTROL_MESSAGE, has_control
from shared.vocabulary import CHANNELS_CHEAPEST_FIRST as CAMPAIGN_CHANNELS

log = logging.getLogger("loyalty.campaigns")
ACTIVE, DONE, EXITED = "active", "done", "exited"
BATCH = 500


def _check_steps(errors: FieldErrors, steps: Any) -> None:
    if not isinstance(steps, list) or not 1 <= len(steps) <= 10:
        errors.add("steps", "give 1 to 10 steps")
        return
    for i, step in enumerate(steps):
        at, kind = f"steps[{i}]", step.get("type") if isinstance(step, dict) else None
        if kind == "message":
            channels = step.get("channels")
            if not isinstance(channels, list) or not channels or any(c not in CAMPAIGN_CHANNELS for c in channels):
                errors.add(f"{at}.channels", f"give channels from {', '.join(CAMPAIGN_CHANNELS)}")
                continue
            inner = FieldErrors()
            check_variants(inner, channels, [{"code": "A", "templates": step.get("templates")}])
            for item in inner.items:
                errors.add(item.field.replace("variants[0]", at), item.message)
        elif kind == "wait":
            if type(step.get("days")) is not int or not 1 <= step["days"] <= 365:
                errors.add(f"{at}.days", "must be from 1 to 365")
        elif kind == "bonus":
            if type(step.get("points")) is not int or not 1 <= step["points"] <= 100_000:
                errors.add(f"{at}.points", "must be from 1 to 100000")
            if type(step.get("expires_days", 30)) is not int or not 1 <= step.get("expires_days", 30) <= 3650:
                errors.add(f"{at}.expires_days", "must be from 1 to 3650")
        else:
            errors.add(f"{at}.type", "must be message, wait or bonus")


async def create_chain(
    session: AsyncSession,
    *,
    name: str,
    no_purchase_days: int,
    steps: list[dict[str, Any]],
    now: datetime,
    segment_id: int | None = None,
) -> int:
    errors = FieldErrors()
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        errors.add("name", "must be 1 to 200 characters")
    elif has_control(name):
        errors.add("name", CONTROL_MESSAGE)
    if type(no_purchase_days) is not int or not 1 <= no_purchase_days <= 3650:
        errors.add("no_purchase_days", "must be from 1 to 3650")
    if segment_id is not None and await session.get(Segment, segment_id) is None:
        errors.add("segment_id", "no such segment")
    _check_steps(errors, steps)
    errors.raise_if_any("The chain has invalid fields.")
    chain = TriggerChain(
        name=name.strip(),
        no_purchase_days=no_purchase_days,
        segment_id=segment_id,
        steps=steps,
        active=True,
        created_at=now,
    )
    session.add(chain)
    await session.flush()
    return chain.id


def _lapsed(chain: TriggerChain, now: datetime) -> Any:
    cutoff = now - timedelta(days=chain.no_purchase_days)
    condition = or_(
        Member.last_purchase_at <= cutoff, and_(Member.last_purchase_at.is_(None), Member.created_at <= cutoff)
    )
    if chain.segment_id is not None:
        condition = and_(
            condition,
            exists().where(SegmentMember.segment_id == chain.segment_id, SegmentMember.member_id == Member.id),
        )
    return condition


async def enter_members(session: AsyncSession, chain: TriggerChain, now: datetime) -> None:
    """Members who bought since entering leave; lapsed members not yet in the chain enter it; those
    who finished or left it and bought since (then lapsed again) start over."""
    bought_since = select(Member.id).where(
        Member.id == ChainProgress.member_id, Member.last_purchase_at > ChainProgress.entered_at
    )
    await session.execute(
        update(ChainProgress)
        .where(ChainProgress.chain_id == chain.id, ChainProgress.status == ACTIVE, exists(bought_since))
        .values(status=EXITED, updated_at=now)
    )
    when = literal(now, ChainProgress.entered_at.type)
    fresh = select(literal(chain.id), Member.id, literal(0), literal(ACTIVE), when, when, when).where(
        _lapsed(chain, now), ~exists().where(ChainProgress.chain_id == chain.id, ChainProgress.member_id == Member.id)
    )
    await session.execute(
        ChainProgress.__table__.insert().from_select(
            ["chain_id", "member_id", "step", "status", "entered_at", "next_at", "updated_at"], fresh
        )
    )
    again = select(Member.id).where(
        _lapsed(chain, now), Member.last_purchase_at > ChainProgress.entered_at, Member.id == ChainProgress.member_id
    )
    await session.execute(
        update(ChainProgress)
        .where(ChainProgress.chain_id == chain.id, ChainProgress.status.in_((DONE, EXITED)), exists(again))
        .values(step=0, status=ACTIVE, entered_at=now, next_at=now, updated_at=now)
    )


async def _run_steps(
    session: AsyncSession, core: Core, chain: TriggerChain, rows: list[ChainProgress], now: datetime
) -> None:
    members = {
        m.id: m
        for m in (
            await session.execute(
                select(*MEMBER_FIELDS, Member.last_purchase_at).where(Member.id.in_([r.member_id for r in rows]))
            )
        ).all()
    }
    who_all = await recipients_of(session, core.settings, list(members.values()), now)
    messages = []
    for row in rows:
        member = members.get(row.member_id)
        if member is None or (member.last_purchase_at is not None and member.last_purchase_at > row.entered_at):
            row.status, row.updated_at = EXITED, now  # bought again (or gone): the chain has done its job
            continue
        entry = f"{chain.id}:{row.entered_at:%Y%m%d%H%M}"
        while row.status == ACTIVE and row.next_at <= now:
            if row.step >= len(chain.steps):
                row.status = DONE
                break
            step = chain.steps[row.step]
            if step["type"] == "message":
                who = who_all[member.id]
                chosen = next_channel("chain", tuple(step["channels"]), who)
                if chosen is not None:
                    channel, rest = chosen
                    context = member_fields(core.settings, member)
                    context["templates"] = texts_for(step["templates"], context["language"], [channel, *rest])
                    try:
                        messages.append(
                            message_row(
                                source=f"chain:{entry}:{row.step}",
                                recipient=str(member.id),
                                member_id=member.id,
                                kind="chain",
                                channel=channel,
                                address=who.addresses[channel],
                                rest=rest,
                                when=send_time("chain", now, who.zone, core.settings.notify),
                                now=now,
                                context=context,
                            )
                        )
                    except TextRefused as exc:  # e.g. too long with this member's fields: this one is skipped
                        log.warning("chain %s: the message to %s was refused: %s", chain.id, member.id, exc)
            elif step["type"] == "wait":
                row.next_at = now + timedelta(days=step["days"])
            elif step["type"] == "bonus":
                await grant_bonus(
                    session,
                    member.id,
                    step["points"],
                    now,
                    expires_days=step.get("expires_days", 30),
                    reason=f"chain:{entry}:{row.step}",
                )
            row.step += 1
        row.updated_at = now
    await insert_messages(session, messages)


async def run_chain(core: Core, chain_id: int, batch_size: int = BATCH) -> int:
    """Enter lapsed members, then run every due step; returns the progress rows handled."""
    now = core.clock.now()
    async with core.transaction() as session:
        chain = await session.get(TriggerChain, chain_id)
        if chain is None or not chain.active:
            return 0
        if bad := refused_steps(chain.steps):  # stored before the checks or around them: never run
            log.error("chain %s paused: its texts may not run (%s)", chain_id, ", ".join(bad))
            chain.active = False
            return 0
        await enter_members(session, chain, now)
    handled, after = 0, None
    while True:
        async with core.transaction() as session:
            chain = await session.get(TriggerChain, chain_id)
            assert chain is not None
            query = select(ChainProgress).where(
                ChainProgress.chain_id == chain_id, ChainProgress.status == ACTIVE, ChainProgress.next_at <= now
            )
            if after is not None:
                query = query.where(ChainProgress.member_id > after)
            query = query.order_by(ChainProgress.member_id).limit(batch_size)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.execute(query)).scalars())
            if not rows:
                return handled
            await _run_steps(session, core, chain, rows, now)
            after = rows[-1].member_id
            handled += len(rows)


def refused_steps(steps: Any) -> list[str]:
    """The message steps whose stored texts may not run (steps[0].sms.ru, ...)."""
    if not isinstance(steps, list):
        return ["steps"]
    return [
        f"steps[{i}].{where}"
        for i, step in enumerate(steps)
        if isinstance(step, dict) and step.get("type") == "message"
        for where in (
            refused_texts(step.get("templates")) if isinstance(step.get("templates"), dict) else ["templates"]
        )
    ]


async def run_due_chains(core: Core) -> int:
    async with core.reading() as session:
        ids = list((await session.execute(select(TriggerChain.id).where(TriggerChain.active.is_(True)))).scalars())
    return sum([await run_chain(core, chain_id) for chain_id in ids])


async def list_chains(session: AsyncSession) -> list[dict[str, Any]]:
    """Every chain with its members per progress status (active, done, exited), newest first."""
    counts: dict[int, dict[str, int]] = {}
    for chain_id, status, count in await session.execute(
        select(ChainProgress.chain_id, ChainProgress.status, func.count()).group_by(
            ChainProgress.chain_id, ChainProgress.status
        )
    ):
        counts.setdefault(chain_id, {})[status] = int(count)
    chains = (await session.execute(select(TriggerChain).order_by(TriggerChain.id.desc()))).scalars()
    return [
        {
            "id": c.id,
            "name": c.name,
            "no_purchase_days": c.no_purchase_days,
            "segment_id": c.segment_id,
            "steps": c.steps,
            "active": c.active,
            "members": {s: counts.get(c.id, {}).get(s, 0) for s in (ACTIVE, DONE, EXITED)},
        }
        for c in chains
    ]


async def set_chain_active(session: AsyncSession, chain_id: int, active: bool) -> bool:
    """Pause or resume a chain (paused: nobody enters and no step runs); returns the previous state."""
    chain = await session.get(TriggerChain, chain_id)
    if chain is None:
        raise NotFound(f"Chain {chain_id} does not exist.")
    before, chain.active = chain.active, active
    return before
