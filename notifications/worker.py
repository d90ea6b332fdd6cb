"""The notifier worker: claims outbox events and due messages (SKIP LOCKED on PostgreSQL, so
any number of workers share the work), delivers through channels, records what happened, and
hosts the scheduler for the core's due jobs (one scheduling worker: the holder of the lease row
in scheduler_lease, see notifications/liveness.py). Each worker also writes a heartbeat row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns import render_claimed, run_digest, run_marketing
from notifications.channels.base import Channel, DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.delivery import FALLBACK_CHANNELS, apply_result, fall_through
from notifications.liveness import acquire_lease, beat, release_lease, this_host, worker_identity
from notifications.planner import insert_messages, plan_event
from notifications.rates import TokenBucket
from notifications.routing import POLICIES
from notifications.webhooks import WebhookSender
from shared import jobs
from shared.core import Core
from shared.db.models import Consent, OutboxEvent
from shared.db.models.messages import DELIVERED, FAILED, QUEUED, SENDING, SENT, SKIPPED, UNDELIVERABLE, Message
from shared.metrics import JOB_FAILURES, JOB_RUNS, MESSAGES, SCHEDULER_LEADER
from shared.offers import run_recommendations
from shared.retention import run_retention

log = logging.getLogger("loyalty.notifier")
# Listeners see each claimed batch inside its transaction (so their writes commit with it, and a
# failure leaves the events to be claimed again). A listener with an `after_commit(core)` coroutine
# is called once the batch's transaction committed: what it tells the outside world (a wallet push
# that makes a device fetch its pass) must not arrive before the change can be read.
Listener = Callable[[Core, AsyncSession, list[OutboxEvent]], Awaitable[None]]
MAX_EVENT_ATTEMPTS = 10
_T = Message.__table__
_LEASE = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(status=SENDING, lease_until=bindparam("lease"), attempts=_T.c.attempts + 1)
)
_UNRENDERABLE = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(status=UNDELIVERABLE, lease_until=None, cascade=[], error=bindparam("why"))
)
_WITHDRAWN = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(status=SKIPPED, lease_until=None, cascade=[], error="consent withdrawn before sending")
)
_MARK_DONE = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(
        status=bindparam("st"),
        provider_id=bindparam("pid"),
        cost_parts=bindparam("parts"),
        delivered_at=bindparam("dat"),
        fallback_at=bindparam("fb"),
        lease_until=None,
        error=None,
    )
)


async def _without_consent(session: AsyncSession, messages: list[Message]) -> set[int]:
    """The claimed messages whose kind needs consent on their channel and whose member no longer
    gives it: consent is checked when a message is planned and again when it goes out."""
    needing = [m for m in messages if m.member_id is not None and m.kind in POLICIES and POLICIES[m.kind].needs_consent]
    if not needing:
        return set()
    rows = await session.execute(
        select(Consent.member_id, Consent.channel).where(
            Consent.member_id.in_({m.member_id for m in needing}), Consent.granted.is_(True)
        )
    )
    granted = {(member_id, channel) for member_id, channel in rows}
    return {m.id for m in needing if (m.member_id, m.channel) not in granted}


class Worker:
    def __init__(
        self,
        core: Core,
        channels: dict[str, Channel],
        *,
        listeners: Sequence[Listener] = (),
        rates: dict[str, float] | None = None,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.channels = channels
        self.webhooks = webhooks
        self.listeners = list(listeners) + ([webhooks.plan] if webhooks is not None else [])
        self.buckets = {name: TokenBucket(rate) for name, rate in (rates or {}).items()}
        self.postgres = core.engine.dialect.name == "postgresql"
        self._chat_sent: dict[str, float] = {}
        self.identity = worker_identity()
        self.scheduler: Any = None  # the APScheduler while this worker holds the lease

    def _locking(self, stmt: Any) -> Any:
        return stmt.with_for_update(skip_locked=True) if self.postgres else stmt

    async def process_outbox(self) -> int:
        """Turn a batch of outbox events into message rows, in the transaction that marks them done."""
        now = self.core.clock.now()
        async with self.core.transaction() as session:
            events = list(
                (
                    await session.execute(
                        self._locking(
                            select(OutboxEvent)
                            .where(OutboxEvent.processed_at.is_(None))
                            .order_by(OutboxEvent.id)
                            .limit(self.settings.notify.batch_size)
                        )
                    )
                ).scalars()
            )
            if not events:
                return 0
            listener_failed, error = False, ""
            for listener in self.listeners:
                try:
                    async with session.begin_nested():
                        await listener(self.core, session, events)
                except Exception as exc:  # a wallet or other listener must not lose events
                    log.exception("listener %r failed on %d events", listener, len(events))
                    listener_failed, error = True, repr(exc)[:500]
            failed = listener_failed
            for event in events:
                try:
                    async with session.begin_nested():
                        # inserted per event, so the frequency cap counts what earlier events just queued
                        await insert_messages(session, await plan_event(session, self.settings, event, now))
                except Exception as exc:  # one bad event must not stall the ones behind it
                    log.exception("event %s (%s) could not be planned", event.id, event.kind)
                    failed, error = True, repr(exc)[:500]
                if failed and event.attempts + 1 < MAX_EVENT_ATTEMPTS:
                    event.attempts += 1
                    event.last_error = error
                else:
                    event.processed_at = now
                failed = listener_failed
        for listener in self.listeners:
            after_commit = getattr(listener, "after_commit", None)
            if after_commit is not None:
                try:
                    await after_commit(self.core)
                except Exception:  # the events are done; a lost push is caught up by the next change
                    log.exception("listener %r failed after commit", listener)
        return len(events)

    async def _claim(self) -> tuple[list[Message], set[int]]:
        """Lease a batch of due messages; also say which were left 'sending' by a dead worker."""
        now = self.core.clock.now()
        lease = now + timedelta(seconds=self.settings.notify.lease_seconds)
        async with self.core.transaction() as session:
            due = or_(
                Message.status.in_((QUEUED, FAILED)) & (Message.next_attempt_at <= now),
                (Message.status == SENDING) & (Message.lease_until < now),  # a worker died holding it
            )
            messages = list(
                (
                    await session.execute(
                        self._locking(
                            select(Message)
                            .where(due)
                            .order_by(Message.next_attempt_at, Message.id)
                            .limit(self.settings.notify.batch_size)
                        )
                    )
                ).scalars()
            )
            session.expunge_all()  # plain objects from here on: the lease is one UPDATE, not one per row
            if messages:
                await session.execute(_LEASE, [{"mid": m.id, "lease": lease} for m in messages])
                broken = await render_claimed(session, self.settings, messages)
                if broken:  # nothing to say any more (the member was merged away): never sent
                    await session.execute(_UNRENDERABLE, [{"mid": mid, "why": why} for mid, why in broken.items()])
                    messages = [m for m in messages if m.id not in broken]
                withdrawn = await _without_consent(session, messages)
                if withdrawn:  # planned while consented, held (quiet hours, a retry); the member said no since
                    await session.execute(_WITHDRAWN, [{"mid": mid} for mid in withdrawn])
                    messages = [m for m in messages if m.id not in withdrawn]
        uncertain = {m.id for m in messages if m.status == SENDING}
        for message in messages:
            message.status, message.lease_until = SENDING, lease
            message.attempts += 1
        return messages, uncertain

    async def send_due(self) -> int:
        # the lease runs from the claim: a result recorded after it may race the worker that claims next
        until = time.monotonic() + self.settings.notify.lease_seconds - 1
        messages, uncertain = await self._claim()
        by_channel: dict[str, list[Message]] = defaultdict(list)
        for message in messages:
            by_channel[message.channel].append(message)
        for name, batch in by_channel.items():
            known = await self._already_sent(name, [m for m in batch if m.id in uncertain])
            if known:
                await self._record_surely(
                    [m for m in batch if m.id in known], [known[m.id] for m in batch if m.id in known], until
                )
            batch = [m for m in batch if m.id not in known]
            results = await self._deliver(name, batch)
            await self._record_surely(batch, results, until)
        return len(messages)

    async def _record_surely(self, batch: list[Message], results: list[DeliveryResult], until: float) -> None:
        """The provider has answered: keep trying to write it down while the database is away (a restart,
        a failover) until the lease runs out. Dropped, the messages would be claimed again when it expires
        and sent twice wherever the provider cannot be asked (`lookup`) what it already has."""
        delay = 0.2
        while True:
            try:
                await self._record(batch, results)
                return
            except (DBAPIError, OSError) as exc:
                if time.monotonic() + delay >= until:
                    raise
                log.warning(
                    "could not record %d results (%s); retrying in %.1f s", len(batch), type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _already_sent(self, name: str, suspects: list[Message]) -> dict[int, DeliveryResult]:
        """A message a dead worker may have handed over already: ask the provider before resending
        (providers that can be asked, by our id, implement `lookup`)."""
        channel = self.channels.get(name)
        lookup = getattr(channel, "lookup", None)
        if not suspects or lookup is None:
            return {}
        answers = await lookup([self._outgoing(name, m) for m in suspects])
        return {
            # "can't tell yet" keeps the doubt: asked again at the retry, never resent blindly
            m.id: replace(answer, ambiguous=True) if answer.status is DeliveryStatus.FAILED else answer
            for m, answer in zip(suspects, answers, strict=True)
            if answer is not None
        }

    async def _record(self, batch: list[Message], results: list[DeliveryResult]) -> None:
        """Successes in one statement (the bulk path); anything else through the full rules."""
        if not batch:
            return
        now = self.core.clock.now()
        done = [
            {
                "mid": m.id,
                "st": DELIVERED if r.status == DeliveryStatus.DELIVERED else SENT,
                "pid": r.provider_id,
                "parts": r.cost_parts or m.cost_parts,
                "dat": now if r.status == DeliveryStatus.DELIVERED else None,
                "fb": now + timedelta(minutes=self.settings.notify.delivery_timeout_minutes)
                if r.status == DeliveryStatus.SENT and m.cascade and m.channel in FALLBACK_CHANNELS
                else None,
            }
            for m, r in zip(batch, results, strict=True)
            if r.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
        ]
        rest = [
            (m, r)
            for m, r in zip(batch, results, strict=True)
            if r.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
        ]
        async with self.core.transaction() as session:
            if done:
                await session.execute(_MARK_DONE.values(sent_at=now), done)
            for message, result in rest:
                merged = await session.merge(message)
                askable = hasattr(self.channels.get(message.channel), "lookup")
                await apply_result(session, self.settings, merged, result, now, askable=askable)

    @staticmethod
    def _outgoing(name: str, m: Message) -> OutgoingMessage:
        return OutgoingMessage(
            id=m.id,
            channel=name,
            to=m.address,
            text=m.text,
            kind=m.kind,
            subject=m.subject,
            html=m.html,
            language=m.language,
            member_id=m.member_id,
            meta={k: v for k, v in m.meta.items() if k != "context"},
        )

    async def _deliver(self, name: str, batch: list[Message]) -> list[DeliveryResult]:
        channel = self.channels.get(name)
        if channel is None:
            return [DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"no provider for {name}")] * len(batch)
        if name == "telegram":  # Telegram allows about one message per second to one chat
            return await self._per_chat(channel, batch)
        return await self._send_all(name, channel, batch)

    async def _per_chat(self, channel: Channel, batch: list[Message]) -> list[DeliveryResult]:
        now = time.monotonic()
        results: dict[int, DeliveryResult] = {}
        allowed = []
        for message in batch:
            if now - self._chat_sent.get(message.address, -1.0) < 1.0:
                results[message.id] = DeliveryResult(DeliveryStatus.FAILED, error="chat rate", retry_after=1.0)
                message.attempts -= 1  # waiting for the chat's turn is not a failed attempt
            else:
                self._chat_sent[message.address] = now
                allowed.append(message)
        for message, result in zip(allowed, await self._send_all("telegram", channel, allowed), strict=True):
            results[message.id] = result
        if len(self._chat_sent) > 100_000:
            self._chat_sent = {k: v for k, v in self._chat_sent.items() if now - v < 1.0}
        return [results[m.id] for m in batch]

    async def _send_all(self, name: str, channel: Channel, batch: list[Message]) -> list[DeliveryResult]:
        outgoing = [self._outgoing(name, m) for m in batch]
        results: list[DeliveryResult] = []
        size = max(1, channel.batch_size)
        for start in range(0, len(outgoing), size):
            chunk = outgoing[start : start + size]
            bucket = self.buckets.get(name)
            if bucket is not None:
                await bucket.take(len(chunk))
            try:
                if len(chunk) == 1 or size == 1:
                    results += [await channel.send(m) for m in chunk]
                else:
                    results += await channel.send_batch(chunk)
            except Exception as exc:  # a provider outage is transient: retry later with backoff
                log.warning("channel %s failed on %d messages: %r", name, len(chunk), exc)
                # a timeout or a cut connection may come after the provider took the request
                doubt = isinstance(exc, TimeoutError | ConnectionResetError)
                results += [DeliveryResult(DeliveryStatus.FAILED, error=repr(exc)[:300], ambiguous=doubt)] * len(chunk)
        provider = str(getattr(channel, "provider", type(channel).__name__))
        for result in results:
            MESSAGES.labels(name, provider, str(result.status)).inc()
        return results

    async def expire_fallbacks(self) -> int:
        """Sent but no delivery report in time (Viber): try the next channel of the cascade."""
        now = self.core.clock.now()
        async with self.core.transaction() as session:
            overdue = list(
                (
                    await session.execute(
                        self._locking(
                            select(Message)
                            .where(Message.status == SENT, Message.fallback_at <= now)
                            .limit(self.settings.notify.batch_size)
                        )
                    )
                ).scalars()
            )
            for message in overdue:
                message.fallback_at = None
                message.error = "no delivery report in time"
                await fall_through(session, self.settings, message, now)
        return len(overdue)

    async def run_once(self) -> int:
        planned = await self.process_outbox()
        hooks = await self.webhooks.send_due() if self.webhooks is not None else 0
        return planned + hooks + await self.send_due() + await self.expire_fallbacks()

    async def run(self, stop: asyncio.Event) -> None:
        helpers = [asyncio.create_task(self._heartbeat(stop)), asyncio.create_task(self._lead(stop))]
        try:
            while not stop.is_set():
                try:
                    busy = await self.run_once()
                except Exception:
                    log.exception("notifier loop failed; retrying in a second")
                    busy = 0
                    await asyncio.sleep(1)
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.notify.poll_seconds)
        finally:
            stop.set()
            await asyncio.gather(*helpers, return_exceptions=True)
            for channel in self.channels.values():
                await channel.close()
            if self.webhooks is not None:
                await self.webhooks.close()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """A row saying this worker is alive, for /readyz and `loyalty worker --check`."""
        host, pid, started = this_host(), os.getpid(), self.core.clock.now()
        while not stop.is_set():
            try:
                await beat(self.core, self.identity, host, pid, started)
            except Exception:
                log.exception("could not write the worker heartbeat")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.notify.heartbeat_seconds)

    async def _lead(self, stop: asyncio.Event) -> None:
        """Hold the scheduler lease and schedule while it is held; renew it every few seconds."""
        try:
            while not stop.is_set():
                await self.keep_lease()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.notify.leader_renew_seconds)
        finally:
            await self.step_down()

    async def keep_lease(self) -> bool:
        """One round: take or renew the lease; start scheduling on winning it, stop on losing it
        (a renewal that fails counts as lost: the lease may expire before the next one)."""
        try:
            held = await acquire_lease(self.core, self.identity, self.settings.notify.leader_lease_seconds)
        except Exception:
            log.exception("could not renew the scheduler lease")
            held = False
        if held and self.scheduler is None:
            self.scheduler = self._start_scheduler()
            SCHEDULER_LEADER.set(1)
            log.info("this worker (%s) holds the scheduler lease and schedules the due jobs", self.identity)
        elif not held and self.scheduler is not None:
            self._stop_scheduler()
            log.warning("this worker (%s) lost the scheduler lease and stopped scheduling", self.identity)
        return held

    async def step_down(self) -> None:
        """Stop scheduling and free the lease, so another worker takes over without waiting."""
        if self.scheduler is None:
            return
        self._stop_scheduler()
        try:
            await release_lease(self.core, self.identity)
        except Exception:
            log.exception("could not release the scheduler lease; it expires by itself")

    def _start_scheduler(self) -> Any:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self._run_due,
            "interval",
            minutes=self.settings.notify.due_jobs_minutes,
            next_run_time=self.core.clock.now(),
            max_instances=1,
            coalesce=True,
            id="due-jobs",
        )
        scheduler.add_job(
            self._run_marketing,
            "interval",
            seconds=self.settings.notify.campaigns_seconds,
            next_run_time=self.core.clock.now(),
            max_instances=1,
            coalesce=True,
            id="campaigns",
        )
        scheduler.add_job(
            self._run_recommendations,
            "cron",
            hour=self.settings.recommend.hour_utc,
            minute=0,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            id="recommendations",
        )
        if self.settings.digest.enabled:  # daily: sends from the digest day on, once a month (digest_runs)
            scheduler.add_job(
                self._run_digest,
                "cron",
                hour=self.settings.digest.hour_utc,
                minute=30,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                id="digest",
            )
        scheduler.start()
        return scheduler

    def _stop_scheduler(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.scheduler = None
        SCHEDULER_LEADER.set(0)

    async def _run_marketing(self) -> None:
        """Due campaigns and trigger chains (idempotent: a double run changes nothing)."""
        JOB_RUNS.labels("campaigns").inc()
        try:
            report = await run_marketing(self.core)
            if any(report.values()):
                log.info("marketing jobs: %s", report)
        except Exception:
            JOB_FAILURES.labels("campaigns").inc()
            log.exception("marketing jobs failed; the next run will pick them up")

    async def _run_recommendations(self) -> None:
        """Nightly: associations and every member's recommendations, replaced in one transaction."""
        JOB_RUNS.labels("recommendations").inc()
        try:
            log.info("recommendations: %s", await run_recommendations(self.core))
        except Exception:
            JOB_FAILURES.labels("recommendations").inc()
            log.exception("recommendations failed; yesterday's stay until the next night")

    async def _run_digest(self) -> None:
        """The month's digest, once it is due; a finished month costs one lookup."""
        JOB_RUNS.labels("digest").inc()
        try:
            report = await run_digest(self.core)
            if report.ran:
                log.info("digest: %s", report)
        except Exception:
            JOB_FAILURES.labels("digest").inc()
            log.exception("the digest failed; tomorrow's check resumes it")

    async def _run_due(self) -> None:
        JOB_RUNS.labels("due-jobs").inc()
        try:
            report = await jobs.run_due(self.core, self.core.clock)
            log.info("due jobs: %s", report)
        except Exception:
            JOB_FAILURES.labels("due-jobs").inc()
            log.exception("due jobs failed; the next run will pick them up")
        try:  # personal data past its retention (shared/retention.py)
            log.info("retention: %s", await run_retention(self.core, self.core.clock, self.settings.retention))
        except Exception:
            log.exception("retention failed; the next run will pick it up")
