"""Outcome -> the GitHub-flavoured Markdown job summary: headline, table, then why each run failed."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence

from gate.model import Verdict
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import md_inline
from gate.reports.run_markdown import (
    TABLE_HEAD,
    _step_list,
    details_summary_line,
    failure_lines,
    head_lines,
    run_links,
    table_row,
)
from gate.reports.run_text import (
    attempt_line,
    attention_rank,
    durations_note,
    group_runs_of,
)

#: GitHub refuses step summaries over 1 MiB; stay a little under it by default.
DEFAULT_LIMIT_BYTES = 1_000_000
#: Named in the note that says what was left out.
SUMMARY_LIMIT_NAME = "GitHub's 1 MiB summary limit"
#: Failure blocks shown open; the others are one click away.
MAX_OPEN_FAILURES = 5


class Detail(enum.IntEnum):
    """How much the summary shows; each step down is taken only when the one above is too big."""

    FULL = 0
    NO_PASSED_STEPS = 1
    SHORT_RESULTS = 2
    FAILURES_ONLY = 3


NOTES = {
    Detail.NO_PASSED_STEPS: "passed runs' step lists are left out",
    Detail.SHORT_RESULTS: "the agent's results are shortened",
    Detail.FAILURES_ONLY: "only runs that did not pass are listed",
}


def render_summary(
    outcome: Outcome, *, limit_bytes: int = DEFAULT_LIMIT_BYTES, attachments: Mapping[int, Sequence[str]] | None = None
) -> str:
    """The job summary, kept under ``limit_bytes`` by dropping detail in a fixed order, each step noted."""
    renderer = _SummaryRenderer(outcome, attachments or {})
    for detail in Detail:
        text = renderer.render(detail, limit_chars=limit_bytes)
        if text is not None and len(text.encode("utf-8")) <= limit_bytes:
            return text
    return renderer.render_rows_that_fit(limit_bytes)


def rows_that_fit(outcome: Outcome, limit_bytes: int, *, limit_name: str) -> str:
    """The last resort of every size-limited renderer: the head and whole table rows of runs that did not pass."""
    return _SummaryRenderer(outcome, {}, limit_name=limit_name).render_rows_that_fit(limit_bytes)


class _SummaryRenderer:
    """One outcome, rendered at any level of detail; blocks shared between levels are built once."""

    def __init__(
        self, outcome: Outcome, attachments: Mapping[int, Sequence[str]], *, limit_name: str = SUMMARY_LIMIT_NAME
    ) -> None:
        self.outcome = outcome
        self.limit_name = limit_name
        self.attachments = attachments
        self.groups = group_runs_of(outcome)
        self._rows = [table_row(r, g) for r, g in zip(outcome.runs, self.groups)]
        self._blocks: dict[tuple[int, bool, bool, bool], str] = {}

    def head(self, notes: Sequence[str]) -> list[str]:
        return head_lines(self.outcome, notes, limit=self.limit_name)

    def render(self, detail: Detail, *, limit_chars: int) -> str | None:
        """The summary at ``detail``, or None as soon as it has more than ``limit_chars`` characters."""
        parts: list[str] = []
        size = 0
        for piece in self._pieces(detail):
            # Characters never outnumber UTF-8 bytes, so stopping here never gives up a summary that fits.
            size += len(piece) + 1
            if size > limit_chars:
                return None
            parts.append(piece)
        return "\n".join(parts) + "\n"

    def _pieces(self, detail: Detail) -> Iterator[str]:
        o = self.outcome
        yield from self.head([note for level, note in NOTES.items() if detail >= level])
        shown = [i for i, r in enumerate(o.runs) if detail < Detail.FAILURES_ONLY or r.verdict is not Verdict.PASSED]
        if o.runs:
            yield from ("", TABLE_HEAD)
            # What needs a look first: runs that fail the gate, allowed failures, flaky passes, then clean passes.
            yield from (self._rows[i] for i in sorted(shown, key=lambda i: attention_rank(o.runs[i])))
            yield from ("", note) if (note := durations_note([o.runs[i] for i in shown])) else ()
            hidden = len(o.runs) - len(shown)
            if hidden:
                yield from ("", f"{hidden} passed run{'s' if hidden != 1 else ''} not listed.")
        sections = (
            ("Failures", lambda r: r.counts_against_gate),
            ("Allowed failures", lambda r: r.allowed_failure and r.verdict is not Verdict.PASSED),
            ("Passed", lambda r: r.verdict is Verdict.PASSED),
        )
        for title, wanted in sections:
            members = [i for i in shown if wanted(o.runs[i])]
            if members:
                yield from ("", f"### {title}")
                for position, i in enumerate(members):
                    yield ""
                    # Only the first few failures open: forty runs with ten failures must not be pages tall.
                    yield self._block(i, detail, open_=title == "Failures" and position < MAX_OPEN_FAILURES)

    def _block(self, index: int, detail: Detail, *, open_: bool) -> str:
        r = self.outcome.runs[index]
        short = detail >= Detail.SHORT_RESULTS
        with_steps = r.verdict is not Verdict.PASSED or detail < Detail.NO_PASSED_STEPS
        key = (index, short, with_steps, open_)
        if key not in self._blocks:
            self._blocks[key] = self._details(r, self.groups[index], short=short, with_steps=with_steps, open_=open_)
        return self._blocks[key]

    def render_rows_that_fit(self, limit_bytes: int) -> str:
        """Last resort: the table of runs that did not pass, whole rows only, as many as fit."""
        failing = [row for r, row in zip(self.outcome.runs, self._rows) if r.verdict is not Verdict.PASSED]
        notes = [*NOTES.values(), "details are left out"]
        head = "\n".join(self.head(notes)) + "\n"
        budget = limit_bytes - len(head.encode("utf-8")) - 200  # room for the table head and the closing note
        rows: list[str] = []
        for row in failing:
            size = len(row.encode("utf-8")) + 1
            if budget - size < 0:
                break
            rows.append(row)
            budget -= size
        text = head
        if rows:
            text += "\n" + TABLE_HEAD + "\n" + "\n".join(rows) + "\n"
        missing = len(self.outcome.runs) - len(rows)
        if missing:
            text += f"\n{missing} more runs are not listed here; the JUnit and JSON reports have every run.\n"
        if len(text.encode("utf-8")) > limit_bytes:
            # Not even the notes fit: keep the whole lines that do (a cut line could read as other Markdown).
            kept, size = [], 0
            for line in text.splitlines(keepends=True):
                size += len(line.encode("utf-8"))
                if size > limit_bytes:
                    break
                kept.append(line)
            text = "".join(kept)
        return text

    def _details(self, r: RunOutcome, group_run: GroupRun | None, *, short: bool, with_steps: bool, open_: bool) -> str:
        failing = r.verdict is not Verdict.PASSED
        lines = [f"<details{' open' if open_ else ''}>", f"<summary>{details_summary_line(r)}</summary>", ""]
        run = r.run
        if failing:
            lines += failure_lines(r, short=short)
        elif r.flaky and run is not None:
            lines += [f"- {md_inline(attempt_line(a))}" for a in run.failed_attempts] + [""]
        links = run_links(r, group_run, video_label="▶ video")
        if links:
            lines += [links, ""]
        paths = self.attachments.get(r.test_run_id) if r.test_run_id is not None else None
        if paths:
            lines += ["Saved evidence: " + ", ".join(md_inline(p) for p in paths), ""]
        steps = run.steps if run is not None else ()
        if steps and with_steps:
            label = f"Steps (attempt {run.final_attempt.number})" if run and len(run.attempts) > 1 else "Steps"
            quoted = r.failed_step if failing else None  # its result is quoted above: not a second time
            lines += [f"**{label}**", "", _step_list(steps, short=short, quoted=quoted), ""]
        lines.append("</details>")
        return "\n".join(lines)
