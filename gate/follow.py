"""Trigger (with its careful retry rules), follow every run under one deadline, and always build the Outcome."""

from __future__ import annotations

import dataclasses
import random
import signal
from collections.abc import Callable

from gate.client import ApiClient
from gate.clock import Clock
from gate.config import Command, Config
from gate.durations import format_setting_duration
from gate.errors import MAY_HAVE_STARTED, ApiError, Interrupted, TargetNotReady
from gate.first_contact import FirstContact
from gate.model import TestRun, Verdict, judge_run
from gate.naming import unique_names
from gate.outcome import GroupRun, Outcome, RunOutcome, run_outcome
from gate.poller import Poller
from gate.progress import Progress, Tally
from gate.provenance import Provenance
from gate.resume import ResumePlan
from gate.retry import TRIGGER_RETRY, RetryPolicy
from gate.run_status import PollResult, PollSettings, RunSource, RunStatus
from gate.schedule import Policy
from gate.trigger import Planned, plan_rows, trigger_with_retries


@dataclasses.dataclass
class _State:
    """Everything learnt so far, kept consistent at every step so an interruption can still be reported."""

    config: Config
    clock: Clock
    start: float
    rows: list[Planned] = dataclasses.field(default_factory=list)
    group_runs: tuple[GroupRun, ...] = ()
    poller: Poller | None = None
    #: A failure that ended the gate before polling (e.g. the trigger was refused or may have been received).
    fatal: str | None = None
    interrupted: Interrupted | None = None
    #: What to tell the user about the interruption (the trigger case adds where to check for a started run).
    interrupt_note: str | None = None
    finished: int = 0
    failed: int = 0
    errors: int = 0
    #: Runs taken from an earlier attempt's result (``--resume``): reported as they were, never polled.
    carried: tuple[RunOutcome, ...] = ()
    carried_failed: int = 0  # of ``carried``, those that count against the gate (fixed once carried)
    #: Set while waiting for the target (``--wait-for-url``), and once the trigger POST may have been sent.
    waiting_for_target: bool = False
    trigger_sent: bool = False
    #: Why the target was never ready: nothing was triggered.
    not_ready: str | None = None
    #: When the targets were ready: the deadline counts from then, so a slow deploy does not eat the test time.
    ready_at: float | None = None

    def deadline(self) -> float:
        return (self.start if self.ready_at is None else self.ready_at) + self.config.timeout_s
    #: Why --fail-fast stopped following (the first run that counts against the gate).
    fail_fast_stop: str | None = None

    def outcome(self) -> Outcome:
        result = self.poller.snapshot() if self.poller else PollResult(runs=())
        statuses: dict[int | None, RunStatus] = {status.run_id: status for status in result.runs}
        fatal = self.fatal or result.fatal
        note = (self.interrupt_note or self.interrupted.message) if self.interrupted else None
        runs = [*self.carried, *(self.row_outcome(row, statuses.get(row.test_run_id), fatal=fatal) for row in self.rows)]
        names = unique_names((run.name, run.test_run_id) for run in runs)
        # --fail-fast stopped nothing early when the failure was the last run going: a plain failed verdict.
        fail_fast_stop = self.fail_fast_stop if any(r.verdict is Verdict.NOT_AWAITED for r in runs) else None
        return Outcome(
            runs=tuple(dataclasses.replace(run, name=name) for run, name in zip(runs, names)),
            group_runs=self.group_runs,
            elapsed_s=max(0.0, self.clock.now() - self.start),
            # A target never ready: nothing was triggered, so nothing was tested; never a pass (exit 3) even
            # under --no-fail-on-timeout.
            fail_on_timeout=self.config.fail_on_timeout or self.not_ready is not None,
            stop_reason=fatal or note or self.not_ready or fail_fast_stop,
            interrupted_exit=self.interrupted.exit_code if self.interrupted else None,
            provenance=Provenance(triggered_group_run_id=next((g.id for g in self.group_runs if not g.earlier_attempt), None)),
            fail_fast=self.config.fail_fast,
        )

    def row_outcome(self, row: Planned, status: RunStatus | None, *, fatal: str | None = None) -> RunOutcome:
        run = status.run if status and status.run else row.initial
        blueprint_id = run.blueprint_id if run and run.blueprint_id is not None else row.blueprint_id
        verdict, problem, api = self._judge(row, status, run=run, fatal=fatal)
        return run_outcome(
            run, verdict=verdict, problem=problem, api_problem=api, name=self.config.name_for(blueprint_id),
            test_run_id=row.test_run_id, blueprint_id=blueprint_id,
            allowed_failure=self.config.is_allowed_failure(blueprint_id),
        )

    def _judge(
        self, row: Planned, status: RunStatus | None, *, run: TestRun | None, fatal: str | None
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
        if row.test_run_id is None and not self.trigger_sent:
            last = "not yet triggered (nothing was started)"
        if self.not_ready is not None:
            what = "never triggered" if row.test_run_id is None else "not followed"
            return Verdict.TIMED_OUT, f"{what}: {self.not_ready}", False
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

    def interrupt(self, exc: Interrupted) -> None:
        self.interrupted = exc
        if self.waiting_for_target:
            self.interrupt_note = f"{exc.message}; nothing was triggered (the gate was waiting for the target URL)"
        elif self.trigger_sent and all(g.earlier_attempt for g in self.group_runs):
            # The POST may have been sent (or its answer be on the way): the user must check before re-running.
            self.interrupt_note = f"{exc.message}; {MAY_HAVE_STARTED}"

    def tally(self) -> Tally:
        carried = len(self.carried)
        return Tally(total=len(self.rows) + carried, finished=self.finished + carried,
                     failed=self.failed + self.carried_failed, errors=self.errors)

    def count(self, run: RunOutcome) -> None:
        self.finished += 1
        if run.verdict is not Verdict.PASSED and not run.allowed_failure:
            if run.verdict is Verdict.ERROR:
                self.errors += 1
            else:
                self.failed += 1
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
    resume: ResumePlan | None = None,
    before_trigger: Callable[[], None] | None = None,
) -> Outcome:
    """Trigger (RUN) or adopt (WAIT) the runs and follow them; never raises for API errors, deadline or signals.

    ``resume`` carries runs over, follows unfinished ones by id and triggers the rest; ``before_trigger``
    (--wait-for-url) runs just before a trigger, and ``TargetNotReady`` from it stops the gate.
    ``config.fail_fast``: poll every run every interval and stop at the first run that counts against the gate;
    the runs still going are reported as not awaited.
    """
    state = _State(config=config, clock=clock, start=clock.now() if started_at is None else started_at)
    if resume is not None:
        state.carried = resume.carried_under(config)
        state.carried_failed = sum(r.counts_against_gate for r in state.carried)
        state.group_runs = resume.group_runs
        progress.note(resume.describe())
    try:
        if config.command is Command.RUN:
            _trigger_then_poll(
                state, client=client, progress=progress, rng=rng, retry=trigger_retry, resume=resume,
                before_trigger=before_trigger,
            )
        else:
            ids = dict.fromkeys(config.test_run_ids)
            state.rows = _followed(resume) if resume else [Planned(test_run_id=i, blueprint_id=None) for i in ids]
            # Nothing is known about adopted runs: the first poll looks at every one of them.
            _poll(state, client=client, progress=progress, rng=rng, first_poll_in=0.0, sweep_first=True)
    except Interrupted as exc:
        state.interrupt(exc)
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


