"""The segment builder: filters over tier, spend, purchases, recency, birthday, registration, RFM and
reachability, a live member count while they change, and saved segments promotions and campaigns use."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from shared.audit import record
from shared.core import Core
from shared.errors import DomainError
from shared.segments import RFM_SEGMENTS, count_members, get_segment, list_segments, rfm_distribution, save_segment
from shared.segments.definition import CHANNELS
from shared.segments.rfm import TITLES
from shared.vocabulary import REGISTRATION_SOURCES
from webapp.console.pages import EDIT_PROGRAM, READ_REPORTS, current_staff, page
from webapp.console.segment_form import definition_from_form, form_from_definition, raw_form

MARKETING_EDIT = EDIT_PROGRAM  # marketer and admin edit and send; analysts read
MARKETING_READ = READ_REPORTS


def _choices(core: Core) -> dict[str, Any]:
    return {
        "tiers": [(t.code, t.title("en")) for t in core.rules.tiers],
        "rfm": [(k, TITLES[k][1]) for k in RFM_SEGMENTS],
        "channels": CHANNELS,
        "registration_channels": REGISTRATION_SOURCES,
    }


class SegmentsController(Controller):
    path = "/console/segments"
    opt = {"roles": MARKETING_READ}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        async with core.reading() as session:
            segments = await list_segments(session)
            rfm = await rfm_distribution(session, core.rules, core.clock.now(), language="en")
        return page(
            request,
            "console/segments/index.html.j2",
            segments=segments,
            rfm=rfm,
            can_edit=current_staff(request).role in MARKETING_EDIT,
        )

    def _builder(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        *,
        values: dict[str, Any],
        name: str,
        segment_id: int | None,
        count: int | None,
        problem: DomainError | None = None,
        status_code: int = 200,
        saved: str | None = None,
    ) -> Template:
        fields = {e.field: e.message for e in problem.errors} if problem else {}
        return page(
            request,
            "console/segments/builder.html.j2",
            status_code=status_code,
            values=values,
            segment_name=name,
            segment_id=segment_id,
            count=count,
            problem=problem,
            fields=fields,
            saved=saved,
            can_edit=current_staff(request).role in MARKETING_EDIT,
            **_choices(core),
        )

    @get("/new", opt={"roles": MARKETING_EDIT})
    async def new(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        async with core.reading() as session:
            count = await count_members(session, core.rules, {}, core.clock.now())
        return self._builder(request, core, values=form_from_definition({}), name="", segment_id=None, count=count)

    @get("/{segment_id:int}")
    async def show(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], segment_id: FromPath[int]
    ) -> Template:
        async with core.reading() as session:
            segment = await get_segment(session, segment_id)
            count = await count_members(session, core.rules, segment.definition, core.clock.now())
        return self._builder(
            request,
            core,
            values=form_from_definition(segment.definition),
            name=segment.name,
            segment_id=segment.id,
            count=count,
            saved=request.query_params.get("saved"),
        )

    @post("/count", status_code=200)
    async def count(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        """The live count (htmx, on every filter change); bad filters come back as field messages."""
        try:
            raw = definition_from_form(await request.form())
            async with core.reading() as session:
                count = await count_members(session, core.rules, raw, core.clock.now())
        except DomainError as exc:
            return page(request, "console/segments/count.html.j2", status_code=exc.status, count=None, problem=exc)
        return page(request, "console/segments/count.html.j2", count=count, problem=None)

    @post("/", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template | Redirect:
        return await self._save(request, core, None)

    @post("/{segment_id:int}", opt={"roles": MARKETING_EDIT}, status_code=303)
    async def update(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        segment_id: FromPath[int],
    ) -> Template | Redirect:
        return await self._save(request, core, segment_id)

    async def _save(self, request: Request[Any, Any, Any], core: Core, segment_id: int | None) -> Template | Redirect:
        form = await request.form()
        name = str(form.get("name") or "").strip()[:200]
        try:
            raw = definition_from_form(form)
            async with core.transaction() as session:
                before = (await get_segment(session, segment_id)) if segment_id is not None else None
                saved = await save_segment(session, core.rules, name, raw, core.clock.now(), segment_id=segment_id)
                record(
                    session,
                    core.clock,
                    current_staff(request).email,
                    "segment_created" if before is None else "segment_changed",
                    ("segment", str(saved.id)),
                    before={"name": before.name, "definition": before.definition} if before else None,
                    after={"name": saved.name, "definition": saved.definition, "members": saved.member_count},
                )
        except DomainError as exc:
            if exc.status == 404:
                raise
            return self._builder(
                request,
                core,
                values=raw_form(form),
                name=name,
                segment_id=segment_id,
                count=None,
                problem=exc,
                status_code=exc.status,
            )
        return Redirect(f"/console/segments/{saved.id}?saved=1", status_code=303)
