"""An integrator's view: a client generated from the app's own /schema/openapi.json (openapi-python-client)
registers a member, calculates, confirms and refunds a receipt and creates a promotion, reading every answer
as a typed model."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
async def generated(client: httpx.AsyncClient, tmp_path: Path) -> Iterator[str]:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    (tmp_path / "openapi.json").write_bytes(schema.content)
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none", "--output-path", "till_client"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stdout + run.stderr, run.stdout + run.stderr  # nothing left out of the client
    sys.path.insert(0, str(tmp_path))
    try:
        yield "till_client"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "till_client" or m.startswith("till_client.")]:
            del sys.modules[name]


def module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


async def test_a_generated_client_drives_the_till_flow(client: httpx.AsyncClient, generated: str) -> None:
    api = module(generated, "client").AuthenticatedClient(
        base_url=str(client.base_url), token=client.headers["Authorization"].removeprefix("Bearer ")
    )
    api.set_async_httpx_client(client)
    models = module(generated, "models")
    register = module(generated, "api.members.register_member")
    balance = module(generated, "api.members.get_balance")
    calculate = module(generated, "api.purchases.calculate_receipt")
    confirm = module(generated, "api.purchases.confirm_receipt")
    refund = module(generated, "api.purchases.refund_receipt")

    joined = await register.asyncio_detailed(client=api, body=models.Registration(phone="8 (912) 345-67-89"))
    assert joined.status_code == 201
    member = joined.parsed
    assert isinstance(member, models.Member)
    assert member.phone == "+79123456789"
    assert isinstance(member.balance, models.Balance)
    assert member.balance.available == 100

    def receipt(**changes: Any) -> Any:
        line = models.ReceiptLine(sku="4607001", name="Coffee", quantity=1, price=25000, amount=25000)
        fields = {
            "store_id": "msk-001",
            "receipt_id": "A-1",
            "member": models.MemberRef(phone="+79123456789"),
            "lines": [line],
            "redeem": "max",
        }
        return models.Receipt(**(fields | changes))

    priced = (await calculate.asyncio_detailed(client=api, body=receipt())).parsed
    assert isinstance(priced, models.Calculation)
    assert (priced.redeem.applied, priced.payable, priced.accrue) == (100, 15000, 7)
    assert isinstance(priced.lines[0], models.LineView)

    confirmed = await confirm.asyncio_detailed(client=api, body=receipt())
    assert confirmed.status_code == 201
    assert isinstance(confirmed.parsed, models.Confirmation)
    assert confirmed.parsed.balance.available == 0
    retry = await confirm.asyncio_detailed(client=api, body=receipt())
    assert retry.status_code == 200
    assert retry.parsed.purchase_id == confirmed.parsed.purchase_id

    refunded = await refund.asyncio_detailed(
        store_id="msk-001",
        receipt_id="A-1",
        client=api,
        body=models.RefundBody(refund_id="R-1", lines=[models.RefundLine(sku="4607001", quantity=1)]),
    )
    assert refunded.status_code == 201
    assert isinstance(refunded.parsed, models.RefundResult)
    assert (refunded.parsed.points_reversed, refunded.parsed.points_restored) == (7, 100)

    now = (await balance.asyncio_detailed(member_id=member.id, client=api)).parsed
    assert isinstance(now, models.Balance)
    assert now.available == 100

    refused = await confirm.asyncio_detailed(client=api, body=receipt(receipt_id="A-2", redeem=101))
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.ProblemDetails)
    assert refused.parsed.additional_properties["max"] == 100

    create_promotion = module(generated, "api.promotions.create_promotion")
    promotion = models.PromotionBody(
        name="-10% on tea", kind=models.PromotionBodyKind("discount"), percent=10, categories=["tea"]
    )
    created = (await create_promotion.asyncio_detailed(client=api, body=promotion)).parsed
    assert isinstance(created, models.Promotion)
    assert (created.percent, created.categories, created.active) == (10, ["tea"], True)