def _followed(resume: ResumePlan) -> list[Planned]:
    return [
        Planned(test_run_id=f.test_run_id, blueprint_id=f.blueprint_id, initial=f.earlier.run) for f in resume.follow
    ]


def _trigger_then_poll(
    state: _State, *, client: ApiClient, progress: Progress, rng: random.Random, retry: RetryPolicy,
    resume: ResumePlan | None, before_trigger: Callable[[], None] | None,
) -> None:
    config = state.config
    ids = list(resume.trigger) if resume else [blueprint.id for blueprint in config.blueprints]
    followed = _followed(resume) if resume else []
    state.rows = [*followed, *(Planned(test_run_id=None, blueprint_id=i) for i in ids)]
    first_poll_in = 0.0
    if ids:
        if before_trigger is not None:
            state.waiting_for_target = True
            try:
                before_trigger()
            except TargetNotReady as exc:
                state.not_ready = exc.message
                return
            state.waiting_for_target, state.ready_at = False, state.clock.now()
        state.trigger_sent = True  # from here on an interruption may leave a group run behind
        progress.note(f"Starting DocketQA runs for {len(ids)} blueprint{'s' if len(ids) != 1 else ''}: "
                      + ", ".join(map(str, ids)))
        try:
            result = trigger_with_retries(
                client, ids, clock=state.clock, deadline=state.deadline(), timeout_s=config.timeout_s, rng=rng,
                retry=retry, note=progress.note,
            )
        except ApiError as exc:
            state.fatal = exc.message
            return
        state.group_runs, state.rows = (result.group_run, *state.group_runs), [*followed, *plan_rows(ids, result)]
        where = " in the sandbox" if result.group_run.sandbox_dashboard_url else ""
        progress.note(f"Group run {result.group_run.id} started{where}: {result.group_run.dashboard_url}")
        first_poll_in = config.poll_interval_s
    # Runs just triggered are known to be running: the first poll follows only the lead. Runs followed again by
    # id (--resume) are not: the first poll looks at each of them.
    _poll(state, client=client, progress=progress, rng=rng, first_poll_in=first_poll_in, sweep_first=bool(followed))


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

    deadline = state.deadline()
    # `run` got an answer from the trigger; `wait` may be pointed at an API that is not there at all.
    source: RunSource = client
    if config.command is Command.WAIT:
        source = FirstContact(client, clock=state.clock, rng=rng, deadline=deadline, note=progress.note)
    state.poller = Poller(
        source, clock=state.clock, rng=rng, deadline=deadline, settings=settings,
        on_settled=settled, on_tick=lambda: progress.heartbeat(state.tally()),
    )
    run_ids = [row.test_run_id for row in state.rows if row.test_run_id is not None]
    if not run_ids and state.carried:
        return  # every run was carried over from the earlier attempt: report at once
    progress.started(len(run_ids))
    try:
        state.poller.follow(run_ids, first_poll_in=first_poll_in, sweep_first=sweep_first)
    finally:
        if isinstance(source, FirstContact):
            state.fatal = state.fatal or source.gave_up
        progress.done(state.tally())
