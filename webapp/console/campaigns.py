"""Campaign pages: create (segment, cascade, A/B texts, control group), preview on a sample member
(or, for marketers and admins, on a real one, audited), SMS estimate, test send to oneself, send
now or schedule, a live progress bar, results per channel and purchases attributed against the
control group."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from notifications.campaigns import (
    CAMPAIGN_CHANNELS,
    CANCELLED,
    DONE,
    DRAFT,
    attribution,
    cancel_campaign,
    create_campaign,
    estimate,
    get_campaign,
    list_campaigns,
    preview,
    progress,
    results,
    schedule_campaign,
    send_test,
)
from shared.audit import record
from shared.core import Core
from shared.errors import DomainError, FieldError, InvalidInput
from shared.promotions.definitions import list_promotions
from shared.promotions.terms import PERSONAL
from shared.segments import get_segment, list_segments
from shared.support import find_members
from webapp.console.campaign_form import VARIANT_CODES, campaign_args, field_name, schedule_time
from webapp.console.pages import _, current_staff, page
from webapp.console.segments import MARKETING_EDIT, MARKETING_READ

REAL_MEMBER_PREVIEW = MARKETING_EDIT  # analysts read campaigns but have no member tools


class NotAllowed(DomainError):
    status = 403
    title = "Not allowed"


def finished(figures: dict[str, Any]) -> bool:
    """Nothing more will happen: expansion over and every queued message settled (or never started)."""
    over = figures["status"] in (DONE, CANCELLED) and figures["settled"] == figures["messages"]
    return bool(over or figures["status"] == DRAFT)


class CampaignsController(Controller):
    path = "/console/campaigns"
    opt = {"roles": MARKETING_READ}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        async with core.reading() as session:
            campaigns = await list_campaigns(session)
            segments = {s.id: s.name for s in await list_segments(session)}
        return page(
            request,
            "console/campaigns/index.html.j2",
            campaigns=campaigns,
            segments=segments,
            can_edit=current_staff(request).role in MARKETING_EDIT,
        )

    async def _form(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        values: dict[str, Any],
        problem: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        async with core.reading() as session:
            segments = await list_segments(session)
            personal = [p for p in await list_promotions(session, True) if p.kind == PERSONAL]
        fields = {field_name(e.field): e.message for e in problem.errors} if problem else {}
        return page(
            request,
            "console/campaigns/new.html.j2",
            status_code=status_code,
            segments=segments,
            personal_promotions=personal,
            values=values,
            problem=problem,
            fields=fields,
            channels=CAMPAIGN_CHANNELS,
            codes=VARIANT_CODES,
        )

    @get("/new", opt={"roles": MARKETING_EDIT})
    async def new(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        values = {
            "segment_id": request.query_params.get("segment_id", ""),
            "control_percent": "10",
            "attribution_days": "7",
            "channel_1": "telegram",
            "channel_2": "sms",
            "A_weight": "1",
            "B_weight": "1",
        }
        return await self._form(request, core, values)

    @post("/", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template | Redirect:
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if k != "_csrf_token"}
        try:
            args = campaign_args(form)
            async with core.transaction() as session:
                campaign = await create_campaign(session, now=core.clock.now(), **args)
                record(
                    session,
                    core.clock,
                    current_staff(request).email,
                    "campaign_created",
                    ("campaign", str(campaign.id)),
                    after={
                        "name": campaign.name,
                        "segment_id": campaign.segment_id,
                        "channels": campaign.channels,
                        "variants": campaign.variants,
                        "control_percent": campaign.control_percent,
                        "promotion_id": campaign.promotion_id,
                    },
                )
        except DomainError as exc:
            return await self._form(request, core, values, problem=exc, status_code=exc.status)
        return Redirect(f"/console/campaigns/{campaign.id}", status_code=303)

    @get("/{campaign_id:int}")
    async def show(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], campaign_id: FromPath[int]
    ) -> Template:
        async with core.reading() as session:
            campaign = await get_campaign(session, campaign_id)
            segment = await get_segment(session, campaign.segment_id)
            cost = await estimate(session, core.settings, campaign_id)
            figures = await self._figures(session, campaign_id)
        return page(
            request,
            "console/campaigns/show.html.j2",
            campaign=campaign,
            segment=segment,
            estimate=cost,
            can_edit=current_staff(request).role in MARKETING_EDIT,
            zone=core.rules.zone,
            real_preview=current_staff(request).role in REAL_MEMBER_PREVIEW,
            **figures,
        )

    @staticmethod
    async def _figures(session: Any, campaign_id: int) -> dict[str, Any]:
        bar = await progress(session, campaign_id)
        return {
            "progress": bar,
            "results": await results(session, campaign_id),
            "attribution": await attribution(session, campaign_id),
            "finished": finished(bar),
        }

    @get("/{campaign_id:int}/progress")
    async def progress_fragment(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        campaign_id: FromPath[int],
    ) -> Template:
        """Polled every second while sending; the answer drops the trigger once nothing is left to do."""
        async with core.reading() as session:
            figures = await self._figures(session, campaign_id)
        return page(request, "console/campaigns/progress.html.j2", campaign_id=campaign_id, **figures)

    @post("/{campaign_id:int}/preview", status_code=200)
    async def preview_fragment(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        campaign_id: FromPath[int],
    ) -> Template:
        """On the sample member by default; on a real member (named by card, phone or e-mail) only
        for marketers and admins, and each such preview is in the audit log."""
        form = await request.form()
        query = str(form.get("member") or "").strip()[:120]
        channel, variant = str(form.get("channel") or "")[:16], str(form.get("variant") or "")[:16] or None
        staff = current_staff(request)
        try:
            if not query:
                async with core.reading() as session:
                    rendered = await preview(
                        session,
                        core.settings,
                        campaign_id,
                        None,
                        channel,
                        variant,
                        language=str(form.get("language") or "ru"),
                    )
            elif staff.role not in REAL_MEMBER_PREVIEW:
                raise NotAllowed(
                    "Analysts preview campaigns on the sample member only.",
                    [FieldError("member", "leave empty: previews on real members are for marketers")],
                )
            else:
                async with core.transaction() as session:
                    await get_campaign(session, campaign_id)
                    found = await find_members(session, core.rules, query, limit=1)
                    if not found:
                        raise InvalidInput("No member matches.", [FieldError("member", "no member found")])
                    member_id: uuid.UUID = found[0].id
                    rendered = await preview(session, core.settings, campaign_id, member_id, channel, variant)
                    record(
                        session,
                        core.clock,
                        staff.email,
                        "campaign_previewed",
                        ("campaign", str(campaign_id)),
                        after={
                            "member_id": str(member_id),
                            "channel": rendered["channel"],
                            "variant": rendered["variant"],
                        },
                    )
        except DomainError as exc:
            return page(
                request, "console/campaigns/preview.html.j2", status_code=exc.status, problem=exc, rendered=None
            )
        return page(
            request,
            "console/campaigns/preview.html.j2",
            problem=None,
            rendered=rendered,
            on_sample=not query,
            part_cost=core.settings.sms.part_cost_minor,
        )

    @post("/{campaign_id:int}/test", opt={"roles": MARKETING_EDIT}, status_code=200)
    async def test_send(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], campaign_id: FromPath[int]
    ) -> Template:
        form = await request.form()
        channel, address = str(form.get("channel") or ""), str(form.get("address") or "").strip()
        try:
            async with core.transaction() as session:
                await send_test(
                    session,
                    core.settings,
                    campaign_id,
                    channel,
                    address,
                    core.clock.now(),
                    variant=str(form.get("variant") or "") or None,
                )
                record(
                    session,
                    core.clock,
                    current_staff(request).email,
                    "campaign_test_sent",
                    ("campaign", str(campaign_id)),
                    after={"channel": channel, "address": address[:64]},
                )
        except DomainError as exc:
            return page(request, "console/campaigns/notice.html.j2", status_code=exc.status, problem=exc, text=None)
        return page(
            request,
            "console/campaigns/notice.html.j2",
            problem=None,
            text=_(
                request,
                "Test {channel} message queued to {address}; it goes out within seconds.",
                channel=channel,
                address=address,
            ),
        )

    @post("/{campaign_id:int}/schedule", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def schedule(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], campaign_id: FromPath[int]
    ) -> Redirect:
        form = await request.form()
        now = core.clock.now()
        at = schedule_time(form, core.rules.zone, now)
        async with core.transaction() as session:
            before = await get_campaign(session, campaign_id)
            after = await schedule_campaign(session, campaign_id, at, now)
            record(
                session,
                core.clock,
                current_staff(request).email,
                "campaign_scheduled",
                ("campaign", str(campaign_id)),
                before={"status": before.status},
                after={"status": after.status, "at": after.scheduled_at.isoformat() if after.scheduled_at else None},
            )
        return Redirect(f"/console/campaigns/{campaign_id}", status_code=303)

    @post("/{campaign_id:int}/cancel", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def cancel(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], campaign_id: FromPath[int]
    ) -> Redirect:
        async with core.transaction() as session:
            before = await get_campaign(session, campaign_id)
            await cancel_campaign(session, campaign_id, core.clock.now())
            record(
                session,
                core.clock,
                current_staff(request).email,
                "campaign_cancelled",
                ("campaign", str(campaign_id)),
                before={"status": before.status},
                after={"status": CANCELLED},
            )
        return Redirect(f"/console/campaigns/{campaign_id}", status_code=303)
