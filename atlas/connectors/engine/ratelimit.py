"""A token bucket per connector, shared by every concurrent fetch of that connector in this process."""

from __future__ import annotations

import asyncio
import time
import uuid


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. `acquire` waits for a token."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """The server said to wait (429/503 Retry-After): every fetch of this connector waits too."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_buckets: dict[tuple[uuid.UUID, float, int], TokenBucket] = {}


def bucket_for(connector_id: uuid.UUID, rate: float, burst: int) -> TokenBucket:
    """The process-wide bucket of a connector (a new one when its limits change)."""
    key = (connector_id, rate, burst)
    bucket = _buckets.get(key)
    if bucket is None:
        for old in [k for k in _buckets if k[0] == connector_id]:
            del _buckets[old]
        bucket = _buckets[key] = TokenBucket(rate, burst)
    return bucket
