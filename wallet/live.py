"""Live balance on the card: for every claimed batch of outbox events that changed a member's
points or tier, move their pass's update tag and push each registered device once (a burst of
changes in one batch coalesces into one push). Runs as a listener of the notifier worker: the tag
moves in the batch's transaction, the pushes go out once it committed (a device asks for the
updated serials as soon as the push arrives, so earlier it would find nothing new and keep the old
balance until the next push), many at once over the HTTP/2 connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import Core
from shared.db.models import Member, OutboxEvent
from shared.db.models.wallet import WalletRegistration
from shared.events import BALANCE_EVENTS, EventKind
from shared.metrics import WALLET_UPDATES
from shared.privacy import is_erased
from wallet.apns import ApnsClient
from wallet.google import GoogleWalletClient, sync_member
from wallet.google_keys import serial_object_id

log = logging.getLogger("loyalty.wallet")


PUSH_CONCURRENCY = 100  # streams in flight on the APNs connection (Apple allows about 1,000)


class WalletUpdater:
    def __init__(self) -> None:
        self.apns: ApnsClient | None = None
        self.google: GoogleWalletClient | None = None
        self.due: set[str] = set()  # push tokens of the batch, pushed after its commit

    async def __call__(self, core: Core, session: AsyncSession, events: Sequence[OutboxEvent]) -> None:
        self.due = set()  # a batch whose commit failed is claimed again, with its pushes
        revoked = [str(e.payload.get("serial", "")) for e in events if e.kind == EventKind.WALLET_REVOKED]
        if revoked and core.settings.wallet.google_service_account_file is not None:
            await self._expire_google(core, [serial for serial in revoked if serial])
        members = {e.member_id for e in events if e.kind in BALANCE_EVENTS and e.member_id is not None}
        if not members:
            return
        now = core.clock.now()
        await session.execute(update(Member).where(Member.id.in_(members)).values(wallet_updated_at=now))
        if core.settings.wallet.google_service_account_file is not None:  # a real (or stand-in) issuer
            await self._update_google(core, session, events, members, now)
        devices = (
            await session.execute(
                select(WalletRegistration.id, WalletRegistration.push_token)
                .join(Member, Member.wallet_serial == WalletRegistration.serial)
                .where(Member.id.in_(members))
            )
        ).all()
        self.due = {token for _, token in devices}

    async def after_commit(self, core: Core) -> None:
        """Push every device of the committed batch; unregister those APNs calls gone (410)."""
        due, self.due = self.due, set()
        if not due:
            return
        if self.apns is None:
            self.apns = ApnsClient(core.settings)
        apns = self.apns
        slots = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def push(token: str) -> int:
            async with slots:
                return await apns.push(token)

        tokens = sorted(due)
        statuses = await asyncio.gather(*(push(token) for token in tokens))
        gone = []
        for token, status in zip(tokens, statuses, strict=True):
            WALLET_UPDATES.labels("apns", _apns_result(status)).inc()
            if status == 410:
                gone.append(token)
        if gone:
            async with core.transaction() as session:
                await session.execute(delete(WalletRegistration).where(WalletRegistration.push_token.in_(gone)))
            log.info("unregistered %d devices APNs called gone", len(gone))

    async def _update_google(
        self, core: Core, session: AsyncSession, events: Sequence[OutboxEvent], members: set[Any], now: datetime
    ) -> None:
        if self.google is None:
            self.google = GoogleWalletClient(core.settings)
        kinds: dict[Any, set[str]] = {}
        for event in events:
            kinds.setdefault(event.member_id, set()).add(event.kind)
        for member in (await session.execute(select(Member).where(Member.id.in_(members)))).scalars():
            if is_erased(member):  # an anonymous account left by an erasure has no card to show
                continue
            try:
                await sync_member(session, self.google, core.settings, core.rules, member, kinds[member.id], now)
            except httpx.HTTPError as exc:  # Google down: the next change sends the whole object again
                WALLET_UPDATES.labels("google", "failed").inc()
                log.warning("Google Wallet update failed: %r", exc)
            else:
                WALLET_UPDATES.labels("google", "ok").inc()

    async def _expire_google(self, core: Core, serials: list[str]) -> None:
        """An erased member's card at Google says nothing about them any more."""
        if self.google is None:
            self.google = GoogleWalletClient(core.settings)
        for serial in serials:
            try:
                await self.google.expire(serial_object_id(core.settings, serial))
            except httpx.HTTPError as exc:
                WALLET_UPDATES.labels("google", "failed").inc()
                log.warning("Google Wallet expiry failed: %r", exc)
            else:
                WALLET_UPDATES.labels("google", "ok").inc()

    async def close(self) -> None:
        if self.apns is not None:
            await self.apns.close()
        if self.google is not None:
            await self.google.close()


def _apns_result(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    return {0: "unreachable", 410: "gone"}.get(status, "rejected")
