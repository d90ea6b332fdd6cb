"""Per-provider send rates (Telegram: 30 messages/s per bot)."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst or max(rate, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    async def take(self, count: int = 1) -> None:
        """Wait until `count` sends are allowed; a batch larger than the burst waits its share."""
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= min(count, self.capacity):
                self.tokens -= count
                return
            await asyncio.sleep((min(count, self.capacity) - self.tokens) / self.rate)
