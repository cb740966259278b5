"""DocketQA JSON -> model types, defensively: every optional field may be missing, null or of another type."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from gate.errors import MalformedResponse
from gate.model import NOT_COMPLETED, Action, Attempt, Step, StepState, TestRun


def parse_test_run_response(body: Any) -> TestRun:
    """Parse a ``GET /test_run/{id}`` body (``{"test_run": {...}}``, or the bare run object)."""
    if isinstance(body, Mapping) and "test_run" in body:
        body = body["test_run"]
    if not isinstance(body, Mapping):
        raise MalformedResponse(f"expected a test run object, got {_kind(body)}")
    return parse_test_run(body)


def parse_test_run(raw: Mapping[str, Any]) -> TestRun:
    run_id = raw.get("id")
    if not _is_int(run_id):
        raise MalformedResponse(f"test run has no integer 'id' (got {_kind(run_id)})")
    status = raw.get("status")
    if not isinstance(status, str) or not status.strip():
        raise MalformedResponse(f"test run {run_id} has no string 'status' (got {_kind(status)})")
    results = raw.get("results")
    if results is not None and not isinstance(results, list):
        raise MalformedResponse(f"test run {run_id} has 'results' of type {_kind(results)}, expected a list")
    metadata = raw.get("blueprint_metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    first = Attempt(number=1, steps=_parse_steps(results or []), video_url=_url(raw.get("test_video_url")), status=None)
    extra = raw.get("additional_attempts")
    attempts = [first]
    for index, item in enumerate(extra if isinstance(extra, list) else [], start=2):
        if isinstance(item, Mapping):
            steps = item.get("results")
            attempts.append(
                Attempt(
                    number=index,
                    steps=_parse_steps(steps if isinstance(steps, list) else []),
                    video_url=_url(item.get("test_video_url")),
                    status=_opt_text(item.get("status")),
                )
            )
    return TestRun(
        id=int(run_id),
        status=status.strip().lower(),
        blueprint_id=_opt_int(raw.get("test_blueprint_id")) or _opt_int(metadata.get("id")),
        group_run_id=_opt_int(raw.get("test_group_run_id")),
        title=_opt_text(metadata.get("title")),
        starting_url=_opt_text(metadata.get("starting_url")),
        attempts=tuple(attempts),
        video_url=_url(raw.get("test_video_url")),
        video_download_url=_url(raw.get("test_video_download_url")),
        created_at=_opt_text(raw.get("created_at")),
        updated_at=_opt_text(raw.get("updated_at")),
        has_results=bool(results),
    )


def _parse_steps(items: list[Any]) -> tuple[Step, ...]:
    steps: list[Step] = []
    seen_failure = False
    for index, item in enumerate(items, start=1):
        item = item if isinstance(item, Mapping) else {}
        successful = item.get("is_successful")
        successful = successful if isinstance(successful, bool) else None
        actions = tuple(_parse_action(a) for a in item.get("actions") or [] if isinstance(a, Mapping)) if isinstance(
            item.get("actions"), list
        ) else ()
        duration_s = _seconds(item.get("duration"))
        result = _text(item.get("result"))
        if successful:
            state = StepState.PASSED
        elif seen_failure and (not actions or not duration_s or result.strip() == NOT_COMPLETED):
            state = StepState.NOT_REACHED
        else:
            state = StepState.FAILED
            seen_failure = True
        number = item.get("step_number")
        steps.append(
            Step(
                number=int(number) if _is_int(number) else index,
                task=_text(item.get("task")),
                successful=successful,
                result=result,
                duration_s=duration_s,
                actions=actions,
                state=state,
            )
        )
    return tuple(steps)


def _parse_action(raw: Mapping[str, Any]) -> Action:
    return Action(
        description=_text(raw.get("description")),
        type=_text(raw.get("type")),
        screenshot_url=_url(raw.get("screenshot_url")),
        screenshot_url_before=_url(raw.get("screenshot_url_before")),
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _seconds(value: Any) -> float | None:
    """A non-negative, finite duration; anything else (a string, 10**400, NaN) is unknown."""
    if not _is_number(value):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def _opt_int(value: Any) -> int | None:
    return int(value) if _is_int(value) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return ""


def _opt_text(value: Any) -> str | None:
    text = _text(value)
    return text if text else None


def _url(value: Any) -> str | None:
    """Keep a URL string as given; renderers decide whether it may become a link (http(s) only)."""
    return value.strip() or None if isinstance(value, str) else None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
