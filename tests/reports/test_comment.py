"""The pull-request comment body: the summary's story, shorter, safe, and under GitHub's 65,536-character limit."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from gate.outcome import Outcome
from gate.reports.comment import MAX_COMMENT_CHARS, CommentContext, comment_size, marker, render_comment
from gate.sandbox.hostile import HOSTILE_CASES
from tests.support.outcomes import finished, hostile_scenario, load, mixed_scenario, outcome_of, seed_scenario, variant
from tests.support.render import LINK_SCHEMES, SUMMARY_ATTRIBUTES, SUMMARY_TAGS, parse_html, render_markdown

CONTEXT = CommentContext(
    key="CI / e2e", updated_at=dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc),
    commit="a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", commit_url="https://github.com/octo/app/commit/a1b2c3d",
    run_url="https://github.com/octo/app/actions/runs/4242",
)
#: The comment adds a rule and the commit as code to what the summary may produce.
COMMENT_TAGS = SUMMARY_TAGS | {"hr", "code"}
NOTE = "> **Shortened to stay under the 65,536-character comment limit:** "


def assert_safe(markdown: str) -> str:
    """Rendered as GitHub would (raw HTML kept, to see what gets through): only our tags, one HTML comment."""
    html = render_markdown(markdown, unsafe=True)
    for tag, attrs in parse_html(html).tags:
        assert tag in COMMENT_TAGS, f"unexpected <{tag}> {attrs}"
        assert set(attrs) <= SUMMARY_ATTRIBUTES.get(tag, set()), f"unexpected attributes on <{tag}>: {attrs}"
        for name in ("href", "src"):
            if name in attrs:
                assert (attrs[name] or "").lower().startswith(LINK_SCHEMES), attrs
    assert html.startswith(marker(CONTEXT.key)) and html.count("<!--") == 1
    assert html.count("<details") == html.count("</details>")
    return html


def hostile_60kb() -> Outcome:
    """The hostile fixture with a 60 KB failing result made of every hostile case, next to the hostile title."""
    payload = load("hostile")
    blob = ""
    while len(blob) < 60 * 1024:
        blob += "".join(f"{text} @octocat #1 [{name}]\n" for name, text in HOSTILE_CASES)
    step = next(s for s in payload["test_run"]["results"] if s.get("is_successful") is False)
    step["result"] = blob
    return outcome_of(finished(payload), *hostile_scenario().runs[1:])


def test_the_comment_says_verdict_counts_runs_why_and_where() -> None:
    text = render_comment(seed_scenario(), CONTEXT)
    assert text.splitlines()[:2] == ["<!-- docketqa-gate:CI%20/%20e2e -->", "## ❌ DocketQA: failed"]
    assert "❌ 1 failed · ✅ 0 passed" in text
    assert "| Login Flow | ❌ failed | Step 1: Enter 'user@example.com' in the email field |" in text
    assert "**Failed step 1:** Enter 'user@example.com' in the email field" in text
    assert "> The agent could not complete the objective" in text
    assert "![Screenshot of step 1](" in text
    assert text.endswith(
        "[DocketQA dashboard](https://app.docketqa.com/dashboard/grouprun/35) · "
        "[workflow run](https://github.com/octo/app/actions/runs/4242) · "
        "Updated 2026-11-29 22:00 UTC for commit [`a1b2c3d`](https://github.com/octo/app/commit/a1b2c3d)\n"
    )


def test_passed_runs_are_table_rows_only_and_allowed_failures_are_collapsed() -> None:
    text = render_comment(mixed_scenario(), CONTEXT)
    html = assert_safe(text)
    assert "### Passed" not in text and "<b>Checkout</b>" not in text and "| Checkout | ✅ passed |" in text
    assert "<details>\n<summary>❌ <b>Legacy export</b>" in text
    assert html.count("<details open>") == 4


def test_a_key_cannot_end_the_hidden_marker() -> None:
    """Whatever the key (a workflow name is free text), the marker stays one HTML comment."""
    key = "gate --> <script>alert(1)</script> @team #1"
    text = render_comment(seed_scenario(), CommentContext(key=key, updated_at=CONTEXT.updated_at))
    first = text.splitlines()[0]
    assert first.startswith("<!-- docketqa-gate:") and first.endswith(" -->") and first.count(">") == 1
    assert marker(key) != marker("gate") and marker("a  b") == marker("a b")


def test_sixty_kilobytes_of_hostile_text_render_safely_under_the_limit() -> None:
    """60 KB of workflow commands, HTML, Markdown, controls and mentions: escaped, shortened, under 65,536."""
    text = render_comment(hostile_60kb(), CONTEXT)
    assert comment_size(text) <= MAX_COMMENT_CHARS
    assert f"{NOTE}the agent's results are shortened." in text
    html = assert_safe(text)
    assert "<script" not in html and "javascript:" not in " ".join(str(a) for _, a in parse_html(html).tags)
    (table,) = parse_html(html).tables
    assert len(table) == 3 and [row[1] for row in table[1:]] == ["❌ failed", "✅ passed"]


def test_mentions_and_issue_references_in_docketqa_text_notify_nobody() -> None:
    """In a comment, "@octocat" pings a person and "#1" writes into issue 1's timeline: both are defused."""
    text = render_comment(hostile_60kb(), CONTEXT)
    outside_links = re.sub(r"\]\([^)\s]*\)", "]()", text)
    assert "@&#8203;octocat #&#8203;1" in text
    assert not re.search(r"(?<![\w`/&])@[A-Za-z0-9]", outside_links)
    assert not re.search(r"(?<![\w`/&])#\d", outside_links)
    assert "user@example.com" in render_comment(seed_scenario(), CONTEXT)  # e-mail addresses are no mentions


