"""Duration text users write in flags, inputs and the config file, and the short form reports print."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.durations import format_duration, format_setting_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("0.5", 0.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1h2m3s", 3723.0),
        ("0.5s", 0.5),
        ("1.5h", 5400.0),
        (" 30M ", 1800.0),
        ("4m05s", 245.0),
        ("0s", 0.0),
    ],
)
def test_accepted_forms(text: str, seconds: float) -> None:
    """Bare seconds and h/m/s units (in that order, decimals allowed, any case) parse to seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "  ", "abc", "-5", "-5m", "+5m", "5 m", "1h 30m", "30m1h", "1m1m", "500ms",
                                  "5d", "1h30", "1e3", "inf", "nan", "1:30", ".5s", "5.s", "٣s"])  # fmt: skip
def test_rejected_forms(text: str) -> None:
    """Garbage, signs, spaces, unordered or repeated units, unknown units and non-ASCII digits are refused."""
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_error_quotes_the_text_and_lists_accepted_forms() -> None:
    """The message shows what was given and what would have worked."""
    with pytest.raises(ValueError) as caught:
        parse_duration("ten minutes")
    assert str(caught.value) == (
        "'ten minutes' is not a duration; use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (0.8, "0.8s"),
        (5.0, "5s"),
        (9.96, "10s"),
        (42.4, "42s"),
        (59.6, "1m00s"),
        (252.0, "4m12s"),
        (3599.6, "1h00m"),
        (3720.0, "1h02m"),
        (5400.0, "1h30m"),
        (-3.0, "0s"),
        (float("nan"), "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    """Short text: tenths under 10 s, whole seconds under a minute, m+ss under an hour, then h+mm."""
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=48 * 3600, allow_nan=False))
def test_formatted_durations_parse_back_closely(seconds: float) -> None:
    """What the gate prints can be pasted back as a flag value, within the printed precision."""
    assert abs(parse_duration(format_duration(seconds)) - seconds) <= 30.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1800.0, "30m"), (5400.0, "1h30m"), (45.0, "45s"), (0.3, "0.3s"), (3661.0, "1h1m1s"), (0.0, "0s"), (5.0, "5s")],
)
def test_format_setting_duration(seconds: float, text: str) -> None:
    """A deadline reads as users write the setting: units that are zero are left out."""
    assert format_setting_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)
