"""What a run is called in every report: its configured name, its title, or its id; unique within a report."""

from __future__ import annotations

from collections.abc import Iterable


def display_name(*, override: str | None, title: str | None, blueprint_id: int | None, test_run_id: int | None) -> str:
    """The configured name, else the run's title on one line, else ``Blueprint N``, else ``Test run N``."""
    if override:
        return override
    if title and title.strip():
        return " ".join(title.split())
    if blueprint_id is not None:
        return f"Blueprint {blueprint_id}"
    return f"Test run {test_run_id}"


def unique_names(names: Iterable[tuple[str, int | None]]) -> list[str]:
    """Make display names unique (GitLab drops testcases with duplicate names) by adding the run id."""
    pairs = list(names)
    totals: dict[str, int] = {}
    for name, _ in pairs:
        totals[name] = totals.get(name, 0) + 1
    out: list[str] = []
    taken: set[str] = set()
    for name, run_id in pairs:
        candidate = name if totals[name] == 1 else f"{name} (run {run_id})" if run_id is not None else name
        base, n = candidate, 2
        while candidate in taken:
            candidate, n = f"{base} #{n}", n + 1
        taken.add(candidate)
        out.append(candidate)
    return out
