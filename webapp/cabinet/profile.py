"""My purchases (charts) and the profile: name, birth date once, e-mail with a confirmation link,
consents per channel with when they were given, language; the browser's push opt-in; and the shopper's
own data: "download my data" (JSON) and "delete my account" (confirmed by a one-time code)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from notifications.push_subscriptions import push_policy, save_subscription
from notifications.vapid_keys import vapid_public_key
from shared import signing
from shared.core import Core
from shared.errors import Conflict, InvalidInput
from shared.events import EventKind, emit
from shared.i18n import currency_symbol, format_money
from shared.inputs import text_problem
from shared.ledger import lock_member
from shared.login_codes import IssueStatus, VerifyStatus, issue_code, verify_code
from shared.members import EMAIL_RE, consents_of, mark_updated, set_consent
from shared.privacy import erase_member, export_member
from shared.vocabulary import CHANNELS, LANGUAGES
from webapp.cabinet.auth import SignedIn, provide_member
from webapp.cabinet.login import client_ip
from webapp.cabinet.session_cookie import PHONE_COOKIE, SESSION_COOKIE, cleared
from webapp.cabinet.spend_charts import bar_chart_svg, spend_summary
from webapp.cabinet.texts import translator
from webapp.cabinet.views import local_time, render
from webapp.deps import CoreDep, SettingsDep

EMAIL_LINK_HOURS = 24


async def profile_context(request: Request[Any, Any, Any], member: SignedIn, core: Core) -> dict[str, Any]:
    async with core.reading() as db:
        consents = await consents_of(db, member.id)
    fmt = "%d.%m.%Y" if member.language == "ru" else "%d %b %Y"
    return {
        "channels": CHANNELS,
        "consents": {
            channel: {"granted": c.granted, "date": local_time(request, member, c.changed_at, fmt)}
            for channel, c in consents.items()
        },
        "languages": LANGUAGES,
    }


class ProfileController(Controller):
    path = "/cabinet"
    include_in_schema = False
    dependencies = {"member": Provide(provide_member)}  # noqa: RUF012 - Litestar reads a class attribute

    @get("/purchases")
    async def purchases(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        t = translator(member.language)
        zone = ZoneInfo(member.time_zone) if member.time_zone else core.rules.zone
        async with core.reading() as db:
            summary = await spend_summary(db, member.id, core.clock.now(), zone, member.language, t("category_other"))
        currency = core.rules.currency
        return render(
            request,
            "purchases",
            member=member,
            summary=summary,
            total=format_money(summary.total, currency, member.language),
            by_month=bar_chart_svg(summary.by_month, t("by_month"), currency_symbol(currency, member.language)),
            by_category=bar_chart_svg(
                summary.by_category, t("by_category"), currency_symbol(currency, member.language)
            ),
        )

    @get("/profile")
    async def profile(
        self, request: HTMXRequest, core: CoreDep, member: SignedIn, email_confirmed: FromQuery[bool] = False
    ) -> Template:
        return render(
            request,
            "profile",
            member=member,
            notice="email_confirmed" if email_confirmed else None,
            error=None,
            **await profile_context(request, member, core),
        )

    @post("/profile", status_code=200)
    async def save_profile(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        form = await request.form()
        error, birth = None, None
        raw_birth = str(form.get("birth_date", "")).strip()
        if raw_birth and member.birth_date is None:
            try:
                birth = date.fromisoformat(raw_birth)
            except ValueError:
                error = "bad_date"
            today = core.clock.now().astimezone(core.rules.zone).date()
            if birth is not None and not date(1900, 1, 1) <= birth <= today:
                error, birth = "bad_date", None
        language = str(form.get("language", member.language))
        names = [str(form.get(key, "")).strip() for key in ("first_name", "last_name")]
        if any(text_problem(name, 100) is not None for name in names):
            error = "bad_name"
        if error is None:
            async with core.transaction() as db:
                row = await lock_member(db, member.id)
                fields = ("first_name", "last_name", "language", "birth_date")
                before = [getattr(row, name) for name in fields]
                row.first_name, row.last_name = (name or None for name in names)
                if language in LANGUAGES:
                    row.language = language
                if birth is not None and row.birth_date is None:  # set once
                    row.birth_date, row.birth_mmdd = birth, birth.month * 100 + birth.day
                row.updated_at = core.clock.now()
                changed = [name for name, old in zip(fields, before, strict=True) if getattr(row, name) != old]
                if changed:
                    await mark_updated(db, row, changed, row.updated_at)
            member = row
        return render(
            request,
            "profile",
            member=member,
            notice=None if error else "saved",
            error=error,
            status=422 if error else 200,
            **await profile_context(request, member, core),
        )

    @post("/profile/email", status_code=200)
    async def change_email(
        self, request: HTMXRequest, core: CoreDep, settings: SettingsDep, member: SignedIn
    ) -> Template:
        """Keep the address unconfirmed and send it a signed link; only a click proves it."""
        form = await request.form()
        email = str(form.get("email", "")).strip().lower()
        if not EMAIL_RE.match(email) or len(email) > 254:
            return render(
                request,
                "profile",
                member=member,
                notice=None,
                error="bad_email",
                status=422,
                **await profile_context(request, member, core),
            )
        now = core.clock.now()
        token = signing.encode_claims(
            settings.secret,
            "cabinet:email",
            {"sub": str(member.id), "email": email, "exp": int((now + timedelta(hours=EMAIL_LINK_HOURS)).timestamp())},
        )
        link = f"{settings.public_url}/cabinet/email/confirm?token={token}"
        async with core.transaction() as db:
            row = await lock_member(db, member.id)
            if row.email != email:
                row.email, row.email_confirmed_at = email, None
            row.updated_at = now
            await emit(db, EventKind.EMAIL_CONFIRMATION, member.id, {"email": email, "link": link}, now)
        return render(
            request,
            "profile",
            member=row,
            notice="email_sent",
            error=None,
            email=email,
            **await profile_context(request, row, core),
        )

    @get("/email/confirm")
    async def confirm_email(
        self, request: HTMXRequest, core: CoreDep, settings: SettingsDep, member: SignedIn, token: FromQuery[str] = ""
    ) -> Template | Response[Any]:
        claims = signing.decode_claims(
            settings.secret, "cabinet:email", token, core.clock.now(), require=("sub", "email")
        )
        if claims is not None and claims["sub"] == str(member.id):
            async with core.transaction() as db:
                row = await lock_member(db, member.id)
                if row.email == claims["email"]:
                    row.email_confirmed_at = core.clock.now()
                    await mark_updated(db, row, ["email"], row.email_confirmed_at)
                    return Response(b"", status_code=303, headers={"Location": "/cabinet/profile?email_confirmed=1"})
        return render(
            request,
            "profile",
            member=member,
            notice=None,
            error="email_link_bad",
            status=400,
            **await profile_context(request, member, core),
        )

    @post("/profile/consents", status_code=200)
    async def save_consents(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        form = await request.form()
        async with core.transaction() as db:
            row = await lock_member(db, member.id)
            for channel in CHANNELS:
                await set_consent(
                    db,
                    core.clock,
                    row,
                    channel,
                    form.get(f"consent_{channel}") == "yes",
                    source="web:cabinet",
                    method="web-checkbox",
                )
        return render(
            request,
            "profile",
            member=member,
            notice="saved",
            error=None,
            **await profile_context(request, member, core),
        )

    @get("/profile/data.json")
    async def my_data(self, core: CoreDep, member: SignedIn) -> Response[Any]:
        """Everything held about me, as a JSON file to keep."""
        async with core.reading() as db:
            data = await export_member(db, member, core.clock.now())
        return Response(
            data,
            headers={"Content-Disposition": 'attachment; filename="my-loyalty-data.json"', "Cache-Control": "no-store"},
        )

    @post("/profile/delete/code", status_code=200)
    async def delete_code(
        self, request: HTMXRequest, core: CoreDep, settings: SettingsDep, member: SignedIn
    ) -> Template:
        """Send a one-time code, like the sign-in code, to confirm the deletion."""
        async with core.transaction() as db:
            result = await issue_code(
                db,
                settings.cabinet,
                settings.secret,
                member.phone,
                client_ip(request),
                core.clock.now(),
                member.language,
            )
        if result.status is IssueStatus.SENT:
            return render(
                request,
                "profile",
                member=member,
                notice="delete_code_sent",
                error=None,
                delete_step="code",
                **await profile_context(request, member, core),
            )
        error = "limited" if result.status is IssueStatus.LIMITED else "wait"
        return render(
            request,
            "profile",
            member=member,
            notice=None,
            error=error,
            seconds=result.retry_after,
            delete_step="code" if error == "wait" else None,
            status=429,
            **await profile_context(request, member, core),
        )

    @post("/profile/delete", status_code=200)
    async def delete_account(
        self, request: HTMXRequest, core: CoreDep, settings: SettingsDep, member: SignedIn
    ) -> Template:
        """With the right code: erase the person (points and purchases stay anonymous) and sign out."""
        form = await request.form()
        code = str(form.get("code", "")).strip()[:12]
        async with core.transaction() as db:  # the code and the erasure: one transaction
            result = await verify_code(db, settings.cabinet, settings.secret, member.phone, code, core.clock.now())
            if result.status is VerifyStatus.OK:
                await erase_member(
                    db,
                    core.clock,
                    member.id,
                    actor="member:cabinet",
                    reason="the member deleted their account in the cabinet",
                )
        if result.status is not VerifyStatus.OK:
            wrong = result.status is VerifyStatus.WRONG
            return render(
                request,
                "profile",
                member=member,
                notice=None,
                error="wrong_code" if wrong else "code_expired",
                left=result.attempts_left,
                delete_step="code" if wrong else None,
                status=422,
                **await profile_context(request, member, core),
            )
        request.state.cabinet_cookies = []  # no rotated session cookie on the way out
        return render(
            request,
            "deleted",
            language=member.language,
            status=200,
            cookies=[cleared(settings, SESSION_COOKIE), cleared(settings, PHONE_COOKIE)],
        )

    @get("/push/key.json")
    async def push_key(self, settings: SettingsDep, member: SignedIn) -> dict[str, str]:
        return {"key": vapid_public_key(settings)}

    @post("/push/subscription.json", status_code=201)
    async def push_subscribe(
        self, request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep, member: SignedIn
    ) -> Response[Any]:
        try:
            body = await request.json()
        except Exception:  # any unreadable body is the caller's mistake
            body = None
        if not isinstance(body, dict):
            return Response({"detail": "send the browser's PushSubscription as JSON"}, status_code=400)
        try:
            async with core.transaction() as db:
                await save_subscription(db, member.id, body, core.clock.now(), push_policy(settings))
                await set_consent(
                    db, core.clock, member, "push", True, source="web:cabinet", method="web-push-permission"
                )
        except InvalidInput as exc:
            return Response(
                {"detail": exc.detail, "errors": [{"field": e.field, "message": e.message} for e in exc.errors]},
                status_code=422,
            )
        except Conflict:  # this browser is subscribed for another card; it stays theirs
            return Response({"detail": translator(member.language)("push_taken"), "status": "taken"}, status_code=409)
        return Response({"status": "subscribed"}, status_code=201)
