"""GitHub Action inputs as the runner passes them (INPUT_<NAME>, hyphens kept, empty when unset) become a Config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.config import Blueprint, Command, CommentMode, Config, JunitLayout
from gate.config.load import load_action_config
from gate.config.settings import action_inputs
from gate.secret import Secret
from tests.support.cli import CliResult
from tests.support.config import action_env, action_problems, load, load_action, write
from tests.support.keys import TEST_API_KEY, TEST_GITHUB_TOKEN
from tests.support.paths import REPO

ROOT = REPO
DURATION_FORMS = "use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"
NO_KEY = "no API key: set the api-key input from a secret, e.g. 'api-key: ${{ secrets.DOCKET_API_KEY }}'"


def test_action_inputs_match_action_yml() -> None:
    """The table's action inputs are exactly the set of inputs action.yml (and the composite action) declare."""
    for path in (ROOT / "action.yml", ROOT / "composite" / "action.yml"):
        if path.exists():
            declared = yaml.safe_load(path.read_text(encoding="utf-8"))["inputs"]
            assert sorted(declared) == sorted(action_inputs()), path


def test_minimal_inputs_give_the_defaults(tmp_path: Path) -> None:
    """With only api-key and blueprint-ids set (every other input empty), the Config is the CLI's default one."""
    config = load_action(tmp_path, api_key=TEST_API_KEY, blueprint_ids="180")
    assert config == Config(command=Command.RUN, api_key=Secret(TEST_API_KEY), blueprints=(Blueprint(id=180),))
    assert config == load(tmp_path, "run", "--blueprint", "180")


# input -> (value, how to read the Config, expected): one row per input proves the code reads it.
EVERY_INPUT: dict[str, tuple[str, Callable[[Config], Any], Any]] = {
    "api-key": (f" {TEST_API_KEY}\n", lambda c: c.api_key, Secret(TEST_API_KEY)),
    "blueprint-ids": ("180, 181\n182", lambda c: [b.id for b in c.blueprints], [180, 181, 182]),
    "config": ("ci/gate.yml", lambda c: c.timeout_s, 42.0),
    "api-url": ("http://127.0.0.1:9999/", lambda c: c.api_url, "http://127.0.0.1:9999"),
    "timeout": ("1h30m", lambda c: c.timeout_s, 5400.0),
    "poll-interval": ("0.5s", lambda c: c.poll_interval_s, 0.5),
    "fail-on-timeout": ("false", lambda c: c.fail_on_timeout, False),
    "fail-fast": ("true", lambda c: c.fail_fast, True),
    "allow-failures": ("181 182", lambda c: c.allow_failures, frozenset({181, 182})),
    "junit-path": ("out/junit.xml", lambda c: c.reports.junit, Path("out/junit.xml")),
    "junit-layout": ("step", lambda c: c.reports.junit_layout, JunitLayout.STEP),
    "json-path": ("out/result.json", lambda c: c.reports.json, Path("out/result.json")),
    "job-summary": ("FALSE", lambda c: c.job_summary, False),
    "annotations": ("False", lambda c: c.annotations, False),
    "artifacts-dir": ("evidence", lambda c: c.reports.artifacts_dir, Path("evidence")),
    "pr-comment": ("failures", lambda c: c.comment.mode, CommentMode.FAILURES),
    "comment-key": (" e2e  (chrome) ", lambda c: c.comment.key, "e2e (chrome)"),
    "pr-number": ("#12", lambda c: c.comment.pr, 12),
    "comment-author": ("release-bot[bot]", lambda c: c.comment.author, "release-bot[bot]"),
    "resume-from": ("out/result.json", lambda c: c.resume, Path("out/result.json")),
    "resume-any-commit": ("true", lambda c: c.resume_any_commit, True),
    "wait-for-url": ("https://staging.example.com/version\n\nhttps://staging.example.com/\n",
                     lambda c: c.wait_for.urls, ("https://staging.example.com/version", "https://staging.example.com/")),
    "wait-for-text": ("4f2a9c1", lambda c: c.wait_for.text, "4f2a9c1"),
    "wait-for-status": ("200, 401", lambda c: c.wait_for.statuses, frozenset({200, 401})),
    "wait-timeout": ("2m", lambda c: c.wait_for.timeout_s, 120.0),
}
#: Inputs that only matter together with another one (a token is read only when a comment may be written; text,
#: statuses and a timeout need a URL to wait for).
ALONGSIDE = {
    "github-token": {"pr_comment": "always"},
    **{name: {"wait_for_url": "https://s.example/"} for name in ("wait-for-text", "wait-for-status", "wait-timeout")},
}
EVERY_INPUT["github-token"] = (f"{TEST_GITHUB_TOKEN}\n", lambda c: c.comment.github_token, Secret(TEST_GITHUB_TOKEN))


