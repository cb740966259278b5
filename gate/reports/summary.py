"""Outcome -> the GitHub-flavoured Markdown job summary: headline, table, then why each run failed."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence

from gate.durations import format_duration
from gate.model import GroupRun, Outcome, RunOutcome, Step, StepState, Verdict
from gate.reports.escape import html_text, md_block, md_inline, safe_link, truncate
from gate.reports.run_text import (
    STEP_MARKERS,
    attempt_line,
    group_runs_of,
    run_duration,
    run_video,
    step_took,
)

#: GitHub refuses step summaries over 1 MiB; stay a little under it by default.
DEFAULT_LIMIT_BYTES = 1_000_000
HEADLINES = {
    Verdict.PASSED: "✅ DocketQA: passed",
    Verdict.FAILED: "❌ DocketQA: failed",
    Verdict.ERROR: "⛔ DocketQA: error",
    Verdict.TIMED_OUT: "⏱ DocketQA: timed out",
    Verdict.CANCELLED: "🚫 DocketQA: cancelled",
    Verdict.NOT_AWAITED: "⏭ DocketQA: not awaited",
}
RESULTS = {
    Verdict.PASSED: "✅ passed",
    Verdict.FAILED: "❌ failed",
    Verdict.ERROR: "⛔ error",
    Verdict.TIMED_OUT: "⏱ timed out",
    Verdict.CANCELLED: "🚫 cancelled",
    Verdict.NOT_AWAITED: "⏭ not awaited",
}
TABLE_HEAD = "| Test | Result | Failed step | Duration | Links |\n| --- | --- | --- | --- | --- |"
#: Named in the note that says what was left out.
SUMMARY_LIMIT_NAME = "GitHub's 1 MiB summary limit"
CELL_CHARS = 120
SHORT_QUOTE_CHARS = 1_000
SHORT_RESULT_CHARS = 200


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
        self._blocks: dict[tuple[int, bool, bool], str] = {}

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
            yield from (self._rows[i] for i in shown)
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
                for i in members:
                    yield ""
                    yield self._block(i, detail)

    def _block(self, index: int, detail: Detail) -> str:
        r = self.outcome.runs[index]
        short = detail >= Detail.SHORT_RESULTS
        with_steps = r.verdict is not Verdict.PASSED or detail < Detail.NO_PASSED_STEPS
        key = (index, short, with_steps)
        if key not in self._blocks:
            self._blocks[key] = self._details(r, self.groups[index], short=short, with_steps=with_steps)
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

    def _details(self, r: RunOutcome, group_run: GroupRun | None, *, short: bool, with_steps: bool) -> str:
        failing = r.verdict is not Verdict.PASSED
        lines = [f"<details{' open' if failing and not r.allowed_failure else ''}>", f"<summary>{details_summary_line(r)}</summary>", ""]
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
            lines += [f"**{label}**", "", _step_list(steps, short=short), ""]
        lines.append("</details>")
        return "\n".join(lines)


def head_lines(o: Outcome, notes: Sequence[str], *, limit: str) -> list[str]:
    """Headline, counts, why the gate stopped early, and what was left out to stay under ``limit``."""
    parts = [f"## {HEADLINES[o.verdict]}", "", counts_line(o)]
    if o.stop_reason:
        parts += ["", f"> **Stopped early:** {md_inline(o.stop_reason)}"]
    if notes:
        parts += ["", f"> **Shortened to stay under {limit}:** {'; '.join(notes)}."]
    if not o.runs:
        parts += ["", "No test runs were followed, so nothing was tested: the gate does not pass."]
    return parts


def counts_line(o: Outcome) -> str:
    c = o.counts
    parts = [f"❌ {c.failed} failed", f"✅ {c.passed} passed", f"⚠️ {c.flaky} flaky", f"⏱ {c.timed_out} timed out"]
    extra = (("⛔", c.errors, "error", "errors"), ("🚫", c.cancelled, "cancelled", "cancelled"),
             ("⏭", c.not_awaited, "not awaited", "not awaited"),
             ("🔕", c.allowed_failures, "allowed failure", "allowed failures"))
    parts += [f"{icon} {n} {one if n == 1 else many}" for icon, n, one, many in extra if n]
    return " · ".join([*parts, format_duration(o.elapsed_s)])


def result_label(r: RunOutcome) -> str:
    if r.flaky:
        return "⚠️ flaky"
    label = RESULTS[r.verdict]
    return f"{label} (allowed)" if r.allowed_failure and r.verdict is not Verdict.PASSED else label


def table_row(r: RunOutcome, group_run: GroupRun | None) -> str:
    duration = run_duration(r)
    cells = [
        md_inline(truncate(r.name, CELL_CHARS)),
        result_label(r),
        md_inline(truncate(_failed_step_cell(r), CELL_CHARS)) or "—",
        format_duration(duration) if duration is not None else "—",
        run_links(r, group_run, video_label="video") or "—",
    ]
    return "| " + " | ".join(cells) + " |"


def _failed_step_cell(r: RunOutcome) -> str:
    step = r.failed_step
    if r.verdict is Verdict.FAILED and step is not None:
        return f"Step {step.number}: {step.task}"
    if r.flaky and r.run is not None:
        first = r.run.failed_attempts[0]
        where = f"step {first.failed_step.number}" if first.failed_step else "a failure"
        return f"attempt {first.number} failed at {where}"
    return (r.problem or "") if r.verdict is not Verdict.PASSED else ""


def run_links(r: RunOutcome, group_run: GroupRun | None, *, video_label: str) -> str:
    links = []
    dashboard = safe_link(group_run.dashboard_url) if group_run else None
    if dashboard:
        links.append(f"[dashboard]({dashboard})")
    video = safe_link(run_video(r))
    if video:
        links.append(f"[{video_label}]({video})")
    return " · ".join(links)


def details_summary_line(r: RunOutcome) -> str:
    """The always-visible line of a details block (inside raw HTML, so HTML-escaped, not Markdown)."""
    why = ""
    if r.verdict is not Verdict.PASSED:
        why = r.problem or RESULTS[r.verdict]
    elif r.flaky and r.run is not None:
        why = f"passed on attempt {r.run.final_attempt.number} of {len(r.run.attempts)} (flaky)"
    elif r.run is not None:
        why = f"{len(r.run.steps)} steps passed"
    label = result_label(r).split(" ", 1)[0]
    return f"{label} <b>{html_text(truncate(r.name, 200))}</b>" + (f" — {html_text(truncate(why, 300))}" if why else "")


def failure_lines(r: RunOutcome, *, short: bool) -> list[str]:
    """The failing step's task, the agent's result quoted, its screenshot; or the run's problem."""
    step = r.failed_step
    if step is None:
        return [md_inline(r.problem or RESULTS[r.verdict]), ""]
    result = truncate(step.result, SHORT_QUOTE_CHARS) if short else step.result
    lines = [f"**Failed step {step.number}:** {md_inline(step.task) or '(no task)'}", "", md_block(result), ""]
    shots = [link for link in (safe_link(url) for url in step.screenshot_urls) if link]
    if shots:
        lines += [f"![Screenshot of step {step.number}]({shots[-1]})", ""]
        if len(shots) > 1:
            others = " ".join(f"[{n}]({link})" for n, link in enumerate(shots[:-1], start=1))
            lines += [f"Earlier screenshots of this step: {others}", ""]
    return lines


def _step_list(steps: Sequence[Step], *, short: bool) -> str:
    lines = []
    for s in steps:
        lines.append(f"- {STEP_MARKERS[s.state]} **{s.number}.** {md_inline(s.task) or '(no task)'} · {step_took(s)}")
        result = truncate(s.result, SHORT_RESULT_CHARS) if short else s.result
        if result.strip() and s.state is not StepState.NOT_REACHED:
            lines[-1] += "  "  # two trailing spaces: a hard break before the result line
            lines.append(f"  {md_inline(result)}")
    return "\n".join(lines)
