"""The pull-request comment's settings from every source: modes, key, number, author and the tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import CommentMode, CommentSettings
from gate.secret import Secret
from tests.support.config import load, problems, write
from tests.support.keys import TEST_GITHUB_TOKEN, TEST_GITLAB_TOKEN


@pytest.mark.parametrize(("written", "mode"), [
    ("off", CommentMode.OFF), ("'off'", CommentMode.OFF), ("always", CommentMode.ALWAYS),
    ("Failures", CommentMode.FAILURES),
])
def test_the_config_file_mode_is_read_as_written(tmp_path: Path, written: str, mode: CommentMode) -> None:
    """`pr_comment: off` is a YAML 1.1 boolean, yet the user wrote the word: it means off."""
    write(tmp_path, ".docketqa.yml", f"pr_comment: {written}\ncomment_key: e2e (chrome)\n")
    comment = load(tmp_path, "report", "saved.json").comment
    assert (comment.mode, comment.key) == (mode, "e2e (chrome)")


def test_a_flag_overrides_the_file_and_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    write(tmp_path, ".docketqa.yml", "pr_comment: yes\ncomment_key: 12\n")
    assert problems(tmp_path, "report", "saved.json", "--pr", "x", "--comment-author", "a b") == [
        "flag --pr: expected a pull or merge request number such as 12, got 'x'",
        "flag --comment-author: expected a GitHub login such as 'my-app[bot]', got 'a b'",
        ".docketqa.yml:1: pr_comment: expected one of 'off', 'always', 'failures', got 'yes'",
        (".docketqa.yml:2: comment_key: expected a short text such as 'e2e', got the number 12; quote it if that is "
        "meant as text"),
    ]


def test_tokens_are_secrets_read_only_when_a_comment_may_be_written(tmp_path: Path) -> None:
    """A stray or malformed GITHUB_TOKEN never fails a gate that does not comment."""
    env = {"GITHUB_TOKEN": f" {TEST_GITHUB_TOKEN}\n", "DOCKETQA_GITLAB_TOKEN": TEST_GITLAB_TOKEN}
    assert load(tmp_path, "report", "saved.json", env={"GITHUB_TOKEN": "not a token"}).comment == CommentSettings()
    comment = load(tmp_path, "report", "saved.json", "--pr-comment", "always", "--pr", "#12", env=env).comment
    assert comment == CommentSettings(
        mode=CommentMode.ALWAYS, pr=12, github_token=Secret(TEST_GITHUB_TOKEN), gitlab_token=Secret(TEST_GITLAB_TOKEN)
    )
    assert "ghs_" not in repr(comment)


def test_a_token_file_beats_the_environment_and_its_problems_never_quote_it(tmp_path: Path) -> None:
    write(tmp_path, "gh.key", "ghs_from_file\n")
    env = {"GITHUB_TOKEN": TEST_GITHUB_TOKEN}
    args = ("report", "saved.json", "--pr-comment", "failures")
    assert load(tmp_path, *args, "--github-token-file", "gh.key", env=env).comment.github_token == Secret("ghs_from_file")
    write(tmp_path, "bad.key", "ghs with spaces\n")
    assert problems(tmp_path, *args, "--github-token-file", "bad.key") == [
        ("flag --github-token-file: 'bad.key': the GitHub token contains spaces, line breaks or non-ASCII characters; "
        "copy it again from GitHub")
    ]
