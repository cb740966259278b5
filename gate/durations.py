"""Duration text ("90", "90s", "15m", "1h30m", "0.5s") to seconds, and seconds to short text ("4m12s", "30m")."""

from __future__ import annotations

import math
import re

from gate.reports.escape import quote_value

#: Shown in every error so the user sees what would have worked.
ACCEPTED_FORMS = "use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"  # ASCII only: \d would accept other scripts' digits
_PLAIN = re.compile(_NUMBER)
# Units in descending order, each at most once; decimals allowed so "0.5s" and "1.5h" read naturally.
_UNITS = re.compile(rf"(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?")


def parse_duration(text: str) -> float:
    """Seconds for ``90``, ``0.5``, ``90s``, ``15m``, ``1h``, ``1h30m``, ``1m30s`` or ``0.5s`` (case-insensitive).

    A bare number is seconds. Units must appear in the order h, m, s, each at most once; no signs, no
    spaces inside, no ``ms``. Zero parses (``0s``); callers decide whether zero makes sense for them.
    Raises ``ValueError`` whose message quotes the text and lists the accepted forms.
    """
    cleaned = text.strip().lower()
    if _PLAIN.fullmatch(cleaned):
        return float(cleaned)
    match = _UNITS.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(f"{quote_value(text, limit=40)} is not a duration; {ACCEPTED_FORMS}")
    hours, minutes, seconds = (float(match.group(unit) or 0) for unit in "hms")
    return hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: float) -> str:
    """Short human text: ``0.8s`` and ``5s`` under 10 s, ``42s``, ``4m05s``, ``1h02m`` (negative counts as 0)."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    tenths = round(seconds, 1)
    if tenths < 10:
        # ":g" drops a trailing ".0" so whole seconds read "5s", not "5.0s".
        return f"{tenths:g}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m"


def format_setting_duration(seconds: float) -> str:
    """A duration as users write it in a setting (a deadline): ``30m``, ``1h30m``, ``45s``, ``0.3s``.

    Unlike ``format_duration`` (elapsed times, fixed fields: ``30m00s``), units that are zero are left out.
    """
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.2g}s"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


__all__ = ["ACCEPTED_FORMS", "format_duration", "format_setting_duration", "parse_duration"]
