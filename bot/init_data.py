"""Validation of Telegram Mini App initData (the server-side check Telegram documents).

secret = HMAC_SHA256(key="WebAppData", msg=bot_token); hash = HMAC_SHA256(secret, data_check_string)
where data_check_string is the sorted "key=value" pairs except hash, joined by newlines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl


class InitDataError(ValueError):
    """initData is missing, forged or too old."""


def validate_init_data(
    init_data: str, bot_token: str, max_age_seconds: int = 3600, now: float | None = None
) -> dict[str, Any]:
    """Return the parsed fields (with `user` decoded) or raise InitDataError."""
    if not init_data or len(init_data) > 4096:
        raise InitDataError("initData is missing or too long")
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=False))
    received = fields.pop("hash", None)
    if not received:
        raise InitDataError("initData has no hash")
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise InitDataError("initData signature does not match")
    try:
        auth_date = int(fields.get("auth_date", "0"))
    except ValueError as exc:
        raise InitDataError("initData auth_date is not a number") from exc
    if (now if now is not None else time.time()) - auth_date > max_age_seconds:
        raise InitDataError("initData is too old")
    parsed: dict[str, Any] = dict(fields)
    if "user" in fields:
        try:
            parsed["user"] = json.loads(fields["user"])
        except json.JSONDecodeError as exc:
            raise InitDataError("initData user is not JSON") from exc
    return parsed


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """Build a valid initData string (what Telegram does); for tests and local development."""
    from urllib.parse import urlencode

    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})
