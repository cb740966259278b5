"""One gate run for a Config: follow or load the runs, write every report, publish, return the Outcome."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import random
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from gate import PROG
from gate.clock import Clock, SystemClock
from gate.config import Command, Config
from gate.errors import ExitCode, Interrupted, UsageError, os_reason
from gate.outcome import Outcome

if TYPE_CHECKING:
    from gate.config import WaitFor
    from gate.resume import ResumePlan

#: What to do when a file given to `report` is not a saved test run.
SAVE_HINT = "save the body of GET /test_run/{id}"


class Tuning(Protocol):
    """Interpreter settings for a phase of the run. Only the owner of the process may supply one (the console
    entry point, ``gate.console.main_exit``): a library function never changes interpreter-wide state itself."""

    def reporting(self) -> contextlib.AbstractContextManager[None]:
        """Around loading saved runs, and around rendering and writing the reports."""


class _Untuned:
    def reporting(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def execute_gate(
    config: Config,
    *,
    env: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    cwd: Path,
    clock: Clock | None = None,
    wall_clock: Callable[[], dt.datetime] | None = None,
    tuning: Tuning | None = None,
) -> Outcome:
    """Follow (or load) the runs, then write every report before anything decides the exit code. ``clock`` and
    ``wall_clock`` (Retry-After dates) default to real time, ``tuning`` to none (see Tuning)."""
    from gate.platforms import commit_sha, detect
    from gate.reports.write import write_reports

    platform = detect(
        env, stdout=out, workspace=cwd, annotations=config.annotations, job_summary=config.job_summary
    )
    platform.begin(api_key=config.api_key, also_mask=config.comment.tokens)
    if config.config_file is not None:
        err.write(f"{PROG}: using config file {config.config_file}\n")
    phases = tuning or _Untuned()
    outcome, early_notes = _gather(
        config, commit=commit_sha(env), err=err, cwd=cwd, clock=clock, wall_clock=wall_clock, phases=phases,
        sanitize=platform.sanitize_log,
    )
    # From here on the verdict is known: a late signal must not leave half the reports unwritten.
    with _signals_ignored(), phases.reporting():
        reports = write_reports(outcome, config, platform=platform, workspace=cwd)
        failure, written, notes = reports.failure, reports.paths, [*early_notes, *reports.notes]
        exit_code = failure.exit_code if failure else None
        platform.log_run_details(outcome)
        notes += platform.publish(outcome, summary_markdown=reports.summary_markdown, written=written, exit_code=exit_code)
        # After every report and output: nothing waits on the comment or is lost by it, and it decides nothing.
        said, warnings = _pr_comment(outcome, config, env=env, clock=clock, wall_clock=wall_clock, sanitize=platform.sanitize_log)
        _conclude(outcome, written=written, notes=notes + said, warnings=warnings, exit_code=exit_code, out=out, err=err)
    if failure is not None:
        failure.published = True  # the outputs above already carry its exit code: cli.main must not add an error entry
        raise failure  # outputs, summary and the other reports are out: now the unwritable path fails the gate
    return outcome


def _gather(
    config: Config, *, commit: str | None, err: TextIO, cwd: Path, clock: Clock | None,
    wall_clock: Callable[[], dt.datetime] | None, phases: Tuning, sanitize: Callable[[str], str],
) -> tuple[Outcome, list[str]]:
    """Load (``report``) or follow the runs; the outcome knows the commit and API URL, plus notes for the log."""
    notes: list[str] = []
    if config.command is Command.REPORT:
        with phases.reporting():
            outcome, notes = _load_saved(config, cwd=cwd)
        api_url = outcome.provenance.api_url  # the results' own, when they agree
    else:
        plan = _resume_plan(config, commit=commit, cwd=cwd, err=err)
        with _signals_raise_interrupted():
            outcome = _follow(
                config, err=err, clock=clock or SystemClock(), wall_clock=wall_clock, sanitize=sanitize,
                resume=plan, wait_for=config.wait_for,
            )
        api_url = config.api_url
    provenance = dataclasses.replace(outcome.provenance, commit=commit, api_url=api_url)
    return dataclasses.replace(outcome, provenance=provenance), notes


def _resume_plan(config: Config, *, commit: str | None, cwd: Path, err: TextIO) -> ResumePlan | None:
    """The plan from the earlier result, or None (run everything) with a notice or warning saying why."""
    if config.resume is None:
        return None
    from gate.resume import load_prior, plan_run, plan_wait

    prior, message = load_prior(
        config.resume, cwd=cwd, api_url=config.api_url, commit=commit, any_commit=config.resume_any_commit
    )
    if message is not None:
        err.write(f"{PROG}: {message.level.value}: {message.text}\n")
    if prior is None:
        return None
    if config.command is Command.RUN:
        return plan_run(prior, [blueprint.id for blueprint in config.blueprints])
    return plan_wait(prior, config.test_run_ids)


def _follow(
    config: Config, *, err: TextIO, clock: Clock, wall_clock: Callable[[], dt.datetime] | None, sanitize: Any,
    resume: ResumePlan | None = None, wait_for: WaitFor | None = None,
) -> Outcome:
    from gate.client import ApiClient
    from gate.follow import follow_runs
    from gate.progress import Progress

    assert config.api_key is not None  # load_config guarantees a key for run/wait
    client = ApiClient(
        base_url=config.api_url, api_key=config.api_key, pool_size=config.concurrency, wall_clock=wall_clock
    )
    interactive = bool(getattr(err, "isatty", lambda: False)())
    progress = Progress(err, interactive=interactive, clock=clock, sanitize=sanitize)
    before_trigger = None
    if wait_for is not None and wait_for.urls:
        from gate.target import wait_for_targets

        def before_trigger() -> None:
            wait_for_targets(wait_for, clock=clock, interval_s=config.poll_interval_s, note=progress.note)

    return follow_runs(
        config, client=client, clock=clock, progress=progress, rng=random.Random(), resume=resume,
        before_trigger=before_trigger,
    )


def _pr_comment(
    outcome: Outcome,
    config: Config,
    *,
    env: Mapping[str, str],
    clock: Clock | None,
    wall_clock: Callable[[], dt.datetime] | None,
    sanitize: Callable[[str], str],
) -> tuple[list[str], list[str]]:
    """The sticky pull-request comment's log lines: notes, and warnings (none at all when it is off)."""
    from gate.platforms.pr_comment import write_comment

    said = write_comment(outcome, config.comment, env=env, clock=clock, wall_clock=wall_clock)
    return [sanitize(n.text) for n in said if not n.warning], [sanitize(n.text) for n in said if n.warning]


