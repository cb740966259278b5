"""Outcome -> the sticky pull/merge-request comment: the job summary's story, shorter, under GitHub's limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from urllib.parse import quote

from gate.model import Verdict
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import no_notifications, safe_link, unicode_safe
from gate.reports.run_markdown import TABLE_HEAD, details_summary_line, failure_lines, head_lines, run_links, table_row
from gate.reports.run_text import attention_rank, group_runs_of
from gate.reports.summary import MAX_OPEN_FAILURES, NOTES, Detail, rows_that_fit

#: GitHub refuses issue comments longer than this (GitLab's note limit is higher: one size fits both).
MAX_COMMENT_CHARS = 65_536
LIMIT_NAME = "the 65,536-character comment limit"
#: The levels of detail a comment steps down through (it never lists steps, so that level is skipped).
LEVELS = (Detail.FULL, Detail.SHORT_RESULTS, Detail.FAILURES_ONLY)
# Kept as is in the hidden marker; everything else is percent-encoded, so no key can end the HTML comment
# ("-->" needs ">") or differ from another key only in invisible characters.
_KEY_SAFE = "-_.:/+()[],="
_HEX = re.compile("[^0-9a-fA-F]")


@dataclasses.dataclass(frozen=True)
class CommentContext:
    """What the comment says besides the outcome: which gate job owns it, and the run and commit it describes."""

    key: str
    updated_at: dt.datetime
    commit: str | None = None
    commit_url: str | None = None
    #: The workflow run (GitHub) or pipeline (GitLab) that produced this outcome.
    run_url: str | None = None


def marker(key: str) -> str:
    """The hidden first line that identifies the comment one gate job owns."""
    return f"<!-- docketqa-gate:{quote(' '.join(key.split()), safe=_KEY_SAFE)} -->"


def comment_size(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units, never fewer than characters (emoji count twice)."""
    return len(unicode_safe(text).encode("utf-16-le")) // 2


def render_comment(outcome: Outcome, context: CommentContext, *, limit_chars: int = MAX_COMMENT_CHARS) -> str:
    """The comment body, kept under ``limit_chars`` by dropping detail in the summary's order, each step noted."""
    groups = group_runs_of(outcome)
    top = marker(context.key) + "\n"
    bottom = "\n" + _footer(outcome, context)
    budget = limit_chars - comment_size(top) - comment_size(bottom)
    for level in LEVELS:
        # unicode_safe: a lone surrogate is not valid JSON text for the API (the escapers drop them already).
        text = unicode_safe(no_notifications("\n".join(_pieces(outcome, groups, level)) + "\n"))
        if comment_size(text) <= budget:
            return top + text + bottom
    # UTF-8 bytes are never fewer than UTF-16 code units, so a body that fits in bytes fits in characters;
    # each defused sign adds 7 characters, so room is kept for them.
    rows = rows_that_fit(outcome, max(budget, 0), limit_name=LIMIT_NAME)
    signs = len(rows) - len(rows.replace("@", "").replace("#", ""))
    return top + unicode_safe(no_notifications(rows_that_fit(outcome, max(budget - 7 * signs, 0), limit_name=LIMIT_NAME))) + bottom


def _pieces(outcome: Outcome, groups: Sequence[GroupRun | None], level: Detail) -> Iterator[str]:
    notes = [NOTES[lv] for lv in LEVELS if lv is not Detail.FULL and level >= lv]
    yield from head_lines(outcome, notes, limit=LIMIT_NAME)
    runs = outcome.runs
    shown = [i for i, r in enumerate(runs) if level < Detail.FAILURES_ONLY or r.verdict is not Verdict.PASSED]
    if runs:
        yield from ("", TABLE_HEAD)
        yield from (table_row(runs[i], groups[i]) for i in sorted(shown, key=lambda i: attention_rank(runs[i])))
        hidden = len(runs) - len(shown)
        if hidden:
            yield from ("", f"{hidden} passed run{'s' if hidden != 1 else ''} not listed.")
    sections = (
        ("Failures", lambda r: r.counts_against_gate),
        ("Allowed failures", lambda r: r.allowed_failure and r.verdict is not Verdict.PASSED),
    )
    for title, wanted in sections:
        members = [i for i in shown if wanted(runs[i])]
        if members:
            yield from ("", f"### {title}")
            for position, i in enumerate(members):
                open_ = title == "Failures" and position < MAX_OPEN_FAILURES  # as in the job summary
                yield from ("", _block(runs[i], groups[i], short=level >= Detail.SHORT_RESULTS, open_=open_))


def _block(r: RunOutcome, group_run: GroupRun | None, *, short: bool, open_: bool) -> str:
    """A run that did not pass: its failing step, the agent's result quoted, the screenshot, its links."""
    lines = [f"<details{' open' if open_ else ''}>", f"<summary>{details_summary_line(r)}</summary>", ""]
    lines += failure_lines(r, short=short)
    links = run_links(r, group_run, video_label="▶ video")
    if links:
        lines += [links, ""]
    lines.append("</details>")
    return "\n".join(lines)


def _footer(outcome: Outcome, context: CommentContext) -> str:
    """Links to the dashboard and the run, then when this was written and for which commit."""
    links = []
    many = len(outcome.group_runs) > 1
    for group in outcome.group_runs:
        url = safe_link(group.dashboard_url)
        if url:
            links.append(f"[DocketQA dashboard{f' (group run {group.id})' if many else ''}]({url})")
    run_url = safe_link(context.run_url)
    if run_url:
        links.append(f"[workflow run]({run_url})")
    when = context.updated_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    updated = f"Updated {when}"
    short = _HEX.sub("", context.commit or "")[:7]
    if short:
        commit_url = safe_link(context.commit_url)
        updated += f" for commit [`{short}`]({commit_url})" if commit_url else f" for commit `{short}`"
    return "---\n" + " · ".join([*links, updated]) + "\n"
