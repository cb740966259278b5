"""The Markdown job summary: headline, table, failure details, escaping, and staying under the size limit."""

from __future__ import annotations

import re

import pytest

from gate.outcome import Outcome
from gate.reports.summary import render_summary
from tests.support.outcomes import (
    finished,
    hostile_scenario,
    interrupted_scenario,
    load,
    mixed_scenario,
    outcome_of,
    seed_scenario,
    variant,
)
from tests.support.render import assert_only_our_html, parse_html, render_markdown

TABLE_HEAD = ["Test", "Result", "Failed step", "Duration", "Links"]


def _table(markdown: str) -> list[list[str]]:
    """The run table as GitHub renders it (raw HTML allowed, so we also see anything that would get through)."""
    parsed = assert_only_our_html(render_markdown(markdown, unsafe=True))
    assert len(parsed.tables) == 1, "exactly one table"
    (table,) = parsed.tables
    assert table[0] == TABLE_HEAD
    assert all(len(row) == 5 for row in table), "every row keeps its five cells"
    return table[1:]


def _details(markdown: str) -> list[str]:
    return re.findall(r"<details(?: open)?>\n<summary>.*?</details>", markdown, flags=re.DOTALL)


def test_headline_gives_verdict_counts_and_time() -> None:
    """The first lines say the verdict and every count, with the elapsed time."""
    lines = render_summary(mixed_scenario()).splitlines()
    assert lines[0] == "## ❌ DocketQA: failed"
    assert lines[2] == "❌ 1 failed · ✅ 2 passed · ⚠️ 1 flaky · ⏱ 1 timed out · ⛔ 2 errors · 🔕 1 allowed failure · 4m12s"


def test_passing_headline_has_the_fixed_counts_only() -> None:
    """A green run shows the four usual counts and no zero extras."""
    lines = render_summary(outcome_of(finished(load("passing")), elapsed_s=59)).splitlines()
    assert lines[0] == "## ✅ DocketQA: passed"
    assert lines[2] == "❌ 0 failed · ✅ 1 passed · ⚠️ 0 flaky · ⏱ 0 timed out · 59s"


def test_table_has_one_row_per_run_with_result_step_duration_and_links() -> None:
    """Each run is one row: name, result, failed step, duration, dashboard and video links."""
    markdown = render_summary(mixed_scenario())
    rows = _table(markdown)
    # Runs that fail the gate first, then allowed failures, flaky passes and clean passes.
    assert [row[:4] for row in rows] == [
        ["Login Flow", "❌ failed", "Step 1: Enter 'user@example.com' in the email field", "43s"],
        ["Monthly report export", "⏱ timed out", "still 'running' when the 30m deadline passed", "—"],
        ["Profile update", "⛔ error",
         "DocketQA reported status 'stopped', which this gate does not know; it never passes", "7s"],
        ["Blueprint 185", "⛔ error", "DocketQA returned no test run for blueprint 185", "—"],
        ["Legacy export", "❌ failed (allowed)", "Step 1: Enter 'user@example.com' in the email field", "43s"],
        ["Search", "⚠️ flaky", "attempt 1 failed at step 2", "57s"],
        ["Checkout", "✅ passed", "—", "51s"],
    ]
    # DocketQA reports no run duration: the column adds up its step durations, and says so.
    assert "Duration: DocketQA's step durations added up." in markdown.splitlines()
    assert [row[4] for row in rows][:3] == ["dashboard · video", "dashboard", "dashboard · video"]
    assert "| Checkout | ✅ passed | — | 51s | [dashboard](https://app.docketqa.com/dashboard/grouprun/35) · " \
           "[video](https://media.docketqa.example/videos/39.webm) |" in markdown


def test_failed_run_shows_why_in_an_open_block() -> None:
    """The failing step, the agent's own words, the screenshot, the video and every step, without a click."""
    markdown = render_summary(seed_scenario())
    (block,) = _details(markdown)
    assert block.startswith("<details open>\n<summary>❌ <b>Login Flow</b> — step 1 failed</summary>")
    assert "**Failed step 1:** Enter 'user@example.com' in the email field" in block
    assert "> The agent could not complete the objective because no email field was present on the page." in block
    assert "![Screenshot of step 1](https://...)" in block
    assert "[▶ video](https://...)" in block
    assert "- ✗ **1.** Enter 'user@example.com' in the email field · 43s" in block
    assert "- – **2.** Enter 'password123' in the password field · not reached" in block
    html = render_markdown(markdown, unsafe=True)
    assert '<img src="https://..." alt="Screenshot of step 1" />' in html


