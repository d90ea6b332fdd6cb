"""Failed console sign-ins are limited per account and per IP address (in this process).

With several web processes each keeps its own counts, so the effective limit is per process.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

WINDOW_SECONDS = 15 * 60
PER_ACCOUNT = 5
PER_ADDRESS = 20


class LoginLimits:
    def __init__(self, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS,
                 window: float = WINDOW_SECONDS) -> None:
        self.per_account, self.per_address, self.window = per_account, per_address, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        horizon = time.monotonic() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        return len(failures)

    def blocked(self, account: str, address: str) -> bool:
        return (self._recent("a:" + account) >= self.per_account
                or self._recent("ip:" + address) >= self.per_address)

    def failed(self, account: str, address: str) -> None:
        now = time.monotonic()
        self._failures["a:" + account].append(now)
        self._failures["ip:" + address].append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop("a:" + account, None)
