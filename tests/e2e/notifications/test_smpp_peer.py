"""The SMPP channel against an SMSC we did not write: the `smpp34` server (tests/stubs/smpp_peer.py),
over 127.0.0.1, with every PDU on the wire recorded. Each message ends delivered, failed with a reason
(retried later) or handed on to the next channel; no part reaches the SMSC twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import smpp34

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.providers.smpp import UNKNOWN_OUTCOME, SmppChannel
from shared.config import SmsSettings
from tests.stubs.smpp_peer import SmppPeer

pytestmark = pytest.mark.e2e


class Reports:
    """What the channel hands to record_delivery_report."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []

    async def __call__(self, core: object, **report: object) -> bool:
        self.items.append(report)
        return True

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.items) < count:  # noqa: ASYNC110 - reports arrive from another thread
                await asyncio.sleep(0.01)

    def of(self, message_id: int) -> list[object]:
        return [r["status"] for r in self.items if r["message_id"] == message_id]


@pytest.fixture
async def peer() -> AsyncIterator[SmppPeer]:
    smsc = SmppPeer()
    await smsc.start()
    yield smsc
    await smsc.stop()


def channel_for(peer: SmppPeer, reports: Reports, window: int = 10, **options: float) -> SmppChannel:
    settings = SmsSettings(
        provider="smpp",
        smpp_port=peer.port,
        smpp_system_id="shop",
        smpp_password="pw",  # type: ignore[arg-type]
        smpp_window=window,
        sender="Shop",
    )
    return SmppChannel(settings, recorder=reports, **options)