def test_passed_and_flaky_runs_are_collapsed_and_flaky_says_why() -> None:
    """Green runs do not take space; a flaky one names the attempt that failed and the step that broke."""
    markdown = render_summary(mixed_scenario())
    blocks = {b.split("<b>")[1].split("</b>")[0]: b for b in _details(markdown)}
    assert blocks["Checkout"].startswith("<details>\n")
    assert blocks["Search"].startswith("<details>\n<summary>⚠️ <b>Search</b> — passed on attempt 2 of 2 (flaky)")
    assert "- Attempt 1 failed: Step 2 failed: Press Enter and wait for results: " \
           "The results list did not appear within 30 seconds;" in blocks["Search"]
    for name in ("Login Flow", "Monthly report export", "Profile update", "Blueprint 185"):
        assert blocks[name].startswith("<details open>"), name
    # Quarantined failures are reported, but out of the way.
    assert blocks["Legacy export"].startswith("<details>\n")
    assert markdown.index("### Failures") < markdown.index("### Allowed failures") < markdown.index("### Passed")


def test_stop_reason_is_shown() -> None:
    """When the gate was interrupted the summary says so right under the counts."""
    markdown = render_summary(interrupted_scenario())
    assert markdown.startswith("## 🚫 DocketQA: cancelled\n\n❌ 0 failed · ✅ 1 passed · ⚠️ 0 flaky · ⏱ 0 timed out · "
                               "🚫 1 cancelled · 1m02s\n\n> **Stopped early:** interrupted by SIGTERM")


def test_empty_outcome_says_nothing_was_tested() -> None:
    markdown = render_summary(Outcome(runs=()))
    assert markdown.startswith("## ⛔ DocketQA: error")
    assert "No test runs were followed, so nothing was tested: the gate does not pass." in markdown
    assert "| Test |" not in markdown


def test_saved_evidence_is_listed_with_the_failure() -> None:
    markdown = render_summary(seed_scenario(), attachments={38: ["docketqa-artifacts/38/step_1.png"]})
    assert "Saved evidence: docketqa-artifacts/38/step\\_1.png" in markdown


# --- hostile text ---------------------------------------------------------------------------------------


def test_hostile_text_cannot_break_the_table_or_inject_html() -> None:
    """`</td></tr></table>`, <script>, <img onerror>, javascript: links and pipes in titles stay plain text."""
    markdown = render_summary(hostile_scenario())
    rows = _table(markdown)
    assert len(rows) == 2
    title = "Pay | </td></tr></table><script>alert(1)</script> ::error::pwned `x` [y](javascript:z)"
    assert [row[0] for row in rows] == [f"{title} (run 66)", f"{title} (run 67)"]
    assert rows[0][1] == "❌ failed" and rows[1][1] == "✅ passed"
    safe_html = render_markdown(markdown)  # GitHub's own setting: raw HTML is never passed through
    assert "<script" not in safe_html and "onerror=" not in safe_html.replace("onerror=alert", "")
    unsafe = render_markdown(markdown, unsafe=True)
    assert "javascript:" not in " ".join(str(a) for _, a in parse_html(unsafe).tags)
    assert "<script" not in unsafe and "<img src=x" not in unsafe


def test_hostile_urls_never_become_links_or_images() -> None:
    """Only http(s) screenshots and videos are linked; javascript: and data: URLs are left out."""
    unsafe = render_markdown(render_summary(hostile_scenario()), unsafe=True)
    targets = [attrs.get("href") or attrs.get("src") for tag, attrs in parse_html(unsafe).tags if tag in ("a", "img")]
    assert targets and all((t or "").lower().startswith(("https://", "http://")) for t in targets)
    assert "HTTPS://media.docketqa.example/s/11%20final.png" in targets
    assert "https://evil.example/x.png?a=1&b=%3C2%3E%7C3%29%22%27%60" in targets


def test_details_blocks_survive_hostile_text() -> None:
    """Data cannot close our <details> early: every block we open is still there, closed by us."""
    unsafe = render_markdown(render_summary(hostile_scenario()), unsafe=True)
    tags = [tag for tag, _ in parse_html(unsafe).tags]
    assert tags.count("details") == 2 and tags.count("summary") == 2
    assert unsafe.count("</details>") == 2


# --- size -----------------------------------------------------------------------------------------------


def _big_outcome() -> Outcome:
    """Fifty passed runs with long step lists and three failures with long results."""
    runs = []
    for i in range(50):
        payload = variant("passing", id=1000 + i, title=f"Passing {i}")
        payload["test_run"]["results"] = payload["test_run"]["results"] * 10
        runs.append(finished(payload))
    for i in range(3):
        payload = variant("seed_login_flow", id=2000 + i, title=f"Failing {i}")
        payload["test_run"]["results"][0]["result"] = f"Long result {i}: " + "words " * 2000
        runs.append(finished(payload))
    return outcome_of(*runs)


NOTE = "> **Shortened to stay under GitHub's 1 MiB summary limit:** "


