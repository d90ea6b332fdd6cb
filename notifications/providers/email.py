"""E-mail over SMTP (aiosmtplib): multipart/alternative text + HTML, RFC 8058 one-click unsubscribe.

Promotional mail (kind "campaign", or ``meta["promotional"]``) carries ``List-Unsubscribe`` with a
per-member signed HTTPS link and a mailto, plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.unsubscribe_links import unsubscribe_token, unsubscribe_url
from shared.config import Settings

log = logging.getLogger(__name__)

PROMOTIONAL_KINDS = frozenset({"campaign"})
# 5xx answers that are about the recipient; other 5xx (policy, size) are still permanent for this message.
RECIPIENT_CODES = frozenset({550, 551, 552, 553, 554})


def is_promotional(message: OutgoingMessage) -> bool:
    return bool(message.meta.get("promotional", message.kind in PROMOTIONAL_KINDS))


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


class SmtpChannel:
    name = "email"
    batch_size = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = settings.email
        self.domain = parseaddr(self.email.sender)[1].rpartition("@")[2] or "localhost"

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.email.sender
        mail["To"] = message.to
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
        try:
            Address(addr_spec=message.to)
        except (ValueError, IndexError):
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="invalid address")
        mail = self.compose(message)
        password = self.email.smtp_password.get_secret_value() if self.email.smtp_password else None
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.email.smtp_host,
                port=self.email.smtp_port,
                username=self.email.smtp_user,
                password=password,
                use_tls=self.email.smtp_port == 465,  # implicit TLS (SMTPS)
                start_tls=(self.email.smtp_tls or None) if self.email.smtp_port != 465 else False,
                timeout=self.email.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            log.info("mail %s to %s refused: %s", message.id, mask_email(message.to), codes)
            status = DeliveryStatus.UNDELIVERABLE if all(c >= 500 for c in codes) else DeliveryStatus.FAILED
            return DeliveryResult(status, error=f"recipient refused {codes}")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in RECIPIENT_CODES:
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"smtp {exc.code}")
            return DeliveryResult(DeliveryStatus.FAILED, error=f"smtp {exc.code}", retry_after=60.0)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("smtp %s:%s unavailable: %s", self.email.smtp_host, self.email.smtp_port, type(exc).__name__)
            return DeliveryResult(DeliveryStatus.FAILED, error=type(exc).__name__, retry_after=30.0)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=str(mail["Message-ID"]))

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        return None