def _failing(n: int, words: int) -> Outcome:
    runs = [finished(variant("passing", id=1000 + i, title=f"Passing {i}")) for i in range(50)]
    for i in range(n):
        payload = variant("seed_login_flow", id=2000 + i, title=f"Failing {i}")
        payload["test_run"]["results"][0]["result"] = f"Long result {i}: " + "words " * words
        runs.append(finished(payload))
    return outcome_of(*runs)


def test_the_comment_degrades_in_the_summarys_order_and_says_so() -> None:
    """Too big: results are shortened first, then passed runs leave the table, then whole rows only."""
    outcome = _failing(3, 2000)
    full = render_comment(outcome, CONTEXT, limit_chars=1_000_000)
    assert NOTE not in full and "words " * 1900 in full
    short = render_comment(outcome, CONTEXT, limit_chars=comment_size(full) - 1)
    assert f"{NOTE}the agent's results are shortened." in short and "words " * 1900 not in short
    assert "| Passing 0 |" in short
    failures = render_comment(outcome, CONTEXT, limit_chars=comment_size(short) - 1)
    assert "only runs that did not pass are listed." in failures and "50 passed runs not listed." in failures
    assert "| Passing 0 |" not in failures and "| Failing 2 |" in failures
    last = render_comment(_failing(400, 10), CONTEXT)
    assert comment_size(last) <= MAX_COMMENT_CHARS and "details are left out" in last
    assert last.startswith(marker(CONTEXT.key)) and last.endswith("for commit [`a1b2c3d`](https://github.com/octo/app/commit/a1b2c3d)\n")
    assert_safe(last)


@pytest.mark.parametrize("limit", [2_000, 5_000, 20_000])
def test_the_limit_holds_for_every_size(limit: int) -> None:
    assert comment_size(render_comment(_failing(60, 300), CONTEXT, limit_chars=limit)) <= limit


def test_emoji_count_twice_against_the_limit() -> None:
    """GitHub may count UTF-16 code units: an emoji is two, so the comment stays under either way."""
    assert comment_size("🧨") == 2 and comment_size("é") == 1


def test_the_comment_lists_failures_first_and_opens_at_most_five_like_the_summary() -> None:
    """Ten failures among forty runs: the comment's table starts with them and only five blocks are open."""
    from tests.support.edge import judged, payload, step

    runs = [
        judged(payload(100 + n, status="failed", title=f"Test {n:02d}", steps=[step(1, ok=False)]))
        if n % 4 == 3 else judged(payload(100 + n, status="passed", title=f"Test {n:02d}"))
        for n in range(40)
    ]
    text = render_comment(outcome_of(*runs), CONTEXT)
    rows = [line for line in text.splitlines() if line.startswith("| Test ") and "| Result |" not in line]
    assert [row.split("|")[2].strip() for row in rows[:10]] == ["❌ failed"] * 10
    assert text.count("<details open>") == 5
