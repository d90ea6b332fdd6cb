"""The Google service account and the Save-to-Google-Wallet link (RS256 JWT)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import Settings
from shared.db.models import Member
from shared.files import create_private_once


def dev_service_account_path(settings: Settings) -> Path:
    return settings.var_dir / "wallet" / "google-dev-service-account.json"


def ensure_dev_service_account(settings: Settings) -> Path:
    """Without a real account, make a throwaway one so links and updates work locally."""
    path = dev_service_account_path(settings)
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        account = {
            "type": "service_account",
            "project_id": "loyalty-dev",
            "private_key_id": "dev",
            "private_key": pem,
            "client_email": "loyalty-dev@loyalty-dev.iam.gserviceaccount.com",
            "token_uri": "http://127.0.0.1:1/token",
        }
        create_private_once(path, json.dumps(account, indent=2))  # 0600 from the first byte
    return path


@lru_cache(maxsize=4)
def load_service_account(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@lru_cache(maxsize=4)
def _parsed_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the Google service account key must be an RSA key")
    return key


def signing_key(account: dict[str, Any]) -> rsa.RSAPrivateKey:
    """The account's RSA key, parsed once per process: parsing costs ~100 ms, signing ~1 ms."""
    return _parsed_key(account["private_key"])


def service_account(settings: Settings) -> dict[str, Any]:
    path = settings.wallet.google_service_account_file or ensure_dev_service_account(settings)
    return load_service_account(path)


def class_id(settings: Settings) -> str:
    return f"{settings.wallet.google_issuer_id}.loyalty"


def object_id(settings: Settings, member: Member) -> str:
    return serial_object_id(settings, member.wallet_serial)


def serial_object_id(settings: Settings, serial: str) -> str:
    return f"{settings.wallet.google_issuer_id}.{serial}"


def google_save_url(settings: Settings, member: Member) -> str:
    account = service_account(settings)
    claims = {
        "iss": account["client_email"],
        "aud": "google",
        "typ": "savetowallet",
        "origins": [settings.public_url],
        "payload": {"loyaltyObjects": [{"id": object_id(settings, member), "classId": class_id(settings)}]},
    }
    token = jwt.encode(claims, signing_key(account), algorithm="RS256")
    return f"https://pay.google.com/gp/v/save/{token}"
