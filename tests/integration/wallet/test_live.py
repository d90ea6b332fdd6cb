"""A purchase moves the pass's update tag and pushes each registered device once, over HTTP/2."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from shared.db.models.wallet import WalletRegistration
from tests.stubs.apns import ApnsStub
from wallet.live import WalletUpdater

TYPE = "pass.dev.loyalty.card"


async def test_purchase_pushes_every_registered_device_once(
    core: Core, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    stub = ApnsStub(tmp_path)
    url = await stub.start()
    core.settings = settings.model_copy(
        update={"wallet": settings.wallet.model_copy(update={"apns_url": url, "apns_ca_file": stub.ca_file})}
    )
    updater = WalletUpdater()
    worker = Worker(core, {}, listeners=[updater])
    try:
        member = (await client.post("/api/v1/members", json={"phone": "+79123456789"})).json()
        await worker.process_outbox()
        serial = urlsplit(member["wallet"]["apple_url"]).path.rsplit("/", 1)[-1].removesuffix(".pkpass")
        async with core.reading() as session:
            from shared.db.models import Member

            token = (
                await session.execute(select(Member.wallet_auth_token).where(Member.wallet_serial == serial))
            ).scalar_one()
        auth = {"Authorization": f"ApplePass {token}"}
        for device, push_token in (("iphone", "tok-iphone"), ("watch", "tok-watch"), ("old", "tok-gone")):
            r = await client.post(
                f"/wallet/apple/v1/devices/{device}/registrations/{TYPE}/{serial}",
                json={"pushToken": push_token},
                headers=auth,
            )
            assert r.status_code == 201
        stub.gone.add("tok-gone")
        before = (await client.get(f"/wallet/apple/v1/passes/{TYPE}/{serial}", headers=auth)).headers["last-modified"]
        core.clock.advance(seconds=5)  # type: ignore[attr-defined]
        for n in range(3):  # a burst: three receipts in one batch of events
            await client.post(
                "/api/v1/purchases",
                json={
                    "store_id": "s",
                    "receipt_id": str(n),
                    "member": {"phone": "+79123456789"},
                    "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
                },
            )
        started = time.perf_counter()
        await worker.process_outbox()
        assert time.perf_counter() - started < 1.0
        paths = sorted(p.path for p in stub.pushes)
        assert paths == ["/3/device/tok-gone", "/3/device/tok-iphone", "/3/device/tok-watch"]
        assert {p.topic for p in stub.pushes} == {TYPE}
        assert {p.body for p in stub.pushes} == {b"{}"}
        async with core.reading() as session:
            left = set((await session.execute(select(WalletRegistration.push_token))).scalars())
        assert left == {"tok-iphone", "tok-watch"}  # 410 unregistered the device
        after = await client.get(
            f"/wallet/apple/v1/passes/{TYPE}/{serial}", headers={**auth, "If-Modified-Since": before}
        )
        assert after.status_code == 200  # the tag moved: the device fetches the new balance
    finally:
        await updater.close()
        await stub.stop()


async def test_push_arrives_when_the_device_can_already_see_the_change(
    core: Core, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """An iPhone asks for the updated serials the moment the push arrives: by then the batch that
    moved the tag must have committed, or the device sees nothing new and keeps the old balance."""
    stub = ApnsStub(tmp_path)
    url = await stub.start()
    core.settings = settings.model_copy(
        update={"wallet": settings.wallet.model_copy(update={"apns_url": url, "apns_ca_file": stub.ca_file})}
    )
    updater = WalletUpdater()
    worker = Worker(core, {}, listeners=[updater])
    try:
        member = (await client.post("/api/v1/members", json={"phone": "+79123456780"})).json()
        await worker.process_outbox()
        serial = urlsplit(member["wallet"]["apple_url"]).path.rsplit("/", 1)[-1].removesuffix(".pkpass")
        async with core.reading() as session:
            from shared.db.models import Member

            token = (
                await session.execute(select(Member.wallet_auth_token).where(Member.wallet_serial == serial))
            ).scalar_one()
        r = await client.post(
            f"/wallet/apple/v1/devices/iphone/registrations/{TYPE}/{serial}",
            json={"pushToken": "tok-iphone"},
            headers={"Authorization": f"ApplePass {token}"},
        )
        assert r.status_code == 201
        tag = (await client.get(f"/wallet/apple/v1/devices/iphone/registrations/{TYPE}")).json()["lastUpdated"]
        seen: list[int] = []

        async def device(_push: object) -> None:  # what the iPhone does on the push, before APNs answers
            r = await client.get(
                f"/wallet/apple/v1/devices/iphone/registrations/{TYPE}", params={"passesUpdatedSince": tag}
            )
            seen.append(r.status_code)

        stub.on_push = device
        core.clock.advance(seconds=5)  # type: ignore[attr-defined]
        r = await client.post(
            "/api/v1/purchases",
            json={
                "store_id": "s",
                "receipt_id": "live-1",
                "member": {"phone": "+79123456780"},
                "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
            },
        )
        assert r.status_code == 201
        await worker.process_outbox()
        assert seen == [200]  # 204 would be "nothing updated since your tag"
    finally:
        await updater.close()
        await stub.stop()
