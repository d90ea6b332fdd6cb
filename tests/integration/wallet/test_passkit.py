"""Apple passes: signed so openssl (and so an iPhone) accepts them, and the PassKit web service
answering as Apple specifies."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared.config import Settings
from shared.core import Core
from wallet.dev_certs import ensure_dev_chain

TYPE = "pass.dev.loyalty.card"


@pytest.fixture
async def member(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.post("/api/v1/members", json={"phone": "+79123456789", "first_name": "Anna"})
    return r.json()  # type: ignore[no-any-return]


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def download(client: httpx.AsyncClient, member: dict[str, Any]) -> httpx.Response:
    url = urlsplit(member["wallet"]["apple_url"])
    return await client.get(f"{url.path}?{url.query}")


async def test_pass_is_signed_detached_with_the_chain_and_a_signing_time(
    client: httpx.AsyncClient, member: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    r = await download(client, member)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.apple.pkpass"
    files = unzip(r.content)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}  # every file is in the manifest
    for name, digest in manifest.items():  # and every hash matches
        assert hashlib.sha1(files[name]).hexdigest() == digest
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"])
    (tmp_path / "signature").write_bytes(files["signature"])
    root = settings.var_dir / "wallet" / "dev-root.pem"
    verify = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(root),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    printed = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "signature")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "signingTime" in printed
    assert "eContent: <ABSENT>" in printed  # detached
    signer = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-in", str(ensure_dev_chain(settings).cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"UID = {TYPE}" in signer
    assert "OU = DEVTEAM001" in signer
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"] + b" ")  # tampered content fails
    assert (
        subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(tmp_path / "signature"),
                "-content",
                str(tmp_path / "manifest.json"),
                "-CAfile",
                str(root),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    )


async def test_pass_shows_card_balance_tier_and_change_message(
    client: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    data = json.loads(unzip((await download(client, member)).content)["pass.json"])
    assert data["barcodes"][0]["message"] == member["card_number"]
    assert data["barcodes"][0]["altText"] == member["card_number"]
    primary = data["storeCard"]["primaryFields"][0]
    assert primary["value"] == 100
    assert "%@" in primary["changeMessage"]
    assert data["storeCard"]["headerFields"][0]["value"] == "Стандарт"
    assert len(data["authenticationToken"]) >= 16
    assert data["webServiceURL"].endswith("/wallet/apple")


async def test_download_links_are_signed_and_expire(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    url = urlsplit(member["wallet"]["apple_url"])
    assert (await client.get(f"{url.path}?{url.query.replace('sig=', 'sig=x')}")).status_code == 403
    assert (await client.get(f"{url.path}?expires=1&sig=abc")).status_code == 403
    assert (await client.get(url.path)).status_code == 400


async def test_web_service_round_trip(core: Core, client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    data = json.loads(unzip((await download(client, member)).content)["pass.json"])
    serial, token = data["serialNumber"], data["authenticationToken"]
    auth = {"Authorization": f"ApplePass {token}"}
    path = f"/wallet/apple/v1/devices/dev-1/registrations/{TYPE}/{serial}"
    assert (
        await client.post(path, json={"pushToken": "t1"}, headers={"Authorization": "ApplePass wrong"})
    ).status_code == 401
    assert (await client.post(path, json={"pushToken": "t1"}, headers=auth)).status_code == 201
    assert (await client.post(path, json={"pushToken": "t1"}, headers=auth)).status_code == 200
    assert (await client.post(path, json={"nope": 1}, headers=auth)).status_code == 400
    listing = await client.get(f"/wallet/apple/v1/devices/dev-1/registrations/{TYPE}")
    assert listing.status_code == 200
    assert listing.json()["serialNumbers"] == [serial]
    last = listing.json()["lastUpdated"]
    assert isinstance(last, str)
    assert (
        await client.get(f"/wallet/apple/v1/devices/dev-1/registrations/{TYPE}", params={"passesUpdatedSince": last})
    ).status_code == 204
    core.clock.advance(seconds=1)  # type: ignore[attr-defined]  # in the tag's own second there is no 304
    latest = await client.get(f"/wallet/apple/v1/passes/{TYPE}/{serial}", headers=auth)
    assert latest.status_code == 200
    assert "last-modified" in latest.headers
    again = await client.get(
        f"/wallet/apple/v1/passes/{TYPE}/{serial}",
        headers={**auth, "If-Modified-Since": latest.headers["last-modified"]},
    )
    assert again.status_code == 304
    assert (await client.get(f"/wallet/apple/v1/passes/{TYPE}/{serial}")).status_code == 401
    assert (await client.get(f"/wallet/apple/v1/passes/{TYPE}/nope", headers=auth)).status_code == 401
    assert (await client.get(f"/wallet/apple/v1/passes/pass.other/{serial}", headers=auth)).status_code == 404
    assert (await client.post("/wallet/apple/v1/log", json={"logs": ["hello"]})).status_code == 200
    assert (await client.delete(path, headers=auth)).status_code == 200
    assert (await client.get(f"/wallet/apple/v1/devices/dev-1/registrations/{TYPE}")).status_code == 204
