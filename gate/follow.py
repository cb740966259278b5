"""Trigger (with its careful retry rules), follow every run under one deadline, and always build the Outcome."""

from __future__ import annotations

import dataclasses
import random
import signal
from collections.abc import Sequence

from gate.client import ApiClient, TriggerResult
from gate.clock import Clock
from gate.config import Command, Config
from gate.durations import format_setting_duration
from gate.errors import MAY_HAVE_STARTED, ApiError, Interrupted, TransientApiError
from gate.model import GroupRun, Outcome, RunOutcome, TestRun, Verdict, judge_run, run_outcome
from gate.naming import unique_names
from gate.poller import Poller
from gate.progress import Progress, Tally
from gate.retry import TRIGGER_RETRY, RetryPolicy
from gate.run_status import PollResult, PollSettings, RunStatus
from gate.schedule import Policy


@dataclasses.dataclass(frozen=True)
class _Planned:
    """One row of the outcome: a run to follow, or a requested blueprint that has no run."""

    test_run_id: int | None
    blueprint_id: int | None
    initial: TestRun | None = None
    #: Set when the gate already knows this row is an API problem (e.g. missing from the trigger response).
    problem: str | None = None


@dataclasses.dataclass
class _State:
    """Everything learnt so far, kept consistent at every step so an interruption can still be reported."""

    config: Config
    clock: Clock
    start: float
    rows: list[_Planned] = dataclasses.field(default_factory=list)
    group_runs: tuple[GroupRun, ...] = ()
    poller: Poller | None = None
    #: A failure that ended the gate before polling (e.g. the trigger was refused or may have been received).
    fatal: str | None = None
    interrupted: Interrupted | None = None
    #: What to tell the user about the interruption (the trigger case adds where to check for a started run).
    interrupt_note: str | None = None
    finished: int = 0
    failed: int = 0
    #: Why --fail-fast stopped following (the first run that counts against the gate).
    fail_fast_stop: str | None = None

    def outcome(self) -> Outcome:
        result = self.poller.snapshot() if self.poller else PollResult(runs=())
        statuses: dict[int | None, RunStatus] = {status.run_id: status for status in result.runs}
        fatal = self.fatal or result.fatal
        note = (self.interrupt_note or self.interrupted.message) if self.interrupted else None
        runs = [self.row_outcome(row, statuses.get(row.test_run_id), fatal=fatal) for row in self.rows]
        names = unique_names((run.name, run.test_run_id) for run in runs)
        return Outcome(
            runs=tuple(dataclasses.replace(run, name=name) for run, name in zip(runs, names)),
            group_runs=self.group_runs,
            elapsed_s=max(0.0, self.clock.now() - self.start),
            fail_on_timeout=self.config.fail_on_timeout,
            stop_reason=fatal or note or self.fail_fast_stop,
            interrupted_exit=self.interrupted.exit_code if self.interrupted else None,
            fail_fast=self.config.fail_fast,
        )

    def row_outcome(self, row: _Planned, status: RunStatus | None, *, fatal: str | None = None) -> RunOutcome:
        run = status.run if status and status.run else row.initial
        blueprint_id = run.blueprint_id if run and run.blueprint_id is not None else row.blueprint_id
        verdict, problem, api = self._judge(row, status, run=run, fatal=fatal)
        return run_outcome(
            run, verdict=verdict, problem=problem, api_problem=api, name=self.config.name_for(blueprint_id),
            test_run_id=row.test_run_id, blueprint_id=blueprint_id,
            allowed_failure=self.config.is_allowed_failure(blueprint_id),
        )

    def _judge(
        self, row: _Planned, status: RunStatus | None, *, run: TestRun | None, fatal: str | None
    ) -> tuple[Verdict, str | None, bool]:
        if row.problem:
            return Verdict.ERROR, row.problem, True
        if status is not None and status.final and status.run is not None:
            verdict, problem = judge_run(status.run)
            return verdict, problem, False
        if status is not None and status.error:
            return Verdict.ERROR, status.error, True
        if fatal:
            return Verdict.ERROR, fatal, True
        last = f"still '{run.status}'" if run else "not yet reported by DocketQA"
        if self.interrupted is not None:
            return Verdict.CANCELLED, f"cancelled by {self._signal_name()} while {last}", False
        if self.fail_fast_stop is not None:
            return Verdict.NOT_AWAITED, f"not awaited: {last} when --fail-fast stopped the gate", False
        deadline = format_setting_duration(self.config.timeout_s)
        if run is None or (status is not None and status.run is None and status.last_error):
            # Never one good answer (failed, or still unanswered when the deadline came: a stalled API): the API
            # was unreachable, not the test slow. Fail closed with exit 4, even under --no-fail-on-timeout.
            why = f": {status.last_error}" if status and status.last_error else ""
            return Verdict.ERROR, f"DocketQA never answered for this run before the {deadline} deadline{why}", True
        why = f"; last poll failed: {status.last_error}" if status and status.last_error else ""
        return Verdict.TIMED_OUT, f"{last} when the {deadline} deadline passed{why}", False

    def _signal_name(self) -> str:
        return signal.Signals(self.interrupted.signum).name if self.interrupted else "a signal"

    def tally(self) -> Tally:
        return Tally(total=len(self.rows), finished=self.finished, failed=self.failed)

    def count(self, run: RunOutcome) -> None:
        self.finished += 1
        self.failed += run.verdict is not Verdict.PASSED and not run.allowed_failure
        # --fail-fast stops at a run that failed (or ended in a status the gate does not know), not at an API
        # problem: the gate could not learn about that run, which the exit code 4 at the end still reports.
        if self.config.fail_fast and run.counts_against_gate and not run.api_problem and self.fail_fast_stop is None:
            self.fail_fast_stop = f"stopped at the first failure (--fail-fast): {run.name} (test run " \
                                  f"{run.test_run_id if run.test_run_id is not None else 'none'}); " \
                                  "runs still going were not awaited"
            if self.poller is not None:
                self.poller.stop(self.fail_fast_stop)


