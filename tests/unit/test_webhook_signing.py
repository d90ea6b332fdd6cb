"""Webhook signatures agree with an independent implementation (the `standardwebhooks` package),
secrets never show in a repr, and the back-off grows with jitter up to its ceiling."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.db.models.webhooks import WebhookEndpoint
from shared.webhooks import new_secret, retry_delay, sign


def test_a_signature_verifies_with_standardwebhooks_and_a_changed_body_does_not() -> None:
    secret = new_secret()
    body, now = b'{"type":"tier.changed","data":{"to":"gold"}}', int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "msg_1", now, body),
    }
    assert Webhook(secret.get_secret_value()).verify(body, headers) == {"type": "tier.changed", "data": {"to": "gold"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.get_secret_value()).verify(body.replace(b"gold", b"platinum"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret().get_secret_value()).verify(body, headers)


def test_the_secret_is_masked_wherever_it_is_printed() -> None:
    secret = new_secret()
    assert secret.get_secret_value().startswith("whsec_")
    endpoint = WebhookEndpoint(id=1, url="https://crm.example/h", events=["tier.changed"], secret=secret, active=True)
    for text in (repr(secret), str(secret), repr(endpoint), f"{secret}"):
        assert secret.get_secret_value() not in text


def test_back_off_doubles_with_jitter_and_stops_growing_at_six_hours() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, 5, rng) for n in range(1, 30)]
    assert timedelta(seconds=2.5) <= delays[0] <= timedelta(seconds=5)
    assert timedelta(seconds=20) <= delays[3] <= timedelta(seconds=40)
    assert all(timedelta(hours=3) <= d <= timedelta(hours=6) for d in delays[15:])
    assert len(set(delays)) == len(delays)  # jittered: no two alike
