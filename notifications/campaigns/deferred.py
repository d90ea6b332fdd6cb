"""Campaign messages are queued without their text (meta {"campaign": id, "variant": code}) and
rendered when a worker claims them. A campaign to a million members is then queued by one
statement per batch (campaigns.sql), and each text shows the member's name, balance
and tier as they are when it goes out, not as they were hours earlier, before quiet hours or the
providers' rates held it back. A retried message keeps the text of its first attempt."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns.audience import MEMBER_FIELDS
from notifications.campaigns.texts import render_for
from notifications.templates import TextRefused
from shared.config import Settings
from shared.db.models import Member
from shared.db.models.campaigns import Campaign, CampaignVariant
from shared.db.models.messages import Message
from shared.offers.personal import OfferView, offers_under

log = logging.getLogger("loyalty.notifier")
GONE = "the member or the campaign's variant is gone"
_T = Message.__table__
_RENDERED = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(
        text=bindparam("body"),
        subject=bindparam("subj"),
        html=bindparam("markup"),
        cost_parts=bindparam("parts"),
        language=bindparam("lang"),
    )
)


async def _offers(session: AsyncSession, todo: Sequence[Message]) -> dict[tuple[int, Any], OfferView]:
    """`{{ offer }}` of each message: the member's offer under its campaign's personal promotion."""
    promotions = dict(
        (
            await session.execute(
                select(Campaign.id, Campaign.promotion_id).where(
                    Campaign.id.in_({m.meta["campaign"] for m in todo}), Campaign.promotion_id.is_not(None)
                )
            )
        ).all()
    )
    found: dict[tuple[int, Any], OfferView] = {}
    for campaign_id, promotion_id in promotions.items():
        if promotion_id is None:
            continue
        members = [m.member_id for m in todo if m.meta["campaign"] == campaign_id and m.member_id is not None]
        for member_id, offer in (await offers_under(session, promotion_id, members)).items():
            found[(campaign_id, member_id)] = offer
    return found


def deferred_meta(campaign_id: int, variant: str) -> dict[str, Any]:
    return {"campaign": campaign_id, "variant": variant}


def is_deferred(meta: dict[str, Any]) -> bool:
    """A campaign message whose text is made at claim time (test sends and chains carry a context)."""
    return "campaign" in meta and "context" not in meta


async def render_claimed(session: AsyncSession, settings: Settings, messages: Sequence[Message]) -> dict[int, str]:
    """Render the claimed messages that have no text yet and store it with them; returns the ids
    that cannot be rendered, with why (the member was merged away, the variant is gone, its text
    may not run: staff texts are checked again here, whatever was stored)."""
    todo = [m for m in messages if is_deferred(m.meta) and not m.text]
    if not todo:
        return {}
    members = {
        row.id: row
        for row in await session.execute(select(*MEMBER_FIELDS).where(Member.id.in_({m.member_id for m in todo})))
    }
    variants = (
        await session.execute(
            select(CampaignVariant).where(CampaignVariant.campaign_id.in_({m.meta["campaign"] for m in todo}))
        )
    ).scalars()
    arms: dict[tuple[int, str | None], dict[str, Any]] = {(v.campaign_id, v.code): v.templates for v in variants}
    offers = await _offers(session, todo)
    rendered_rows: list[dict[str, Any]] = []
    broken: dict[int, str] = {}
    for message in todo:
        row = members.get(message.member_id)
        templates = arms.get((message.meta["campaign"], message.meta.get("variant")))
        if row is None or templates is None or message.channel not in templates:
            broken[message.id] = GONE
            continue
        try:
            offer = offers.get((message.meta["campaign"], message.member_id))
            language, rendered = render_for(settings, row, templates, message.channel, offer)
        except TextRefused as exc:
            log.warning("campaign %s: message %s refused: %s", message.meta["campaign"], message.id, exc)
            broken[message.id] = f"the campaign's text was refused: {exc}"[:500]
            continue
        except (KeyError, TypeError, ValueError, AttributeError):
            log.exception("campaign message %s cannot be rendered", message.id)
            broken[message.id] = "the campaign's texts are malformed"
            continue
        message.text, message.subject, message.html = rendered.text, rendered.subject, rendered.html
        message.cost_parts, message.language = rendered.parts, language
        rendered_rows.append(
            {
                "mid": message.id,
                "body": rendered.text,
                "subj": rendered.subject,
                "markup": rendered.html,
                "parts": rendered.parts,
                "lang": language,
            }
        )
    if rendered_rows:
        await session.execute(_RENDERED, rendered_rows)
    return broken
