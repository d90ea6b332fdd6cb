"""A pass app that never registers a device (Android wallet apps) keeps the card fresh by
downloading it again with the validators of its copy: 304 while nothing changed, the new balance
after a purchase, also when the purchase falls in the same second as the copy's Last-Modified."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from notifications.worker import Worker
from shared.core import Core
from shared.db.models import Member
from wallet.live import WalletUpdater

TYPE = "pass.dev.loyalty.card"
PHONE = "+79123456781"


def balance(response: httpx.Response) -> int:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        data = json.loads(archive.read("pass.json"))
    return int(data["storeCard"]["primaryFields"][0]["value"])


async def buy(client: httpx.AsyncClient, receipt: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": receipt,
            "member": {"phone": PHONE},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
            "redeem": 30,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["balance"]  # type: ignore[no-any-return]


@pytest.fixture
async def pass_url(client: httpx.AsyncClient, core: Core) -> tuple[str, dict[str, str]]:
    """The signed download link, and the PassKit web service URL with the pass's token."""
    member = (await client.post("/api/v1/members", json={"phone": PHONE})).json()
    link = urlsplit(member["wallet"]["apple_url"])
    serial = link.path.rsplit("/", 1)[-1].removesuffix(".pkpass")
    async with core.reading() as session:
        token = (
            await session.execute(select(Member.wallet_auth_token).where(Member.wallet_serial == serial))
        ).scalar_one()
    return f"{link.path}?{link.query}", {"signed": f"{link.path}?{link.query}", "token": token, "serial": serial}


@pytest.mark.parametrize("route", ["signed link", "web service"])
@pytest.mark.parametrize("validator", ["If-Modified-Since", "If-None-Match"])
async def test_download_again_gets_304_then_the_new_balance(
    client: httpx.AsyncClient, core: Core, pass_url: tuple[str, dict[str, str]], route: str, validator: str
) -> None:
    _, ids = pass_url
    url, auth = (
        (ids["signed"], {})
        if route == "signed link"
        else (f"/wallet/apple/v1/passes/{TYPE}/{ids['serial']}", {"Authorization": f"ApplePass {ids['token']}"})
    )
    worker = Worker(core, {}, listeners=[WalletUpdater()])  # moves the update tag, as in production
    await worker.process_outbox()
    assert core.clock.now().microsecond < 500_000  # so the purchase below falls in the same second
    first = await client.get(url, headers=auth)  # a copy from the second of its tag
    assert first.status_code == 200
    held = first.headers[{"If-Modified-Since": "last-modified", "If-None-Match": "etag"}[validator]]

    core.clock.advance(seconds=0.25)  # type: ignore[attr-defined]  # same second as the copy and its tag
    expected = await buy(client, f"{route}-{validator}")
    await worker.process_outbox()
    core.clock.advance(seconds=1)  # type: ignore[attr-defined]  # the app looks again in the next second
    fresh = await client.get(url, headers={**auth, validator: held})
    assert fresh.status_code == 200
    assert balance(fresh) == expected["available"] != balance(first)

    core.clock.advance(seconds=2)  # type: ignore[attr-defined]
    settled = await client.get(url, headers=auth)
    held = settled.headers[{"If-Modified-Since": "last-modified", "If-None-Match": "etag"}[validator]]
    again = await client.get(url, headers={**auth, validator: held})
    assert again.status_code == 304  # nothing changed since the copy
    assert again.content == b""
    assert balance(settled) == expected["available"]


async def test_the_etag_follows_the_balance_before_the_worker_runs(
    client: httpx.AsyncClient, pass_url: tuple[str, dict[str, str]]
) -> None:
    url, _ = pass_url
    first = await client.get(url)
    expected = await buy(client, "etag-before-worker")
    fresh = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert fresh.status_code == 200
    assert balance(fresh) == expected["available"]
    assert (await client.get(url, headers={"If-None-Match": f'"x", {fresh.headers["etag"]}'})).status_code == 304
