"""`.docketqa.yml`: the documented schema loads; every mistake is reported as `path:line: key.path: what`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gate.config import Blueprint, JunitLayout
from gate.config.file import MAX_CONFIG_BYTES, parse_config_text, top_keys
from tests.support.cli import CliResult
from tests.support.config import load, problems, write
from tests.support.paths import FIXTURES

DURATION_FORMS = "use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"
KNOWN_KEYS = ", ".join(sorted(top_keys()))

ISSUE_EXAMPLE = """\
blueprints:
  - 180
  - id: 181
    name: Checkout          # display name override
    allow_failure: true     # quarantined: reported, never fails the gate
timeout: 30m
poll_interval: 5s
fail_on_timeout: true
api_url: https://api.docketqa.com
reports: {junit: docketqa-junit.xml, json: docketqa-result.json, summary: docketqa-summary.md}
"""


def file_problems(text: str) -> list[str]:
    return list(parse_config_text(text, display=".docketqa.yml").problems)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """The example from the docs becomes exactly the settings it describes."""
    write(tmp_path, ".docketqa.yml", ISSUE_EXAMPLE)
    config = load(tmp_path, "run")
    assert config.blueprints == (Blueprint(id=180), Blueprint(id=181, name="Checkout", allow_failure=True))
    assert (config.timeout_s, config.poll_interval_s, config.fail_on_timeout) == (1800.0, 5.0, True)
    assert config.api_url == "https://api.docketqa.com"
    assert (config.reports.junit, config.reports.json, config.reports.summary) == (
        Path("docketqa-junit.xml"), Path("docketqa-result.json"), Path("docketqa-summary.md")
    )  # fmt: skip
    assert config.config_file == tmp_path / ".docketqa.yml"


def test_every_optional_key_loads(tmp_path: Path) -> None:
    """The keys beyond the example (quarantine list, layout, evidence, switches, concurrency) load too."""
    write(tmp_path, ".docketqa.yml", "blueprints: [1]\nallow_failures: [1, 2]\nannotations: false\njob_summary: False\n"
          "concurrency: 4\nreports:\n  junit: null\n  junit_layout: step\n  artifacts_dir: evidence\n")  # fmt: skip
    config = load(tmp_path, "run")
    assert config.allow_failures == frozenset({1, 2})
    assert (config.annotations, config.job_summary, config.concurrency) == (False, False, 4)
    assert (config.reports.junit, config.reports.junit_layout, config.reports.artifacts_dir) == (
        None, JunitLayout.STEP, Path("evidence")
    )  # fmt: skip


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing configured yet\n", "---\n", "~\n"])
def test_an_empty_file_means_no_settings(tmp_path: Path, text: str) -> None:
    """An empty file (or only comments, or a bare null) sets nothing and is not an error."""
    write(tmp_path, ".docketqa.yml", text)
    config = load(tmp_path, "run", "--blueprint", "1")
    assert (config.timeout_s, config.config_file) == (1800.0, tmp_path / ".docketqa.yml")


def test_durations_are_read_as_written_not_as_yaml_numbers(tmp_path: Path) -> None:
    """`timeout: 90` is 90 seconds and `1:30` is refused (YAML 1.1 would silently read it as 90)."""
    write(tmp_path, ".docketqa.yml", "timeout: 90\npoll_interval: 0.5\n")
    config = load(tmp_path, "run", "--blueprint", "1")
    assert (config.timeout_s, config.poll_interval_s) == (90.0, 0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- 180\n- 181\n", [".docketqa.yml:1: top level: expected a mapping of settings (key: value), got a list"]),
        ("hello\n", [".docketqa.yml:1: top level: expected a mapping of settings (key: value), got the value 'hello'"]),
        ("timeout: 30m\nblueprints: [180\n",
         [".docketqa.yml:3: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'"]),
        ("timeout: 30m\napi_url: a: b\n", [".docketqa.yml:2: invalid YAML: mapping values are not allowed here"]),
        ("blueprints:\n\t- 180\n",
         [(".docketqa.yml:2: invalid YAML: while scanning for the next token, found character '\\t' that cannot start "
          "any token (indent with spaces: YAML does not allow tabs there)")]),
        ("timeout: 1m\n---\ntimeout: 2m\n",
         [".docketqa.yml:2: invalid YAML: expected a single document in the stream, but found another document"]),
        ("timeout: \x07\n", [".docketqa.yml:1: invalid YAML: character #x0007 is not allowed"]),
        ("a: " + "[" * 5000, [".docketqa.yml: invalid YAML: nested too deeply or unreadable"]),
    ],
)  # fmt: skip
def test_structure_and_syntax_errors(text: str, expected: list[str]) -> None:
    """A non-mapping top level or invalid YAML is one problem with its line."""
    assert file_problems(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timout: 5m\n", ".docketqa.yml:1: timout: unknown key; did you mean 'timeout'?"),
        ("poll-interval: 5s\n", ".docketqa.yml:1: poll-interval: unknown key; did you mean 'poll_interval'?"),
        ("colour: red\n", f".docketqa.yml:1: colour: unknown key; known keys: {KNOWN_KEYS}"),
        ("reports:\n  xml: a.xml\n", (".docketqa.yml:2: reports.xml: unknown key; known keys: artifacts_dir, json, junit, "
         "junit_layout, summary")),
        ("blueprints:\n  - id: 1\n    title: X\n", (".docketqa.yml:3: blueprints[0].title: unknown key; known keys: "
         "allow_failure, id, name")),
        ("api_key: dq_live_abc\n", (".docketqa.yml:1: api_key: the API key does not belong in a file; set DOCKET_API_KEY "
         "(a masked CI secret) instead")),
        ("timeout: 1m\ntimeout: 2m\n", ".docketqa.yml:2: timeout: duplicate key (first on line 1)"),
        ("? [a]\n: 1\n", ".docketqa.yml:1: top level: keys must be plain names, got a list"),
    ],
)  # fmt: skip
def test_key_errors(text: str, expected: str) -> None:
    """Unknown keys (with a suggestion), duplicate keys and a key in the file are named with their line."""
    assert file_problems(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blueprints: 180\n", "blueprints: expected a list of blueprint ids or id/name entries, got the value '180'"),
        ("blueprints: {id: 1}\n", "blueprints: expected a list of blueprint ids or id/name entries, got a mapping"),
        ("blueprints:\n- [1]\n", "blueprints[0]: expected a blueprint id or an id/name entry, got a list"),
        ("blueprints:\n- name: X\n", "blueprints[0]: missing 'id' (the blueprint id)"),
        ("blueprints:\n- {id: 1, name: {a: b}}\n", "blueprints[0].name: expected a display name, got a mapping"),
        ("blueprints:\n- {id: 1, name: ' '}\n", "blueprints[0].name: the display name is empty"),
        ("blueprints:\n- {id: 1, allow_failure: yes}\n",
         "blueprints[0].allow_failure: expected true or false, got 'yes'"),
        ("reports: [a.xml]\n", "reports: expected a mapping such as {junit: PATH, json: PATH}, got a list"),
        ("reports: {summary: [a]}\n", "reports.summary: expected a path (or null), got a list"),
        ("reports: {junit_layout: null}\n", "reports.junit_layout: expected 'test' or 'step', got nothing (null)"),
        ("timeout: [1m]\n", "timeout: expected a duration such as 30m, got a list"),
        ("timeout:\n", "timeout: expected a duration such as 30m, got nothing (null)"),
        ("allow_failures: 181\n", "allow_failures: expected a list of blueprint ids, got the value '181'"),
        ("fail_on_timeout: !!python/object:os.system x\n",
         "fail_on_timeout: the YAML tag '!!python/object:os.system' is not allowed here"),
    ],
)  # fmt: skip
def test_wrong_types(text: str, expected: str) -> None:
    """Each value of the wrong shape is named by its key path and line, saying what was expected."""
    line = 2 if text.count("\n") > 1 else 1
    assert file_problems(text) == [f".docketqa.yml:{line}: {expected}"]


@pytest.mark.parametrize(
    ("item", "shown"),
    [("0", "'0'"), ("-3", "'-3'"), ("abc", "the text 'abc'"), ("true", "the boolean true"), ("1.5", "the number 1.5"),
     ("0x10", "'0x10'"), ("1_000", "'1_000'")],
)  # fmt: skip
def test_ids_must_be_positive_integers(item: str, shown: str) -> None:
    """Zero, negatives, words, booleans, decimals and YAML 1.1 number spellings are not blueprint ids."""
    assert file_problems(f"blueprints:\n  - {item}\n  - id: {item}\nallow_failures: [{item}]\n") == [
        f".docketqa.yml:2: blueprints[0]: expected a positive integer id, got {shown}",
        f".docketqa.yml:3: blueprints[1].id: expected a positive integer id, got {shown}",
        f".docketqa.yml:4: allow_failures[0]: expected a positive integer id, got {shown}",
    ]


def test_duplicate_ids_name_both_lines() -> None:
    """An id listed twice, plainly or as an entry, is named with the line of its first listing."""
    assert file_problems("blueprints:\n  - 180\n  - 181\n  - id: 180\n    name: Again\nallow_failures: [7, 7]\n") == [
        ".docketqa.yml:4: blueprints[2].id: blueprint 180 is listed twice (first on line 2)",
        ".docketqa.yml:6: allow_failures[1]: id 7 is listed twice (first on line 6)",
    ]


def test_bad_values_are_reported_with_line_and_key(tmp_path: Path) -> None:
    """Durations, URLs, booleans, numbers and layouts in the file are checked like flags, with file:line: key."""
    write(tmp_path, ".docketqa.yml", "blueprints: [1]\ntimeout: 1:30\npoll_interval: 0\nfail_on_timeout: 1\n"
          "api_url: http://docketqa.example\nconcurrency: 64\nreports:\n  junit_layout: per-step\n  json: ''\n")  # fmt: skip
    assert problems(tmp_path, "run") == [
        f".docketqa.yml:2: timeout: '1:30' is not a duration; {DURATION_FORMS}",
        ".docketqa.yml:3: poll_interval: the poll interval must be between 0.1s and 1h, got '0'",
        ".docketqa.yml:4: fail_on_timeout: expected true or false, got the number 1",
        (".docketqa.yml:5: api_url: 'http://docketqa.example' uses plain http, which would send the API key "
        "unencrypted; use https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)"),
        ".docketqa.yml:6: concurrency: expected a whole number from 1 to 32, got '64'",
        ".docketqa.yml:8: reports.junit_layout: expected 'test' or 'step', got 'per-step'",
        ".docketqa.yml:9: reports.json: expected a path, got an empty value",
    ]


def test_every_problem_in_one_error_in_file_order(tmp_path: Path) -> None:
    """Structural and value problems from the whole file come in one error, ordered by line."""
    write(tmp_path, "ci/gate.yml", "timeout: soon\nblueprints:\n  - 180\n  - 180\n  - {id: 2, nam: x}\nretries: 3\n"
          "fail_on_timeout: yes\n")  # fmt: skip
    assert problems(tmp_path, "run", "--config", "ci/gate.yml") == [
        f"ci/gate.yml:1: timeout: 'soon' is not a duration; {DURATION_FORMS}",
        "ci/gate.yml:4: blueprints[1]: blueprint 180 is listed twice (first on line 3)",
        "ci/gate.yml:5: blueprints[2].nam: unknown key; did you mean 'name'?",
        f"ci/gate.yml:6: retries: unknown key; known keys: {KNOWN_KEYS}",
        "ci/gate.yml:7: fail_on_timeout: expected true or false, got 'yes'",
    ]


def test_the_key_in_the_file_is_not_echoed(tmp_path: Path) -> None:
    """A key pasted into the file is refused without repeating its value."""
    from tests.support.keys import TEST_API_KEY

    write(tmp_path, ".docketqa.yml", f"blueprints: [1]\napi_key: {TEST_API_KEY}\n")
    found = problems(tmp_path, "run")
    assert found == [
        ".docketqa.yml:2: api_key: the API key does not belong in a file; set DOCKET_API_KEY (a masked CI secret) instead"
    ]
    (tmp_path / ".docketqa.yml").unlink()  # the leak guard scans files the test leaves behind


def test_unreadable_files(tmp_path: Path) -> None:
    """A file that is not UTF-8 or absurdly large is one clear problem naming it."""
    (tmp_path / ".docketqa.yml").write_bytes(b"timeout: 5m\nname: caf\xe9\n")
    assert problems(tmp_path, "run", "--blueprint", "1") == [".docketqa.yml:2: not UTF-8 text; save the file as UTF-8"]
    (tmp_path / "big.yml").write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    assert problems(tmp_path, "run", "--blueprint", "1", "--config", "big.yml") == [
        "big.yml: larger than 1 MB; is this the right file?"
    ]


def test_yaml_aliases_do_not_expand(tmp_path: Path) -> None:
    """An alias bomb is read without expanding it: the walk only visits the schema's own shapes."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, n in zip("abcdefgh", "bcdefghi")
    )
    found = file_problems(bomb + "blueprints: *i\n")
    assert found[9:] == [
        f".docketqa.yml:8: blueprints[{index}]: expected a blueprint id or an id/name entry, got a list"
        for index in range(9)
    ]


