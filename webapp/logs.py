"""Logging set-up for every process: plain text or one JSON object per line (LOYALTY_LOG_FORMAT),
the request id of the request being served in every line, and phone numbers masked even when a
message forgot to (a whole number never reaches the log)."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from shared.config import Settings
from shared.phones import mask_phone

REQUEST_ID: ContextVar[str | None] = ContextVar("loyalty_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# an E.164-looking number, or a Russian one written with the trunk prefix (8 912 345-67-89 and the like)
_PHONE = re.compile(r"(?<![\w+])(\+\d{10,15}|8[ (-]*9\d{2}[ )-]*\d{3}[ -]*\d{2}[ -]*\d{2})(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "request_id"}


def request_id_from(incoming: str | None) -> str:
    """Keep a caller's id when it is short and plain (a proxy's or a till's); otherwise make one."""
    if incoming and _SANE_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def _masked(match: re.Match[str]) -> str:
    digits = "".join(ch for ch in match.group(0) if ch.isdigit() or ch == "+")
    if not digits.startswith("+"):  # 8 912 ... is +7 912 ...
        digits = "+7" + digits[1:]
    return mask_phone(digits)


def mask_phones(text: str) -> str:
    return _PHONE.sub(_masked, text)


class ContextFilter(logging.Filter):
    """Adds request_id to every record and masks phone numbers in the rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get() or None,
        }
        for key, value in vars(record).items():  # `extra=` fields (the access log's method, route, ...)
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root handlers with one to stderr (or `stream`) in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # httpx logs every request's full URL at INFO: Telegram's carries the bot token
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    return handler
