"""A local SMSC.ru over a real socket, written from SMSC.ru's HTTP API documentation (not from our client).

The documented contract, as we know it (no internet here; re-check against https://smsc.ru/api/http/):

``POST /sys/send.php`` (form; GET works the same there):
  login, psw; sender; charset=utf-8; fmt=3 (JSON answers); cost=3 (answer with cost and balance);
  op=1 (answer with a line per phone); viber=1 for Viber; ``id``: the client's message id (an integer
  1..2147483647 or a short [A-Za-z0-9._-] string). The SMSC identifies a message by **(id, phone)**: an
  id is not required to be unique, one request has one id.
  Either ``phones`` (comma/semicolon separated) + ``mes``, or ``list``: one ``phones:mes`` pair per line
  (split at the first colon), a newline inside a text written as the two characters ``\\n``.
  Answer: ``{"id", "cnt" (parts billed), "cost", "balance", "phones": [{"phone", "mccmnc", "cost"} |
  {"phone", "status", "error"}]}``; a number it cannot send to is listed with ``error`` while the rest go.
  Refusal of the whole request: ``{"error": "...", "error_code": N, "id"}``:
  1 parameters, 2 login/password, 3 insufficient funds, 4 IP blocked, 5 date format,
  6 message prohibited (text or sender name), 7 invalid phone number (no valid number in the request),
  8 cannot be delivered to the number, 9 too many concurrent requests / the same request twice a minute.
  HTTP status is 200 for all of these.
``POST /sys/status.php``: login, psw, fmt=3, and ``phone`` + ``id`` for one message, or ``list`` with one
  ``phone,id`` per line for several. Answer: ``{"status", "last_date", "last_timestamp", "err"}`` (one),
  an array of those with ``id`` and ``phone`` added (several; an unknown pair has ``status`` -3).
  Refusal: ``error_code`` 1 parameters, 2 login, 3 message not found (one), 4 IP blocked,
  9 more than five status requests for one message a minute.
  Statuses: -3 not found, -1 queued, 0 handed to the operator, 1 delivered, 2 read, 3 expired,
  20 undeliverable, 22 invalid number, 23 prohibited, 24 insufficient funds, 25 unavailable number.
Delivery reports: the SMSC POSTs ``id, phone, status, err`` (form) to the callback URL of the account.

Test knobs: ``denied_texts`` (texts refused with error 6: the whole request), ``invalid_phones`` (listed
with an error per phone, or error 7 when no number is left), ``phone_errors`` ({phone: (http status or
None, error code)} refusing any request that contains the phone), ``answer_status`` (every request gets
that HTTP status), ``delay``. Every accepted message is appended to ``accepted`` as ``id:phone`` and, with
``log_path``, to that file as ``phone`` (one line per message handed on); ``duplicates()`` counts the same
text to the same phone accepted twice, which is what a customer would notice.

    stub = SmscStub(callback_url="http://127.0.0.1:8000/callbacks/sms/smsc/<secret>")
    await stub.start(port=0)          # stub.url -> http://127.0.0.1:<port>

Run standalone: ``python -m tests.stubs.smsc --port 9100 [--callback URL] [--log FILE]``;
``GET /_stub/stats`` then answers ``{"accepted", "requests", "duplicates", "callbacks_sent"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from notifications.sms_parts import count_parts

NOT_FOUND = -3


def last_digit_zero_fails(phone: str) -> bool:
    return phone.endswith("0")


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


class Refused(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class SmscStub:
    def __init__(
        self,
        *,
        login: str = "shop",
        password: str = "secret",
        callback_url: str | None = None,
        fails: Callable[[str], bool] = last_digit_zero_fails,
        log_path: Path | None = None,
        part_cost: str = "3.50",
    ) -> None:
        self.login, self.password = login, password
        self.callback_url = callback_url
        self.fails = fails
        self.part_cost = part_cost
        self.accepted: list[str] = []  # "id:phone" per message handed on
        self.sent: list[tuple[str, str]] = []  # (phone, text) per message handed on
        self.status_of: dict[tuple[str, str], int] = {}  # (id, phone) -> status
        self.viber_accepted: list[str] = []
        self.requests = 0
        self.list_requests = 0
        self.status_requests = 0
        self.forms: list[dict[str, str]] = []
        self.callbacks_sent = 0
        self.callback_answers: list[int] = []
        self.denied_texts: set[str] = set()
        self.invalid_phones: set[str] = set()
        self.phone_errors: dict[str, tuple[int | None, int]] = {}
        self.answer_status: int | None = None
        self.delay: float = 0.0
        self._log = log_path.open("a", encoding="utf-8") if log_path else None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._reports: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
        self._reporter: asyncio.Task[None] | None = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/sys/send.php", self._send)
        app.router.add_post("/sys/status.php", self._status)
        app.router.add_get("/_stub/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        if self.callback_url:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20))
            self._reporter = asyncio.create_task(self._report_loop())
        return self.url

    async def stop(self) -> None:
        if self._reporter:
            self._reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporter
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()
        if self._log:
            self._log.close()

    # -- inspection ------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.accepted)

    def duplicates(self) -> dict[str, int]:
        """The same text accepted twice for one phone (what the customer would see twice)."""
        return {f"{phone}:{text[:20]}": n for (phone, text), n in Counter(self.sent).items() if n > 1}

    def dump(self, path: Path) -> None:
        path.write_text("\n".join(self.accepted) + ("\n" if self.accepted else ""), encoding="utf-8")

    async def reports_drained(self) -> None:
        """Wait until every queued delivery report was POSTed (wrap in asyncio.timeout to bound it)."""
        await self._reports.join()

    async def _stats(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "accepted": self.count,
                "requests": self.requests,
                "duplicates": self.duplicates(),
                "callbacks_sent": self.callbacks_sent,
            }
        )

    # -- send.php --------------------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.answer_status:
            return web.Response(status=self.answer_status, text="unavailable")
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.forms.append(form)
        ref = form.get("id", "")
        try:
            self._authorise(form)
            pairs = self._pairs(form)
            rules = {_digits(k): v for k, v in self.phone_errors.items()}
            for phone, _ in pairs:
                rule = rules.get(_digits(phone))
                if rule is not None and rule[0] is not None:
                    return web.Response(status=rule[0], text="error")
                if rule is not None:
                    raise Refused(rule[1], "refused")
            if any(text in self.denied_texts for _, text in pairs):
                raise Refused(6, "message is denied")
            valid = [(p, t) for p, t in pairs if _digits(p) not in self.invalid_phones]
            if not valid:
                raise Refused(7, "invalid number")
        except Refused as refused:
            return web.json_response({"error": refused.text, "error_code": refused.code, "id": ref})
        phones: list[dict[str, Any]] = []
        parts_total = 0
        for phone, text in pairs:
            if (phone, text) not in valid:
                phones.append({"phone": _digits(phone), "status": "22", "error": "invalid number"})
                continue
            parts = count_parts(text)
            parts_total += parts
            self._accept(ref, phone, text, form.get("viber") == "1")
            phones.append({"phone": _digits(phone), "mccmnc": "25001", "cost": self._cost(parts)})
        if self._log:
            self._log.flush()  # the log survives a kill of the stub: one flush per request
        if self.delay:  # taken, but slow to answer: a sender killed now never hears back
            await asyncio.sleep(self.delay)
        answer: dict[str, Any] = {"id": ref, "cnt": parts_total}
        if form.get("cost") in ("2", "3"):
            answer["cost"] = self._cost(parts_total)
        if form.get("cost") == "3":
            answer["balance"] = "1000.00"
        if form.get("op") == "1":
            answer["phones"] = phones
        return web.json_response(answer)

    def _authorise(self, form: dict[str, str]) -> None:
        if form.get("login") != self.login or form.get("psw") != self.password:
            raise Refused(2, "authorise error")

    def _pairs(self, form: dict[str, str]) -> list[tuple[str, str]]:
        if "list" in form:
            self.list_requests += 1
            pairs = []
            for line in form["list"].splitlines():
                phones, sep, text = line.partition(":")
                if not sep or not text:
                    raise Refused(1, "parameters error")
                pairs.extend((p.strip(), text.replace("\\n", "\n")) for p in phones.replace(";", ",").split(","))
            return pairs
        phones, text = form.get("phones", ""), form.get("mes", "")
        if not phones or not text:
            raise Refused(1, "parameters error")
        return [(p.strip(), text) for p in phones.replace(";", ",").split(",")]

    def _cost(self, parts: int) -> str:
        return f"{parts * float(self.part_cost):.2f}"

    def _accept(self, ref: str, phone: str, text: str, viber: bool) -> None:
        key = f"{ref}:{_digits(phone)}"
        self.accepted.append(key)
        self.sent.append((_digits(phone), text))
        failed = self.fails(phone)
        self.status_of[(ref, _digits(phone))] = 20 if failed else 1
        if viber:
            self.viber_accepted.append(key)
        if self._log:
            self._log.write(_digits(phone) + "\n")
        if self.callback_url:
            self._reports.put_nowait((ref, _digits(phone), 20 if failed else 1))

    # -- status.php ------------------------------------------------------------------------------
    async def _status(self, request: web.Request) -> web.Response:
        self.status_requests += 1
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            self._authorise(form)
        except Refused as refused:
            return web.json_response({"error": refused.text, "error_code": refused.code})
        if "list" in form:
            answers = []
            for line in form["list"].splitlines():
                phone, _, ref = line.partition(",")
                status = self.status_of.get((ref.strip(), _digits(phone)), NOT_FOUND)
                answers.append({"id": ref.strip(), "phone": _digits(phone), **self._state(status)})
            return web.json_response(answers)
        if not form.get("phone") or not form.get("id"):
            return web.json_response({"error": "parameters error", "error_code": 1})
        status = self.status_of.get((form["id"], _digits(form["phone"])))
        if status is None:
            return web.json_response({"error": "message not found", "error_code": 3})
        return web.json_response(self._state(status))

    @staticmethod
    def _state(status: int) -> dict[str, Any]:
        return {"status": status, "last_date": "07.12.2026 12:00:00", "last_timestamp": 1796644800, "err": 0}

    async def _report_loop(self) -> None:
        assert self._session is not None
        assert self.callback_url is not None
        while True:
            ref, phone, status = await self._reports.get()
            try:
                data = {"id": ref, "phone": phone, "status": str(status), "err": "0" if status == 1 else "1"}
                async with self._session.post(self.callback_url, data=data) as answer:
                    self.callback_answers.append(answer.status)
                    self.callbacks_sent += 1
            except aiohttp.ClientError:
                self.callback_answers.append(0)
            finally:
                self._reports.task_done()


async def _main(port: int, callback: str | None, log: Path | None, delay: float) -> None:
    stub = SmscStub(callback_url=callback, log_path=log)
    stub.delay = delay
    print("SMSC stub on", await stub.start(port), flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        await stopped.wait()
    finally:
        await stub.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--callback")
    parser.add_argument("--log", type=Path)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each request takes")
    args = parser.parse_args()
    asyncio.run(_main(args.port, args.callback, args.log, args.delay))
