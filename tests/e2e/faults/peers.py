"""Each real peer the suite runs, dressed for the fault tests: how the worker reaches it (its environment),
an address per message, a way to make it take a message and never answer, and what it actually got.

- SMPP: the `smpp34` server (tests/stubs/smpp_peer.py); a stall is a submit_sm it holds unanswered.
- E-mail: a private Postfix (tests/peers/postfix.py) behind a relay that withholds the 250 after DATA.
- Telegram: the npm `telegram-test-api` emulator behind a relay that forwards sendMessage and withholds
  the answer.
- Web push: our receiver (tests/stubs/webpush.py), which takes the push and then stalls.

What a peer got is counted from the peer itself (the SMSC's PDUs, the Maildir, the emulator's stored
messages, the receiver's log), per message id.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

import httpx

from notifications.providers.smpp import UNKNOWN_OUTCOME
from notifications.vapid_keys import vapid_public_key
from shared.config import PushSettings, Settings
from tests.peers.postfix import DOMAIN, Postfix
from tests.peers.telegram_emulator import running_emulator
from tests.stubs.smpp_peer import SmppPeer
from tests.stubs.stalling_proxy import END_OF_DATA, StallingProxy
from tests.stubs.webpush import PushReceiver

PEERS = ("smpp", "postfix", "telegram", "webpush")
RATE = "60"  # messages/s: a batch takes a while to send, so a kill lands inside one
OUTCOME_UNKNOWN = "outcome unknown"  # notifications.delivery.unknown_outcome, for channels it cannot ask


class FaultPeer(Protocol):
    channel: str
    unknown_error: str  # what the message's error says when the peer took it and never answered

    def addresses(self, count: int) -> list[str]: ...

    def worker_env(self) -> dict[str, str]: ...

    def stall(self, count: int) -> None:
        """The next ``count`` messages are taken by the peer and never answered in time."""

    def stalled(self) -> int: ...

    async def taken(self) -> int:
        """How many messages the peer has got so far (cheap; for timing a kill)."""

    async def received(self, sent: dict[int, str]) -> Counter[int]:
        """How many times the peer got each message (id -> address as queued), once it has them all or
        stopped receiving."""


class _Settling(ABC):
    """received(): poll the peer until every message is there, then a moment more for late duplicates."""

    @abstractmethod
    async def counts(self, sent: dict[int, str]) -> Counter[int]:
        """How many times the peer holds each message so far."""

    async def received(self, sent: dict[int, str]) -> Counter[int]:
        deadline = time.monotonic() + 15
        got = await self.counts(sent)
        while time.monotonic() < deadline and any(got[mid] == 0 for mid in sent):
            await asyncio.sleep(0.2)
            got = await self.counts(sent)
        await asyncio.sleep(1.0)  # anything sent twice would be on its way by now
        return await self.counts(sent)


class SmppFaultPeer(_Settling):
    channel = "sms"
    unknown_error = UNKNOWN_OUTCOME  # the SMPP channel's own policy: never resent over SMPP

    def __init__(self, smsc: SmppPeer) -> None:
        self.smsc = smsc
        self._addresses: list[str] = []

    def addresses(self, count: int) -> list[str]:
        self._addresses = [f"+7916555{i:03d}7" for i in range(count)]  # none ends in 0: the peer fails those
        return self._addresses

    def worker_env(self) -> dict[str, str]:
        return {
            "LOYALTY_SMS_PROVIDER": "smpp",
            "LOYALTY_SMS_SMPP_HOST": "127.0.0.1",
            "LOYALTY_SMS_SMPP_PORT": str(self.smsc.port),
            "LOYALTY_SMS_SMPP_SYSTEM_ID": "shop",
            "LOYALTY_SMS_SMPP_PASSWORD": "pw",
            "LOYALTY_SMS_SENDER": "Shop",
            "LOYALTY_SMS_SMPP_RESPONSE_TIMEOUT": "2",
            "LOYALTY_SMS_RATE_PER_SECOND": RATE,
        }

    def stall(self, count: int) -> None:
        self.smsc.silent.update(address.lstrip("+") for address in self._addresses[:count])

    def stalled(self) -> int:
        return sum(1 for destination in self.smsc.taken() if destination in self.smsc.silent)

    async def taken(self) -> int:
        return sum(self.smsc.taken().values())

    async def counts(self, sent: dict[int, str]) -> Counter[int]:
        by_destination = self.smsc.taken()
        return Counter({mid: by_destination[address.lstrip("+")] for mid, address in sent.items()})


class PostfixFaultPeer(_Settling):
    channel = "email"
    unknown_error = OUTCOME_UNKNOWN
    user = "shopper"

    def __init__(self, postfix: Postfix, proxy: StallingProxy) -> None:
        self.postfix, self.proxy = postfix, proxy
        self.maildir = postfix.mail / self.user / "new"
        for stale in self.maildir.glob("*") if self.maildir.is_dir() else ():  # the instance is shared
            stale.unlink()

    def addresses(self, count: int) -> list[str]:
        return [f"{self.user}@{DOMAIN}"] * count

    def worker_env(self) -> dict[str, str]:
        return {
            "LOYALTY_EMAIL_PROVIDER": "smtp",
            "LOYALTY_EMAIL_SMTP_HOST": "127.0.0.1",
            "LOYALTY_EMAIL_SMTP_PORT": str(self.proxy.port),
            "LOYALTY_EMAIL_SENDER": "Shop <news@shop.example>",
            "LOYALTY_EMAIL_TIMEOUT": "1",
            "LOYALTY_EMAIL_RATE_PER_SECOND": RATE,
        }

    def stall(self, count: int) -> None:
        self.proxy.stalls = count

    def stalled(self) -> int:
        return self.proxy.stalled

    async def taken(self) -> int:
        return self.proxy.triggered  # message bodies handed to Postfix (its Maildir lags behind)

    async def counts(self, sent: dict[int, str]) -> Counter[int]:
        got: Counter[int] = Counter()
        for path in self.maildir.glob("*") if self.maildir.is_dir() else ():
            with path.open("rb") as file:
                mail = email.message_from_binary_file(file, policy=email.policy.default)
            got[int(str(mail["Message-ID"]).strip("<>").split("@")[0].removeprefix("msg-"))] += 1
        return Counter({mid: got[mid] for mid in sent})


class TelegramFaultPeer(_Settling):
    channel = "telegram"
    unknown_error = OUTCOME_UNKNOWN
    token = "123456:FAULTS-token"

    def __init__(self, emulator: str, proxy: StallingProxy) -> None:
        self.emulator, self.proxy = emulator, proxy

    def addresses(self, count: int) -> list[str]:
        return [str(700_000 + i) for i in range(count)]

    def worker_env(self) -> dict[str, str]:
        return {
            "LOYALTY_TELEGRAM_TOKEN": self.token,
            "LOYALTY_TELEGRAM_API_URL": f"http://127.0.0.1:{self.proxy.port}",
            "LOYALTY_TELEGRAM_REQUEST_TIMEOUT": "1",
            "LOYALTY_TELEGRAM_RATE_PER_SECOND": RATE,
        }

    def stall(self, count: int) -> None:
        self.proxy.stalls = count

    def stalled(self) -> int:
        return self.proxy.stalled

    async def _chats(self) -> Counter[str]:
        async with httpx.AsyncClient(base_url=self.emulator, timeout=10) as http:
            history = (await http.post("/getUpdatesHistory", json={"token": self.token})).json()["result"]
        return Counter(str(update["message"]["chat_id"]) for update in history if "chat_id" in update["message"])

    async def taken(self) -> int:
        return sum((await self._chats()).values())

    async def counts(self, sent: dict[int, str]) -> Counter[int]:
        chats = await self._chats()
        return Counter({mid: chats[address] for mid, address in sent.items()})


class WebPushFaultPeer(_Settling):
    channel = "push"
    unknown_error = OUTCOME_UNKNOWN

    def __init__(self, receiver: PushReceiver, settings: Settings) -> None:
        self.receiver = receiver
        self.push = PushSettings(
            provider="webpush", allow_insecure_hosts="127.0.0.1", vapid_subject="mailto:push@shop.example"
        )
        # the worker finds the same VAPID key in the same var directory
        self.key = vapid_public_key(settings.model_copy(update={"push": self.push}))
        self.receiver.stall_seconds = 4  # past the worker's 1 s timeout
        self.receiver.answer_delay = 1 / int(RATE)  # push has no send rate of its own: pace it like the others
        self._stalls_asked = 0

    def addresses(self, count: int) -> list[str]:
        return [json.dumps(self.receiver.subscribe(self.key)) for _ in range(count)]

    def worker_env(self) -> dict[str, str]:
        return {
            "LOYALTY_PUSH_PROVIDER": "webpush",
            "LOYALTY_PUSH_ALLOW_INSECURE_HOSTS": "127.0.0.1",
            "LOYALTY_PUSH_VAPID_SUBJECT": self.push.vapid_subject,
            "LOYALTY_PUSH_REQUEST_TIMEOUT": "1",
        }

    def stall(self, count: int) -> None:
        self._stalls_asked = count
        self.receiver.stalls = count

    def stalled(self) -> int:
        return self._stalls_asked - self.receiver.stalls

    async def taken(self) -> int:
        return len(self.receiver.received)

    async def counts(self, sent: dict[int, str]) -> Counter[int]:
        got = Counter(int(push.payload["id"]) for push in self.receiver.received)
        return Counter({mid: got[mid] for mid in sent})


@asynccontextmanager
async def running_peer(name: str, settings: Settings, postfix: Postfix | None) -> AsyncIterator[FaultPeer]:
    async with AsyncExitStack() as stack:
        if name == "smpp":
            smsc = SmppPeer()
            await smsc.start()
            stack.push_async_callback(smsc.stop)
            yield SmppFaultPeer(smsc)
        elif name == "postfix":
            assert postfix is not None
            proxy = StallingProxy(postfix.port, trigger=END_OF_DATA)
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            yield PostfixFaultPeer(postfix, proxy)
        elif name == "telegram":
            emulator = stack.enter_context(running_emulator())
            proxy = StallingProxy(int(emulator.rsplit(":", 1)[1]), trigger=b"")
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            yield TelegramFaultPeer(emulator, proxy)
        else:
            receiver = PushReceiver()
            await receiver.start()
            stack.push_async_callback(receiver.stop)
            yield WebPushFaultPeer(receiver, settings)
