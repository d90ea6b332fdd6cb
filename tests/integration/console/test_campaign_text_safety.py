"""Campaign and chain texts over the console's HTTP: a text that reaches beyond the member's fields,
our filters and {% if %} is refused when saved, with a field message beside it; a stored one is
refused at preview too. Analysts preview on the sample member only; marketers' previews of real
members are in the audit log."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from shared.audit import recent
from shared.core import Core
from shared.db.models.campaigns import Campaign, CampaignVariant, TriggerChain
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.core.helpers import new_member
from tests.integration.marketing.test_campaigns import segment

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the console route tests

PAYLOAD = "{{ cycler.__init__.__globals__.os.getuid() }}"
REFUSED = {
    PAYLOAD: "{{ cycler }} is not a member field",
    "{{ name.__class__.__mro__ }}": "reaches inside one",
    '{{ name|attr("__class__") }}': "the filter |attr is not available",
    '{% include "console/base.html.j2" %}': "{% include %} is not allowed",
    '{% import "console/base.html.j2" as b %}': "{% import %} is not allowed",
    '{% extends "console/base.html.j2" %}': "{% extends %} is not allowed",
    "{% for i in range(99999999) %}{{ card }}{% endfor %}": "{% for %} is not allowed",
    "{{ lipsum(1000) }}": "{{ lipsum }} is not a member field",
    "{{ namespace }}": "{{ namespace }} is not a member field",
    "Hello {{ name ": "line 1: the {{ … }} or {% … %} marks are not written correctly",
    '{{ "x" * 999999999 }}': "works on numbers only",
}


def form(segment_id: int, text: str) -> dict[str, str]:
    return {
        "name": "Spring",
        "segment_id": str(segment_id),
        "channel_1": "sms",
        "control_percent": "0",
        "attribution_days": "7",
        "A_sms_ru": text,
    }


def field_message(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"> ([^<]*)</span>', html)
    assert match, html
    return match[1].replace("&#34;", '"').replace("&#39;", "'")


async def count(core: Core, model: type) -> int:
    async with core.reading() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_saving_a_text_that_reaches_for_the_server_is_refused_beside_the_field(
    console: Console, core: Core
) -> None:
    segment_id = await segment(core)
    await signed_in(console, "marketer")
    for text, said in REFUSED.items():
        refused = await console.post("/console/campaigns", form(segment_id, text))
        assert refused.status_code == 422, (text, refused.text)
        assert said in field_message(refused.text, "A_sms_ru"), text
    assert await count(core, Campaign) == 0
    fine = "{% if name %}{{ name|title }}, у{% else %}У{% endif %} вас {{ balance|points }} в {{ program }}"
    assert (await console.post("/console/campaigns", form(segment_id, fine))).status_code == 303
    subject = await console.post(
        "/console/campaigns",
        {**form(segment_id, "Hi"), "channel_1": "email", "A_email_ru": "Hi", "A_email_ru_subject": PAYLOAD},
    )
    assert subject.status_code == 422
    assert "is not a member field" in field_message(subject.text, "A_email_ru_subject")


async def test_saving_a_chain_with_such_a_text_is_refused_beside_the_field(console: Console, core: Core) -> None:
    await signed_in(console, "marketer")
    chain = {
        "name": "Win back",
        "no_purchase_days": "60",
        "channel_1": "telegram",
        "channel_2": "sms",
        "telegram_ru": PAYLOAD,
        "sms_ru": "{% for i in range(10) %}x{% endfor %}",
        "wait_days": "7",
    }
    refused = await console.post("/console/chains", chain)
    assert refused.status_code == 422
    assert "{{ cycler }} is not a member field" in refused.text
    assert "{% for %} is not allowed" in refused.text
    assert await count(core, TriggerChain) == 0


async def saved_campaign(console: Console, core: Core, text: str = "{{ name }}, {{ card }}: {{ balance }}") -> str:
    response = await console.post("/console/campaigns", form(await segment(core), text))
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


async def test_a_stored_text_is_refused_at_preview_and_shows_nothing(console: Console, core: Core) -> None:
    svetlana = await new_member(core, "+79160000077", first_name="Светлана")
    await signed_in(console, "marketer")
    url = await saved_campaign(console, core)
    async with core.transaction() as session:  # as if stored before the checks existed
        variant = (await session.execute(select(CampaignVariant))).scalar_one()
        variant.templates = {"sms": {"ru": {"text": PAYLOAD}}}
    for who in ("", svetlana.phone):
        shown = await console.post(
            url + "/preview", {"member": who, "channel": "sms", "variant": "A"}, **{"HX-Request": "true"}
        )
        assert shown.status_code == 422, shown.text
        assert "{{ cycler }} is not a member field" in shown.text
        assert 'id="preview-text"' not in shown.text
        assert "<pre" not in shown.text
    page = await console.get(url)  # the campaign page still opens (nothing to estimate)
    assert page.status_code == 200


async def test_analysts_preview_on_the_sample_member_only(console: Console, core: Core) -> None:
    svetlana = await new_member(core, "+79160000077", first_name="Светлана")
    await signed_in(console, "marketer")
    url = await saved_campaign(console, core)
    await signed_in(console, "analyst")
    page = await console.get(url)
    assert page.status_code == 200
    assert 'name="member"' not in page.text
    for who in (svetlana.phone, svetlana.card_number):
        refused = await console.post(url + "/preview", {"member": who, "channel": "sms"}, **{"HX-Request": "true"})
        assert refused.status_code == 403
        assert "Светлана" not in refused.text
        assert svetlana.card_number not in refused.text
        assert "sample member only" in refused.text
    sample = await console.post(url + "/preview", {"member": "", "channel": "sms"}, **{"HX-Request": "true"})
    assert sample.status_code == 200
    assert "Sample member" in sample.text
    assert "Anna, 2000000000001: 1234" in sample.text
    async with core.reading() as session:
        assert [a.action for a in await recent(session, limit=5)] == ["campaign_created"]


async def test_a_marketers_preview_of_a_real_member_is_in_the_audit_log(console: Console, core: Core) -> None:
    svetlana = await new_member(core, "+79160000077", first_name="Светлана")
    await signed_in(console, "marketer")
    url = await saved_campaign(console, core)
    assert 'name="member"' in (await console.get(url)).text
    sample = await console.post(url + "/preview", {"channel": "sms", "language": "en"}, **{"HX-Request": "true"})
    assert sample.status_code == 200
    assert "Anna" in sample.text
    real = await console.post(
        url + "/preview", {"member": svetlana.phone, "channel": "sms", "variant": "A"}, **{"HX-Request": "true"}
    )
    assert real.status_code == 200
    assert f"Светлана, {svetlana.card_number}" in real.text
    async with core.reading() as session:
        entries = await recent(session, limit=5)
    assert [(a.action, a.actor) for a in entries] == [
        ("campaign_previewed", "marketer@example.com"),
        ("campaign_created", "marketer@example.com"),
    ]
    assert entries[0].target_kind == "campaign"
    assert entries[0].target_id == url.rsplit("/", 1)[-1]
    assert entries[0].after == {"member_id": str(svetlana.id), "channel": "sms", "variant": "A"}
