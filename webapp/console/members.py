"""Member tools for support: find a member, see the ledger, adjust points with a reason, merge a duplicate;
export everything held about a member and erase the person (personal-data requests)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import select

from shared import audit
from shared.audit import recent
from shared.core import Core
from shared.db.models import Entry, Member
from shared.errors import FieldError, InvalidInput
from shared.inputs import CONTROL_MESSAGE, has_control, strip_control
from shared.phones import mask_phone
from shared.privacy import erase_member, export_member, is_erased
from shared.support import adjust_points as adjust
from shared.support import find_members, merge_members
from webapp.console.pages import MEMBER_TOOLS, current_staff, page


async def _load(core: Core, member_id: uuid.UUID) -> tuple[Member, list[Entry], list[Any]]:
    async with core.reading() as session:
        member = await session.get(Member, member_id)
        if member is None:
            raise NotFoundException("This member does not exist (merged or never registered).")
        entries = list(
            (
                await session.execute(
                    select(Entry).where(Entry.member_id == member_id).order_by(Entry.id.desc()).limit(50)
                )
            ).scalars()
        )
        history = await recent(session, limit=20, target=("member", str(member_id)))
    return member, entries, history


def _points(raw: Any) -> int:
    try:
        return int(str(raw or "").strip().replace(" ", "").replace("+", "")[:20])
    except ValueError as exc:
        raise InvalidInput(
            "Points must be a whole number, e.g. 150 or -150.", [FieldError("points", "a whole number")]
        ) from exc


class MembersController(Controller):
    path = "/console/members"
    opt = {"roles": MEMBER_TOOLS}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def search(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], q: FromQuery[str] = ""
    ) -> Template:
        async with core.reading() as session:
            found = await find_members(session, core.rules, strip_control(q[:120]))
        template = (
            "console/members/results.html.j2"
            if request.headers.get("hx-target") == "results"
            else "console/members/search.html.j2"
        )
        return page(request, template, q=q, found=found, mask=mask_phone)

    @get("/{member_id:uuid}")
    async def show(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], member_id: FromPath[uuid.UUID]
    ) -> Template:
        member, entries, history = await _load(core, member_id)
        return page(
            request,
            "console/members/show.html.j2",
            member=member,
            entries=entries,
            history=history,
            request_id=secrets.token_urlsafe(12),
            tier=core.rules.tier(member.tier_code),
            erased=is_erased(member),
        )

    @get("/{member_id:uuid}/export.json")
    async def export(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        member_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Everything held about the member as a JSON download; the export itself is audit-logged."""
        async with core.transaction() as session:
            member = await session.get(Member, member_id)
            if member is None:
                raise NotFoundException("This member does not exist (merged or never registered).")
            data = await export_member(session, member, core.clock.now())
            audit.record(session, core.clock, current_staff(request).email, "member.export", ("member", str(member_id)))
        return Response(
            data,
            headers={
                "Content-Disposition": f'attachment; filename="member-{member_id}.json"',
                "Cache-Control": "no-store",
            },
        )

    @get("/{member_id:uuid}/erase")
    async def confirm_erase(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        member_id: FromPath[uuid.UUID],
    ) -> Template:
        """The confirm step: what goes, what stays, and why."""
        member, _, _ = await _load(core, member_id)
        return page(request, "console/members/erase.html.j2", member=member, erased=is_erased(member))

    @post("/{member_id:uuid}/erase", status_code=303)
    async def erase(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], member_id: FromPath[uuid.UUID]
    ) -> Redirect:
        form = await request.form()
        if form.get("confirm") != "yes":
            raise InvalidInput(
                "Tick the box to confirm the erasure; it cannot be undone.", [FieldError("confirm", "required")]
            )
        async with core.transaction() as session:
            await erase_member(
                session,
                core.clock,
                member_id,
                actor=current_staff(request).email,
                reason=str(form.get("reason") or "")[:300],
            )
        return Redirect(f"/console/members/{member_id}", status_code=303)

    @post("/{member_id:uuid}/adjust", status_code=303)
    async def adjust(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], member_id: FromPath[uuid.UUID]
    ) -> Redirect:
        form = await request.form()
        async with core.transaction() as session:
            await adjust(
                session,
                core.clock,
                core.rules,
                member_id,
                _points(form.get("points")),
                str(form.get("reason") or ""),
                actor=current_staff(request).email,
                request_id=str(form.get("request_id") or ""),
            )
        return Redirect(f"/console/members/{member_id}", status_code=303)

    @post("/{member_id:uuid}/merge", status_code=303)
    async def merge(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], member_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Merge the duplicate named in the form (card number or phone) into this member."""
        form = await request.form()
        if form.get("confirm") != "yes":
            raise InvalidInput(
                "Tick the box to confirm the merge; it cannot be undone.", [FieldError("confirm", "required")]
            )
        reason = str(form.get("reason") or "")[:300]
        if has_control(reason, multiline=True):
            raise InvalidInput("The reason has control characters.", [FieldError("reason", CONTROL_MESSAGE)])
        async with core.transaction() as session:
            found = await find_members(session, core.rules, strip_control(str(form.get("duplicate") or "")[:120]))
            if len(found) != 1:
                raise InvalidInput(
                    "Name the duplicate by its card number or phone (exactly one member).",
                    [FieldError("duplicate", f"{len(found)} members match")],
                )
            await merge_members(
                session,
                core.clock,
                core.rules,
                found[0].id,
                member_id,
                actor=current_staff(request).email,
                reason=reason,
            )
        return Redirect(f"/console/members/{member_id}", status_code=303)
