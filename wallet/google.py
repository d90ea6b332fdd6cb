"""Google Wallet: the loyalty class and each member's object, kept current by PATCH on every
balance change; update notifications only for accruals and tier changes, at most three per pass
per 24 h (Google's limit), silent after that."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db.models import Member
from shared.db.models.wallet import GoogleNotice
from shared.i18n import pgettext, points_text
from shared.program import ProgramRules
from wallet.google_keys import class_id, object_id, service_account, signing_key

log = logging.getLogger("loyalty.wallet.google")
NOTIFY_KINDS = frozenset({"points_accrued", "tier_changed"})
DAILY_NOTICES = 3
SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"


def loyalty_object(settings: Settings, rules: ProgramRules, member: Member) -> dict[str, Any]:
    tier = rules.tier(member.tier_code).title(member.language)
    return {
        "id": object_id(settings, member),
        "classId": class_id(settings),
        "state": "ACTIVE",
        "accountId": member.card_number,
        "accountName": " ".join(p for p in (member.first_name, member.last_name) if p) or member.card_number,
        "loyaltyPoints": {
            "label": "Баллы" if member.language == "ru" else "Points",
            "balance": {"int": member.available},
        },
        "secondaryLoyaltyPoints": {"label": tier, "balance": {"int": member.pending}},
        "barcode": {"type": "QR_CODE", "value": member.card_number, "alternateText": member.card_number},
    }


def loyalty_class(settings: Settings, rules: ProgramRules) -> dict[str, Any]:
    w = settings.wallet
    return {
        "id": class_id(settings),
        "issuerName": w.organization_name,
        "programName": rules.name,
        "reviewStatus": "UNDER_REVIEW",
        "hexBackgroundColor": "#7a1030",
        "programLogo": {"sourceUri": {"uri": f"{settings.public_url}/static/logo.png"}},
    }


class GoogleWalletClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.account = service_account(settings)
        self.http = httpx.AsyncClient(base_url=settings.wallet.google_api_url, timeout=10)
        self._token: tuple[str, float] | None = None
        self._class_ready = False

    async def _access_token(self) -> str:
        """OAuth 2.0 JWT-bearer grant with the service-account key, cached until shortly before expiry."""
        if self._token and self._token[1] > time.time() + 60:
            return self._token[0]
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": self.account["client_email"],
                "scope": SCOPE,
                "aud": self.account["token_uri"],
                "iat": now,
                "exp": now + 3600,
            },
            signing_key(self.account),
            algorithm="RS256",
        )
        answer = await self.http.post(
            self.account["token_uri"],
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )
        answer.raise_for_status()
        body = answer.json()
        self._token = (body["access_token"], time.time() + int(body.get("expires_in", 3600)))
        return self._token[0]

    async def ensure_class(self, rules: ProgramRules) -> None:
        """The program's LoyaltyClass, inserted once (409: it already exists)."""
        if self._class_ready:
            return
        headers = {"Authorization": f"Bearer {await self._access_token()}"}
        answer = await self.http.post(
            "/walletobjects/v1/loyaltyClass", json=loyalty_class(self.settings, rules), headers=headers
        )
        self._class_ready = answer.status_code in (200, 409)

    async def update(self, body: dict[str, Any]) -> int:
        """PATCH the member's object, inserting it the first time; returns the final status."""
        headers = {"Authorization": f"Bearer {await self._access_token()}"}
        path = f"/walletobjects/v1/loyaltyObject/{body['id']}"
        answer = await self.http.patch(path, json=body, headers=headers)
        if answer.status_code == 404:
            answer = await self.http.post("/walletobjects/v1/loyaltyObject", json=body, headers=headers)
        if answer.status_code >= 400:
            log.warning("Google Wallet answered %s for %s", answer.status_code, body["id"])
        return answer.status_code

    async def expire(self, object_id: str) -> int:
        """Mark an object EXPIRED and blank what it said about the person; one never inserted stays so."""
        headers = {"Authorization": f"Bearer {await self._access_token()}"}
        body = {
            "state": "EXPIRED",
            "accountId": "",
            "accountName": "",
            "barcode": {"type": "QR_CODE", "value": "-", "alternateText": ""},
            "loyaltyPoints": {"label": "", "balance": {"int": 0}},
            "secondaryLoyaltyPoints": {"label": "", "balance": {"int": 0}},
            "messages": [],
        }
        answer = await self.http.patch(f"/walletobjects/v1/loyaltyObject/{object_id}", json=body, headers=headers)
        if answer.status_code >= 400 and answer.status_code != 404:
            log.warning("Google Wallet answered %s expiring %s", answer.status_code, object_id)
        return answer.status_code

    async def close(self) -> None:
        await self.http.aclose()


async def may_notify(session: AsyncSession, member_id: Any, now: datetime) -> bool:
    sent = (
        await session.execute(
            select(func.count())
            .select_from(GoogleNotice)
            .where(GoogleNotice.member_id == member_id, GoogleNotice.sent_at > now - timedelta(days=1))
        )
    ).scalar_one()
    return int(sent) < DAILY_NOTICES


async def sync_member(
    session: AsyncSession,
    client: GoogleWalletClient,
    settings: Settings,
    rules: ProgramRules,
    member: Member,
    kinds: set[str],
    now: datetime,
) -> None:
    await client.ensure_class(rules)
    body = loyalty_object(settings, rules, member)
    if kinds & NOTIFY_KINDS and await may_notify(session, member.id, now):
        points = points_text(member.available, member.language)
        text = pgettext(member.language, "wallet", "balance_notice", points=points)
        body["messages"] = [
            {
                "id": f"update-{int(now.timestamp())}",
                "header": settings.wallet.organization_name,
                "body": text,
                "messageType": "TEXT_AND_NOTIFY",
            }
        ]
        session.add(GoogleNotice(member_id=member.id, sent_at=now))
    await client.update(body)
