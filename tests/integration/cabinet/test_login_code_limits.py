"""One-time code limits that a stranger cannot turn against a shopper: what one address does to a phone
stays with that address; wrong guesses are counted per address; a daily cap per phone; codes only to
the program's countries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from shared.config import CabinetSettings, Settings
from shared.core import Core
from tests.integration.cabinet.conftest import BASE, PHONE, csrf, last_code, later, make_member


@asynccontextmanager
async def browser(core: Core, settings: Settings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """The cabinet from one address (its own app instance, like another web process)."""
    from webapp.app import create_app

    app = create_app(settings, core=core)
    for hook in app.on_startup:
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield http
    finally:
        for hook in app.on_shutdown:
            await hook(app)


async def ask(http: httpx.AsyncClient, phone: str = PHONE) -> httpx.Response:
    return await http.post("/cabinet/login/code", data={"phone": phone, "_csrf_token": await csrf(http)})


async def guess(http: httpx.AsyncClient, code: str, phone: str = PHONE) -> httpx.Response:
    return await http.post(
        "/cabinet/login/verify", data={"phone": phone, "code": code, "_csrf_token": await csrf(http)}
    )


async def test_a_stranger_using_up_codes_does_not_keep_the_shopper_out(core: Core, settings: Settings) -> None:
    await make_member(core)
    async with browser(core, settings, "203.0.113.66") as stranger, browser(core, settings, "198.51.100.7") as shopper:
        for _ in range(settings.cabinet.codes_per_phone_hour):
            assert (await ask(stranger)).status_code == 200
            later(core, seconds=61)
        assert (await ask(stranger)).status_code == 429
        assert (await ask(shopper)).status_code == 200
        signed = await guess(shopper, await last_code(core))
        assert signed.status_code == 303
        assert signed.headers["location"] == "/cabinet/card"


async def test_a_strangers_request_does_not_kill_the_code_the_shopper_is_typing(core: Core, settings: Settings) -> None:
    await make_member(core)
    async with browser(core, settings, "203.0.113.66") as stranger, browser(core, settings, "198.51.100.7") as shopper:
        assert (await ask(shopper)).status_code == 200
        code = await last_code(core)
        assert (await ask(stranger)).status_code == 200  # no resend wait across addresses either
        assert (await guess(shopper, code)).status_code == 303


async def test_wrong_guesses_are_counted_per_address(core: Core, settings: Settings) -> None:
    await make_member(core)
    limit = settings.cabinet.guesses_per_ip_hour
    async with browser(core, settings, "203.0.113.66") as stranger, browser(core, settings, "198.51.100.7") as shopper:
        for i in range(limit):  # spread over many phones: the per-code attempt counter never sees them
            assert (await guess(stranger, "000000", phone=f"+7916555{i:04d}")).status_code == 422
        assert (await ask(shopper)).status_code == 200
        code = await last_code(core)
        refused = await guess(stranger, code)  # even the right code: this address has guessed enough
        assert refused.status_code == 429
        assert "Слишком много неверных кодов" in refused.text
        assert int(refused.headers["retry-after"]) <= 3600
        assert (await guess(shopper, code)).status_code == 303
        later(core, hours=1)
        assert (await guess(stranger, "000000")).status_code == 422


async def test_a_phone_gets_at_most_the_daily_number_of_codes(core: Core, settings: Settings) -> None:
    cap = settings.cabinet.codes_per_phone_day
    assert cap == 20
    for i in range(cap):
        async with browser(core, settings, f"10.0.{i}.1") as http:
            assert (await ask(http)).status_code == 200
        later(core, minutes=30)
    async with browser(core, settings, "10.0.99.1") as http:
        capped = await ask(http)
        assert capped.status_code == 429
        assert "Слишком много кодов" in capped.text
        later(core, hours=14)  # the first code of the day is 24 h old
        assert (await ask(http)).status_code == 200


async def test_codes_go_only_to_the_programs_countries(core: Core, settings: Settings) -> None:
    belarus = "+375291234567"
    async with browser(core, settings, "198.51.100.7") as http:
        refused = await ask(http, belarus)
        assert refused.status_code == 422
        assert "только на номера с кодом страны +7" in refused.text
        http.cookies.set("lang", "en")
        english = await ask(http, belarus)
        assert english.status_code == 422
        assert "only to numbers with the country code +7" in english.text
    wider = settings.model_copy(update={"cabinet": CabinetSettings(cookie_secure=False, code_countries="7, 375")})
    async with browser(core, wider, "198.51.100.7") as http:
        assert (await ask(http, belarus)).status_code == 200
