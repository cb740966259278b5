"""Retry policy and Retry-After parsing."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.retry import POLL_RETRY, TRIGGER_RETRY, RetryPolicy, parse_retry_after

NOW = dt.datetime(2025, 7, 3, 1, 38, 3, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("failures, bound", [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 20.0), (500, 20.0)])
def test_backoff_is_full_jitter_under_the_capped_exponential(failures: int, bound: float) -> None:
    """Each wait is drawn from [0, min(cap, base * 2**(failures-1))] and uses the whole range."""
    policy = RetryPolicy(base_s=1.0, cap_s=20.0)
    rng = random.Random(7)
    waits = [policy.backoff(failures, rng=rng) for _ in range(2000)]
    assert all(0.0 <= w <= bound for w in waits)
    assert min(waits) < bound * 0.05 and max(waits) > bound * 0.95


def test_retry_after_is_a_lower_bound_on_the_delay() -> None:
    """A server's Retry-After is never undercut by jitter, only exceeded."""
    policy = RetryPolicy(base_s=1.0, cap_s=30.0)
    rng = random.Random(1)
    delays = [policy.delay(4, rng=rng, retry_after=5.0, remaining=100.0) for _ in range(500)]
    assert all(d is not None and 5.0 <= d <= 8.0 for d in delays)


def test_no_attempt_is_scheduled_past_the_deadline() -> None:
    """A wait that would end at or after the deadline means: no further attempt."""
    policy = RetryPolicy(base_s=1.0, cap_s=30.0)
    assert policy.delay(1, rng=random.Random(0), retry_after=60.0, remaining=59.0) is None
    assert policy.delay(1, rng=random.Random(0), retry_after=None, remaining=0.0) is None
    assert policy.delay(1, rng=random.Random(0), retry_after=2.0, remaining=2.5) == 2.0


def test_attempt_cap_counts_consecutive_failures() -> None:
    """The policy is exhausted exactly when the failure count reaches its cap."""
    policy = RetryPolicy(max_failures=3)
    assert [policy.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_shipped_policies_tolerate_a_flaky_api_for_gets_but_few_trigger_attempts() -> None:
    """GETs survive long failure streaks; the billable trigger gives up sooner."""
    assert POLL_RETRY.max_failures >= 20
    assert TRIGGER_RETRY.max_failures < POLL_RETRY.max_failures


@pytest.mark.parametrize(
    "value, expected",
    [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("", None), ("soon", None),
     ("-5", None), ("5 seconds", None), ("9" * 400, None), ("Wed, 99 Foo 2025 99:99:99 GMT", None)],
)
def test_retry_after_delta_seconds_and_garbage(value: str | None, expected: float | None) -> None:
    """Delta-seconds parse to seconds; anything else that is not an HTTP date gives None."""
    assert parse_retry_after(value, now_wall=NOW) == expected


def test_retry_after_http_date_counts_from_now() -> None:
    """An HTTP date means 'not before then', measured from the wall clock given."""
    later = email.utils.format_datetime(NOW + dt.timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now_wall=NOW) == 42.0


def test_retry_after_in_the_past_means_now() -> None:
    """A date already passed allows an immediate retry rather than a negative wait."""
    earlier = email.utils.format_datetime(NOW - dt.timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(earlier, now_wall=NOW) == 0.0


@given(st.text(max_size=60))
def test_retry_after_never_raises(value: str) -> None:
    """Whatever the header holds, parsing gives a non-negative number or None."""
    result = parse_retry_after(value, now_wall=NOW)
    assert result is None or result >= 0.0
