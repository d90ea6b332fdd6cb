"""Program settings: tiers, periods, cap, welcome and birthday rules, validated like the program file,
with a preview of how many members would change tier; saving makes a new version in force."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Template

from shared.core import Core
from shared.errors import FieldError, FieldErrors, InvalidInput
from shared.inputs import CONTROL_MESSAGE, has_control
from shared.program import ProgramRules
from shared.program_versions import newest_version, preview_tier_moves, rules_data, save_rules, validate_rules
from webapp.console.pages import EDIT_PROGRAM, READ_REPORTS, current_staff, page

# form field -> path in the rules
SIMPLE_FIELDS = {
    "pending_hours": ("pending_hours",),
    "expiry_days": ("expiry_days",),
    "redemption_cap_percent": ("redemption_cap_percent",),
    "welcome_points": ("welcome", "points"),
    "birthday_days_before": ("birthday", "days_before"),
    "birthday_percent": ("birthday", "accrual_percent"),
}


def rules_from_form(current: ProgramRules, form: Any) -> ProgramRules:
    """The current rules with the form's numbers in place, through the program file's validation."""
    data = rules_data(current)
    problems = FieldErrors()

    def number(name: str, fallback: int) -> int:
        raw = str(form.get(name, fallback)).strip().replace(" ", "")
        try:
            value = int(raw)
        except ValueError:
            problems.add(name, "a whole number")
            return fallback
        if abs(value) > 10**12:  # thresholds are major units: a trillion roubles is beyond any program
            problems.add(name, "too large")
            return fallback
        return value

    for name, path in SIMPLE_FIELDS.items():
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = number(name, target[path[-1]])
    for tier in data["tiers"]:
        tier["threshold"] = number(f"tier_{tier['code']}_threshold", tier["threshold"])
        tier["accrual_percent"] = number(f"tier_{tier['code']}_percent", tier["accrual_percent"])
    problems.raise_if_any("Some settings are not numbers.")
    return validate_rules(data)


class ProgramController(Controller):
    path = "/console/program"
    opt = {"roles": READ_REPORTS}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    async def _form(self, request: Request[Any, Any, Any], core: Core, rules: ProgramRules, **extra: Any) -> Template:
        async with core.reading() as session:
            version = await newest_version(session)
        staff = current_staff(request)
        return page(
            request,
            "console/program.html.j2",
            rules=rules,
            version=version,
            can_edit=staff.role in EDIT_PROGRAM,
            **extra,
        )

    @get("/")
    async def show(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        return await self._form(request, core, core.rules, saved=request.query_params.get("saved"))

    @post("/preview", opt={"roles": EDIT_PROGRAM})
    async def preview(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        try:
            rules = rules_from_form(core.rules, await request.form())
        except InvalidInput as exc:
            return page(request, "console/program_preview.html.j2", status_code=422, moves=None, problem=exc)
        async with core.reading() as session:
            moves = await preview_tier_moves(session, rules, core.clock.now())
        return page(request, "console/program_preview.html.j2", moves=moves, rules=rules, problem=None)

    @post("/", opt={"roles": EDIT_PROGRAM}, status_code=200)
    async def save(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        form = await request.form()
        try:
            rules = rules_from_form(core.rules, form)
        except InvalidInput as exc:
            return await self._form(request, core, core.rules, problem=exc, status_code=422)
        comment = str(form.get("comment") or "").strip()[:500] or None
        if comment is not None and has_control(comment, multiline=True):
            problem = InvalidInput("The comment has control characters.", [FieldError("comment", CONTROL_MESSAGE)])
            return await self._form(request, core, core.rules, problem=problem, status_code=422)
        async with core.transaction() as session:
            moves = await preview_tier_moves(session, rules, core.clock.now())
            version = await save_rules(
                session, core.clock, core.rules, rules, actor=current_staff(request).email, comment=comment
            )
        core.use_rules(version.id, rules)
        return await self._form(request, core, rules, saved=version.id, moves=moves)
