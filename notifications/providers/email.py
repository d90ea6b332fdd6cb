"""E-mail over SMTP (aiosmtplib): multipart/alternative text + HTML, RFC 8058 one-click unsubscribe, DKIM.

Promotional mail (kind "campaign", or ``meta["promotional"]``) carries ``List-Unsubscribe`` with a
per-member signed HTTPS link and a mailto, plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
Headers are RFC 2047 encoded words and bodies quoted-printable or base64, so the signed bytes are 7-bit and
no relay has to convert them; only a non-ASCII address needs SMTPUTF8, and then the server must offer it.
"""

from __future__ import annotations

import email.policy
import logging
import re
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib
import dkim

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.routing import POLICIES
from notifications.unsubscribe_links import unsubscribe_token, unsubscribe_url
from shared.config import Settings

log = logging.getLogger(__name__)

# 5xx answers that are about the recipient; other 5xx (policy, size) are still permanent for this message.
RECIPIENT_CODES = frozenset({550, 551, 552, 553, 554})
# What the DKIM signature covers: a relay that changes one of these breaks it, and a header listed but
# absent (List-Unsubscribe on a receipt) cannot be added later without breaking it either.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
# RFC 6531 local part beyond ASCII: no space, control, quote or specials
_UTF8_LOCAL = re.compile(r'[^\s"(),:;<>@\[\\\]\x00-\x1f\x7f]{1,64}')
# 7-bit bodies: nothing for a relay to downgrade, so the body hash survives.
COMPOSE_POLICY = email.policy.default.clone(cte_type="7bit")


def is_promotional(message: OutgoingMessage) -> bool:
    """Promotional by its kind's routing policy (campaigns, chains, the digest, birthdays, bonuses)."""
    policy = POLICIES.get(message.kind)
    return bool(message.meta.get("promotional", policy is not None and policy.promotional))


def envelope_address(address: str) -> str | None:
    """The address as it goes over SMTP, or None when it is no mailbox.

    An internationalised domain is sent in its ASCII (xn--) form, so only a non-ASCII local part needs
    SMTPUTF8 (RFC 6531); the stdlib's address parser refuses such local parts, hence the own check.
    """
    local, at, domain = address.strip().rpartition("@")
    if not (at and local and domain):
        return None
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if local.isascii():
        try:
            Address(addr_spec=f"{local}@{domain}")
        except (ValueError, IndexError):
            return None
    elif not _UTF8_LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return f"{local}@{domain}"


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


class DkimSigner:
    """Signs flattened messages with the configured key (relaxed/relaxed, rsa-sha256)."""

    def __init__(self, selector: str, domain: str, key_pem: bytes) -> None:
        self.selector, self.domain, self.key = selector.encode(), domain.encode(), key_pem
        self.sign(b"From: check@" + self.domain + b"\r\n\r\n")  # a bad key fails at start, not per message

    def sign(self, raw: bytes) -> bytes:
        """The message with its DKIM-Signature header in front."""
        header: bytes = dkim.sign(
            raw,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return header + raw


class _Smtp(aiosmtplib.SMTP):
    """An SMTP client that remembers whether the DATA command began: after that a timeout or a cut
    connection leaves the outcome unknown (the server may have queued the message before its reply)."""

    data_begun = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_begun = True
        return await super().data(message, **kwargs)


class SmtpChannel:
    name = "email"
    batch_size = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = settings.email
        self.sender = parseaddr(self.email.sender)[1]
        self.domain = self.sender.rpartition("@")[2] or "localhost"
        key = settings.dkim
        self.signer = DkimSigner(key.selector or "", key.domain or "", key.key_pem()) if key.enabled else None

    def compose(self, message: OutgoingMessage, to: str | None = None) -> EmailMessage:
        mail = EmailMessage(policy=COMPOSE_POLICY)
        mail["From"] = self.email.sender
        mail["To"] = to or message.to
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<msg-{message.id}@{self.domain}>"
        mail["Content-Language"] = message.language
        if is_promotional(message) and message.member_id is not None:
            url = message.meta.get("unsubscribe_url") or unsubscribe_url(self.settings, message.member_id)
            mailbox = self.email.unsubscribe_mailbox or f"unsubscribe@{self.domain}"
            token = unsubscribe_token(self.settings, message.member_id)
            mail["List-Unsubscribe"] = f"<{url}>, <mailto:{mailbox}?subject=unsubscribe-{token}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        to = envelope_address(message.to)
        if to is None:
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="invalid address")
        mail = self.compose(message, to)
        utf8 = not (self.sender.isascii() and to.isascii())
        raw = mail.as_bytes(policy=(email.policy.SMTPUTF8 if utf8 else email.policy.SMTP).clone(cte_type="7bit"))
        if self.signer is not None:
            raw = self.signer.sign(raw)
        password = self.email.smtp_password.get_secret_value() if self.email.smtp_password else None
        client = _Smtp(
            hostname=self.email.smtp_host,
            port=self.email.smtp_port,
            username=self.email.smtp_user,
            password=password,
            use_tls=self.email.smtp_port == 465,  # implicit TLS (SMTPS)
            start_tls=(self.email.smtp_tls or None) if self.email.smtp_port != 465 else False,
            timeout=self.email.timeout,
        )
        try:
            async with client:
                await client.sendmail(self.sender, [to], raw, mail_options=["SMTPUTF8"] if utf8 else None)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            log.info("mail %s to %s refused: %s", message.id, mask_email(message.to), codes)
            status = DeliveryStatus.UNDELIVERABLE if all(c >= 500 for c in codes) else DeliveryStatus.FAILED
            return DeliveryResult(status, error=f"recipient refused {codes}")
        except aiosmtplib.SMTPNotSupported:  # a non-ASCII mailbox and a server without SMTPUTF8
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="server lacks SMTPUTF8")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in RECIPIENT_CODES:
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"smtp {exc.code}")
            return DeliveryResult(DeliveryStatus.FAILED, error=f"smtp {exc.code}", retry_after=60.0)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("smtp %s:%s unavailable: %s", self.email.smtp_host, self.email.smtp_port, type(exc).__name__)
            # no answer once the message was on its way: the server may have queued it (RFC 1047)
            return DeliveryResult(
                DeliveryStatus.FAILED, error=type(exc).__name__, retry_after=30.0, ambiguous=client.data_begun
            )
        return DeliveryResult(DeliveryStatus.SENT, provider_id=str(mail["Message-ID"]))

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        return None