@pytest.mark.parametrize("name", [n for n in action_inputs() if n != "test-run-ids"])
def test_every_input_is_read(tmp_path: Path, name: str) -> None:
    """Setting any one input changes the Config the way its description says."""
    value, read, expected = EVERY_INPUT[name]
    write(tmp_path, "ci/gate.yml", "timeout: 42\n")
    inputs = {"api_key": TEST_API_KEY, "blueprint_ids": "7", name.replace("-", "_"): value, **ALONGSIDE.get(name, {})}
    assert read(load_action(tmp_path, **inputs)) == expected


def test_test_run_ids_mean_wait(tmp_path: Path) -> None:
    """test-run-ids follows existing runs: the command is wait with those ids."""
    config = load_action(tmp_path, api_key=TEST_API_KEY, test_run_ids="38,\n39 40")
    assert (config.command, config.test_run_ids, config.blueprints) == (Command.WAIT, (38, 39, 40), ())


def test_hyphens_are_kept_in_variable_names(tmp_path: Path) -> None:
    """Only INPUT_API-KEY is the key input; an underscored INPUT_API_KEY is not read."""
    env = action_env(blueprint_ids="1")
    env["INPUT_API_KEY"] = TEST_API_KEY
    assert action_problems(tmp_path, env) == [NO_KEY]


def test_missing_or_blank_api_key_is_a_usage_error(tmp_path: Path) -> None:
    """The runner does not enforce `required`, so the gate does: a missing or blank key is exit 2."""
    assert action_problems(tmp_path, action_env(blueprint_ids="1")) == [NO_KEY]
    assert action_problems(tmp_path, action_env(blueprint_ids="1", api_key="  \n")) == [NO_KEY]


def test_environment_key_is_a_fallback(tmp_path: Path) -> None:
    """A workflow that sets DOCKET_API_KEY in env instead of the input still works; the input wins over it."""
    env = {**action_env(blueprint_ids="1"), "DOCKET_API_KEY": TEST_API_KEY}
    assert load_action_config(env, cwd=tmp_path).api_key == Secret(TEST_API_KEY)
    env[("INPUT_API-KEY")] = "input-key"
    assert load_action_config(env, cwd=tmp_path).api_key == Secret("input-key")


@pytest.mark.parametrize("text", ["true", "True", "TRUE", " true "])
def test_true_spellings(tmp_path: Path, text: str) -> None:
    """Booleans accept the spellings actions/toolkit accepts."""
    config = load_action(tmp_path, api_key=TEST_API_KEY, blueprint_ids="1", fail_on_timeout=text, annotations=text)
    assert config.fail_on_timeout and config.annotations


@pytest.mark.parametrize("name", ["fail-on-timeout", "fail-fast", "job-summary", "annotations"])
@pytest.mark.parametrize("text", ["yes", "no", "1", "0", "on", "tRuE", "flase"])
def test_other_boolean_spellings_are_refused(tmp_path: Path, name: str, text: str) -> None:
    """Anything but true/false is a usage error naming the input, never silently false."""
    env = action_env(api_key=TEST_API_KEY, blueprint_ids="1", **{name.replace("-", "_"): text})
    assert action_problems(tmp_path, env) == [f"action input {name}: expected true or false, got {text!r}"]


