"""The console over HTTP with the real create_app: sign-in, session cookie, CSRF, roles, pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models.console import StaffAccount
from shared.staff import hash_password, update_staff
from tests.conftest import app_client
from tests.integration.core.helpers import member_row, new_member
from webapp.site import CSRF_COOKIE

PASSWORD = "correct horse battery"


class Console:
    """A browser stand-in: keeps the Secure session cookie itself (httpx would not send it over http)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.session = ""
        self.csrf = ""
        # The console follows the browser's language (ru when it asks for neither); these tests read English.
        self.language: str | None = "en"

    def _cookies(self, session: str | None = None) -> dict[str, str]:
        token = self.session if session is None else session
        pairs = [f"{CSRF_COOKIE}={self.csrf}"] if self.csrf else []
        pairs += [f"console_session={token}"] if token else []
        language = {"Accept-Language": self.language} if self.language else {}
        return {**language, "Cookie": "; ".join(pairs)} if pairs else language

    async def get(self, url: str, session: str | None = None, **headers: str) -> httpx.Response:
        response = await self.http.get(url, headers={**self._cookies(session), **headers})
        self.csrf = response.cookies.get(CSRF_COOKIE) or self.csrf
        return response

    async def post(
        self, url: str, data: dict[str, Any], *, csrf: bool = True, session: str | None = None, **headers: str
    ) -> httpx.Response:
        if not self.csrf:
            await self.get("/console/login")
        form = {**data, "_csrf_token": self.csrf} if csrf else data
        return await self.http.post(url, data=form, headers={**self._cookies(session), **headers})

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.post("/console/login", {"email": email, "password": password})
        match = re.search(r"console_session=([^;]+)", response.headers.get("set-cookie", ""))
        if match:
            self.session = match.group(1)
        return response


@pytest.fixture(scope="session")
async def password_hash() -> str:
    return await hash_password(PASSWORD)  # argon2 takes most of a second: once per run


@pytest.fixture
async def staff(core: Core, password_hash: str) -> dict[str, int]:
    accounts = {
        role: StaffAccount(
            email=f"{role}@example.com",
            role=role,
            password_hash=password_hash,
            active=True,
            created_at=core.clock.now(),
        )
        for role in ("admin", "marketer", "analyst", "support")
    }
    async with core.transaction() as session:
        session.add_all(accounts.values())
    return {role: account.id for role, account in accounts.items()}


@pytest.fixture
async def console(core: Core, settings: Settings, staff: dict[str, int]) -> AsyncIterator[Console]:
    from webapp.app import create_app

    async with app_client(create_app(settings, core=core)) as http:
        yield Console(http)


async def signed_in(console: Console, role: str) -> Console:
    response = await console.sign_in(f"{role}@example.com")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    return console


async def test_signing_in_sets_a_strict_short_lived_session_cookie(console: Console, settings: Settings) -> None:
    response = await console.sign_in("Admin@Example.com")
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console", "Max-Age=1800"):
        assert attribute.lower() in cookie.lower()
    claims = jwt.decode(
        console.session,
        settings.secret,
        algorithms=["HS256"],
        audience="loyalty-console",
        options={"verify_exp": False},
    )
    assert claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 1800
    home = await console.get("/console")
    assert home.status_code == 200
    assert "admin@example.com" in home.text
    signed_out = await console.post("/console/logout", {})
    assert signed_out.status_code == 303
    assert "max-age=0" in signed_out.headers["set-cookie"].lower()


