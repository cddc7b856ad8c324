"""Litestar's per-client rate limiter, answering every 429 with ``Retry-After``.

The limiter counts requests per client address in a fixed window; when the window is full it refuses with 429
(problem details) and says, in seconds, when the window opens again. Only the refusal carries the header: an
allowed request's answer is left alone. The client address is the TCP peer, or what a trusted proxy says
(`atlas.web.proxies`), never an X-Forwarded-For from anyone else.
"""

from __future__ import annotations

from time import time

from litestar.middleware.rate_limit import CacheObject, RateLimitMiddleware
from litestar.types import Send


class RetryAfterRateLimitMiddleware(RateLimitMiddleware):
    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        # Called for the 429 alone (set_rate_limit_headers=True, and no send wrapper below).
        return {"Retry-After": str(max(1, cache_object.reset - int(time())))}

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        return send


__all__ = ["RetryAfterRateLimitMiddleware"]
