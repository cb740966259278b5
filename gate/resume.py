"""``--resume``: whether an earlier attempt's JSON result can be trusted, and what to carry over, follow and trigger."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

from gate.config import Config
from gate.errors import os_reason
from gate.model import Verdict
from gate.outcome import GroupRun, RunOutcome
from gate.prior import NotAResult, PriorResult, final, read_result_file


class Level(enum.Enum):
    NOTICE = "notice"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True)
class Message:
    """What to tell the user about the earlier result (a notice on a first attempt, a warning otherwise)."""

    level: Level
    text: str


@dataclasses.dataclass(frozen=True)
class Follow:
    """A run of the earlier attempt that was not final: followed again by its id, never triggered again."""

    test_run_id: int
    blueprint_id: int | None
    earlier: RunOutcome


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """Carried runs go into the reports as they were; followed runs are polled; ``trigger`` starts a new group run."""

    carried: tuple[RunOutcome, ...] = ()
    follow: tuple[Follow, ...] = ()
    trigger: tuple[int, ...] = ()
    #: The earlier attempt's group runs that hold a carried or followed run.
    group_runs: tuple[GroupRun, ...] = ()

    def carried_under(self, config: Config) -> tuple[RunOutcome, ...]:
        """The carried runs under this gate's names and allowed failures (the earlier attempt's may differ)."""
        return tuple(
            dataclasses.replace(
                run, name=config.name_for(run.blueprint_id) or run.name,
                allowed_failure=config.is_allowed_failure(run.blueprint_id),
            )
            for run in self.carried
        )

    def describe(self) -> str:
        """One progress line: what is carried over, followed and started."""
        parts = [
            f"carrying over {_ids(r.test_run_id for r in self.carried)}" if self.carried else "",
            f"following {_ids(f.test_run_id for f in self.follow)} again" if self.follow else "",
            f"starting blueprint{'s' if len(self.trigger) != 1 else ''} {', '.join(map(str, self.trigger))}"
            if self.trigger else "",
        ]  # fmt: skip
        return "Resuming: " + ("; ".join(p for p in parts if p) or "nothing to do")


def load_prior(
    path: Path, *, cwd: Path, api_url: str, commit: str | None, any_commit: bool = False
) -> tuple[PriorResult | None, Message | None]:
    """The earlier result when it can be trusted; otherwise None and why (the gate then runs everything)."""
    full = cwd / path
    try:
        prior = read_result_file(full)
    except FileNotFoundError:
        return None, Message(Level.NOTICE, f"no previous result at {path}: running everything")
    except OSError as exc:
        return None, _distrust(path, f"cannot be read ({os_reason(exc)})")
    except NotAResult as exc:
        return None, _distrust(path, f"is {exc.reason}")
    if _same_api(prior.api_url) != _same_api(api_url):
        return None, _distrust(path, f"is for another API ({prior.api_url or 'unknown'}, this gate uses {api_url})")
    if prior.commit and commit and prior.commit != commit and not any_commit:
        return None, _distrust(
            path,
            f"tested commit {prior.commit[:12]}, not {commit[:12]} (pass --resume-any-commit to carry results over "
            "from another commit)",
        )
    return prior, None


def _distrust(path: Path, why: str) -> Message:
    return Message(Level.WARNING, f"not resuming: the previous result {path} {why}; running everything")


def _same_api(url: str | None) -> str:
    return (url or "").rstrip("/").lower()


def plan_run(prior: PriorResult, blueprint_ids: Sequence[int]) -> ResumePlan:
    """``run``: passed runs are carried, unfinished ones followed, failed, errored and new blueprints triggered."""
    wanted = dict.fromkeys(blueprint_ids)
    carried: list[RunOutcome] = []
    follow: list[Follow] = []
    settled: set[int] = set()
    for earlier in prior.runs:
        blueprint = earlier.blueprint_id
        if blueprint is not None and (blueprint not in wanted or blueprint in settled):
            continue  # no longer asked for, or already decided by another row of the same blueprint
        if earlier.verdict is Verdict.PASSED and final(earlier):
            carried.append(_carried(earlier))
        elif not final(earlier) and earlier.test_run_id is not None:
            follow.append(Follow(test_run_id=earlier.test_run_id, blueprint_id=blueprint, earlier=earlier))
        elif blueprint is None and earlier.test_run_id is not None:
            carried.append(_carried(earlier))  # a run of no known blueprint cannot be started again: its result stands
        else:
            continue
        if blueprint is not None:
            settled.add(blueprint)
    trigger = tuple(i for i in wanted if i not in settled)
    return _plan(prior, carried=carried, follow=follow, trigger=trigger)


def plan_wait(prior: PriorResult, test_run_ids: Sequence[int]) -> ResumePlan:
    """``wait``: runs final in the earlier result are carried, every other one is followed."""
    earlier = {r.test_run_id: r for r in prior.runs if r.test_run_id is not None}
    carried: list[RunOutcome] = []
    follow: list[Follow] = []
    for run_id in dict.fromkeys(test_run_ids):
        known = earlier.get(run_id)
        if known is not None and final(known):
            carried.append(_carried(known))
        else:
            blueprint = known.blueprint_id if known else None
            follow.append(Follow(test_run_id=run_id, blueprint_id=blueprint, earlier=known or _unknown(run_id)))
    return _plan(prior, carried=carried, follow=follow, trigger=())


def _plan(prior: PriorResult, *, carried: list[RunOutcome], follow: list[Follow], trigger: tuple[int, ...]) -> ResumePlan:
    kept = {r.run.group_run_id for r in (*carried, *(f.earlier for f in follow)) if r.run is not None}
    groups = tuple(dataclasses.replace(g, earlier_attempt=True) for g in prior.group_runs if g.id in kept)
    return ResumePlan(carried=tuple(carried), follow=tuple(follow), trigger=trigger, group_runs=groups)


def _carried(run: RunOutcome) -> RunOutcome:
    return dataclasses.replace(run, carried_over=True)


def _unknown(run_id: int) -> RunOutcome:
    return RunOutcome(name=f"Test run {run_id}", verdict=Verdict.ERROR, test_run_id=run_id, blueprint_id=None)


def _ids(ids: Iterable[int | None]) -> str:
    values = [str(i) for i in ids]
    return f"test run{'s' if len(values) != 1 else ''} {', '.join(values)}"