async def test_without_a_session_pages_send_to_sign_in_and_htmx_gets_a_redirect_header(console: Console) -> None:
    page = await console.get("/console/reports/")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login"
    fragment = await console.get("/console/reports/", **{"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/console/login"


async def test_wrong_passwords_are_refused_then_the_account_is_locked_for_a_while(console: Console) -> None:
    wrong = await console.sign_in("support@example.com", "not the password")
    assert wrong.status_code == 401
    assert "Wrong e-mail or password" in wrong.text
    assert not console.session
    for _ in range(4):
        await console.sign_in("support@example.com", "not the password")
    locked = await console.sign_in("support@example.com")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    assert not console.session
    other = await console.sign_in("analyst@example.com")  # another account from the same address still may
    assert other.status_code == 303


async def test_a_form_without_the_csrf_token_is_refused(console: Console, core: Core) -> None:
    refused = await console.post("/console/login", {"email": "admin@example.com", "password": PASSWORD}, csrf=False)
    assert refused.status_code == 403
    assert "console_session" not in refused.headers.get("set-cookie", "")
    assert "reload the page" in refused.text
    await signed_in(console, "support")
    member = await new_member(core)
    refused = await console.post(
        f"/console/members/{member.id}/adjust", {"points": "500", "reason": "test", "request_id": "r" * 12}, csrf=False
    )
    assert refused.status_code == 403
    assert (await member_row(core, member.id)).available == 100


async def test_tampered_foreign_and_expired_sessions_are_refused(
    console: Console, settings: Settings, clock: FixedClock
) -> None:
    await signed_in(console, "analyst")
    header, _, signature = console.session.split(".")
    claims = jwt.decode(
        console.session,
        settings.secret,
        algorithms=["HS256"],
        audience="loyalty-console",
        options={"verify_exp": False},
    )
    forged_payload = jwt.encode({**claims, "sub": "1", "role": "admin"}, "x" * 32, algorithm="HS256").split(".")[1]
    for token in (
        f"{header}.{forged_payload}.{signature}",
        jwt.encode({**claims, "role": "admin"}, "another-secret-" + "y" * 32, algorithm="HS256"),
        jwt.encode({**claims, "alg": "none"}, None, algorithm="none"),
        "garbage",
    ):
        response = await console.get("/console/staff/", session=token)
        assert response.status_code == 303, token
        assert response.headers["location"] == "/console/login", token
    assert (await console.get("/console/reports/")).status_code == 200
    clock.advance(minutes=31)
    assert (await console.get("/console/reports/")).status_code == 303


async def test_an_active_session_is_renewed_past_half_its_life(console: Console, clock: FixedClock) -> None:
    await signed_in(console, "analyst")
    first = console.session
    clock.advance(minutes=10)
    assert "console_session" not in (await console.get("/console/reports/")).headers.get("set-cookie", "")
    clock.advance(minutes=10)
    renewed = await console.get("/console/reports/")
    match = re.search(r"console_session=([^;]+)", renewed.headers.get("set-cookie", ""))
    assert match is not None
    assert match.group(1) != first
    clock.advance(minutes=20)  # 40 minutes after sign-in, 20 after the renewal
    assert (await console.get("/console/reports/", session=match.group(1))).status_code == 200
    assert (await console.get("/console/reports/", session=first)).status_code == 303


async def test_a_deactivated_account_loses_its_session_at_once(
    console: Console, core: Core, staff: dict[str, int]
) -> None:
    await signed_in(console, "marketer")
    async with core.transaction() as session:
        await update_staff(session, core.clock, staff["marketer"], role="marketer", active=False, actor="t")
    assert (await console.get("/console/reports/")).status_code == 303


ROLE_PAGES = {
    "/console/reports/": {"admin", "marketer", "analyst"},
    "/console/reports/liability": {"admin", "marketer", "analyst"},
    "/console/program/": {"admin", "marketer", "analyst"},
    "/console/segments/": {"admin", "marketer", "analyst"},
    "/console/campaigns/": {"admin", "marketer", "analyst"},
    "/console/chains/": {"admin", "marketer", "analyst"},
    "/console/members/": {"admin", "support"},
    "/console/staff/": {"admin"},
    "/console/audit/": {"admin"},
    "/console/webhooks/": {"admin"},
    "/console/stores/": {"admin"},
    "/console/partners/": {"admin"},
    "/console/settlements/": {"admin", "analyst"},  # and a partner's staff, its own lines only
}


@pytest.mark.parametrize("role", ["admin", "marketer", "analyst", "support"])
async def test_each_role_sees_its_pages_and_only_its_navigation(console: Console, role: str) -> None:
    await signed_in(console, role)
    for url, allowed in ROLE_PAGES.items():
        response = await console.get(url)
        assert response.status_code == (200 if role in allowed else 403), (role, url)
        if role not in allowed:
            assert "Your role does not allow this page" in response.text
    home = await console.get("/console")
    links = set(re.findall(r'<nav aria-label="Console">(.*?)</nav>', home.text, re.S)[0].split('href="')[1:])
    shown = {link.split('"')[0] + "/" for link in links}
    assert shown == {url for url, allowed in ROLE_PAGES.items() if role in allowed and url.endswith("/")}


async def test_reports_show_formula_chart_and_export_csv(console: Console, core: Core) -> None:
    await new_member(core, "+79123450041")
    await signed_in(console, "analyst")
    page = await console.get("/console/reports/members?since=2026-11-01&until=2026-11-30")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "members(t) = members registered before the end of t" in page.text
    assert "<html" not in (await console.get("/console/reports/members", **{"HX-Request": "true"})).text
    csv = await console.get("/console/reports/members/csv?since=2026-11-21&until=2026-11-23")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "members_2026-11-21_2026-11-23.csv" in csv.headers["content-disposition"]
    assert csv.content.decode("utf-8-sig").splitlines() == [
        "from,new_members,members",
        "2026-11-21,0,0",
        "2026-11-22,1,1",
        "2026-11-23,0,1",
    ]
    bad = await console.get("/console/reports/members?since=2026-12-01&until=2026-11-01")
    assert bad.status_code == 422
    assert "ends before it starts" in bad.text
    assert (await console.get("/console/reports/nonsense")).status_code == 404


async def test_analysts_read_program_settings_but_cannot_change_them(console: Console, core: Core) -> None:
    await signed_in(console, "analyst")
    page = await console.get("/console/program/")
    assert "fieldset disabled" in page.text
    assert "Save</button>" not in page.text
    refused = await console.post("/console/program/", {"tier_gold_threshold": "1"})
    assert refused.status_code == 403
    assert core.rules.tier("gold").threshold == 30_000


async def test_marketers_preview_and_save_program_settings(console: Console, core: Core) -> None:
    await new_member(core, "+79123450051")
    await signed_in(console, "marketer")
    form = {
        "tier_standard_threshold": "0",
        "tier_standard_percent": "5",
        "tier_gold_threshold": "20 000",
        "tier_gold_percent": "10",
        "tier_platinum_threshold": "100000",
        "tier_platinum_percent": "15",
        "pending_hours": "12",
        "expiry_days": "365",
        "redemption_cap_percent": "50",
        "welcome_points": "150",
        "birthday_days_before": "3",
        "birthday_percent": "14",
        "comment": "members stuck on tier 1",
    }
    preview = await console.post("/console/program/preview", form, **{"HX-Request": "true"})
    assert preview.status_code == 200
    assert "<html" not in preview.text
    assert re.search(r"<strong>0</strong> members would move up, <strong>0</strong> down", preview.text)
    invalid = await console.post(
        "/console/program/preview", {**form, "tier_gold_threshold": "200000"}, **{"HX-Request": "true"}
    )
    assert invalid.status_code == 422
    assert "must be above" in invalid.text
    saved = await console.post("/console/program/", form)
    assert saved.status_code == 200
    assert "Saved version" in saved.text
    assert (core.rules.pending_hours, core.rules.welcome.points, core.rules.tier("gold").threshold) == (12, 150, 20_000)
    not_a_number = await console.post("/console/program/", {**form, "expiry_days": "soon"})
    assert not_a_number.status_code == 422
    assert "a whole number" in not_a_number.text
    assert core.rules.expiry_days == 365


async def test_support_finds_a_member_and_adjusts_points_with_a_reason(console: Console, core: Core) -> None:
    member = await new_member(core, "+79123450061", last_name="Кузнецов")
    await signed_in(console, "support")
    found = await console.get("/console/members/?q=%2B79123450061")
    assert member.card_number in found.text
    assert "+7912***0061" in found.text
    fragment = await console.get("/console/members/?q=Кузн", **{"HX-Request": "true", "HX-Target": "results"})
    assert member.card_number in fragment.text
    assert "<form" not in fragment.text
    done = await console.post(
        f"/console/members/{member.id}/adjust",
        {"points": "+250", "reason": "lost receipt", "request_id": "form-1234567"},
    )
    assert done.status_code == 303
    again = await console.post(
        f"/console/members/{member.id}/adjust",
        {"points": "+250", "reason": "lost receipt", "request_id": "form-1234567"},
    )
    assert again.status_code == 303
    assert (await member_row(core, member.id)).available == 350
    page = await console.get(f"/console/members/{member.id}")
    assert "lost receipt" in page.text
    assert '<dd id="available">350</dd>' in page.text
    no_reason = await console.post(
        f"/console/members/{member.id}/adjust", {"points": "10", "reason": "", "request_id": "form-7654321"}
    )
    assert no_reason.status_code == 422
    assert "say why" in no_reason.text
    overdraw = await console.post(
        f"/console/members/{member.id}/adjust", {"points": "-1000", "reason": "typo", "request_id": "form-7654322"}
    )
    assert overdraw.status_code == 422
    assert "Only 350 points are available" in overdraw.text


async def test_support_merges_a_duplicate_after_confirming(console: Console, core: Core) -> None:
    keep = await new_member(core, "+79123450071")
    duplicate = await new_member(core, "+79123450072")
    await signed_in(console, "support")
    unconfirmed = await console.post(f"/console/members/{keep.id}/merge", {"duplicate": duplicate.card_number})
    assert unconfirmed.status_code == 422
    merged = await console.post(
        f"/console/members/{keep.id}/merge",
        {"duplicate": duplicate.card_number, "confirm": "yes", "reason": "two cards"},
    )
    assert merged.status_code == 303
    assert (await member_row(core, keep.id)).available == 200
    assert (await console.get(f"/console/members/{duplicate.id}")).status_code == 404


async def test_admins_create_staff_and_read_the_audit_log(console: Console) -> None:
    await signed_in(console, "admin")
    created = await console.post(
        "/console/staff/", {"email": "new@example.com", "role": "support", "password": "a long password"}
    )
    assert created.status_code == 303
    short = await console.post("/console/staff/", {"email": "x@example.com", "role": "support", "password": "s"})
    assert short.status_code == 422
    assert "at least 10 characters" in short.text
    log = await console.get("/console/audit/")
    assert "staff.create" in log.text
    assert "new@example.com" in log.text


async def test_machine_endpoints_need_no_csrf_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/members", json={"phone": "+79123450081"})
    assert response.status_code == 201