QUOTE = "; quote it if that is meant as text"
UNQUOTE = "; write it without quotes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reports: {junit: 5, json: true}\n",
         [f"1: reports.junit: expected a path (or null for no JUnit file), got the number 5{QUOTE}",
          f"1: reports.json: expected a path (or null), got the boolean true{QUOTE}"]),
        ("reports:\n  summary: 2024-01-01\n  artifacts_dir: 1.5\n  junit_layout: 1\n",
         [f"2: reports.summary: expected a path (or null), got the date 2024-01-01{QUOTE}",
          f"3: reports.artifacts_dir: expected a directory path (or null), got the number 1.5{QUOTE}",
          f"4: reports.junit_layout: expected 'test' or 'step', got the number 1{QUOTE}"]),
        ("api_url: 443\ntimeout: true\n",
         [f"1: api_url: expected a URL such as https://api.docketqa.com, got the number 443{QUOTE}",
          "2: timeout: expected a duration such as 30m, got the boolean true"]),
        ("fail_on_timeout: 'true'\nannotations: 'no way'\nconcurrency: '8'\njob_summary: 0\n",
         [f"1: fail_on_timeout: expected true or false, got the text 'true'{UNQUOTE}",
          "2: annotations: expected true or false, got the text 'no way'",
          f"3: concurrency: expected a whole number from 1 to 32, got the text '8'{UNQUOTE}",
          "4: job_summary: expected true or false, got the number 0"]),
        ("blueprints:\n- '180'\n- {id: 2, name: 2024, allow_failure: 'yes'}\nallow_failures: [true]\n",
         [f"2: blueprints[0]: expected a positive integer id, got the text '180'{UNQUOTE}",
          f"3: blueprints[1].name: expected a display name, got the number 2024{QUOTE}",
          f"3: blueprints[1].allow_failure: expected true or false, got the text 'yes'{UNQUOTE}",
          "4: allow_failures[0]: expected a positive integer id, got the boolean true"]),
    ],
)  # fmt: skip
def test_every_key_is_type_checked(text: str, expected: list[str]) -> None:
    """A value of the wrong YAML type is a problem naming the key path, line, what was expected and the fix."""
    assert file_problems(text) == [f".docketqa.yml:{problem}" for problem in expected]


@pytest.mark.parametrize(
    "text",
    ["timeout: 30m\nblueprints: [180\n", "blueprints: 180\n", "blueprints: [abc]\n", "blueprints:\n- {id: 1, nam: x}\n",
     "- 180\n"],
)  # fmt: skip
def test_a_broken_blueprint_list_is_not_also_reported_missing(tmp_path: Path, text: str) -> None:
    """Invalid YAML or a wrong blueprints value is the one problem: no "no blueprints to run" beside it."""
    write(tmp_path, ".docketqa.yml", text)
    found = problems(tmp_path, "run")
    assert len(found) == 1 and found[0].startswith(".docketqa.yml:"), found


def test_a_wrongly_typed_report_path_writes_nothing(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """`reports: {junit: 5, json: true}` is exit 2 with both keys named, and no file called 5 or true appears."""
    write(tmp_path, ".docketqa.yml", "reports: {junit: 5, json: true}\n")
    result = cli(["report", str(FIXTURES / "passing.json")], env={}, cwd=tmp_path)
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith("docketqa-gate: error: 2 configuration errors: .docketqa.yml:1: reports.junit: ")
    assert "; .docketqa.yml:1: reports.json: expected a path (or null), got the boolean true" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [".docketqa.yml"]