def follow_runs(
    config: Config,
    *,
    client: ApiClient,
    clock: Clock,
    progress: Progress,
    rng: random.Random,
    started_at: float | None = None,
    trigger_retry: RetryPolicy = TRIGGER_RETRY,
) -> Outcome:
    """Trigger (RUN) or adopt (WAIT) the runs and follow them; never raises for API errors, deadline or signals.

    ``config.fail_fast``: poll every run every interval and stop at the first run that counts against the
    gate; the runs still going are reported as not awaited.
    """
    state = _State(config=config, clock=clock, start=clock.now() if started_at is None else started_at)
    try:
        if config.command is Command.RUN:
            _trigger_then_poll(state, client=client, progress=progress, rng=rng, retry=trigger_retry)
        else:
            state.rows = [_Planned(test_run_id=i, blueprint_id=None) for i in dict.fromkeys(config.test_run_ids)]
            # Nothing is known about adopted runs: the first poll looks at every one of them.
            _poll(state, client=client, progress=progress, rng=rng, first_poll_in=0.0, sweep_first=True)
    except Interrupted as exc:
        state.interrupted = exc
        if config.command is Command.RUN and not state.group_runs:
            # The POST may have been sent (or its answer be on the way): the user must check before re-running.
            state.interrupt_note = f"{exc.message}; {MAY_HAVE_STARTED}"
    except BaseException:
        _close(state)  # a bug: let it reach the CLI (exit 70), but free the workers first
        raise
    while True:  # a signal arriving while the outcome is assembled must not escape either
        try:
            _close(state)
            return state.outcome()
        except Interrupted as exc:
            state.interrupted = state.interrupted or exc


def _close(state: _State) -> None:
    if state.poller is not None:
        state.poller.close()


