"""Reading a JSON result back, and what --resume plans from it: carry, follow, trigger."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from gate.model import Verdict
from gate.outcome import Outcome
from gate.prior import NotAResult, PriorResult, final, parse_result
from gate.provenance import Provenance
from gate.reports.result_json import render_json
from gate.resume import Level, load_prior, plan_run, plan_wait
from tests.support.outcomes import hostile_scenario, interrupted_scenario, mixed_scenario, seed_scenario

URL = "https://api.docketqa.com"


def _document(outcome: Outcome, **head: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(render_json(dataclasses.replace(outcome, provenance=Provenance(api_url=URL))))), **head}


@pytest.mark.parametrize("scenario", [seed_scenario, mixed_scenario, hostile_scenario, interrupted_scenario])
def test_a_result_read_back_renders_the_same_runs(scenario: Any) -> None:
    """What the JSON keeps of each run survives a round trip: carried runs report what the earlier attempt did."""
    document = _document(scenario())
    prior = parse_result(document)
    again = render_json(Outcome(runs=prior.runs, group_runs=prior.group_runs, provenance=Provenance(api_url=URL)))
    assert again["runs"] == document["runs"]
    assert again["group_runs"] == document["group_runs"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schema_version": 2}, "a result of schema version 2; this gate reads version 1"),
        ({"schema_version": True}, "a result of schema version true; this gate reads version 1"),
        ({"runs": {}}, "a result whose 'runs' or 'group_runs' is not a list"),
        ({"runs": [{"verdict": "maybe"}]}, "a result with an unusable field (run 1 has verdict \"maybe\")"),
        ({"runs": [{"verdict": "passed", "test_run_id": "7"}]},
         "a result with an unusable field (run 1 test_run_id is not an integer)"),
    ],
)  # fmt: skip
def test_a_result_that_does_not_fit_names_what(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(NotAResult) as caught:
        parse_result({**_document(seed_scenario()), **change})
    assert caught.value.reason == reason


def test_a_result_of_an_older_gate_without_the_resume_fields_is_refused() -> None:
    document = _document(seed_scenario())
    del document["commit"]
    with pytest.raises(NotAResult, match="a result without 'commit' \\(written by an older docketqa-gate\\)"):
        parse_result(document)


def _prior(outcome: Outcome) -> PriorResult:
    return parse_result(_document(outcome))


def test_run_carries_passes_follows_the_unfinished_and_triggers_the_rest() -> None:
    """Passed runs are carried, the timed-out one followed by id; failed, errored, missing and never-seen blueprints
    are triggered; blueprints no longer asked for are left out."""
    prior = _prior(mixed_scenario())
    by_blueprint = {r.blueprint_id: r for r in prior.runs}
    asked = [b for b in by_blueprint if b is not None] + [200]
    plan = plan_run(prior, asked)
    verdicts = {r.blueprint_id: r.verdict for r in plan.carried}
    assert set(verdicts.values()) == {Verdict.PASSED} and all(r.carried_over for r in plan.carried)
    followed = {f.blueprint_id for f in plan.follow}
    timed_out = {b for b, r in by_blueprint.items() if r.verdict is Verdict.TIMED_OUT}
    assert followed == timed_out and all(f.test_run_id is not None for f in plan.follow)
    assert set(plan.trigger) == set(asked) - set(verdicts) - followed and 200 in plan.trigger
    assert {g.id for g in plan.group_runs} == {35} and all(g.earlier_attempt for g in plan.group_runs)
    fewer = plan_run(prior, [200])
    assert (fewer.carried, fewer.follow, fewer.trigger, fewer.group_runs) == ((), (), (200,), ())


def test_wait_carries_every_final_run_and_follows_the_others() -> None:
    prior = _prior(mixed_scenario())
    ids = [r.test_run_id for r in prior.runs if r.test_run_id is not None] + [999]
    plan = plan_wait(prior, ids)
    assert {r.test_run_id for r in plan.carried} == {r.test_run_id for r in prior.runs if final(r)}
    assert {f.test_run_id for f in plan.follow} == {r.test_run_id for r in prior.runs if not final(r)
                                                    and r.test_run_id is not None} | {999}  # fmt: skip
    assert plan.trigger == ()


def test_load_prior_trusts_the_same_api_with_a_trailing_slash_and_an_unknown_commit(tmp_path: Path) -> None:
    """No commit in either result or environment: nothing to compare, so the result is used."""
    (tmp_path / "r.json").write_text(json.dumps(_document(seed_scenario())))
    prior, message = load_prior(Path("r.json"), cwd=tmp_path, api_url=URL.upper() + "/", commit="abc")
    assert message is None and prior is not None


def test_a_directory_in_place_of_the_result_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "r.json").mkdir()
    prior, message = load_prior(Path("r.json"), cwd=tmp_path, api_url=URL, commit=None)
    assert prior is None and message is not None and message.level is Level.WARNING
    assert message.text.startswith("not resuming: the previous result r.json cannot be read (")


@pytest.mark.parametrize("layout", ["test", "step"])
def test_hostile_text_carried_over_from_a_result_stays_escaped(layout: str) -> None:
    """A result file is untrusted too: hostile names and results read back and carried still give valid JUnit and
    a summary whose table cannot be broken."""
    from gate.config import JunitLayout
    from gate.reports.junit import render_junit
    from gate.reports.summary import render_summary
    from tests.support.render import assert_valid_junit

    prior = _prior(hostile_scenario())
    carried = Outcome(runs=tuple(dataclasses.replace(r, carried_over=True) for r in prior.runs),
                      group_runs=prior.group_runs)  # fmt: skip
    document = render_junit(carried, layout=JunitLayout(layout))
    assert_valid_junit(document)
    assert document.count('name="docketqa.carried_over" value="true"') >= 1
    summary = render_summary(carried)
    assert "</table>" not in summary and "</td>" not in summary


def test_a_sandbox_group_run_keeps_its_own_dashboard_link_when_read_back() -> None:
    """A result from the sandbox links its group runs to the sandbox's dashboard page: a resumed attempt and a
    fan-in keep that link (not DocketQA's app, which never saw the run); a link to another host is not taken."""
    sandbox = "http://127.0.0.1:8765"
    document = _document(mixed_scenario(), api_url=sandbox)
    own = f"{sandbox}/dashboard/grouprun/35"
    document["group_runs"] = [{**document["group_runs"][0], "dashboard_url": own}]
    assert [g.dashboard_url for g in parse_result(document).group_runs] == [own]
    assert [g.dashboard_url for g in parse_result(document, for_resume=False).group_runs] == [own]
    document["group_runs"][0]["dashboard_url"] = "https://evil.example/dashboard/grouprun/35"
    assert [g.dashboard_url for g in parse_result(document).group_runs] == ["https://app.docketqa.com/dashboard/grouprun/35"]
