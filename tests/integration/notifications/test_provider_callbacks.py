"""The SMSC delivery-report route: authentication, parsing, and a polite 4xx for anything odd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from notifications.channels.base import DeliveryStatus
from shared.config import Settings, SmsSettings
from shared.core import Core
from tests.conftest import app_client
from webapp.app import create_app

SECRET = "s3cret-callback-0123456789"


class Recorder:
    def __init__(self, known: bool = True) -> None:
        self.calls: list[dict[str, object]] = []
        self.known = known

    async def __call__(self, core: Core, **report: object) -> bool:
        self.calls.append(report)
        return self.known


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def http(settings: Settings, core: Core, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"sms": SmsSettings(callback_secret=SECRET)})  # type: ignore[arg-type]
    app = create_app(configured, core=core)
    app.state["record_delivery_report"] = recorder
    async with app_client(app) as client:
        yield client


URL = f"/callbacks/sms/smsc/{SECRET}"


async def test_form_and_json_reports(http: httpx.AsyncClient, recorder: Recorder) -> None:
    form = await http.post(URL, data={"id": "17", "phone": "+79123456789", "status": "1", "err": "0"})
    as_json = await http.post(URL, json={"id": "18", "status": 22, "type": "viber"})
    assert form.status_code == 200
    assert as_json.status_code == 200
    assert recorder.calls == [
        {
            "channel": "sms",
            "provider_id": "17:79123456789",  # SMSC names a message by (id, phone)
            "message_id": 17,
            "phone": "+79123456789",
            "status": DeliveryStatus.DELIVERED,
            "error": None,
        },
        {
            "channel": "viber",
            "provider_id": "18",
            "message_id": 18,
            "status": DeliveryStatus.UNDELIVERABLE,
            "error": "invalid number",
        },
    ]


async def test_unknown_status_is_acknowledged_without_recording(http: httpx.AsyncClient, recorder: Recorder) -> None:
    answer = await http.post(URL, data={"id": "19", "status": "77"})
    assert answer.status_code == 200
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"status": "1"}, None),
        ({"id": "1", "status": "delivered"}, None),
        ({"id": "", "status": "1"}, None),
        ({"id": "9" * 80, "status": "1"}, None),
    ],
)
async def test_malformed_reports_are_400(
    http: httpx.AsyncClient, recorder: Recorder, body: dict[str, str], headers: dict[str, str] | None
) -> None:
    answer = await http.post(URL, data=body, headers=headers)
    assert answer.status_code == 400
    assert recorder.calls == []


async def test_broken_json_is_400(http: httpx.AsyncClient) -> None:
    broken = await http.post(URL, content=b"{not json", headers={"Content-Type": "application/json"})
    array = await http.post(URL, json=[1, 2])
    assert broken.status_code == 400
    assert array.status_code == 400


async def test_wrong_or_missing_secret_is_403(http: httpx.AsyncClient, recorder: Recorder) -> None:
    wrong = await http.post("/callbacks/sms/smsc/guess", data={"id": "1", "status": "1"})
    assert wrong.status_code == 403
    assert recorder.calls == []


async def test_callbacks_disabled_without_a_configured_secret(settings: Settings, core: Core) -> None:
    app = create_app(settings, core=core)
    app.state["record_delivery_report"] = Recorder()
    async with app_client(app) as client:
        answer = await client.post("/callbacks/sms/smsc/None", data={"id": "1", "status": "1"})
    assert answer.status_code == 403


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={digest}", "Content-Type": "application/x-www-form-urlencoded"}


async def test_hmac_signed_reports(http: httpx.AsyncClient, recorder: Recorder) -> None:
    body = b"id=21&status=1&phone=%2B79123456789"
    good = await http.post("/callbacks/sms/smsc", content=body, headers=_signed(body))
    forged = await http.post("/callbacks/sms/smsc", content=b"id=22&status=1", headers=_signed(body))
    wrong_key = await http.post("/callbacks/sms/smsc", content=body, headers=_signed(body, "other"))
    unsigned = await http.post("/callbacks/sms/smsc", data={"id": "23", "status": "1"})
    assert good.status_code == 200
    assert [forged.status_code, wrong_key.status_code, unsigned.status_code] == [401, 401, 401]
    assert [c["message_id"] for c in recorder.calls] == [21]