def _trigger_then_poll(
    state: _State, *, client: ApiClient, progress: Progress, rng: random.Random, retry: RetryPolicy
) -> None:
    config = state.config
    ids = [blueprint.id for blueprint in config.blueprints]
    state.rows = [_Planned(test_run_id=None, blueprint_id=i) for i in ids]
    progress.note(f"Starting DocketQA runs for {len(ids)} blueprint{'s' if len(ids) != 1 else ''}: "
                  + ", ".join(map(str, ids)))
    try:
        result = _trigger(state, client=client, ids=ids, progress=progress, rng=rng, retry=retry)
    except ApiError as exc:
        state.fatal = exc.message
        return
    rows = _plan(ids, result)
    state.group_runs, state.rows = (result.group_run,), rows
    progress.note(f"Group run {result.group_run.id} started: {result.group_run.dashboard_url}")
    # The runs have just started (the trigger answer says so): the first poll follows only the lead.
    _poll(state, client=client, progress=progress, rng=rng, first_poll_in=config.poll_interval_s, sweep_first=False)


def _trigger(
    state: _State, *, client: ApiClient, ids: Sequence[int], progress: Progress, rng: random.Random,
    retry: RetryPolicy,
) -> TriggerResult:
    """POST once; repeat only on TransientApiError (nothing was created), with backoff, inside the deadline."""
    clock, deadline = state.clock, state.start + state.config.timeout_s
    failures = 0
    while True:
        try:
            return client.trigger(ids, timeout=deadline - clock.now())
        except TransientApiError as exc:
            failures += 1
            if retry.exhausted(failures):
                raise ApiError(f"could not start the DocketQA runs after {failures} attempts: {exc.message}") from None
            delay = retry.delay(failures, rng=rng, retry_after=exc.retry_after, remaining=deadline - clock.now())
            if delay is None:
                raise ApiError(
                    f"could not start the DocketQA runs before the {format_setting_duration(state.config.timeout_s)} "
                    f"deadline: {exc.message}"
                ) from None
            progress.note(f"Starting the runs failed ({exc.message}); trying again in {delay:.1f} s")
            clock.sleep(delay)


def _plan(requested: Sequence[int], result: TriggerResult) -> list[_Planned]:
    """Rows in trigger order (extra runs, e.g. a login run, included), then requested blueprints with no run."""
    rows: dict[int, _Planned] = {}
    for run in result.runs:
        rows.setdefault(run.id, _Planned(test_run_id=run.id, blueprint_id=run.blueprint_id, initial=run))
    covered = {run.blueprint_id for run in result.runs}
    if None in covered:
        return list(rows.values())  # a run without a blueprint id could be any of them: do not accuse one
    missing = [
        _Planned(
            test_run_id=None, blueprint_id=blueprint_id,
            problem=f"DocketQA started no test run for blueprint {blueprint_id} in group run {result.group_run.id}: "
                    "check that the blueprint exists and belongs to this API key's company",
        )
        for blueprint_id in dict.fromkeys(requested) if blueprint_id not in covered
    ]
    return [*rows.values(), *missing]


def _poll(
    state: _State, *, client: ApiClient, progress: Progress, rng: random.Random, first_poll_in: float,
    sweep_first: bool,
) -> None:
    config = state.config
    policy = Policy.EVERY_RUN if config.fail_fast else Policy.LEAD
    settings = PollSettings(interval_s=config.poll_interval_s, concurrency=config.concurrency, policy=policy)

    by_id = {row.test_run_id: row for row in state.rows}
    for row in state.rows:
        if row.problem:
            state.count(state.row_outcome(row, None))

    def settled(status: RunStatus) -> None:
        run = state.row_outcome(by_id[status.run_id], status)
        state.count(run)
        progress.run_finished(run, state.tally())

    state.poller = Poller(
        client, clock=state.clock, rng=rng, deadline=state.start + config.timeout_s, settings=settings,
        on_settled=settled, on_tick=lambda: progress.heartbeat(state.tally()),
    )
    run_ids = [row.test_run_id for row in state.rows if row.test_run_id is not None]
    progress.started(len(run_ids))
    try:
        state.poller.follow(run_ids, first_poll_in=first_poll_in, sweep_first=sweep_first)
    finally:
        progress.done(state.tally())