def test_both_id_inputs_is_a_usage_error(tmp_path: Path) -> None:
    """Giving blueprint-ids and test-run-ids together is refused with what each one means."""
    env = action_env(api_key=TEST_API_KEY, blueprint_ids="180", test_run_ids="38")
    assert action_problems(tmp_path, env) == [
        ("action inputs blueprint-ids and test-run-ids: set one, not both (blueprint-ids triggers new runs, "
        "test-run-ids follows runs started elsewhere)")
    ]


def test_neither_id_input_uses_the_config_file(tmp_path: Path) -> None:
    """Without id inputs the config file's blueprints are run; with none there either, the error says what to set."""
    assert action_problems(tmp_path, action_env(api_key=TEST_API_KEY)) == [
        ("no blueprints to run: set the blueprint-ids input (or test-run-ids to follow runs started elsewhere), or "
        "list them under 'blueprints:' in .docketqa.yml")
    ]
    write(tmp_path, ".docketqa.yml", "blueprints:\n  - 180\n  - {id: 181, name: Checkout}\n")
    config = load_action(tmp_path, api_key=TEST_API_KEY)
    assert (config.command, config.blueprints) == (Command.RUN, (Blueprint(180), Blueprint(181, name="Checkout")))


def test_input_beats_environment_beats_file(tmp_path: Path) -> None:
    """An input wins over DOCKET_API_URL, which wins over the file's api_url."""
    write(tmp_path, ".docketqa.yml", "api_url: https://file.example\ntimeout: 2m\n")
    env = {**action_env(api_key=TEST_API_KEY, blueprint_ids="1"), "DOCKET_API_URL": "https://env.example"}
    assert load_action_config(env, cwd=tmp_path).api_url == "https://env.example"
    env["INPUT_API-URL"] = "https://input.example"
    env["INPUT_TIMEOUT"] = "3m"
    config = load_action_config(env, cwd=tmp_path)
    assert (config.api_url, config.timeout_s) == ("https://input.example", 180.0)


def test_inputs_are_validated_like_flags_and_reported_together(tmp_path: Path) -> None:
    """Inputs get the same checks and messages as flags, each problem naming its input."""
    env = action_env(api_key=TEST_API_KEY, blueprint_ids="180,x", timeout="banana", poll_interval="0",
                     api_url="http://docketqa.example", junit_layout="steps", allow_failures="-1", json_path=" ")  # fmt: skip
    assert action_problems(tmp_path, env) == [
        "action input blueprint-ids: expected positive integer ids, got 'x'",
        ("action input api-url: 'http://docketqa.example' uses plain http, which would send the API key unencrypted; "
        "use https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)"),
        f"action input timeout: 'banana' is not a duration; {DURATION_FORMS}",
        "action input poll-interval: the poll interval must be between 0.1s and 1h, got '0'",
        "action input allow-failures: expected positive integer ids, got '-1'",
        "action input junit-layout: expected 'test' or 'step', got 'steps'",
    ]


def test_a_malformed_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A key secret pasted with a line break inside is named by input, never quoted."""
    env = action_env(api_key=f"{TEST_API_KEY}\n{TEST_API_KEY}", blueprint_ids="1")
    assert action_problems(tmp_path, env) == [
        ("action input api-key: the API key contains spaces, line breaks or non-ASCII characters; copy it again from "
        "DocketQA")
    ]


def test_bad_input_through_the_entrypoint_exits_2(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """Run with no arguments under GITHUB_ACTIONS=true, a bad boolean is exit 2 and one line naming the input."""
    env = action_env(api_key=TEST_API_KEY, blueprint_ids="1", fail_on_timeout="yes")
    result = cli([], env=env, cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip().splitlines()[-1] == (
        "docketqa-gate: error: configuration error: action input fail-on-timeout: expected true or false, got 'yes'"
    )
