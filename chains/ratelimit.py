"""Token-bucket rate limiting, shared per (host, key fingerprint) across threads and clients.

A bucket never sleeps itself: :meth:`TokenBucket.reserve` books the next slot and returns
how long the caller must wait, so callers (the HTTP client) sleep with their own injectable
sleep function and tests stay fast.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Protocol


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. Thread-safe."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._lock = threading.Lock()
        self._clock = clock
        self.rate = float(rate)
        self.burst = int(burst)
        self._tokens = float(burst)
        self._stamp = clock()

    def configure(self, rate: float, burst: int) -> None:
        """Change rate and burst in place (the tokens already saved are kept, capped at `burst`)."""
        with self._lock:
            self._refill()
            self.rate = float(rate)
            self.burst = int(burst)
            self._tokens = min(self._tokens, float(burst))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self) -> float:
        """Take one token (possibly borrowed from the future); return the seconds to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def defer(self, seconds: float) -> None:
        """Hold everyone sharing this bucket back for `seconds` (a server's `Retry-After` applies to the key)."""
        if seconds <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 1.0 - seconds * self.rate)

    def scale(self, factor: float, *, floor: float) -> None:
        """Multiply the rate by `factor`, never below `floor` (a server said we are too fast)."""
        with self._lock:
            self._refill()
            self.rate = max(floor, self.rate * factor)

    def grow(self, fraction: float, *, ceiling: float) -> None:
        """Grow the rate by `fraction` of itself, never above `ceiling` (a request went through)."""
        with self._lock:
            if self.rate < ceiling:
                self._refill()
                self.rate = min(ceiling, self.rate * (1.0 + fraction))

    def try_acquire(self) -> bool:
        """Take one token only if one is available now (servers use this to refuse excess calls)."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def key_fingerprint(secrets: tuple[str, ...] | list[str]) -> str:
    """A short, non-reversible tag of the credentials in use ('' when there are none)."""
    material = "\x00".join(sorted(s for s in secrets if s))
    if not material:
        return ""
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]


class SharedBudget(Protocol):
    """Request slots shared with other processes using the same key (:mod:`tracer.store.ratebudget`)."""

    def reserve(self, host: str, key_fp: str, rate: float, *, delay: float = 0.0) -> float: ...

    def defer(self, host: str, key_fp: str, seconds: float) -> None: ...


class RateLimiterRegistry:
    """One bucket per (host, key fingerprint), so clients sharing a key share its budget.

    In-process buckets cover threads and clients of one process; `shared` (set by the source factory
    to a store-backed :class:`SharedBudget`) extends the budget to other processes using the same key.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.shared: SharedBudget | None = None

    def share_through(self, budget: SharedBudget | None) -> None:
        """Book every limited request in `budget` too (None: this process limits itself alone)."""
        self.shared = budget

    def existing(self, host: str, fingerprint: str) -> TokenBucket | None:
        """The bucket for (host, fingerprint) when one exists."""
        with self._lock:
            return self._buckets.get((host, fingerprint))

    def bucket(self, host: str, fingerprint: str, *, rate: float, burst: int = 1) -> TokenBucket:
        """The bucket for (host, fingerprint); the latest configured rate wins."""
        with self._lock:
            found = self._buckets.get((host, fingerprint))
            if found is None:
                found = self._buckets[(host, fingerprint)] = TokenBucket(rate, burst)
            elif found.rate != rate or found.burst != burst:
                found.configure(rate, burst)
            return found


#: The process-wide registry used by :class:`chains.http.HttpClient`.
LIMITERS = RateLimiterRegistry()
