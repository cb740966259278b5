"""The Markdown the job summary and the pull-request comment share: headline, counts, table rows, links, failures."""

from __future__ import annotations

from collections.abc import Sequence

from gate.durations import format_duration
from gate.model import Step, StepState, Verdict
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import html_text, md_block, md_inline, safe_link, truncate
from gate.reports.run_text import (
    STEP_MARKERS,
    run_duration,
    run_video,
    step_took,
)

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
CELL_CHARS = 120
SHORT_QUOTE_CHARS = 1_000
SHORT_RESULT_CHARS = 200


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
    carried = sum(r.carried_over for r in o.runs)
    if carried:
        parts.append(f"↩ {carried} carried over from an earlier attempt")
    return " · ".join([*parts, format_duration(o.elapsed_s)])


def result_label(r: RunOutcome) -> str:
    if r.carried_over and r.verdict is Verdict.PASSED and not r.flaky:
        return f"{RESULTS[r.verdict]} earlier"  # "✅ passed earlier": carried over by --resume, not run again
    if r.flaky:
        label = "⚠️ flaky"
    else:
        label = RESULTS[r.verdict]
        label = f"{label} (allowed)" if r.allowed_failure and r.verdict is not Verdict.PASSED else label
    return f"{label}, earlier attempt" if r.carried_over else label


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
        links.append(f"[{'sandbox dashboard' if group_run and group_run.sandbox_dashboard_url else 'dashboard'}]({dashboard})")
    video = safe_link(run_video(r))
    if video:
        links.append(f"[{video_label}]({video})")
    return " · ".join(links)


def details_summary_line(r: RunOutcome) -> str:
    """The always-visible line of a details block (inside raw HTML, so HTML-escaped, not Markdown)."""
    why, step = "", r.failed_step
    if r.verdict is Verdict.FAILED and step is not None:
        why = f"step {step.number} failed"  # the agent's reason follows once, quoted, in the block
    elif r.verdict is not Verdict.PASSED:
        why = r.problem or RESULTS[r.verdict]
    elif r.flaky and r.run is not None:
        why = f"passed on attempt {r.run.final_attempt.number} of {len(r.run.attempts)} (flaky)"
    elif r.run is not None:
        count = len(r.run.steps)
        why = f"{count} step{'' if count == 1 else 's'} passed"
    label = result_label(r).split(" ", 1)[0]
    return f"{label} <b>{html_text(truncate(r.name, 200))}</b>" + (f" — {html_text(truncate(why, 300))}" if why else "")


def failure_lines(r: RunOutcome, *, short: bool) -> list[str]:
    """The failing step's task, the agent's result quoted, its screenshot (the run's problem is the summary line)."""
    step = r.failed_step
    if step is None:
        return []
    result = truncate(step.result, SHORT_QUOTE_CHARS) if short else step.result
    lines = [f"**Failed step {step.number}:** {md_inline(step.task) or '(no task)'}", "", md_block(result), ""]
    shots = [link for link in (safe_link(url) for url in step.screenshot_urls) if link]
    if shots:
        lines += [f"![Screenshot of step {step.number}]({shots[-1]})", ""]
        if len(shots) > 1:
            others = " ".join(f"[{n}]({link})" for n, link in enumerate(shots[:-1], start=1))
            lines += [f"Earlier screenshots of this step: {others}", ""]
    return lines


def _step_list(steps: Sequence[Step], *, short: bool, quoted: Step | None = None) -> str:
    lines = []
    for s in steps:
        lines.append(f"- {STEP_MARKERS[s.state]} **{s.number}.** {md_inline(s.task) or '(no task)'} · {step_took(s)}")
        result = "" if s is quoted else truncate(s.result, SHORT_RESULT_CHARS) if short else s.result
        if result.strip() and s.state is not StepState.NOT_REACHED:
            lines[-1] += "  "  # two trailing spaces: a hard break before the result line
            lines.append(f"  {md_inline(result)}")
    return "\n".join(lines)
