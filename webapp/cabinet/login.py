"""Sign-in by phone and a one-time code, registration of new phones, Telegram Mini App, logout."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select, update

from bot.init_data import InitDataError, validate_init_data
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from shared.errors import InvalidInput
from shared.inputs import text_problem
from shared.login_codes import (
    IssueStatus,
    VerifyStatus,
    allowed_calling_codes,
    calling_code,
    issue_code,
    verify_code,
)
from shared.members import Registration, find_by_phone, register
from shared.phones import mask_phone, normalize_phone
from shared.ratelimit import rate_limits
from shared.vocabulary import CHANNELS, LANGUAGES
from webapp.cabinet.session_cookie import (
    PHONE_COOKIE,
    SESSION_COOKIE,
    cleared,
    phone_cookie,
    read_phone,
    read_session,
    session_cookie,
)
from webapp.cabinet.views import language_of, render
from webapp.deps import CoreDep, SettingsDep
from webapp.htmx import navigate

log = logging.getLogger("loyalty.cabinet")
HOME = "/cabinet/card"


def signed_in(request: Request[Any, Any, Any], member: Member, core: Core, settings: Settings) -> Response[Any]:
    """Land on the card with a fresh session; htmx navigates the whole page there."""
    cookies = [
        session_cookie(settings, member.id, core.clock.now(), member.session_generation),
        cleared(settings, PHONE_COOKIE),
    ]
    return navigate(request, HOME, cookies=cookies)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def _guesses_key(ip: str) -> str:
    return "code-guess:ip:" + ip


class LoginController(Controller):
    path = "/cabinet"
    include_in_schema = False

    @get("/login")
    async def login_page(self, request: HTMXRequest, core: CoreDep, settings: SettingsDep) -> Template | Redirect:
        now = core.clock.now()
        if read_session(settings, request.cookies.get(SESSION_COOKIE), now) is not None:
            return Redirect(HOME, status_code=303)
        chosen = request.query_params.get("lang")
        cookies = (
            [
                Cookie(
                    key="lang",
                    value=chosen,
                    max_age=365 * 86400,
                    path="/",
                    samesite="lax",
                    secure=settings.cabinet.cookie_secure,
                )
            ]
            if chosen in LANGUAGES
            else []
        )
        return render(request, "login", step="phone", phone="", error=None, cookies=cookies)

    @post("/login/code", status_code=200)
    async def send_code(self, request: HTMXRequest, core: CoreDep, settings: SettingsDep) -> Template:
        form = await request.form()
        raw = str(form.get("phone", "")).strip()
        try:
            phone = normalize_phone(raw, core.rules.phone_region)
        except InvalidInput:
            return render(request, "login", step="phone", phone=raw[:40], error="bad_phone", status=422)
        allowed = allowed_calling_codes(settings.cabinet.code_countries, core.rules.phone_region)
        if calling_code(phone) not in allowed:
            return render(
                request,
                "login",
                step="phone",
                phone=phone,
                error="country",
                status=422,
                countries=", ".join(f"+{code}" for code in sorted(allowed)),
            )
        async with core.transaction() as db:
            result = await issue_code(
                db, settings.cabinet, settings.secret, phone, client_ip(request), core.clock.now(), language_of(request)
            )
        log.info("login code for %s: %s", mask_phone(phone), result.status)
        if result.status is IssueStatus.LIMITED:
            return render(request, "login", step="phone", phone=phone, error="limited", status=429)
        return render(
            request,
            "login",
            step="code",
            phone=phone,
            resend_after=result.retry_after,
            error=None if result.status is IssueStatus.SENT else "wait",
            seconds=result.retry_after,
            status=200 if result.status is IssueStatus.SENT else 429,
        )

    @post("/login/verify", status_code=200)
    async def check_code(self, request: HTMXRequest, core: CoreDep, settings: SettingsDep) -> Template | Response[Any]:
        form = await request.form()
        try:
            phone = normalize_phone(str(form.get("phone", "")), core.rules.phone_region)
        except InvalidInput:
            return render(request, "login", step="phone", phone="", error="bad_phone", status=422)
        code = str(form.get("code", "")).strip()
        now, ip, limits = core.clock.now(), client_ip(request), rate_limits(core)
        guesses = await limits.peek(_guesses_key(ip), now)
        if guesses.hits >= settings.cabinet.guesses_per_ip_hour:
            minutes = (guesses.retry_after(now) + 59) // 60
            page = render(
                request, "login", step="code", phone=phone, error="too_many_guesses", seconds=minutes, status=429
            )
            page.headers["Retry-After"] = str(guesses.retry_after(now))
            return page
        async with core.transaction() as db:
            result = await verify_code(db, settings.cabinet, settings.secret, phone, code[:12], now)
            member = await find_by_phone(db, phone) if result.status is VerifyStatus.OK else None
        if result.status is not VerifyStatus.OK:  # counted after the transaction (SQLite: one writer)
            await limits.hit(_guesses_key(ip), 3600, now)
        if result.status is VerifyStatus.WRONG:
            return render(
                request, "login", step="code", phone=phone, error="wrong_code", left=result.attempts_left, status=422
            )
        if result.status is VerifyStatus.EXPIRED:
            return render(request, "login", step="phone", phone=phone, error="code_expired", status=422)
        if member is not None:
            return signed_in(request, member, core, settings)
        return render(
            request,
            "register",
            phone=phone,
            channels=CHANNELS,
            error=None,
            cookies=[phone_cookie(settings, phone, now)],
        )

    @post("/register", status_code=200)
    async def join(self, request: HTMXRequest, core: CoreDep, settings: SettingsDep) -> Template | Response[Any]:
        phone = read_phone(settings, request.cookies.get(PHONE_COOKIE), core.clock.now())
        if phone is None:
            return render(request, "login", step="phone", phone="", error="code_expired", status=422)
        form = await request.form()
        if form.get("rules") != "yes":
            return render(request, "register", phone=phone, channels=CHANNELS, error="rules_required", status=422)
        first_name = str(form.get("first_name", "")).strip()
        if text_problem(first_name, 100) is not None:
            return render(request, "register", phone=phone, channels=CHANNELS, error="bad_name", status=422)
        reg = Registration(
            phone=phone,
            first_name=first_name or None,
            source="web",
            language=language_of(request),
            referral="cabinet",
            consents={channel: form.get(f"consent_{channel}") == "yes" for channel in CHANNELS},
            consent_method="web-checkbox",
        )
        async with core.transaction() as db:
            member, _ = await register(db, core.clock, core.rules, reg)
        return signed_in(request, member, core, settings)

    @get("/telegram")
    async def telegram_page(self, request: HTMXRequest) -> Template:
        return render(request, "telegram", error=None)

    @post("/telegram", status_code=200)
    async def telegram_login(
        self, request: HTMXRequest, core: CoreDep, settings: SettingsDep
    ) -> Template | Response[Any]:
        """A Mini App opened from the bot: initData proves the Telegram user; their linked card signs in."""
        form = await request.form()
        token = settings.telegram.token
        try:
            if token is None:
                raise InitDataError("no bot configured")
            fields = validate_init_data(
                str(form.get("init_data", "")),
                token.get_secret_value(),
                settings.cabinet.init_data_max_age,
                core.clock.now().timestamp(),
            )
            user_id = int(fields["user"]["id"])
        except (InitDataError, KeyError, TypeError, ValueError):
            return render(request, "telegram", error="telegram_failed", status=403)
        async with core.reading() as db:
            member = (await db.execute(select(Member).where(Member.telegram_user_id == user_id))).scalar_one_or_none()
        if member is None:
            return render(request, "telegram", error="telegram_unlinked", status=404)
        return signed_in(request, member, core, settings)

    @post("/logout", status_code=200)
    async def logout(self, request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep) -> Response[Any]:
        """Ends this session and every copy of it: the member's session generation moves on."""
        session = read_session(settings, request.cookies.get(SESSION_COOKIE), core.clock.now())
        if session is not None:
            async with core.transaction() as db:
                await db.execute(
                    update(Member)
                    .where(Member.id == session.member_id, Member.session_generation == session.generation)
                    .values(session_generation=Member.session_generation + 1)
                )
        cookies = [cleared(settings, SESSION_COOKIE), cleared(settings, PHONE_COOKIE)]
        # the page script empties the offline cache; Clear-Site-Data does it where supported
        headers = {"Clear-Site-Data": '"cache"'}
        return navigate(request, "/cabinet/login", cookies=cookies, headers=headers)
