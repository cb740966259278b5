"""Outcome -> the machine-readable JSON result (a dict ready for ``json.dumps``), schema version 1."""

from __future__ import annotations

import json
import math
from typing import Any

from gate.model import Attempt, Step
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import is_web_url, unicode_safe
from gate.reports.run_text import attempt_line, duration_source, group_runs_of, run_duration, run_video

SCHEMA_VERSION = 1


def render_json(outcome: Outcome) -> dict[str, Any]:
    """The result document. Fields (all always present; unknown values are null):

    - ``schema_version`` (int, 1), ``verdict`` (``passed|failed|timed_out|error|cancelled``),
      ``exit_code`` (int), ``elapsed_s`` (float), ``stop_reason`` (str|null: why the gate stopped early),
      ``commit`` (str|null: ``GITHUB_SHA`` or ``CI_COMMIT_SHA``), ``api_url`` (str|null: the DocketQA API)
    - ``counts``: ``total``, ``passed``, ``failed``, ``errors``, ``timed_out``, ``cancelled``,
      ``allowed_failures``, ``flaky`` (ints; allowed failures count in neither failed nor errors), and with
      ``--fail-fast`` ``not_awaited`` (runs still going when the gate stopped at the first failure)
    - ``group_runs``: [{``id``, ``name``, ``created_at``, ``dashboard_url``, ``earlier_attempt`` (bool: started by
      an earlier attempt whose result ``--resume`` read, not by this gate)}]
    - ``runs``: [{``name`` (unique display name), ``test_run_id``, ``blueprint_id``, ``title``,
      ``status`` (last raw DocketQA status), ``verdict`` (the overall values, or ``not_awaited``), ``allowed_failure``, ``flaky``, ``problem``
      (one line, null when passed), ``api_problem``, ``group_run_id``, ``dashboard_url``, ``starting_url``,
      ``created_at``, ``updated_at``, ``duration_s`` (finished runs only; DocketQA's step durations added up), ``duration_source``
      (``steps`` or ``timestamps``), ``video_url``, ``video_download_url``,
      ``attempts`` (int), ``failed_attempts`` [{``number``, ``status``, ``failed_step``, ``video_url``, ``reason``}],
      ``failed_step`` ({``number``, ``task``, ``result``} or null), ``final`` (bool: DocketQA reported a final
      status; when false, ``verdict`` and ``problem`` say why not), ``carried_over`` (bool: taken from an earlier
      attempt's result by ``--resume``, not run again), ``steps`` [{``number``, ``task``, ``state``
      (``passed|failed|not_reached``), ``successful``, ``duration_s``, ``result``, ``screenshot_urls``}]}]

    URLs are given only when they are http(s); every string is valid Unicode (lone surrogates replaced).
    """
    return {**_head(outcome), "runs": [_run(r, g) for r, g in zip(outcome.runs, group_runs_of(outcome))]}


def render_json_text(outcome: Outcome) -> str:
    """``render_json`` as compact JSON text and a newline, encoded one run at a time.

    The same text as ``json.dumps(render_json(outcome), ensure_ascii=False, separators=(",", ":"))`` (compact:
    json's C encoder is only used without indent; jq pretty-prints), but the whole result never exists as one
    dict, which for thousands of steps was several times the size of the text and the gate's peak memory.
    """

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    head = dumps({**_head(outcome), "runs": []})  # "runs" is the last key: the text ends with []}
    runs = ",".join(dumps(_run(r, g)) for r, g in zip(outcome.runs, group_runs_of(outcome)))
    return "".join((head[:-2], runs, "]}\n"))


def _head(outcome: Outcome) -> dict[str, Any]:
    counts = outcome.counts
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": outcome.verdict.value,
        "exit_code": int(outcome.exit_code),
        "elapsed_s": _seconds(outcome.elapsed_s),
        "stop_reason": _text(outcome.stop_reason),
        "commit": _text(outcome.provenance.commit),
        "api_url": _text(outcome.provenance.api_url),
        "counts": {
            "total": counts.total,
            "passed": counts.passed,
            "failed": counts.failed,
            "errors": counts.errors,
            "timed_out": counts.timed_out,
            "cancelled": counts.cancelled,
            "allowed_failures": counts.allowed_failures,
            "flaky": counts.flaky,
            **({"not_awaited": counts.not_awaited} if outcome.fail_fast else {}),
        },
        "group_runs": [_group_run(g) for g in outcome.group_runs],
    }


def _group_run(g: GroupRun) -> dict[str, Any]:
    return {
        "id": g.id, "name": _text(g.name), "created_at": _text(g.created_at), "dashboard_url": g.dashboard_url,
        "earlier_attempt": g.earlier_attempt,
    }


def _run(r: RunOutcome, group_run: GroupRun | None) -> dict[str, Any]:
    run = r.run
    duration = run_duration(r)
    return {
        "name": _text(r.name),
        "test_run_id": r.test_run_id,
        "blueprint_id": r.blueprint_id,
        "title": _text(run.title) if run else None,
        "status": _text(r.status),
        "verdict": r.verdict.value,
        "allowed_failure": r.allowed_failure,
        "flaky": r.flaky,
        "problem": _text(r.problem),
        "api_problem": r.api_problem,
        "group_run_id": group_run.id if group_run else None,
        "dashboard_url": group_run.dashboard_url if group_run else None,
        "starting_url": _text(run.starting_url) if run else None,
        "created_at": _text(run.created_at) if run else None,
        "updated_at": _text(run.updated_at) if run else None,
        "duration_s": _seconds(duration),
        "duration_source": duration_source(run) if run is not None and duration is not None else None,
        "video_url": _url(run_video(r)),
        "video_download_url": _url(run.video_download_url) if run else None,
        "attempts": len(run.attempts) if run else 0,
        "failed_attempts": [_attempt(a) for a in run.failed_attempts] if run else [],
        "failed_step": _failed_step(r.failed_step),
        "final": r.run is not None and r.run.is_final,
        "carried_over": r.carried_over,
        "steps": [_step(s) for s in run.steps] if run else [],
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    step = a.failed_step
    return {
        "number": a.number,
        "status": _text(a.status),
        "failed_step": _failed_step(step),
        "video_url": _url(a.video_url),
        "reason": _text(attempt_line(a)),
    }


def _failed_step(step: Step | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"number": step.number, "task": _text(step.task), "result": _text(step.result)}


def _step(s: Step) -> dict[str, Any]:
    return {
        "number": s.number,
        "task": _text(s.task),
        "state": s.state.value,
        "successful": s.successful,
        "duration_s": _seconds(s.duration_s),
        "result": _text(s.result),
        "screenshot_urls": [u for u in (_url(url) for url in s.screenshot_urls) if u],
    }


def _seconds(value: float | None) -> float | None:
    # JSON has no Infinity or NaN (json.dumps would write them anyway, and strict parsers reject them).
    return round(value, 3) if value is not None and math.isfinite(value) else None


def _text(value: str | None) -> str | None:
    return unicode_safe(value) if value is not None else None


def _url(value: str | None) -> str | None:
    return unicode_safe(value) if is_web_url(value) and value is not None else None
