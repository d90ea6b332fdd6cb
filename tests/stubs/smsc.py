"""A local stand-in for an SMSC.ru-style SMS/Viber aggregator, over a real socket.

Speaks the subset `notifications.providers.smsc` uses:
- ``POST /sys/send.php`` (form: login, psw, phones, mes, id, sender, viber, fmt=3)
  -> ``{"id", "cnt", "cost"}`` or ``{"error", "error_code"}``;
- ``POST /rest/send_list/`` (JSON: login, psw, sender, viber, list=[{id, phone, mes}]) ->
  ``{"results": [{"id", "cnt", "cost"} | {"id", "error", "error_code"}]}``.

Every accepted message id is appended to ``accepted`` (and to ``log_path`` when given) so crash tests and
benchmarks can count duplicates. With ``callback_url`` set it POSTs delivery reports back (form fields id,
phone, status, err, like SMSC): status 1 (delivered), or 20 (undeliverable) when ``fails(phone)`` is true.

    stub = SmscStub(callback_url="http://127.0.0.1:8000/callbacks/sms/smsc/<secret>")
    await stub.start(port=0)          # stub.url -> http://127.0.0.1:<port>
    ...; stub.count; stub.dump(path); await stub.stop()

Run standalone: ``python -m tests.stubs.smsc --port 9100 [--callback URL] [--log FILE]``;
``GET /_stub/stats`` then answers ``{"accepted", "requests", "duplicates", "callbacks_sent"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from notifications.sms_parts import count_parts


def last_digit_zero_fails(phone: str) -> bool:
    return phone.endswith("0")


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
        self.accepted: list[str] = []
        self._known: set[str] = set()
        self.viber_accepted: list[str] = []
        self.requests = 0
        self.callbacks_sent = 0
        self.callback_answers: list[int] = []
        # Rules the tests flip to exercise error paths: {phone: (http_status or None, error_code)}
        self.phone_errors: dict[str, tuple[int | None, int]] = {}
        self.answer_status: int | None = None  # e.g. 503 to fail every request
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
        app.router.add_post("/sys/send.php", self._send_one)
        app.router.add_post("/rest/send_list/", self._send_list)
        app.router.add_get("/_stub/stats", self._stats)
        app.router.add_post("/sys/status.php", self._status)
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
        return {key: n for key, n in Counter(self.accepted).items() if n > 1}

    def dump(self, path: Path) -> None:
        path.write_text("\n".join(self.accepted) + ("\n" if self.accepted else ""), encoding="utf-8")

    async def reports_drained(self) -> None:
        """Wait until every queued delivery report was POSTed (wrap in asyncio.timeout to bound it)."""
        await self._reports.join()

    def _flush(self) -> None:
        """The log survives a kill of the stub: one flush per request, not per message."""
        if self._log:
            self._log.flush()

    async def _stats(self, _: web.Request) -> web.Response:
        """For tests that run the stub in another process: how many accepted, which twice."""
        return web.json_response(
            {
                "accepted": self.count,
                "requests": self.requests,
                "duplicates": self.duplicates(),
                "callbacks_sent": self.callbacks_sent,
            }
        )

    # -- protocol --------------------------------------------------------------------------------
    def _check(self, login: Any, password: Any) -> dict[str, Any] | None:
        if login != self.login or password != self.password:
            return {"error": "authorise error", "error_code": 2}
        return None

    def _accept(self, ref: str, phone: str, text: str, viber: bool = False) -> dict[str, Any]:
        rule = self.phone_errors.get(phone)
        if rule is not None:
            return {"id": ref, "error": "rejected", "error_code": rule[1]}
        parts = count_parts(text)
        self.accepted.append(ref)
        self._known.add(ref)
        if viber:
            self.viber_accepted.append(ref)
        if self._log:
            self._log.write(ref + "\n")
        if self.callback_url:
            self._reports.put_nowait((ref, phone, 20 if self.fails(phone) else 1))
        return {"id": ref, "cnt": parts, "cost": f"{parts * float(self.part_cost):.2f}"}

    async def _send_one(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer_status:
            return web.Response(status=self.answer_status, text="unavailable")
        form = await request.post()
        if (denied := self._check(form.get("login"), form.get("psw"))) is not None:
            return web.json_response(denied)
        phone, text, ref = str(form.get("phones", "")), str(form.get("mes", "")), str(form.get("id", ""))
        if not phone or not text:
            return web.json_response({"error": "parameters error", "error_code": 1})
        rule = self.phone_errors.get(phone)
        if rule is not None and rule[0] is not None:
            return web.Response(status=rule[0], text="error")
        answer = self._accept(ref, phone, text, form.get("viber") == "1")
        self._flush()
        return web.json_response(answer)

    async def _send_list(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.answer_status:
            return web.Response(status=self.answer_status, text="unavailable")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "parameters error", "error_code": 1})
        if (denied := self._check(body.get("login"), body.get("psw"))) is not None:
            return web.json_response(denied)
        viber = str(body.get("viber")) == "1"
        results = [
            self._accept(str(item["id"]), str(item["phone"]), str(item["mes"]), viber) for item in body.get("list", [])
        ]
        self._flush()
        if self.delay:  # accepted, but slow to answer: a sender killed now never hears back
            await asyncio.sleep(self.delay)
        return web.json_response({"results": results})

    async def _status(self, request: web.Request) -> web.Response:
        """Status of a message by the client's id (how a sender checks whether a send it lost track
        of, e.g. in a crash, reached the aggregator)."""
        form = await request.post()
        if (denied := self._check(form.get("login"), form.get("psw"))) is not None:
            return web.json_response(denied)
        ref = str(form.get("id", ""))
        if ref not in self._known:
            return web.json_response({"error": "message not found", "error_code": 5})
        return web.json_response({"id": ref, "status": 1})

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
