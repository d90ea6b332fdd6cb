"""Pure rules of the providers: signed unsubscribe tokens, SMSC answers, the cool-down."""

from __future__ import annotations

import uuid

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.smsc import Cooldown, SmscChannel, batches, list_form
from notifications.unsubscribe_links import unsubscribe_token, verify_unsubscribe_token
from shared.config import Settings, SmsSettings

MEMBER = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_token_round_trip_and_tampering(tmp_path: object) -> None:
    settings = Settings(secret_key="a" * 40)  # type: ignore[arg-type]
    other = Settings(secret_key="b" * 40)  # type: ignore[arg-type]
    token = unsubscribe_token(settings, MEMBER)
    assert verify_unsubscribe_token(settings, token) == MEMBER
    assert verify_unsubscribe_token(other, token) is None
    assert verify_unsubscribe_token(settings, token, channel="sms") is None
    someone_else = unsubscribe_token(settings, uuid.uuid4()).split(".")[0]
    assert verify_unsubscribe_token(settings, someone_else + "." + token.split(".")[1]) is None
    for garbage in ("", ".", "abc", "abc.def", "!!!.???", token + "x"):
        assert verify_unsubscribe_token(settings, garbage) is None


def test_smsc_answers_map_to_statuses() -> None:
    channel = SmscChannel(SmsSettings())
    msg = OutgoingMessage(id=3, channel="sms", to="+79123456789", text="x", kind="campaign")
    sent = channel._result({"id": "3", "cnt": 2, "cost": "7.00"}, msg, "3")
    assert (sent.cost_parts, sent.provider_id) == (2, "3:79123456789")
    assert channel._result({"error": "x", "error_code": 7}, msg, "3").status is DeliveryStatus.UNDELIVERABLE
    assert channel._result({"error": "x", "error_code": 6}, msg, "3").status is DeliveryStatus.UNDELIVERABLE
    funds = channel._result({"error": "x", "error_code": 3}, msg, "3")
    assert funds.status is DeliveryStatus.FAILED
    assert funds.error == "insufficient funds"
    assert channel._result({"error": "x", "error_code": 9}, msg, "3").retry_after == 60.0


def test_list_form_escapes_newlines_and_batches_keep_phones_apart() -> None:
    def sms(n: int, to: str, text: str = "x") -> OutgoingMessage:
        return OutgoingMessage(id=n, channel="sms", to=to, text=text, kind="campaign")

    assert list_form([sms(1, "+7 912 345-67-89", "a\r\nb: c"), sms(2, "+79000000000")]) == (
        "79123456789:a\\nb: c\n79000000000:x"
    )
    chunks = batches([sms(5, "+1"), sms(2, "+1"), sms(3, "+2"), sms(4, "+3")], 2)
    assert [[m.id for m in chunk] for chunk in chunks] == [[2, 3], [4, 5]]


def test_cooldown_doubles_up_to_the_ceiling_and_resets() -> None:
    cooldown = Cooldown(first=1, ceiling=8)
    assert [cooldown.failed() for _ in range(5)] == [1, 2, 4, 8, 8]
    assert cooldown.remaining() > 7
    assert cooldown.failed(30) == 30  # the provider's own Retry-After wins
    cooldown.succeeded()
    assert cooldown.remaining() == 0
