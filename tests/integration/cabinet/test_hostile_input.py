"""Hostile input an outside probe sent to the cabinet: every one a 4xx with a polite message, never a 500,
and nothing reaches the database that PostgreSQL would refuse (NUL) or a column cannot hold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shared.core import Core
from shared.db.models import Member
from tests.integration.cabinet.conftest import PHONE, csrf, csrf_of, last_code, make_member, sign_in


async def member_row(core: Core) -> Member:
    async with core.reading() as session:
        return (await session.execute(select(Member).where(Member.phone == PHONE))).scalar_one()


async def test_a_sign_in_form_that_is_not_utf8_is_a_bad_request(web: httpx.AsyncClient) -> None:
    token = await csrf(web)
    content = (
        b'--XX\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+7916\xff\xfe\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n' + token.encode() + b"\r\n--XX--\r\n"
    )
    r = await web.post(
        "/cabinet/login/code", content=content, headers={"Content-Type": "multipart/form-data; boundary=XX"}
    )
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["body"]


@pytest.mark.parametrize("before", [str(2**63), "9" * 5000, "0", "-1"])
async def test_history_refuses_a_before_beyond_64_bits(web: httpx.AsyncClient, core: Core, before: str) -> None:
    await make_member(core)
    await sign_in(web, core)
    r = await web.get(f"/cabinet/history?before={before}")
    assert r.status_code == 400, r.text
    assert "Проверьте введённые данные." in r.text
    assert (await web.get(f"/cabinet/history?before={2**63 - 1}")).status_code == 200


@pytest.mark.parametrize("name", ["Анна\x00", "\x00", "An\x1b[31mna", "A" * 101])
async def test_names_with_control_characters_are_refused_politely(
    web: httpx.AsyncClient, core: Core, name: str
) -> None:
    await make_member(core, first_name="Анна")
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    for field in ("first_name", "last_name"):
        r = await web.post("/cabinet/profile", data={field: name, "language": "ru", "_csrf_token": token})
        assert r.status_code == 422, r.text
        assert "В имени есть недопустимые символы" in r.text
    row = await member_row(core)
    assert (row.first_name, row.last_name) == ("Анна", None)


async def test_an_e_mail_with_a_nul_is_refused(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    r = await web.post("/cabinet/profile/email", data={"email": "anna\x00@example.com", "_csrf_token": token})
    assert r.status_code == 422, r.text
    assert (await member_row(core)).email is None


async def test_joining_with_a_nul_in_the_name_is_refused_politely(web: httpx.AsyncClient, core: Core) -> None:
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    page = await web.post(
        "/cabinet/login/verify", data={"phone": PHONE, "code": await last_code(core), "_csrf_token": token}
    )
    assert page.status_code == 200
    refused = await web.post("/cabinet/register", data={"first_name": "Анна\x00", "rules": "yes", "_csrf_token": token})
    assert refused.status_code == 422, refused.text
    assert "В имени есть недопустимые символы" in refused.text
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(Member))).scalar_one() == 0


form_text = st.text(max_size=30) | st.sampled_from(
    ["\x00", "9" * 40, "0001-01-01", "9999-12-31", "1e308", "en", "ru", "+79161234567", "A" * 300]
)


@hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    form=st.dictionaries(st.sampled_from(["first_name", "last_name", "birth_date", "language"]), form_text, max_size=4),
    email=form_text,
    before=form_text,
    phone=form_text,
)
async def test_fuzzed_cabinet_forms_never_get_a_5xx(
    web: httpx.AsyncClient, core: Core, form: dict[str, Any], email: str, before: str, phone: str
) -> None:
    if "loyalty_session" not in web.cookies:
        await make_member(core)
        await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    r = await web.post("/cabinet/profile", data={**form, "_csrf_token": token})
    assert r.status_code < 500, r.text
    r = await web.post("/cabinet/profile/email", data={"email": email, "_csrf_token": token})
    assert r.status_code < 500, r.text
    r = await web.get(f"/cabinet/history?{httpx.QueryParams({'before': before})}")
    assert r.status_code < 500, r.text
    r = await web.post("/cabinet/login/code", data={"phone": phone, "_csrf_token": token})
    assert r.status_code < 500, r.text