def _load_saved(config: Config, *, cwd: Path) -> tuple[Outcome, list[str]]:
    """Saved bodies and the gate's own JSON results, merged (fan-in): each run once, notes for the log."""
    from gate.fanin import merge_files

    merged = merge_files([(path, _read_saved(path, cwd=cwd)) for path in config.report_files], config)
    return merged.outcome, list(merged.notes)


def _read_saved(path: Path, *, cwd: Path) -> Any:
    """One saved file's JSON; a relative path is read from the working directory, like the report paths."""
    try:
        text = (cwd / path).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read saved test run file {path}: {os_reason(exc)}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not JSON ({str(exc).splitlines()[0][:80]}): {SAVE_HINT}") from None
    except RecursionError:  # json's way of refusing very deep nesting (a corrupt or hostile file)
        raise UsageError(f"{path} is not JSON (nested too deeply): {SAVE_HINT}") from None
    if data == []:
        raise UsageError(f"{path} holds no test run: {SAVE_HINT} (one object, or a list of them)")
    return data


def _conclude(
    outcome: Outcome,
    *,
    written: Mapping[str, Path],
    notes: list[str],
    warnings: list[str],
    exit_code: ExitCode | None,
    out: TextIO,
    err: TextIO,
) -> None:
    from gate.conclusion import conclusion_lines, conclusion_warnings

    err.writelines(f"{PROG}: note: {note}\n" for note in notes)
    err.writelines(f"{PROG}: warning: {warning}\n" for warning in warnings)
    err.writelines(f"{PROG}: warning: {warning}\n" for warning in conclusion_warnings(outcome))
    out.writelines(line + "\n" for line in conclusion_lines(outcome, written=written, exit_code=exit_code))
    if outcome.stop_reason:
        err.write(f"{PROG}: error: {outcome.stop_reason}\n")
    out.flush()
    err.flush()


@contextlib.contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """While following runs, SIGINT/SIGTERM raise Interrupted in the main thread so reports still get written."""

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    with _signal_handlers(handler):
        yield


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    with _signal_handlers(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def _signal_handlers(handler: Any) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread; tests may call us from others
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
