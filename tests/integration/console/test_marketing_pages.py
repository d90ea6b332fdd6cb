"""Segments and campaigns in the console over HTTP with the real create_app: the builder's live
count, saving, field messages for bad input, roles, and a campaign from creation to its results."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from notifications.campaigns.expansion import expand_campaign, run_due_campaigns
from notifications.worker import Worker
from shared.audit import recent
from shared.core import Core
from shared.db.models import Member
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.marketing.builders import bought, days_ago, member
from tests.integration.notifications.test_flow import channels

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the console route tests

GOLD_LAPSED = {"name": "Gold, 60 days quiet", "tiers": "gold", "last_purchase_days_min": "60"}


async def gold(core: Core, n: int, *, last_bought_days: int, telegram: bool = False) -> None:
    member_id = await member(core, n, consents=("sms", "telegram") if telegram else ("sms",))
    await bought(core, member_id, days_ago(core, last_bought_days), 1_000_00)
    async with core.transaction() as session:
        found = await session.get(Member, member_id)
        assert found is not None
        found.tier_code = "gold"
        if telegram:
            found.telegram_user_id = 5_000_000 + n


def count_of(html: str) -> int:
    return int(re.search(r'id="member-count">(\d+)<', html)[1])  # type: ignore[index]


async def test_the_builder_counts_live_saves_and_shows_field_messages(console: Console, core: Core) -> None:
    await gold(core, 1, last_bought_days=90)
    await gold(core, 2, last_bought_days=70, telegram=True)
    await gold(core, 3, last_bought_days=10)
    await member(core, 4)  # standard, never bought
    await signed_in(console, "marketer")
    builder = await console.get("/console/segments/new")
    assert builder.status_code == 200
    assert 'hx-trigger="change, input delay:300ms"' in builder.text
    assert count_of(builder.text) == 4
    live = await console.post("/console/segments/count", GOLD_LAPSED, **{"HX-Request": "true"})
    assert live.status_code == 200
    assert count_of(live.text) == 2
    assert "<html" not in live.text
    telegram = await console.post(
        "/console/segments/count", {**GOLD_LAPSED, "channels": "telegram"}, **{"HX-Request": "true"}
    )
    assert count_of(telegram.text) == 1
    bad = await console.post("/console/segments/count", {"spend_min": "lots", "birthday_from": "13-40"})
    assert bad.status_code == 422
    assert "spend_min" in bad.text
    wrong = await console.post("/console/segments", {**GOLD_LAPSED, "birthday_from": "13-40", "birthday_to": "01-01"})
    assert wrong.status_code == 422
    assert "is not a day of the year" in wrong.text
    assert 'value="Gold, 60 days quiet"' in wrong.text  # the form comes back as typed
    saved = await console.post("/console/segments", GOLD_LAPSED)
    assert saved.status_code == 303
    page = await console.get(saved.headers["location"])
    assert "Saved; the snapshot holds 2 members" in page.text
    index = await console.get("/console/segments/")
    assert "Gold, 60 days quiet" in index.text
    assert "Champions" in index.text
    taken = await console.post("/console/segments", GOLD_LAPSED)
    assert taken.status_code == 409
    assert "is taken" in taken.text
    async with core.reading() as session:
        audit = await recent(session, limit=5)
    assert [(a.action, a.actor) for a in audit] == [("segment_created", "marketer@example.com")]


async def test_analysts_read_segments_and_campaigns_support_sees_neither(console: Console, core: Core) -> None:
    await signed_in(console, "analyst")
    assert (await console.get("/console/segments/")).status_code == 200
    assert (await console.get("/console/campaigns/")).status_code == 200
    assert (await console.get("/console/chains/")).status_code == 200
    assert (await console.get("/console/segments/new")).status_code == 403
    assert (await console.post("/console/segments", GOLD_LAPSED)).status_code == 403
    assert (await console.get("/console/campaigns/new")).status_code == 403
    other = Console(console.http)
    await signed_in(other, "support")
    for url in ("/console/segments/", "/console/campaigns/", "/console/chains/"):
        assert (await other.get(url)).status_code == 403


def campaign_form(segment_id: str, **extra: str) -> dict[str, str]:
    return {
        "name": "Come back",
        "segment_id": segment_id,
        "channel_1": "telegram",
        "channel_2": "sms",
        "control_percent": "50",
        "attribution_days": "7",
        "A_telegram_ru": "{{ name }}, у вас {{ balance }} баллов. Скидка 10%!",
        "A_sms_ru": "{{ name }}, скидка 10% до воскресенья",
        **extra,
    }


async def test_a_campaign_from_the_form_to_results_against_the_control_group(console: Console, core: Core) -> None:
    for n in range(1, 11):
        await gold(core, n, last_bought_days=80, telegram=n % 2 == 0)
    await signed_in(console, "marketer")
    saved = await console.post("/console/segments", GOLD_LAPSED)
    segment_id = saved.headers["location"].split("/")[-1].split("?")[0]
    broken = await console.post("/console/campaigns", campaign_form(segment_id, A_sms_ru="", control_percent="70"))
    assert broken.status_code == 422
    assert "needs a text" in broken.text
    assert "must be from 0 to 50" in broken.text
    assert "Скидка 10%!" in broken.text  # what was typed stays
    created = await console.post("/console/campaigns", campaign_form(segment_id))
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    page = await console.get(url)
    assert page.status_code == 200
    assert "telegram → sms" in page.text
    assert re.search(r"at most 5 SMS × 1 part\(s\) = <strong>17.50</strong>", page.text), page.text
    shown = await console.post(url + "/preview", {"member": "+79160000002", "channel": "sms", "variant": "A"})
    assert shown.status_code == 200
    assert "скидка 10% до воскресенья" in shown.text
    assert 'id="sms-parts">1<' in shown.text
    missing = await console.post(url + "/preview", {"member": "+79990000000", "channel": "sms"})
    assert missing.status_code == 422
    assert "no member found" in missing.text
    test = await console.post(url + "/test", {"channel": "sms", "address": "+79990001122", "variant": "A"})
    assert test.status_code == 200
    assert "Test sms message queued" in test.text
    draft = await console.get(url + "/progress", **{"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' not in draft.text  # a draft has nothing to poll for
    assert (await console.post(url + "/schedule", {"when": "now"})).status_code == 303
    sending = await console.get(url + "/progress", **{"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in sending.text
    assert "scheduled" in sending.text

    await run_due_campaigns(core)
    await expand_campaign(core, int(url.split("/")[-1]))
    worker = Worker(core, channels())  # type: ignore[arg-type]
    while await worker.run_once():
        pass
    buyer = await _treated_member(core, int(url.split("/")[-1]))
    await bought(core, buyer, core.clock.now() + timedelta(hours=1), 2_500_00)
    done = await console.get(url + "/progress", **{"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' not in done.text
    assert 'value="100.0"' in done.text
    assert re.search(r"control group <strong id=\"control-size\">(\d+)</strong>", done.text)[1] != "0"  # type: ignore[index]
    assert "<td>A</td>" in done.text
    assert "<td>control</td>" in done.text
    assert "2500.00" in done.text
    async with core.reading() as session:
        actions = [a.action for a in await recent(session, limit=10)]
    assert actions[:4] == ["campaign_scheduled", "campaign_test_sent", "campaign_previewed", "campaign_created"]


async def _treated_member(core: Core, campaign_id: int) -> object:
    from shared.db.models.campaigns import CampaignMember

    async with core.reading() as session:
        return (
            await session.execute(
                select(CampaignMember.member_id)
                .where(CampaignMember.campaign_id == campaign_id, CampaignMember.variant == "A")
                .limit(1)
            )
        ).scalar_one()


async def test_a_chain_from_the_form_runs_and_is_paused(console: Console, core: Core) -> None:
    from notifications.campaigns.chains import run_due_chains

    await gold(core, 1, last_bought_days=65, telegram=True)
    await gold(core, 2, last_bought_days=5)
    await signed_in(console, "marketer")
    form = {
        "name": "Win back",
        "no_purchase_days": "60",
        "channel_1": "telegram",
        "channel_2": "sms",
        "telegram_ru": "{{ name }}, давно не виделись!",
        "sms_ru": "Давно не виделись!",
        "wait_days": "7",
        "bonus_points": "200",
        "expires_days": "30",
    }
    wrong = await console.post("/console/chains", {**form, "sms_ru": "", "bonus_points": "0"})
    assert wrong.status_code == 422
    assert "needs a text" in wrong.text
    assert "must be from 1 to 100000" in wrong.text
    assert (await console.post("/console/chains", form)).status_code == 303
    await run_due_chains(core)
    page = await console.get("/console/chains/")
    assert "message (telegram → sms) → wait 7 days → bonus 200 points (30 days)" in page.text
    assert "<td>1 / 0 / 0</td>" in page.text  # the lapsed member is in, the recent buyer is not
    chain_id = re.search(r"/console/chains/(\d+)/active", page.text)[1]  # type: ignore[index]
    assert (await console.post(f"/console/chains/{chain_id}/active", {"active": "no"})).status_code == 303
    assert "paused" in (await console.get("/console/chains/")).text
    async with core.reading() as session:
        assert [a.action for a in await recent(session, limit=2)] == ["chain_paused", "chain_created"]


async def test_campaigns_are_listed_newest_first(console: Console, core: Core) -> None:
    await gold(core, 1, last_bought_days=65)
    await signed_in(console, "admin")
    saved = await console.post("/console/segments", GOLD_LAPSED)
    segment_id = saved.headers["location"].split("/")[-1].split("?")[0]
    for name in ("First", "Second"):
        assert (await console.post("/console/campaigns", campaign_form(segment_id, name=name))).status_code == 303
    listing = (await console.get("/console/campaigns/")).text
    assert listing.index("Second") < listing.index("First")
    assert "Gold, 60 days quiet" in listing


async def test_the_marketing_reports_show_formula_chart_and_csv(console: Console, core: Core) -> None:
    await gold(core, 1, last_bought_days=3)
    await signed_in(console, "analyst")
    for code, formula in (("rfm_grid", "NTILE(5)"), ("promo_codes", "redeemed / issued")):
        shown = await console.get(f"/console/reports/{code}?since=2026-11-01&until=2026-11-30")
        assert shown.status_code == 200
        assert formula in shown.text
        assert "<svg" in shown.text
        csv = await console.get(f"/console/reports/{code}/csv?since=2026-11-01&until=2026-11-30")
        assert csv.status_code == 200
        assert csv.text.lstrip("\ufeff").split("\r\n")[0].startswith(("r,f", "item,"))
    grid = await console.get("/console/reports/rfm_grid/csv?since=2026-11-01&until=2026-11-30")
    assert "1,1,hibernating,1" in grid.text
    assert "5,5,champions,0" in grid.text


async def test_absurd_numbers_are_field_messages_not_errors(console: Console, core: Core) -> None:
    await signed_in(console, "marketer")
    huge = "9" * 30
    counted = await console.post("/console/segments/count", {"spend_min": huge, "purchases_min": "-1"})
    assert counted.status_code == 422
    assert "spend_min" in counted.text
    assert "purchases_min" in counted.text
    made = await console.post("/console/campaigns", campaign_form(huge))
    assert made.status_code == 422
    assert "too large" in made.text
    chain = await console.post("/console/chains", {"name": "x", "segment_id": huge, "no_purchase_days": "nan"})
    assert chain.status_code == 422
    assert "too large" in chain.text
    assert "a whole number" in chain.text
    assert (await console.get("/console/campaigns/987654")).status_code == 404
    assert (await console.post("/console/campaigns/987654/schedule", {"when": "later", "at": "soon"})).status_code in (
        404,
        422,
    )
