"""E-mail through a real MTA (a private Postfix on loopback): DKIM, one-click unsubscribe, Russian headers.

What arrives in the Maildir is checked the way a receiving mailbox would: dkimpy verifies the signature
against the test key "published" by a dnsfunc, listunsub audits the RFC 8058 fields.
"""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from email.headerregistry import Address
from email.message import EmailMessage

import dkim
import listunsub
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.email import SmtpChannel
from shared.config import DkimSettings, EmailSettings, Settings
from tests.peers.postfix import DOMAIN, Postfix
from tests.stubs.stalling_proxy import END_OF_DATA, StallingProxy

pytestmark = pytest.mark.e2e

SELECTOR, SIGNING_DOMAIN = "loyalty2026", "shop.example"
SENDER = "Магазин «Винный погреб» <news@shop.example>"
SUBJECT = "Распродажа: скидка 20% на всё — только до воскресенья, не пропустите!"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
PUBLIC_DER = KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
REQUIRED = ("from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post")


def dns_txt(name: bytes, timeout: int = 5) -> bytes | None:
    """The TXT record a receiver would look up: only our selector under our domain exists."""
    if name == f"{SELECTOR}._domainkey.{SIGNING_DOMAIN}.".encode():
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(PUBLIC_DER)
    return None


def channel(settings: Settings, postfix: Postfix, *, signed: bool = True) -> SmtpChannel:
    dkim_settings = (
        DkimSettings(selector=SELECTOR, domain=SIGNING_DOMAIN, private_key=KEY_PEM.decode())
        if signed
        else DkimSettings()
    )
    return SmtpChannel(
        settings.model_copy(
            update={
                "public_url": "https://shop.example",
                "email": EmailSettings(provider="smtp", smtp_host="127.0.0.1", smtp_port=postfix.port, sender=SENDER),
                "dkim": dkim_settings,
            }
        )
    )


def campaign(message_id: int, to: str) -> OutgoingMessage:
    return OutgoingMessage(
        id=message_id,
        channel="email",
        to=to,
        text="Скидка 20% на всё.\nНе пропустите!",
        kind="campaign",
        subject=SUBJECT,
        html="<p>Скидка <b>20%</b> на всё</p>",
        member_id=uuid.uuid4(),
    )


