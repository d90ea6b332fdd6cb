"""Delivery-report callbacks from SMS/Viber aggregators.

The aggregator is given ``{public_url}/callbacks/sms/smsc/{LOYALTY_SMS_CALLBACK_SECRET}`` (a wrong
secret gets 403), or posts to ``/callbacks/sms/smsc`` with an HMAC-SHA256 ``X-Signature`` of the body
(401 without a valid one). A malformed report gets 400; a report for a message we do not know is
acknowledged (200) so the aggregator stops retrying it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Router, post
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.params import FromPath
from litestar.response import Response

from notifications.channels.base import DeliveryStatus
from notifications.providers.smsc import smsc_reference
from notifications.reports import record_delivery_report
from shared.config import Settings
from shared.core import Core
from shared.phones import mask_phone
from webapp.deps import CoreDep, SettingsDep

log = logging.getLogger(__name__)

Recorder = Callable[..., Awaitable[bool]]

# SMSC status codes: final ones only; -1 (queued) and 0 (handed to the operator) mean "sent".
SMSC_STATUSES: dict[int, tuple[DeliveryStatus, str | None]] = {
    -1: (DeliveryStatus.SENT, None),
    0: (DeliveryStatus.SENT, None),
    1: (DeliveryStatus.DELIVERED, None),
    2: (DeliveryStatus.DELIVERED, None),  # read (Viber)
    3: (DeliveryStatus.FAILED, "expired"),
    20: (DeliveryStatus.UNDELIVERABLE, "undeliverable"),
    22: (DeliveryStatus.UNDELIVERABLE, "invalid number"),
    23: (DeliveryStatus.UNDELIVERABLE, "prohibited"),
    24: (DeliveryStatus.FAILED, "insufficient funds"),
    25: (DeliveryStatus.UNDELIVERABLE, "unavailable number"),
}


def recorder_of(request: Request[Any, Any, Any]) -> Recorder:
    """The engine's record_delivery_report, unless the app state carries another (tests, replays)."""
    recorder = request.app.state.get("record_delivery_report")
    if recorder is not None:
        return recorder  # type: ignore[no-any-return]
    return record_delivery_report


def _secret_matches(settings: Settings, given: str) -> bool:
    expected = settings.sms.callback_secret
    if expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


async def _report_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("not an object")
            return {str(k): str(v) for k, v in body.items()}
        form = await request.form()
        return {str(k): str(v) for k, v in form.items()}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientException("malformed delivery report") from exc


def _signature_matches(settings: Settings, body: bytes, header: str | None) -> bool:
    expected = settings.sms.callback_secret
    if expected is None or not expected.get_secret_value() or not header:
        return False
    digest = hmac.new(expected.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").strip().lower().encode(), digest.encode())


@post("/sms/smsc/{secret:str}", status_code=200, include_in_schema=False)
async def smsc_report(
    request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep, secret: FromPath[str]
) -> Response[str]:
    """The aggregator knows the secret URL (SMSC and most Russian aggregators work this way)."""
    if not _secret_matches(settings, secret):
        raise PermissionDeniedException("unknown callback")
    return await _record_report(request, core)


@post("/sms/smsc", status_code=200, include_in_schema=False)
async def smsc_signed_report(request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep) -> Response[str]:
    """For aggregators that sign the body: ``X-Signature: sha256=<hex HMAC-SHA256(secret, body)>``."""
    body = await request.body()
    if not _signature_matches(settings, body, request.headers.get("x-signature")):
        raise NotAuthorizedException("missing or wrong X-Signature")
    return await _record_report(request, core)


async def _record_report(request: Request[Any, Any, Any], core: Core) -> Response[str]:
    fields = await _report_fields(request)
    try:
        code = int(fields["status"])
        reference = fields["id"].strip()
    except (KeyError, ValueError) as exc:
        raise ClientException("delivery report needs id and a numeric status") from exc
    if not reference or len(reference) > 64:
        raise ClientException("bad message id")
    status, error = SMSC_STATUSES.get(code, (None, None))
    if status is None:
        log.info("smsc report %s with unknown status %s ignored", reference, code)
        return Response("OK", media_type="text/plain")
    message_id = int(reference) if reference.isdigit() and len(reference) < 19 else None
    channel = "viber" if fields.get("viber") == "1" or fields.get("type") == "viber" else "sms"
    phone = fields.get("phone", "").strip()[:32]
    where: dict[str, Any] = {"provider_id": reference, "message_id": message_id}
    if phone:  # SMSC names a message by (id, phone): one id covers a whole batch
        where = {"provider_id": smsc_reference(reference, phone), "message_id": message_id, "phone": phone}
    known = await recorder_of(request)(core, channel=channel, status=status, error=error, **where)
    log.info(
        "smsc report %s for %s: %s%s",
        reference,
        mask_phone(fields.get("phone")),
        status,
        "" if known else " (unknown message)",
    )
    return Response("OK", media_type="text/plain")


def create_callbacks_router() -> Router:
    return Router(path="/callbacks", route_handlers=[smsc_report, smsc_signed_report])
