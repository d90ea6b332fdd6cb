"""Failed console sign-ins, counted in the shared rate limits (shared/ratelimit.py: the database, or Redis),
so every web process and every restart sees the same numbers.

Failures are counted per account and address together, and per address. Past a few free failures the
next attempt from that pair (or that address) must wait a growing delay, 1, 2, 4 ... seconds up to
15 minutes, answered with 429 and Retry-After. Nothing is keyed on the account alone, so a stranger
who fails from one address cannot keep the owner out: the right password from another address still
works. Failures per account over all addresses are counted too, and logged as a warning past a
threshold (a spraying attack is visible), but they never block.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.ratelimit import RateLimits, backoff_seconds

log = logging.getLogger("loyalty.console.login")

WINDOW_SECONDS = 60 * 60  # a counter starts again an hour after its first failure
FREE_PER_PAIR = 5  # failures of one account from one address before delays start
FREE_PER_ADDRESS = 20  # failures from one address (any accounts) before delays start
MAX_DELAY_SECONDS = 15 * 60
WARN_PER_ACCOUNT = 50  # failures of one account from all addresses: logged, never blocking


class LoginLimits:
    def __init__(
        self,
        free_per_pair: int = FREE_PER_PAIR,
        free_per_address: int = FREE_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
    ) -> None:
        self.free_per_pair, self.free_per_address = free_per_pair, free_per_address
        self.window, self.max_delay = window, max_delay

    @staticmethod
    def _pair(account: str, address: str) -> str:
        return f"staff-fail:pair:{account}|{address}"

    @staticmethod
    def _address(address: str) -> str:
        return f"staff-fail:ip:{address}"

    async def wait_seconds(self, limits: RateLimits, account: str, address: str, now: datetime) -> int:
        """0 when this attempt may go ahead, else the seconds to wait."""
        pair = await limits.peek(self._pair(account, address), now)
        by_address = await limits.peek(self._address(address), now)
        return max(
            backoff_seconds(pair, self.free_per_pair, now, self.max_delay),
            backoff_seconds(by_address, self.free_per_address, now, self.max_delay),
        )

    async def failed(self, limits: RateLimits, account: str, address: str, now: datetime) -> None:
        await limits.hit(self._pair(account, address), self.window, now)
        await limits.hit(self._address(address), self.window, now)
        overall = await limits.hit(f"staff-fail:account:{account}", self.window, now)
        if overall.hits == WARN_PER_ACCOUNT or (overall.hits > WARN_PER_ACCOUNT and overall.hits % 100 == 0):
            log.warning(
                "%d failed console sign-ins for one account in the last hour (last from %s)", overall.hits, address
            )

    async def succeeded(self, limits: RateLimits, account: str, address: str) -> None:
        await limits.clear(self._pair(account, address))