def sms(n: int, to: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(id=n, channel="sms", to=to, text=text, kind="points_accrued")


CYRILLIC = "Здравствуйте! " + "Вам начислено 120 баллов за покупку. " * 4  # 162 UCS-2 units: 3 parts
GSM_SPECIALS = "§1 [x] ^2 €3"
GSM_LONG = "Points: " + "a" * 144 + "€" + "b" * 20  # the euro's escape would straddle septet 153


@pytest.mark.parametrize("id_style", [("hex", "dec"), ("dec", "hex")])
async def test_encodings_concatenation_and_receipts_with_ids_in_the_other_base(
    peer: SmppPeer, id_style: tuple[str, str]
) -> None:
    peer.id_style = id_style
    reports = Reports()
    channel = channel_for(peer, reports)
    batch = [
        sms(1, "+79123456781", CYRILLIC),
        sms(2, "+79123456782", GSM_SPECIALS),
        sms(3, "+79123456783", GSM_LONG),
        sms(4, "+79123456780", "Hello"),  # the peer reports this one UNDELIV
    ]
    try:
        results = await channel.send_batch(batch)
        await reports.wait_for(3 + 1 + 2 + 1)  # one receipt per part
    finally:
        await channel.close()
    assert [r.status for r in results] == [DeliveryStatus.SENT] * 4
    assert [r.cost_parts for r in results] == [3, 1, 2, 1]
    received = {to: (body, coding) for to, body, coding in peer.messages}
    assert received["79123456781"] == (CYRILLIC.encode("utf-16-be"), 0x08)
    assert received["79123456782"] == (b"\x5f1 \x1b\x3cx\x1b\x3e \x1b\x142 \x1b\x653", 0x00)  # GSM 03.38
    assert received["79123456783"][0] == b"Points: " + b"a" * 144 + b"\x1b\x65" + b"b" * 20
    long_parts = [p.short_message for p in peer.accepted if p.destination == "79123456783"]
    # each part once (the SMSC's handler may take two pipelined submits in either order; the text
    # above is reassembled by sequence number, so it proves the parts are numbered right)
    assert sorted(p[5] for p in long_parts) == [1, 2]
    by_number = sorted(long_parts, key=lambda p: p[5])
    assert [len(p) - 6 for p in by_number] == [152, 22]  # the escape pair moved whole to part 2
    assert all(r["message_id"] in (1, 2, 3, 4) for r in reports.items)  # every receipt matched its message
    assert set(reports.of(1)) == {DeliveryStatus.DELIVERED}
    assert reports.of(4) == [DeliveryStatus.UNDELIVERABLE]
    first_ids = {p.destination: p.message_id for p in reversed(peer.accepted)}
    assert results[0].provider_id == first_ids["79123456781"]
    assert all(r["provider_id"] == results[0].provider_id for r in reports.items if r["message_id"] == 1)
    assert peer.binds == 1
    assert peer.sent("unbind") == 1
    assert peer.sent("deliver_sm_resp") == 7
    assert not peer.duplicates()


async def test_submits_are_windowed(peer: SmppPeer) -> None:
    peer.hold_until = 4  # the peer answers nothing until four submit_sm are outstanding
    channel = channel_for(peer, Reports(), window=4, response_timeout=3)
    try:
        results = await channel.send_batch([sms(n, f"+7912345670{n}", f"m{n}") for n in range(1, 9)])
    finally:
        await channel.close()
    assert [r.status for r in results] == [DeliveryStatus.SENT] * 8
    assert peer.max_outstanding == 4  # never more than the window
    assert len(peer.accepted) == 8
    assert not peer.duplicates()


async def test_enquire_link_keeps_one_session(peer: SmppPeer) -> None:
    channel = channel_for(peer, Reports(), enquire_interval=0.2)
    try:
        assert (await channel.send(sms(1, "+79123456781", "a"))).status is DeliveryStatus.SENT
        await asyncio.sleep(0.7)
        assert (await channel.send(sms(2, "+79123456781", "b"))).status is DeliveryStatus.SENT
    finally:
        await channel.close()
    assert peer.sent("enquire_link") >= 2
    assert peer.sent("enquire_link_resp", by="smsc") >= 2
    assert peer.binds == 1


async def retried(channel: SmppChannel, message: OutgoingMessage, first: DeliveryResult) -> DeliveryResult:
    """What the worker does once retry_after has passed (the test does not sleep through it)."""
    assert first.retry_after
    channel.cooldown.succeeded()
    return await channel.send(message)


@pytest.mark.parametrize(
    ("status", "reason"), [(smpp34.ESME_RTHROTTLED, "throttled"), (smpp34.ESME_RMSGQFUL, "smsc queue full")]
)
async def test_refused_part_is_retried_alone(peer: SmppPeer, status: int, reason: str) -> None:
    """Part 1 of 3 accepted, the SMSC refuses the rest for now: the retry sends only what is missing."""
    peer.refuse_parts.update({2: status, 3: status})
    reports = Reports()
    channel = channel_for(peer, reports, window=3)
    message = sms(1, "+79123456781", CYRILLIC)
    try:
        first = await channel.send(message)
        second = await retried(channel, message, first)
        await reports.wait_for(3)
    finally:
        await channel.close()
    assert first.status is DeliveryStatus.FAILED
    assert first.error == reason
    assert first.retry_after is not None
    assert first.retry_after >= 5
    assert second.status is DeliveryStatus.SENT
    assert second.cost_parts == 3
    assert peer.messages == [("79123456781", CYRILLIC.encode("utf-16-be"), 0x08)]
    assert sorted(p.short_message[5] for p in peer.accepted) == [1, 2, 3]
    assert not peer.duplicates()
    assert second.provider_id == peer.accepted[0].message_id
    assert set(reports.of(1)) == {DeliveryStatus.DELIVERED}


async def test_no_answer_is_handed_on_not_resent(peer: SmppPeer) -> None:
    peer.silent.add("79123456781")
    channel = channel_for(peer, Reports(), response_timeout=0.5)
    try:
        unanswered = await channel.send(sms(1, "+79123456781", "a"))
        channel.cooldown.succeeded()  # retry_after passed
        after = await channel.send(sms(2, "+79123456782", "b"))
    finally:
        await channel.close()
    assert unanswered.status is DeliveryStatus.UNDELIVERABLE  # the worker falls through to the next channel
    assert unanswered.error == UNKNOWN_OUTCOME
    assert after.status is DeliveryStatus.SENT
    assert peer.binds == 2  # the silent session was dropped and a new one bound
    assert [p.destination for p in peer.accepted] == ["79123456782"]
    assert peer.sent("submit_sm") == 2  # message 1 went to the SMSC once and was not sent again


async def test_unbind_from_the_smsc_then_reconnect(peer: SmppPeer) -> None:
    peer.receipt_delay = 0.3  # the receipt of message 1 is still pending when the SMSC unbinds
    reports = Reports()
    channel = channel_for(peer, reports)
    try:
        before = await channel.send(sms(1, "+79123456781", "a"))
        await peer.unbind_all()
        async with asyncio.timeout(5):
            while channel._client is not None:  # noqa: ASYNC110 - the reader thread notices the unbind
                await asyncio.sleep(0.01)
        after = await channel.send(sms(2, "+79123456782", "b"))
        await reports.wait_for(2)
    finally:
        await channel.close()
    assert before.status is DeliveryStatus.SENT
    assert after.status is DeliveryStatus.SENT
    assert peer.sent("unbind", by="smsc") == 1
    assert peer.sent("unbind_resp") == 1  # we answered the SMSC's unbind
    assert peer.binds == 2
    assert reports.of(1) == [DeliveryStatus.DELIVERED]  # delivered on the new session, still matched
    assert reports.of(2) == [DeliveryStatus.DELIVERED]
    assert len(peer.accepted) == 2
    assert not peer.duplicates()
