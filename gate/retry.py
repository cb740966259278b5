"""When to try again: exponential backoff with full jitter, Retry-After, attempt cap and deadline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import math
import random
import re

_DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Bounded twice: at most ``max_failures`` consecutive failures, and never past the deadline."""

    base_s: float = 1.0
    cap_s: float = 30.0
    #: Consecutive failures tolerated; the one that reaches this number is final.
    max_failures: int = 6

    def exhausted(self, failures: int) -> bool:
        return failures >= self.max_failures

    def backoff(self, failures: int, *, rng: random.Random) -> float:
        """Full jitter (AWS "Exponential Backoff And Jitter"): uniform(0, min(cap, base * 2**(failures-1)))."""
        exponent = min(max(failures - 1, 0), 62)  # past this the cap applies anyway; avoids float overflow
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2.0**exponent))

    def delay(
        self, failures: int, *, rng: random.Random, retry_after: float | None, remaining: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when that attempt would start past the deadline.

        ``Retry-After`` is a lower bound: the server said no earlier, jitter may only add to it.
        """
        wait = self.backoff(failures, rng=rng)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait if wait < remaining else None


#: Starting a group run is billable: a few careful retries, only when nothing can have been created.
TRIGGER_RETRY = RetryPolicy(base_s=1.0, cap_s=20.0, max_failures=6)
#: GETs are safe to repeat; 20 in a row keeps a 50% failure rate from ever giving up in practice (0.5**20).
POLL_RETRY = RetryPolicy(base_s=1.0, cap_s=30.0, max_failures=20)


def parse_retry_after(value: str | None, *, now_wall: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); garbage gives None."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are always GMT; an obsolete form may lack the zone
        when = when.replace(tzinfo=dt.timezone.utc)
    if now_wall.tzinfo is None:
        now_wall = now_wall.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - now_wall).total_seconds())
