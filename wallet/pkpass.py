"""Apple Wallet store cards: pass.json, images, manifest and signature, zipped as a .pkpass."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shared import i18n
from shared.config import Settings
from wallet.signing import PassSigner

CONTEXT = "wallet"  # the pass's labels in the message catalogue (shared/locales), msgid = key
LABEL_KEYS = ("balance", "pending", "tier", "name", "card", "change", "about", "rules")


@dataclass(frozen=True)
class PassData:
    serial: str
    auth_token: str
    card_number: str
    name: str | None
    available: int
    pending: int
    tier: str
    language: str = "ru"
    locations: list[dict[str, Any]] = field(default_factory=list)


def pass_json(settings: Settings, data: PassData) -> dict[str, Any]:
    w = settings.wallet
    text = {key: i18n.text(data.language, CONTEXT, key) for key in LABEL_KEYS}
    secondary = [{"key": "pending", "label": text["pending"], "value": data.pending}]
    if data.name:
        secondary.append({"key": "name", "label": text["name"], "value": data.name})
    barcode = {
        "format": "PKBarcodeFormatQR",
        "message": data.card_number,
        "messageEncoding": "iso-8859-1",
        "altText": data.card_number,
    }
    return {
        "formatVersion": 1,
        "passTypeIdentifier": w.apple_pass_type_id,
        "teamIdentifier": w.apple_team_id,
        "serialNumber": data.serial,
        "authenticationToken": data.auth_token,
        "webServiceURL": f"{settings.public_url}/wallet/apple",
        "organizationName": w.organization_name,
        "description": f"{w.organization_name}: {text['card'].lower()}",
        "logoText": w.organization_name,
        "backgroundColor": w.background_color,
        "foregroundColor": w.foreground_color,
        "labelColor": w.label_color,
        "storeCard": {
            "headerFields": [{"key": "tier", "label": text["tier"], "value": data.tier}],
            "primaryFields": [
                {"key": "balance", "label": text["balance"], "value": data.available, "changeMessage": text["change"]}
            ],
            "secondaryFields": secondary,
            "backFields": [
                {"key": "card", "label": text["card"], "value": data.card_number},
                {"key": "about", "label": text["about"], "value": text["rules"]},
            ],
        },
        "barcodes": [barcode],
        "barcode": barcode,  # iOS 8 and older read only this one
        "locations": data.locations[:10],
    }


@lru_cache(maxsize=1)
def images() -> dict[str, bytes]:
    """Icon and logo drawn once per process (the brand's own files can replace them)."""
    from PIL import Image, ImageDraw

    out = {}
    for name, size in {
        "icon.png": (29, 29),
        "icon@2x.png": (58, 58),
        "icon@3x.png": (87, 87),
        "logo.png": (160, 50),
        "logo@2x.png": (320, 100),
    }.items():
        image = Image.new("RGBA", size, (122, 16, 48, 255) if name.startswith("icon") else (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        side = min(size)
        draw.ellipse((side * 0.15, side * 0.15, side * 0.85, side * 0.85), fill=(255, 214, 170, 255))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        out[name] = buffer.getvalue()
    return out


def build_pkpass(settings: Settings, signer: PassSigner, data: PassData) -> bytes:
    files = {
        "pass.json": json.dumps(pass_json(settings, data), ensure_ascii=False, separators=(",", ":")).encode(),
        **images(),
    }
    manifest = json.dumps(
        {name: hashlib.sha1(body).hexdigest() for name, body in files.items()},  # noqa: S324
        separators=(",", ":"),
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", signer.sign(manifest))
    return buffer.getvalue()
