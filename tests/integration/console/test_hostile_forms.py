"""Hostile input an outside probe sent to the console: every one a 4xx with a field message, never a 500,
and nothing reaches the database that PostgreSQL would refuse (NUL) or a column cannot hold."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shared.core import Core
from shared.db.models import Entry
from shared.db.models.console import StaffAccount
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.core.helpers import new_member

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the console route tests


def fields_of(r: httpx.Response) -> list[str]:
    """The fields a problem names: problem+json at the framework boundary, the console's error page else."""
    if r.headers["content-type"].startswith("application/problem+json"):
        return [e["field"] for e in r.json()["errors"]]
    return re.findall(r"<li><code>([^<]+)</code>:", r.text)


def multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    parts = b"".join(
        b'--XX\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n' + v + b"\r\n"
        for k, v in fields.items()
    )
    return parts + b"--XX--\r\n", "multipart/form-data; boundary=XX"


async def test_a_sign_in_form_that_is_not_utf8_is_a_bad_request(console: Console) -> None:
    await console.get("/console/login")
    content, kind = multipart(
        {"email": b"adm\xffin@example.com", "password": b"\xff\xfe", "_csrf_token": console.csrf.encode()}
    )
    r = await console.http.post("/console/login", content=content, headers={**console._cookies(), "Content-Type": kind})
    assert r.status_code == 400, r.text
    assert fields_of(r) == ["body"]


async def test_a_nul_in_the_sign_in_e_mail_is_refused_before_the_database(console: Console) -> None:
    r = await console.sign_in("admin\x00@example.com")
    assert r.status_code == 422, r.text
    assert "characters" in r.text
    assert (await console.sign_in("admin@example.com")).status_code == 303


@pytest.mark.parametrize("before", ["9" * 5000, str(2**63), "0", "-5"])
async def test_the_audit_page_refuses_an_absurd_before(console: Console, before: str) -> None:
    await signed_in(console, "admin")
    r = await console.get(f"/console/audit?before={before}")
    assert r.status_code == 400, r.text
    assert "before" in fields_of(r)
    assert (await console.get(f"/console/audit?before={2**63 - 1}")).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("spend_min", "nan"),
        ("spend_min", "inf"),
        ("spend_max", "-inf"),
        ("spend_min", "1e308"),
        ("spend_max", "9" * 5000),
        ("last_purchase_days_min", "99999999999999"),
        ("last_purchase_days_max", "1000000000"),
        ("purchases_min", "99999999999999"),
        ("window_days", "99999999999"),
        ("registered_from", "0001-01-01"),
        ("registered_to", "9999-12-31"),
    ],
)
async def test_the_segment_builder_refuses_absurd_numbers_and_dates(console: Console, field: str, value: str) -> None:
    await signed_in(console, "marketer")
    counted = await console.post("/console/segments/count", {field: value})
    assert counted.status_code == 422, counted.text
    assert f"<code>{field}</code>" in counted.text
    saved = await console.post("/console/segments", {"name": "Absurd", field: value})
    assert saved.status_code == 422, saved.text
    assert field in saved.text


async def test_a_nul_in_a_segment_name_is_a_field_message(console: Console) -> None:
    await signed_in(console, "marketer")
    saved = await console.post("/console/segments", {"name": "Gold\x00", "tiers": "gold"})
    assert saved.status_code == 422, saved.text
    assert "control characters" in saved.text


@pytest.mark.parametrize(
    ("since", "until"), [("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-02"), ("2026-11-01", "9999-12-31")]
)
async def test_report_periods_out_of_range_are_field_errors(console: Console, since: str, until: str) -> None:
    await signed_in(console, "analyst")
    for url in ("/console/reports/", "/console/reports/members", "/console/reports/members/csv"):
        r = await console.get(f"{url}?since={since}&until={until}")
        assert r.status_code == 422, (url, r.text)
        assert fields_of(r) == ["period"]


