"""Outcome builders, a hostile corpus and runner-faithful parsers shared by the platform and artifact tests."""

from __future__ import annotations

import json
import re
from typing import Any

from gate.model import Verdict
from gate.outcome import GroupRun, Outcome, RunOutcome, run_outcome
from gate.payload import parse_test_run_response
from tests.support.paths import FIXTURES

#: Text DocketQA could send that tries to talk to the CI log, the output file or a terminal.
HOSTILE = [
    "::error::forged annotation",
    "::set-output name=status::passed",
    "::add-mask::everything",
    "::stop-commands::abc",
    "  ::warning file=x::indented command",
    "##[error]legacy command",
    "ok ##[group]mid-line legacy",
    "ghadelimiter_00000000-0000-0000-0000-000000000000",
    "status<<EOF\npassed\nEOF",
    "line one\r\n::error::after CRLF",
    "\x1b[0Ksection_start:1:fake[collapsed=true]\r\x1b[0Kforged section",
    "\x1b[31mred\x1b[0m and \x07bell",
    "100% done, 50%0A encoded, a:b,c",
    "</td></tr></table><script>alert(1)</script>",
    "\u202eRTL override 🚀",
]
#: The project's shared hostile corpus (tests/fixtures/hostile_corpus.json) added to ours.
HOSTILE_ALL = HOSTILE + json.loads((FIXTURES / "hostile_corpus.json").read_text("utf-8"))


def step(number: int, *, ok: bool, task: str = "Do the thing", result: str = "", shots: tuple[str, ...] = ()) -> dict:
    return {
        "step_number": number,
        "task": task,
        "is_successful": ok,
        "result": result or ("done" if ok else "the agent could not do it"),
        "duration": 12,
        "actions": [{"description": "act", "type": "click_element", "screenshot_url": s} for s in shots],
    }


def payload(
    run_id: int,
    *,
    status: str = "failed",
    title: str | None = "Login Flow",
    steps: list[dict] | None = None,
    video: str | None = None,
    video_download: str | None = None,
    attempts: list[dict] | None = None,
    group: int = 35,
) -> dict[str, Any]:
    if steps is None:
        steps = [step(1, ok=True)] if status == "passed" else [step(1, ok=True), step(2, ok=False)]
    body: dict[str, Any] = {
        "id": run_id,
        "status": status,
        "test_blueprint_id": 180 + run_id,
        "test_group_run_id": group,
        "blueprint_metadata": {"id": 180 + run_id, "title": title, "starting_url": "https://example.com/login"},
        "results": steps,
        "test_video_url": video,
        "test_video_download_url": video_download,
        "created_at": "2025-07-03T01:38:03.032648+00:00",
        "updated_at": "2025-07-03T01:40:05.043914+00:00",
    }
    if attempts is not None:
        body["additional_attempts"] = attempts
    return {"test_run": body}


def judged(body: dict[str, Any], *, allowed_failure: bool = False, name: str | None = None) -> RunOutcome:
    """A final run judged the way the model judges it."""
    return run_outcome(parse_test_run_response(body), name=name, allowed_failure=allowed_failure)


def unfinished(run_id: int, *, name: str, verdict: Verdict = Verdict.TIMED_OUT) -> RunOutcome:
    problem = "did not finish before the 30m deadline" if verdict is Verdict.TIMED_OUT else "cancelled by SIGTERM"
    return run_outcome(None, verdict=verdict, problem=problem, name=name, test_run_id=run_id)


def outcome_of(*runs: RunOutcome, groups: tuple[int, ...] = (35,)) -> Outcome:
    return Outcome(runs=tuple(runs), group_runs=tuple(GroupRun(id=g) for g in groups), elapsed_s=252.0)


def flaky_body(run_id: int, *, title: str = "Checkout") -> dict[str, Any]:
    """Passed on the second attempt; the first attempt failed at step 2."""
    first_try = {"status": "failed", "results": [step(1, ok=True), step(2, ok=False, result="timeout waiting")]}
    return payload(run_id, status="passed", title=title, attempts=[first_try])


def mixed_outcome(title: str = "Login Flow") -> Outcome:
    """One of each: failed, passed, flaky, timed out, allowed failure, unknown status."""
    return outcome_of(
        judged(payload(38, title=title)),
        judged(payload(39, status="passed", title="Search")),
        judged(flaky_body(40)),
        unfinished(41, name="Slow one"),
        judged(payload(42, title="Quarantined"), allowed_failure=True),
        judged(payload(43, status="stopped", title="Stopped")),
    )


# --- parsers written from the runner's behaviour ----------------------------------------------------------------


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    """actions/runner's ReadLine: (line, next index, the newline that ended it or None at the end)."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    if lf > 0 and text[lf - 1] == "\r":
        return text[index : lf - 1], lf + 1, "\r\n"
    return text[index:lf], lf + 1, "\n"


def parse_github_output_file(text: str) -> dict[str, str]:
    """Parse ``$GITHUB_OUTPUT`` exactly as actions/runner's file-command parser does (``name=value`` or
    ``name<<DELIM`` ... ``DELIM``); a malformed file fails the assertion the way the runner fails the step."""
    outputs: dict[str, str] = {}
    index = 0
    while True:
        line, index, _ = _read_line(text, index)
        if line is None:
            return outputs
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line[:equals], line[equals + 1 :]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            assert name and delimiter, f"invalid heredoc header {line!r}"
            start = end = index
            current, index, newline = _read_line(text, index)
            while current != delimiter:
                assert current is not None and newline is not None, f"matching delimiter not found for {name!r}"
                end = index - len(newline)
                current, index, newline = _read_line(text, index)
            value = text[start:end] if end > start else ""
        else:
            raise AssertionError(f"invalid format {line!r}")
        assert name, f"empty output name in {line!r}"
        outputs[name] = value


_COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text).replace("%3A", ":").replace("%2C", ",")


def parse_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """A workflow command as the runner reads it (leading whitespace trimmed), or None."""
    match = _COMMAND.match(line.lstrip())
    if not match:
        return None
    name, props_text, data = match.groups()
    props: dict[str, str] = {}
    for pair in (props_text or "").split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
    return name, props, unescape_data(data)
