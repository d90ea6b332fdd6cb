"""Partners in the console: an admin adds a partner with an agreement, a store, a till key (shown once)
and a staff account; the partner's staff then sees its own stores and settlement lines and nothing else."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.stores import StoreFields, save_store
from tests.conftest import app_client
from tests.integration.console.test_console_routes import PASSWORD, Console, console, password_hash, signed_in, staff
from tests.integration.partners.coalition import make_coalition

__all__ = ["console", "password_hash", "staff"]

ALLOWED = ("/console/settlements", "/console/partner", "/console/password", "/console/language", "/console/logout")


async def _partner_page(admin: Console, code: str, name: str) -> str:
    created = await admin.post("/console/partners", {"code": code, "name": name})
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def test_an_admin_sets_up_a_partner_whose_staff_sees_only_its_side(
    core: Core, settings: Settings, clock: FixedClock, console: Console
) -> None:
    from webapp.app import create_app

    coalition = await make_coalition(core)  # two other partners with a store each, and our own store
    async with core.transaction() as session:
        await save_store(
            session, core.clock, StoreFields("shop-01", "Chemist 1", "Europe/Moscow", None, None, None), actor="t"
        )
    marketer = await signed_in(console, "marketer")
    assert (await marketer.get("/console/partners")).status_code == 403
    admin = await signed_in(console, "admin")
    page = await _partner_page(admin, "chemist", "Chemist & Co")
    assert (await admin.post("/console/partners", {"code": "chemist", "name": "Again"})).status_code == 409
    agreement = {
        "earn_percent": "",
        "issue_price": "50",
        "redeem_price": "80",
        "valid_from": "2026-11-01",
        "valid_to": "",
    }
    assert (await admin.post(f"{page}/agreements", agreement)).status_code == 303
    overlapping = await admin.post(f"{page}/agreements", {**agreement, "valid_from": "2027-01-01"})
    assert overlapping.status_code == 409
    assert (await admin.post(f"{page}/agreements", {**agreement, "issue_price": "-1"})).status_code == 422
    assert (await admin.post(f"{page}/agreements", {**agreement, "earn_percent": "101"})).status_code == 422
    assert (await admin.post(f"{page}/stores", {"code": "shop-01"})).status_code == 303
    assert (await admin.post(f"{page}/stores", {"code": "nowhere"})).status_code == 404
    issued = await admin.post(f"{page}/keys", {"name": "chemist tills"})
    assert issued.status_code == 200
    key = re.search(r"<code>(lk_[^<]+)</code>", issued.text)
    assert key is not None
    assert key.group(1) not in (await admin.get(page)).text  # shown once
    staffed = await admin.post(f"{page}/staff", {"email": "chemist@example.com", "password": PASSWORD})
    assert staffed.status_code == 303, staffed.text
    shown = (await admin.get(page)).text
    assert "shop-01" in shown
    listed = (await admin.get("/console/stores?q=shop-01")).text
    assert f'<a href="{page}">Chemist &amp; Co</a>' in listed  # the stores list names each store's partner
    assert "chemist@example.com" in shown

    # the key works at the partner's store only, and the receipt lands on the partner's settlement line
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key.group(1)}") as till:
        receipt = {
            "store_id": "shop-01",
            "receipt_id": "C-1",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "1", "quantity": 1, "price": 100_000, "amount": 100_000}],
        }
        assert (await till.post("/api/v1/members", json={"phone": "+79123456789"})).status_code == 201
        assert (await till.post("/api/v1/purchases", json=receipt)).status_code == 201
        elsewhere = await till.post("/api/v1/purchases", json={**receipt, "store_id": "msk-001"})
        assert elsewhere.status_code == 403
    clock.at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    admin = await signed_in(Console(console.http), "admin")  # a week on: a new session
    month = await admin.get("/console/settlements?period=2026-11")
    assert month.status_code == 200
    assert "Chemist &amp; Co" in month.text
    assert "Bank" in month.text  # the admin sees every partner
    csv = await admin.get("/console/settlements/2026-11/csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "Chemist & Co" in csv.text
    assert "(program)" in csv.text

    partner = Console(console.http)
    signed = await partner.sign_in("chemist@example.com")
    assert signed.status_code == 303
    own = await partner.get("/console/partner")
    assert own.status_code == 200
    assert "shop-01" in own.text
    for other in ("bank-01", "pharm-01", "msk-001"):
        assert other not in own.text
    mine = await partner.get("/console/settlements?period=2026-11")
    assert mine.status_code == 200
    assert "Chemist &amp; Co" in mine.text
    for hidden in ("Bank", "Pharmacy", "The program&#39;s own stores", "Program total"):
        assert hidden not in mine.text
    assert "Close the month" not in mine.text
    csv = await partner.get("/console/settlements/2026-11/csv")
    assert "Chemist & Co" in csv.text
    assert "Bank" not in csv.text
    assert "(program)" not in csv.text
    assert (await partner.post("/console/settlements/2026-11/close", {})).status_code == 403
    assert (await partner.post(f"/console/partners/{coalition.bank_id}/keys", {"name": "x"})).status_code == 403
    home = await partner.get("/console")
    assert "/console/members" not in home.text
    assert "/console/partners" not in home.text

    # every other console page answers 403 or 404 to the partner's staff
    app = console.http._transport.app  # type: ignore[attr-defined]
    checked = 0
    for route in app.routes:
        path = route.path
        if not path.startswith("/console") or path in ("/console", "/console/login") or path.startswith(ALLOWED):
            continue
        url = re.sub(r"\{[^}:]+:int\}", str(coalition.bank_id), path)
        url = re.sub(r"\{[^}:]+:uuid\}", "00000000-0000-0000-0000-000000000001", url)
        url = re.sub(r"\{[^}:]+:str\}", "bank-01", url)
        url = re.sub(r"\{[^}:]+:path\}", "x", url)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            answer = await (partner.get(url) if method == "GET" else partner.post(url, {}))
            assert answer.status_code in (403, 404), (method, url, answer.status_code)
            checked += 1
    assert checked > 30
    search = await partner.get("/console/members?q=%2B7912")
    assert search.status_code == 403
    assert "+7912" not in search.text

    # the admin closes November; the partner sees it closed
    assert (await admin.post("/console/settlements/2026-11/close", {})).status_code == 303
    assert "Closed" in (await partner.get("/console/settlements?period=2026-11")).text
