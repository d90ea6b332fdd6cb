"""E-mail through a real SMTP server (aiosmtpd on loopback) and the one-click unsubscribe route."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.email import SmtpChannel
from notifications.unsubscribe_links import unsubscribe_token
from shared.config import EmailSettings, Settings
from shared.core import Core
from shared.db.models import Member
from shared.members import Registration, consents_of, register, set_consent
from tests.conftest import app_client
from tests.stubs.serving import free_port
from webapp.app import create_app

pytestmark = pytest.mark.e2e


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
async def member(core: Core) -> AsyncIterator[Member]:
    async with core.transaction() as session:
        member, _ = await register(
            session, core.clock, core.rules, Registration(phone="+79123456789", email="anna@example.com")
        )
        await set_consent(session, core.clock, member, "email", True, source="cabinet", method="checkbox")
    return member


def mail_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "email": EmailSettings(
                provider="smtp", smtp_host="127.0.0.1", smtp_port=port, sender="Shop <news@shop.example>"
            )
        }
    )


async def test_promotional_mail_has_both_parts_and_one_click_headers(
    smtp: tuple[Mailbox, int], settings: Settings, member: Member
) -> None:
    box, port = smtp
    channel = SmtpChannel(mail_settings(settings, port))
    msg = OutgoingMessage(
        id=7,
        channel="email",
        to="anna@example.com",
        text="Скидка 20%",
        kind="campaign",
        subject="Распродажа",
        html="<p>Скидка <b>20%</b></p>",
        member_id=member.id,
    )
    result = await channel.send(msg)
    assert result.status is DeliveryStatus.SENT
    [mail] = box.messages
    assert mail["Subject"] == "Распродажа"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content().strip() == "Скидка 20%"  # type: ignore[union-attr]
    assert "<b>20%</b>" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = unsubscribe_token(settings, member.id)
    assert mail["List-Unsubscribe"] == (
        f"<http://testserver.local/unsubscribe/{token}>, <mailto:unsubscribe@shop.example?subject=unsubscribe-{token}>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_transactional_mail_has_no_unsubscribe_and_refusals_are_permanent(
    smtp: tuple[Mailbox, int], settings: Settings, member: Member
) -> None:
    box, port = smtp
    channel = SmtpChannel(mail_settings(settings, port))
    ok = await channel.send(
        OutgoingMessage(
            id=8,
            channel="email",
            to="anna@example.com",
            text="Код 1234",
            kind="login_code",
            member_id=member.id,
        )
    )
    refused = await channel.send(
        OutgoingMessage(id=9, channel="email", to="nobody@example.com", text="x", kind="campaign", member_id=member.id)
    )
    bad = await channel.send(OutgoingMessage(id=10, channel="email", to="not an address", text="x", kind="campaign"))
    down = await SmtpChannel(mail_settings(settings, free_port())).send(
        OutgoingMessage(id=11, channel="email", to="anna@example.com", text="x", kind="campaign")
    )
    assert ok.status is DeliveryStatus.SENT
    assert "List-Unsubscribe" not in box.messages[0]
    assert box.messages[0].get_content_type() == "text/plain"
    assert refused.status is DeliveryStatus.UNDELIVERABLE
    assert bad.status is DeliveryStatus.UNDELIVERABLE
    assert down.status is DeliveryStatus.FAILED


async def test_one_click_post_opts_out_and_tampered_link_is_refused(
    settings: Settings, core: Core, member: Member
) -> None:
    token = unsubscribe_token(settings, member.id)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    async with app_client(create_app(settings, core=core)) as http:
        page = await http.get(f"/unsubscribe/{token}", headers={"Accept-Language": "en-GB"})
        refused = await http.post(f"/unsubscribe/{tampered}", data={"List-Unsubscribe": "One-Click"})
        garbage = await http.post("/unsubscribe/%%%", content=b"\x00\xff")
        async with core.reading() as session:
            still = (await consents_of(session, member.id))["email"].granted
        done = await http.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    assert 'method="post"' in page.text
    assert refused.status_code == 403
    assert garbage.status_code == 403
    assert still is True
    assert done.status_code == 200
    assert "Готово" in done.text
    async with core.reading() as session:
        consent = (await consents_of(session, member.id))["email"]
    assert consent.granted is False
    assert (consent.source, consent.method) == ("email-unsubscribe", "one-click")


async def test_confirm_page_button_opts_out_in_russian(settings: Settings, core: Core, member: Member) -> None:
    token = unsubscribe_token(settings, member.id)
    async with app_client(create_app(settings, core=core)) as http:
        page = await http.get(f"/unsubscribe/{token}")
        done = await http.post(f"/unsubscribe/{token}?lang=ru", data={"confirm": "1"})
    assert "Отписаться" in page.text
    assert done.status_code == 200
    async with core.reading() as session:
        consent = (await consents_of(session, member.id))["email"]
    assert consent.granted is False
    assert consent.method == "confirm-page"


async def test_odd_bodies_still_unsubscribe_and_unknown_member_is_404(
    settings: Settings, core: Core, member: Member
) -> None:
    import uuid

    token = unsubscribe_token(settings, member.id)
    stranger = unsubscribe_token(settings, uuid.uuid4())
    async with app_client(create_app(settings, core=core)) as http:
        odd = await http.post(
            f"/unsubscribe/{token}",
            content=b"--x\r\nbroken",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        unknown = await http.post(f"/unsubscribe/{stranger}", data={"List-Unsubscribe": "One-Click"})
    assert odd.status_code == 200
    assert unknown.status_code == 404
    async with core.reading() as session:
        assert (await consents_of(session, member.id))["email"].granted is False
