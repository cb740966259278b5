"""The gate's own JSON result (``--json``), read back into runs: for ``--resume`` and for ``report`` (fan-in)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.model import Action, Attempt, Step, StepState, TestRun, Verdict
from gate.outcome import GroupRun, RunOutcome, own_dashboard
from gate.reports.result_json import SCHEMA_VERSION

#: The only schema version this gate writes and reads (gate/reports/result_json.py).
_VERDICTS = {v.value: v for v in Verdict}
_STATES = {s.value: s for s in StepState}


class NotAResult(Exception):
    """The document is not a JSON result this gate can use; ``reason`` completes "PATH is ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class PriorResult:
    """What an earlier gate wrote: where it ran (commit, API) and every run as the reports render it."""

    commit: str | None
    api_url: str | None
    runs: tuple[RunOutcome, ...]
    group_runs: tuple[GroupRun, ...]
    elapsed_s: float
    stop_reason: str | None


def final(run: RunOutcome) -> bool:
    """DocketQA reported a final status for the run (it did not time out, was not cut off, is not unknown)."""
    return run.run is not None and run.run.is_final


def looks_like_result(data: Any) -> bool:
    """A document the gate wrote (any schema version), as opposed to a saved ``GET /test_run`` body."""
    return isinstance(data, Mapping) and "schema_version" in data and "runs" in data and "test_run" not in data


def read_result_file(path: Path) -> PriorResult:
    """Read and check ``path``; raises OSError when it cannot be read, NotAResult when it is not a result."""
    text = path.read_bytes()
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotAResult(f"not JSON ({str(exc).splitlines()[0][:80]})") from None
    except RecursionError:
        raise NotAResult("not JSON (nested too deeply)") from None
    return parse_result(data)


