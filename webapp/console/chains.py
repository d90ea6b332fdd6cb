"""Trigger chains: "no purchase for N days -> message -> wait -> a bonus if still no purchase",
created from one form, listed with their members per state, paused and resumed; and the results of
the monthly digest, the other trigger."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from notifications.campaigns import CAMPAIGN_CHANNELS, create_chain, digest_results, list_chains, set_chain_active
from shared.audit import record
from shared.core import Core
from shared.errors import DomainError, FieldErrors
from shared.segments import list_segments
from shared.vocabulary import LANGUAGES
from webapp.console.campaign_form import form_int
from webapp.console.pages import current_staff, page
from webapp.console.segments import MARKETING_EDIT, MARKETING_READ


def chain_args(form: Any) -> dict[str, Any]:
    """One message step (a cascade with ru/en texts), an optional wait, an optional bonus."""
    problems = FieldErrors()
    channels = [c for c in (str(form.get(f"channel_{i}") or "").strip() for i in (1, 2, 3)) if c]
    templates: dict[str, Any] = {}
    for channel in channels:
        templates[channel] = {"ru": {"text": str(form.get(f"{channel}_ru") or "").strip()}}
        if english := str(form.get(f"{channel}_en") or "").strip():
            templates[channel]["en"] = {"text": english}
        for language in LANGUAGES:
            subject = str(form.get(f"{channel}_{language}_subject") or "").strip()
            if subject and language in templates[channel]:
                templates[channel][language]["subject"] = subject
    steps: list[dict[str, Any]] = [{"type": "message", "channels": channels, "templates": templates}]
    wait, points = form_int(problems, form, "wait_days", None), form_int(problems, form, "bonus_points", None)
    if wait is not None:
        steps.append({"type": "wait", "days": wait})
    if points is not None:
        steps.append({"type": "bonus", "points": points, "expires_days": form_int(problems, form, "expires_days", 30)})
    segment = form_int(problems, form, "segment_id", None)
    args = {
        "name": str(form.get("name") or "").strip()[:200],
        "steps": steps,
        "segment_id": segment or None,
        "no_purchase_days": form_int(problems, form, "no_purchase_days", 60),
    }
    problems.raise_if_any("Some fields are not numbers.")
    return args


def _field(service_field: str) -> str:
    """steps[0].templates.sms.ru -> sms_ru; steps[1].days -> wait_days; steps[2].points -> bonus_points."""
    if ".templates." in service_field:
        return service_field.split(".templates.", 1)[1].replace(".", "_")
    for suffix, name in (
        (".days", "wait_days"),
        (".points", "bonus_points"),
        (".expires_days", "expires_days"),
        (".channels", "channel_1"),
    ):
        if service_field.endswith(suffix):
            return name
    return service_field


class ChainsController(Controller):
    path = "/console/chains"
    opt = {"roles": MARKETING_READ}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        values: dict[str, Any],
        problem: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        async with core.reading() as session:
            chains = await list_chains(session)
            segments = await list_segments(session)
            digests = await digest_results(session)
        fields = {_field(e.field): e.message for e in problem.errors} if problem else {}
        return page(
            request,
            "console/chains.html.j2",
            status_code=status_code,
            chains=chains,
            digests=digests,
            digest=core.settings.digest,
            segments=segments,
            values=values,
            problem=problem,
            fields=fields,
            channels=CAMPAIGN_CHANNELS,
            can_edit=current_staff(request).role in MARKETING_EDIT,
        )

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        values = {
            "no_purchase_days": "60",
            "wait_days": "7",
            "bonus_points": "200",
            "expires_days": "30",
            "channel_1": "telegram",
            "channel_2": "sms",
        }
        return await self._page(request, core, values)

    @post("/", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template | Redirect:
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if k != "_csrf_token"}
        try:
            args = chain_args(form)
            async with core.transaction() as session:
                chain_id = await create_chain(session, now=core.clock.now(), **args)
                record(
                    session,
                    core.clock,
                    current_staff(request).email,
                    "chain_created",
                    ("chain", str(chain_id)),
                    after=args,
                )
        except DomainError as exc:
            return await self._page(request, core, values, problem=exc, status_code=exc.status)
        return Redirect("/console/chains", status_code=303)

    @post("/{chain_id:int}/active", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def toggle(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], chain_id: FromPath[int]
    ) -> Redirect:
        active = (await request.form()).get("active") == "yes"
        async with core.transaction() as session:
            before = await set_chain_active(session, chain_id, active)
            record(
                session,
                core.clock,
                current_staff(request).email,
                "chain_paused" if not active else "chain_resumed",
                ("chain", str(chain_id)),
                before={"active": before},
                after={"active": active},
            )
        return Redirect("/console/chains", status_code=303)
