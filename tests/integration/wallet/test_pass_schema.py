"""pass.json as our web app serves it, validated by an independent peer: the joi schemas of the npm
package passkit-generator (its own PassProps, applied strictly by passkit_generator_validate.cjs)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared.core import Core
from shared.demo import demo_phone, seed_demo

SCRIPT = Path(__file__).with_name("passkit_generator_validate.cjs")


def validate(tmp_path: Path, passes: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """passkit-generator's verdict on each pass.json: name -> errors (empty when valid)."""
    if shutil.which("node") is None or not Path("node_modules/passkit-generator").is_dir():
        pytest.fail("passkit-generator is missing: `make install` runs `npm ci` (needs node and npm)")
    files = []
    for name, data in passes.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        files.append(str(path))
    run = subprocess.run(["node", str(SCRIPT), *files], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode in (0, 1), run.stderr
    verdicts = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(verdicts) == len(passes), run.stderr
    return {Path(v["file"]).stem: v["errors"] for v in verdicts}


async def served_pass(client: httpx.AsyncClient, member: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(member["wallet"]["apple_url"])
    r = await client.get(f"{url.path}?{url.query}")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return json.loads(archive.read("pass.json"))  # type: ignore[no-any-return]


async def test_served_passes_pass_passkit_generators_schema(
    client: httpx.AsyncClient, core: Core, tmp_path: Path
) -> None:
    await seed_demo(core, members=3, days=30)
    demo = (await client.get("/api/v1/members", params={"phone": demo_phone(0)})).json()
    long_ru = {"first_name": "Александра-" + "Ё" * 89, "last_name": "Константинопольская-" + "щ" * 80}
    members = {
        "demo": demo,
        "long_russian_names": (await client.post("/api/v1/members", json={"phone": "+79123450001", **long_ru})).json(),
        "english_quotes": (
            await client.post(
                "/api/v1/members",
                json={"phone": "+79123450002", "first_name": 'Seán "Jr"', "last_name": "O'Brien", "language": "en"},
            )
        ).json(),
        "zero_no_name": (await client.post("/api/v1/members", json={"phone": "+79123450003"})).json(),
    }
    spent = await client.post(  # the welcome points spent: nothing available
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": "zero",
            "member": {"phone": "+79123450003"},
            "lines": [{"sku": "a", "quantity": 1, "price": 1000000, "amount": 1000000}],
            "redeem": "max",
        },
    )
    assert spent.status_code == 201, spent.text
    assert spent.json()["balance"]["available"] == 0
    passes = {name: await served_pass(client, member) for name, member in members.items()}
    assert validate(tmp_path, passes) == {name: [] for name in passes}

    assert passes["demo"]["locations"], "the demo's stores are the pass's locations"
    long_fields = passes["long_russian_names"]["storeCard"]["secondaryFields"]
    assert {
        "key": "name",
        "label": "Владелец",
        "value": f"{long_ru['first_name']} {long_ru['last_name']}",
    } in long_fields
    zero = passes["zero_no_name"]["storeCard"]
    assert zero["primaryFields"][0]["value"] == 0
    assert [f["key"] for f in zero["secondaryFields"]] == ["pending"]  # no empty name field
    for data in passes.values():
        assert data["barcode"] == data["barcodes"][0]  # the iOS 8 copy says the same
        assert "%@" in data["storeCard"]["primaryFields"][0]["changeMessage"]  # Apple: the new value goes there


async def test_the_validator_rejects_what_passkit_generator_rejects(
    client: httpx.AsyncClient, core: Core, tmp_path: Path
) -> None:
    """The peer is not a rubber stamp: one served pass, broken in ways the schema forbids."""
    member = (await client.post("/api/v1/members", json={"phone": "+79123450004"})).json()
    data = await served_pass(client, member)
    data["backgroundColor"] = "red"
    data["storeCard"]["primaryFields"][0].pop("value")
    data["barcode"]["format"] = "PKBarcodeFormatUnknown"
    data["loyaltyExtra"] = True
    [errors] = validate(tmp_path, {"broken": data}).values()
    assert {e["path"] for e in errors} == {
        "backgroundColor",
        "storeCard.primaryFields.0.value",
        "barcode.format",
        "loyaltyExtra",
    }