def parse_result(data: Any, *, for_resume: bool = True) -> PriorResult:
    """A checked ``PriorResult``; NotAResult names the first field that does not fit. Only resuming needs the
    commit and API URL (an older gate's result still merges in ``report``)."""
    if not looks_like_result(data):
        raise NotAResult("not a docketqa-gate JSON result (no 'schema_version' and 'runs')")
    version = data["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise NotAResult(f"a result of schema version {_shown(version)}; this gate reads version {SCHEMA_VERSION}")
    for key in ("commit", "api_url") if for_resume else ():
        if key not in data:
            raise NotAResult(f"a result without '{key}' (written by an older docketqa-gate)")
    runs, groups = data["runs"], data.get("group_runs") or []
    if not isinstance(runs, list) or not isinstance(groups, list):
        raise NotAResult("a result whose 'runs' or 'group_runs' is not a list")
    try:
        elapsed = float(data.get("elapsed_s") or 0.0)
        return PriorResult(
            commit=_opt_str(data.get("commit"), "commit"),
            api_url=_opt_str(data.get("api_url"), "api_url"),
            runs=tuple(_run(item, index) for index, item in enumerate(runs, start=1)),
            group_runs=tuple(_group_run(item, api_url=data.get("api_url")) for item in groups),
            elapsed_s=elapsed if elapsed >= 0 else 0.0,
            stop_reason=_opt_str(data.get("stop_reason"), "stop_reason"),
        )
    except (TypeError, ValueError, OverflowError, KeyError) as exc:
        raise NotAResult(f"a result with an unusable field ({exc})") from None


def _group_run(item: Any, *, api_url: Any) -> GroupRun:
    """A group run as the result names it; a sandbox's own dashboard link is kept (on the result's API only)."""
    item = _mapping(item, "group run")
    return GroupRun(
        id=_int(item.get("id"), "group run id"),
        name=_opt_str(item.get("name"), "group run name"),
        created_at=_opt_str(item.get("created_at"), "group run created_at"),
        earlier_attempt=bool(item.get("earlier_attempt")),
        sandbox_dashboard_url=own_dashboard(item.get("dashboard_url"), base_url=_opt_str(api_url, "api_url")),
    )


def _run(item: Any, index: int) -> RunOutcome:
    item = _mapping(item, f"run {index}")
    verdict = _VERDICTS.get(item.get("verdict"))  # type: ignore[arg-type]
    if verdict is None:
        raise ValueError(f"run {index} has verdict {_shown(item.get('verdict'))}")
    run_id = _opt_int(item.get("test_run_id"), f"run {index} test_run_id")
    status = _opt_str(item.get("status"), f"run {index} status")
    run = _test_run(item, run_id, status) if run_id is not None and status else None
    return RunOutcome(
        name=_opt_str(item.get("name"), f"run {index} name") or f"Test run {run_id}",
        verdict=verdict,
        test_run_id=run_id,
        blueprint_id=_opt_int(item.get("blueprint_id"), f"run {index} blueprint_id"),
        run=run,
        allowed_failure=item.get("allowed_failure") is True,
        problem=_opt_str(item.get("problem"), f"run {index} problem"),
        api_problem=item.get("api_problem") is True,
        carried_over=item.get("carried_over") is True,
    )


def _test_run(item: Mapping[str, Any], run_id: int, status: str) -> TestRun:
    """The run as far as the result kept it: the final attempt's steps, and each failed attempt's failed step."""
    failed = [_failed_attempt(a) for a in _list(item.get("failed_attempts"))]
    steps = tuple(_step(s) for s in _list(item.get("steps")))
    count = _opt_int(item.get("attempts"), "attempts") or 1
    number = max([count, *(a.number + 1 for a in failed)]) if failed else count
    final = Attempt(number=number, steps=steps, video_url=_opt_str(item.get("video_url"), "video_url"), status=None)
    return TestRun(
        id=run_id, status=status, blueprint_id=_opt_int(item.get("blueprint_id"), "blueprint_id"),
        group_run_id=_opt_int(item.get("group_run_id"), "group_run_id"), title=_opt_str(item.get("title"), "title"),
        starting_url=_opt_str(item.get("starting_url"), "starting_url"), attempts=(*failed, final),
        video_url=final.video_url, video_download_url=_opt_str(item.get("video_download_url"), "video_download_url"),
        created_at=_opt_str(item.get("created_at"), "created_at"), updated_at=_opt_str(item.get("updated_at"), "updated_at"),
        has_results=bool(steps), recorded_duration_s=_opt_number(item.get("duration_s")),
    )  # fmt: skip


def _failed_attempt(item: Any) -> Attempt:
    item = _mapping(item, "failed attempt")
    step = item.get("failed_step")
    steps = (_step({**_mapping(step, "failed step"), "state": "failed", "successful": False}),) if step else ()
    status = _opt_str(item.get("status"), "attempt status")
    # Listed as failed: without a failed step it must still read as failed (its status says so).
    return Attempt(
        number=_int(item.get("number"), "attempt number"), steps=steps,
        video_url=_opt_str(item.get("video_url"), "attempt video_url"), status=status if status or steps else "failed",
    )  # fmt: skip


def _step(item: Any) -> Step:
    item = _mapping(item, "step")
    state = _STATES.get(item.get("state"))  # type: ignore[arg-type]
    if state is None:
        raise ValueError(f"step state {_shown(item.get('state'))}")
    successful = item.get("successful")
    shots = [url for url in _list(item.get("screenshot_urls")) if isinstance(url, str)]
    return Step(
        number=_int(item.get("number"), "step number"), task=_opt_str(item.get("task"), "task") or "",
        successful=successful if isinstance(successful, bool) else None, result=_opt_str(item.get("result"), "result") or "",
        duration_s=_opt_number(item.get("duration_s")),
        actions=tuple(Action(description="", type="", screenshot_url=url, screenshot_url_before=None) for url in shots),
        state=state,
    )  # fmt: skip


def _opt_number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} is not an object")
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is not an integer")
    return value


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _opt_str(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} is not a string")
    return value


def _shown(value: Any) -> str:
    return json.dumps(value)[:40] if isinstance(value, (int, float, str, bool)) or value is None else type(value).__name__
