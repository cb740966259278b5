"""--resume and --wait-for-* from flags and the config file: parsed strictly, every problem named at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gate.config import WaitFor
from tests.support.cli import CliResult
from tests.support.config import KEY_ENV, load, problems, write


def test_flags_build_the_resume_and_wait_settings(tmp_path: Path) -> None:
    """Repeated --wait-for-url keeps order (once each); text, statuses and timeout go with them."""
    config = load(tmp_path, "run", "--blueprint", "7", "--resume", "prev/result.json", "--resume-any-commit",
                  "--wait-for-url", "https://staging.example.com/version", "--wait-for-url", "http://10.0.0.5:8080/",
                  "--wait-for-url", "https://staging.example.com/version", "--wait-for-text", " 4f2a9c1 ",
                  "--wait-for-status", "200,401", "--wait-timeout", "90s")  # fmt: skip
    assert (config.resume, config.resume_any_commit) == (Path("prev/result.json"), True)
    assert config.wait_for == WaitFor(
        urls=("https://staging.example.com/version", "http://10.0.0.5:8080/"), text="4f2a9c1",
        statuses=frozenset({200, 401}), timeout_s=90.0,
    )


def test_without_them_nothing_is_resumed_or_waited_for(tmp_path: Path) -> None:
    config = load(tmp_path, "run", "--blueprint", "7")
    assert (config.resume, config.resume_any_commit, config.wait_for) == (None, False, None)


def test_the_config_file_takes_a_wait_for_section_and_resume(tmp_path: Path) -> None:
    """wait_for.urls as a list (or one URL), text, status and timeout; resume and resume_any_commit at the top."""
    write(tmp_path, ".docketqa.yml", "blueprints: [7]\nresume: r.json\nresume_any_commit: true\nwait_for:\n"
          "  urls: [https://a.example/v, https://b.example/]\n  text: abc\n  status: '200'\n  timeout: 2m\n")  # fmt: skip
    config = load(tmp_path, "run")
    assert (config.resume, config.resume_any_commit) == (Path("r.json"), True)
    assert config.wait_for == WaitFor(urls=("https://a.example/v", "https://b.example/"), text="abc",
                                      statuses=frozenset({200}), timeout_s=120.0)  # fmt: skip
    write(tmp_path, ".docketqa.yml", "blueprints: [7]\nwait_for: {urls: https://a.example/v}\n")
    assert load(tmp_path, "run").wait_for == WaitFor(urls=("https://a.example/v",))


def test_bad_values_are_all_reported_with_file_lines(tmp_path: Path) -> None:
    """A bad URL, a URL with a password, a bad status list and a bad timeout: one error listing each."""
    write(tmp_path, ".docketqa.yml", "blueprints: [7]\nwait_for:\n  urls: [ftp://x.example/]\n  status: ok\n"
          "  timeout: soon\n")  # fmt: skip
    found = problems(tmp_path, "run", "--wait-for-url", "https://user:hunter2@staging.example.com/")
    assert found[0] == ("flag --wait-for-url: a target URL must not contain a user name or password: the gate sends "
                        "no credentials")  # fmt: skip
    assert "hunter2" not in " ".join(found)
    assert any(p.startswith(".docketqa.yml:3: wait_for.urls: 'ftp://x.example/' is not a valid URL") for p in found)
    assert any(p.startswith(".docketqa.yml:4: wait_for.status: expected HTTP status codes separated by commas")
               for p in found)  # fmt: skip
    assert any(p.startswith(".docketqa.yml:5: wait_for.timeout: ") for p in found)


def test_text_status_or_timeout_without_a_url_is_a_usage_error(tmp_path: Path) -> None:
    """--wait-for-text alone would silently wait for nothing: exit 2 saying to pass --wait-for-url."""
    assert problems(tmp_path, "run", "--blueprint", "7", "--wait-for-text", "abc") == [
        "--wait-for-text, --wait-for-status and --wait-timeout need a URL to wait for: pass --wait-for-url URL"
    ]


def test_wait_for_url_belongs_to_run(cli: Callable[..., CliResult]) -> None:
    """`wait` triggers nothing, so there is nothing to wait for before: the flag is unknown there (exit 2)."""
    result = cli(["wait", "--test-run", "1", "--wait-for-url", "https://a.example/"], env=KEY_ENV)
    assert result.code == 2
    assert result.err.rstrip().endswith("(see 'docketqa-gate wait --help')"), result.err
