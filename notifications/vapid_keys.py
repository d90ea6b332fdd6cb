"""VAPID keys for Web Push: configured, or generated once into var/vapid.json (mode 0600)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from shared.config import Settings
from shared.files import private_dir


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_b64(key: ec.EllipticCurvePrivateKey) -> str:
    return _b64(
        key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def _generate(path: Path) -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    keys = {
        "private_key": _b64(key.private_numbers().private_value.to_bytes(32, "big")),
        "public_key": _public_b64(key),
    }
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable, not even briefly
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keys, out)
    return keys


def load_vapid(settings: Settings) -> Vapid02:
    """The signing key: LOYALTY_PUSH_VAPID_PRIVATE_KEY, else var/vapid.json (created on first use)."""
    configured = settings.push.vapid_private_key
    if configured is not None:
        value = configured.get_secret_value().strip()
        return Vapid02.from_pem(value.encode()) if "BEGIN" in value else Vapid02.from_string(value)
    path = settings.var_dir / "vapid.json"
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        try:
            keys = _generate(path)
        except FileExistsError:  # another process won the race
            keys = json.loads(path.read_text(encoding="utf-8"))
    return Vapid02.from_raw(keys["private_key"].encode())


def vapid_public_key(settings: Settings) -> str:
    """The applicationServerKey for PushManager.subscribe() (urlsafe base64, no padding)."""
    if settings.push.vapid_private_key is not None and settings.push.vapid_public_key:
        return settings.push.vapid_public_key
    vapid = load_vapid(settings)
    return _public_b64(vapid.private_key)