def on_the_wire(raw: bytes) -> bytes:
    """Maildir keeps local (LF) line ends; a receiver verifies the CRLF form that crossed SMTP."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


async def test_campaign_through_postfix_is_dkim_signed_one_click_and_russian(
    settings: Settings, postfix: Postfix
) -> None:
    result = await channel(settings, postfix).send(campaign(101, f"anna@{DOMAIN}"))
    assert result.status is DeliveryStatus.SENT
    raw = on_the_wire(postfix.raw_messages("anna")[-1])
    mail = parse(raw)

    assert dkim.verify(raw, dnsfunc=dns_txt) is True
    signature = str(mail["DKIM-Signature"])
    assert set(REQUIRED) <= set(listunsub.signed_headers(signature))
    problems = listunsub.audit(
        mail.get_all("List-Unsubscribe"), mail.get_all("List-Unsubscribe-Post"), dkim_signatures=[signature]
    )
    assert problems == []
    action = listunsub.choose(
        listunsub.parse_header(str(mail["List-Unsubscribe"])), str(mail["List-Unsubscribe-Post"]), dkim_verified=True
    )
    assert action is not None
    assert action.kind == "one-click"
    assert action.uri.startswith("https://shop.example/unsubscribe/")

    # RFC 2047 for the Russian header text; the message stays 7-bit, nothing to convert on the way
    assert raw.isascii()
    assert mail["Subject"] == SUBJECT
    assert mail["From"].addresses[0] == Address("Магазин «Винный погреб»", "news", "shop.example")
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Скидка 20% на всё.\nНе пропустите!"


async def test_a_changed_header_or_a_missing_key_does_not_verify(settings: Settings, postfix: Postfix) -> None:
    await channel(settings, postfix).send(campaign(102, f"boris@{DOMAIN}"))
    await channel(settings, postfix, signed=False).send(campaign(103, f"boris@{DOMAIN}"))
    signed, unsigned = (on_the_wire(raw) for raw in postfix.raw_messages("boris", count=2)[-2:])
    forged = signed.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
    assert forged != signed
    assert dkim.verify(signed, dnsfunc=dns_txt) is True
    assert dkim.verify(forged, dnsfunc=dns_txt) is False
    assert "DKIM-Signature" not in parse(unsigned)
    assert dkim.verify(unsigned, dnsfunc=dns_txt) is False
    codes = {
        p.code
        for p in listunsub.audit(parse(unsigned)["List-Unsubscribe"], "List-Unsubscribe=One-Click", dkim_signatures=[])
    }
    assert codes == {"missing-dkim"}


async def test_receipt_signature_forbids_adding_unsubscribe_fields(settings: Settings, postfix: Postfix) -> None:
    receipt = OutgoingMessage(
        id=104, channel="email", to=f"anna@{DOMAIN}", text="Начислено 120 баллов", kind="purchase", subject="Чек"
    )
    assert (await channel(settings, postfix).send(receipt)).status is DeliveryStatus.SENT
    raw = on_the_wire(postfix.raw_messages("anna", count=2)[-1])
    assert "List-Unsubscribe" not in parse(raw)
    assert dkim.verify(raw, dnsfunc=dns_txt) is True
    header_end = raw.index(b"\r\n\r\n")
    injected = raw[:header_end] + b"\r\nList-Unsubscribe: <https://evil.example/u>" + raw[header_end:]
    assert dkim.verify(injected, dnsfunc=dns_txt) is False


async def test_cyrillic_mailbox_goes_over_smtputf8(settings: Settings, postfix: Postfix) -> None:
    result = await channel(settings, postfix).send(campaign(105, f"анна@{DOMAIN}"))
    assert result.status is DeliveryStatus.SENT
    raw = on_the_wire(postfix.raw_messages("анна")[-1])
    assert not raw.isascii()  # RFC 6532 UTF-8 header fields, since SMTPUTF8 is in use anyway
    mail = email.message_from_string(raw.decode(), policy=email.policy.default)
    assert mail["To"].addresses[0].username == "анна"
    assert mail["Subject"] == SUBJECT
    assert dkim.verify(raw, dnsfunc=dns_txt) is True  # Postfix refuses a UTF-8 mailbox without SMTPUTF8 (5.6.7)


async def test_postfix_refusals_are_permanent(settings: Settings, postfix: Postfix) -> None:
    unknown = await channel(settings, postfix).send(campaign(106, f"nobody@{DOMAIN}"))
    elsewhere = await channel(settings, postfix).send(campaign(107, "someone@gmail.com"))
    assert unknown.status is DeliveryStatus.UNDELIVERABLE
    assert elsewhere.status is DeliveryStatus.UNDELIVERABLE


@pytest.mark.parametrize(("trigger", "ambiguous"), [(b"", False), (END_OF_DATA, True)])
async def test_only_a_stall_after_the_message_went_out_leaves_its_outcome_unknown(
    settings: Settings, postfix: Postfix, trigger: bytes, ambiguous: bool
) -> None:
    """Stalled from the greeting on, Postfix never had the message: safe to retry. Stalled after the
    body's final dot, Postfix queued it (it is in the Maildir): the outcome is unknown, never resent."""
    proxy = StallingProxy(postfix.port, trigger=trigger)
    await proxy.start()
    proxy.stalls = 1
    before = len(postfix.raw_messages("boris", count=0))
    stalling = SmtpChannel(
        settings.model_copy(
            update={"email": EmailSettings(provider="smtp", smtp_port=proxy.port, sender=SENDER, timeout=1)}
        )
    )
    try:
        result = await stalling.send(campaign(108 + ambiguous, f"boris@{DOMAIN}"))
    finally:
        await proxy.stop()
    assert result.status is DeliveryStatus.FAILED
    assert result.ambiguous is ambiguous
    assert len(postfix.raw_messages("boris", count=before + ambiguous)) == before + ambiguous