async def test_support_tools_refuse_control_characters(console: Console, core: Core) -> None:
    member = await new_member(core)
    await signed_in(console, "support")
    adjust = await console.post(
        f"/console/members/{member.id}/adjust", {"points": "100", "reason": "goodwill\x00", "request_id": "req-0000001"}
    )
    assert adjust.status_code == 422, adjust.text
    assert "reason" in fields_of(adjust)
    huge = await console.post(
        f"/console/members/{member.id}/adjust",
        {"points": "9" * 5000, "reason": "goodwill", "request_id": "req-0000002"},
    )
    assert huge.status_code == 422, huge.text
    merge = await console.post(
        f"/console/members/{member.id}/merge", {"confirm": "yes", "duplicate": "+79000000000", "reason": "dup\x00"}
    )
    assert merge.status_code == 422, merge.text
    assert "reason" in fields_of(merge)
    search = await console.get("/console/members/?q=%2B7912%00")
    assert search.status_code == 200
    async with core.reading() as session:
        assert (
            await session.execute(select(func.count()).select_from(Entry).where(Entry.kind == "adjustment"))
        ).scalar_one() == 0


async def test_staff_e_mails_with_control_characters_are_field_errors(console: Console, core: Core) -> None:
    await signed_in(console, "admin")
    r = await console.post(
        "/console/staff", {"email": "new\x00@example.com", "role": "analyst", "password": "long enough password"}
    )
    assert r.status_code == 422, r.text
    assert "email" in fields_of(r)
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(StaffAccount))).scalar_one() == 4


async def test_program_settings_refuse_huge_numbers_and_control_characters(console: Console) -> None:
    await signed_in(console, "admin")
    huge = await console.post("/console/program/", {"expiry_days": "9" * 30, "comment": "ok"})
    assert huge.status_code == 422, huge.text
    nul = await console.post("/console/program/", {"comment": "bad\x00comment"})
    assert nul.status_code == 422, nul.text
    assert "control characters" in nul.text


async def test_nul_in_campaign_and_chain_names_is_a_field_message(console: Console) -> None:
    from tests.integration.console.test_marketing_pages import campaign_form

    await signed_in(console, "marketer")
    saved = await console.post("/console/segments", {"name": "Gold", "tiers": "gold"})
    segment_id = saved.headers["location"].split("/")[-1].split("?")[0]
    made = await console.post("/console/campaigns", campaign_form(segment_id, name="Come\x00back"))
    assert made.status_code == 422, made.text
    assert "control characters" in made.text
    chain = await console.post(
        "/console/chains",
        {
            "name": "Win\x00back",
            "no_purchase_days": "60",
            "channel_1": "sms",
            "sms_ru": "Давно не виделись!",
            "wait_days": "7",
        },
    )
    assert chain.status_code == 422, chain.text
    assert "control characters" in chain.text


form_text = st.text(max_size=30) | st.sampled_from(
    ["nan", "inf", "-1", "1e308", "9" * 40, "0001-01-01", "9999-12-31", "\x00", "13-40", "gold"]
)
SEGMENT_FIELDS = [
    "name",
    "tiers",
    "window_days",
    "spend_min",
    "spend_max",
    "purchases_min",
    "purchases_max",
    "last_purchase_days_min",
    "last_purchase_days_max",
    "birthday_from",
    "birthday_to",
    "registered_from",
    "registered_to",
    "registration_sources",
    "r_scores",
    "channels",
    "consent",
]


@hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(form=st.dictionaries(st.sampled_from(SEGMENT_FIELDS), form_text, max_size=6))
async def test_fuzzed_segment_forms_never_get_a_5xx(console: Console, form: dict[str, Any]) -> None:
    if not console.session:
        await signed_in(console, "marketer")
    for url in ("/console/segments/count", "/console/segments"):
        r = await console.post(url, form)
        assert r.status_code < 500, r.text


@hsettings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "segment_id",
                "channel_1",
                "A_sms_ru",
                "A_weight",
                "control_percent",
                "attribution_days",
                "when",
                "at",
            ]
        ),
        form_text,
        max_size=6,
    ),
    period=st.tuples(form_text, form_text),
)
async def test_fuzzed_campaign_and_report_forms_never_get_a_5xx(
    console: Console, form: dict[str, Any], period: tuple[str, str]
) -> None:
    if not console.session:
        await signed_in(console, "admin")
    r = await console.post("/console/campaigns", form)
    assert r.status_code < 500, r.text
    query = httpx.QueryParams({"since": period[0], "until": period[1]})
    r = await console.get(f"/console/reports/?{query}")
    assert r.status_code < 500, r.text
    r = await console.get(f"/console/audit/?{httpx.QueryParams({'before': period[0]})}")
    assert r.status_code < 500, r.text