def test_summary_degrades_in_the_stated_order_and_says_so() -> None:
    """Too big: first passed step lists go, then results are shortened, then only failures are listed."""
    outcome = _big_outcome()
    full = render_summary(outcome, limit_bytes=10_000_000)
    assert NOTE not in full and "- ✓ **1.** Open the cart" in full
    size = len(full.encode())

    no_steps = render_summary(outcome, limit_bytes=size - 1)
    assert f"{NOTE}passed runs' step lists are left out." in no_steps
    assert "- ✓ **1.** Open the cart" not in no_steps and "- ✗ **1.**" in no_steps
    assert "words " * 1900 in no_steps
    assert len(_table(no_steps)) == 53

    short = render_summary(outcome, limit_bytes=len(no_steps.encode()) - 1)
    assert f"{NOTE}passed runs' step lists are left out; the agent's results are shortened." in short
    assert "words " * 1900 not in short
    assert re.search(r"\n> Long result 0: (words ){100,}w?o?r?d?s?…\n", short)
    assert len(_table(short)) == 53

    failures = render_summary(outcome, limit_bytes=len(short.encode()) - 1)
    assert "only runs that did not pass are listed." in failures
    assert "50 passed runs not listed." in failures
    assert [row[0] for row in _table(failures)] == ["Failing 0", "Failing 1", "Failing 2"]
    assert "### Passed" not in failures

    for text, limit in ((no_steps, size - 1), (short, len(no_steps.encode()) - 1)):
        assert len(text.encode()) <= limit


def test_when_nothing_else_fits_whole_table_rows_are_kept() -> None:
    """Under extreme limits the summary lists as many whole rows as fit and says how many are missing."""
    outcome = outcome_of(*[finished(variant("seed_login_flow", id=3000 + i, title=f"Failing {i}")) for i in range(400)])
    text = render_summary(outcome, limit_bytes=20_000)
    assert len(text.encode()) <= 20_000
    rows = _table(text)
    assert 0 < len(rows) < 400 and all(row[1] == "❌ failed" for row in rows)
    assert f"{400 - len(rows)} more runs are not listed here; the JUnit and JSON reports have every run." in text
    assert "details are left out" in text


@pytest.mark.parametrize("limit", [0, 50, 200, 1000])
def test_summary_never_exceeds_a_tiny_limit(limit: int) -> None:
    """Even a limit smaller than the headline is respected (the text is cut, never the limit)."""
    text = render_summary(mixed_scenario(), limit_bytes=limit)
    assert len(text.encode()) <= limit


def test_default_limit_holds_for_a_huge_outcome() -> None:
    """500 runs of 40 steps fit GitHub's 1 MiB step summary limit by default."""
    runs = []
    for i in range(500):
        payload = variant("passing", id=5000 + i, title=f"Run {i}")
        payload["test_run"]["results"] = payload["test_run"]["results"] * 14
        runs.append(finished(payload))
    text = render_summary(outcome_of(*runs))
    assert len(text.encode()) <= 1_000_000
    assert text.count("\n| Run ") == 500


def test_a_one_step_pass_reads_1_step_passed() -> None:
    """Singular for one step: "1 step passed", not "1 steps passed"; plural stays for more."""
    from tests.support.edge import judged, payload, step
    from tests.support.outcomes import outcome_of

    one = judged(payload(50, status="passed", title="Ping", steps=[step(1, ok=True)]))
    two = judged(payload(51, status="passed", title="Pong", steps=[step(1, ok=True), step(2, ok=True)]))
    summary = render_summary(outcome_of(one, two))
    assert "<b>Ping</b> — 1 step passed" in summary and "<b>Pong</b> — 2 steps passed" in summary


def _forty_runs_ten_failing() -> Outcome:
    from tests.support.edge import judged, payload, step
    from tests.support.outcomes import outcome_of

    runs = []
    for n in range(40):
        if n % 4 == 3:
            steps = [step(1, ok=True), step(2, ok=False, result=f"Reason {n}: the button was missing.")]
            runs.append(judged(payload(100 + n, status="failed", title=f"Test {n:02d}", steps=steps)))
        else:
            runs.append(judged(payload(100 + n, status="passed", title=f"Test {n:02d}")))
    return outcome_of(*runs)


def test_runs_that_did_not_pass_come_first_in_the_table() -> None:
    """With 10 failures among 40 runs the table starts with the 10 failures, in their original order."""
    summary = render_summary(_forty_runs_ten_failing())
    rows = [line for line in summary.splitlines() if line.startswith("| Test ") and "| Result |" not in line]
    assert [row.split("|")[2].strip() for row in rows] == ["❌ failed"] * 10 + ["✅ passed"] * 30
    assert [row.split("|")[1].strip() for row in rows[:10]] == [f"Test {n:02d}" for n in range(3, 40, 4)]


def test_at_most_five_failure_blocks_are_open() -> None:
    """The first five failures are open; the rest are one click away, so the summary stays short."""
    summary = render_summary(_forty_runs_ten_failing())
    assert summary.count("<details open>") == 5
    assert summary.count("<details>") == 10 - 5 + 30


def test_each_failure_reason_appears_once() -> None:
    """The agent's reason is quoted once per failure, not again in the summary line and the step list."""
    summary = render_summary(_forty_runs_ten_failing())
    for n in range(3, 40, 4):
        assert summary.count(f"Reason {n}: the button was missing.") == 1, n
