"""``report`` fan-in: the gate's JSON results and saved ``GET /test_run`` bodies -> one Outcome, each run once."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gate.config import Config
from gate.errors import UsageError
from gate.naming import unique_names
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.prior import NotAResult, final, looks_like_result, parse_result
from gate.provenance import Provenance
from gate.saved import outcome_from_saved


@dataclasses.dataclass(frozen=True)
class _Found:
    source: Path
    run: RunOutcome


@dataclasses.dataclass(frozen=True)
class Merged:
    """The merged outcome, and notes for the log (which copy of a run was used, and why)."""

    outcome: Outcome
    notes: tuple[str, ...]


@dataclasses.dataclass
class _Sources:
    found: list[_Found] = dataclasses.field(default_factory=list)
    group_runs: dict[int, GroupRun] = dataclasses.field(default_factory=dict)
    api_urls: set[str | None] = dataclasses.field(default_factory=set)
    elapsed_s: float = 0.0
    stops: list[str] = dataclasses.field(default_factory=list)


def merge_files(files: Sequence[tuple[Path, Any]], config: Config) -> Merged:
    """Every run of every file, as if one gate had followed them all (``files``: path and its parsed JSON)."""
    sources = _Sources()
    for path, data in files:
        _add(sources, path, data, config)
    rows, notes = _dedupe(sources.found)
    names = unique_names((run.name, run.test_run_id) for run in rows)
    api_urls = sources.api_urls - {None}
    outcome = Outcome(
        runs=tuple(dataclasses.replace(run, name=name) for run, name in zip(rows, names)),
        group_runs=tuple(sources.group_runs.values()),
        elapsed_s=sources.elapsed_s,
        fail_on_timeout=config.fail_on_timeout,
        stop_reason="; ".join(sources.stops) or None,
        provenance=Provenance(api_url=api_urls.pop() if len(api_urls) == 1 else None),
    )
    return Merged(outcome=outcome, notes=tuple(notes))


def _add(sources: _Sources, path: Path, data: Any, config: Config) -> None:
    if looks_like_result(data):
        try:
            prior = parse_result(data, for_resume=False)
        except NotAResult as exc:
            raise UsageError(f"{path} is {exc.reason}: pass the --json file a docketqa-gate of this version wrote") from None
        runs = [_adopted(run, config) for run in prior.runs]
        groups = prior.group_runs
        sources.api_urls.add(prior.api_url)
        sources.elapsed_s = max(sources.elapsed_s, prior.elapsed_s)  # jobs ran side by side, not one after another
        if prior.stop_reason:
            sources.stops.append(f"{path}: {prior.stop_reason}")
    else:
        saved = outcome_from_saved(data if isinstance(data, list) else [data], config)
        runs, groups = list(saved.runs), saved.group_runs
    sources.found += [_Found(path, run) for run in runs]
    for group in groups:
        sources.group_runs.setdefault(group.id, group)


def _adopted(run: RunOutcome, config: Config) -> RunOutcome:
    """A run from a JSON result under this gate's names; an allowed failure there stays one."""
    return dataclasses.replace(
        run,
        name=config.name_for(run.blueprint_id) or run.name,
        allowed_failure=run.allowed_failure or config.is_allowed_failure(run.blueprint_id),
    )


def _dedupe(found: list[_Found]) -> tuple[list[RunOutcome], list[str]]:
    """A run in several files counts once: a final status beats a non-final one; of two final ones, the later file's."""
    kept: dict[object, _Found] = {}
    notes: list[str] = []
    for index, item in enumerate(found):
        run_id = item.run.test_run_id
        key: object = ("no id", index) if run_id is None else run_id
        earlier = kept.get(key)
        if earlier is None:
            kept[key] = item
        elif final(earlier.run) and not final(item.run):
            continue  # what the run ended with beats a copy saved while it was still going
        else:
            if final(earlier.run) and final(item.run) and earlier.source != item.source:
                notes.append(
                    f"test run {run_id} is in both {earlier.source} and {item.source}: using {item.source}, "
                    "the file given later"
                )
            kept[key] = item  # keeps the place of the first copy, so the order of runs stays stable
    return [item.run for item in kept.values()], notes
