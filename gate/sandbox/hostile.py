"""Hostile and oversized test-run content: every string a renderer or CI log must survive."""

from __future__ import annotations

import dataclasses

from gate.sandbox.scenarios import (
    FAILED,
    PASSED,
    ActionSpec,
    BlueprintSpec,
    Scenario,
    StepSpec,
)

#: (case name, text). Each appears verbatim in the hostile scenario's JSON (lone surrogates as \\ud800 escapes).
HOSTILE_CASES: tuple[tuple[str, str], ...] = (
    ("workflow-error", "::error::x"),
    ("workflow-error-file", "::error file=app.js,line=1::injected annotation"),
    ("workflow-set-output", "::set-output name=a::b"),
    ("workflow-add-mask", "::add-mask::x"),
    ("workflow-stop-commands", "::stop-commands::t"),
    ("workflow-mid-line", "ok\n::warning::second line command"),
    ("azure-logging-command", "##[error]x"),
    ("gitlab-section", "\x1b[0Ksection_start:1:evil\r\x1b[0Kfake section"),
    ("heredoc-delimiter", "ghadelimiter_4f0b0a8e-7d39-4c8e-9d4f-0c1b2a3d4e5f\nverdict=passed"),
    ("env-file-line", "EOF\npassed=true\nEOF"),
    ("script-tag", "<script>alert(1)</script>"),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("close-details", "</details><details open><summary>fake</summary>"),
    ("close-table", "</td></tr></table><h1>owned</h1>"),
    ("markdown-pipe", "a | b || c"),
    ("markdown-backticks", "``` code fence ``` and `tick`"),
    ("markdown-newlines", "line one\n\n# fake heading\n- fake item"),
    ("markdown-js-link", "[x](javascript:alert(1))"),
    ("markdown-image", "![pixel](https://tracker.example/p.png)"),
    ("html-entities", "&lt;b&gt; &amp; &#x3C;script&#x3E;"),
    ("cdata-end", "]]>"),
    ("close-testcase", '</testcase></testsuite><testsuite name="evil">'),
    ("xml-quotes", "\"'<>&"),
    ("nul-and-controls", "nul\x00 bell\x07 esc\x1b[31m red vt\x0b ff\x0c del\x7f"),
    ("c1-controls", "c1\x85\x9b31m"),
    ("lone-surrogate", "lone \ud800 and \udfff"),
    ("non-characters", "\ufffe and \uffff"),
    ("rtl-override", "\u202eexe.txt\u202c and \u200f\u05e9\u05dc\u05d5\u05dd"),
    ("emoji", "\U0001f525 tests \U0001f44d\U0001f3fd \U0001f1fa\U0001f1e6"),
    ("zero-width", "a\u200bb\u2060c\ufeffd"),
    ("crlf-injection", "x\r\nX-Injected: 1\r\n"),
    ("percent-template", "%s %(name)s {0} {name} ${{ secrets.DOCKET_API_KEY }}"),
)

HOSTILE_URLS: tuple[str, ...] = (
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://example.com/a b?c=<script>&d=`x`|y",
    "https://example.com/\n::error::from-url",
    "file:///etc/passwd",
    "//evil.example/protocol-relative",
)


def _text(index: int) -> str:
    """Hostile text for slot ``index`` (slots cycle through every case)."""
    name, value = HOSTILE_CASES[index % len(HOSTILE_CASES)]
    return f"{value} [{name}]"


def _hostile_step(base: int, *, ok: bool, url: str | None) -> StepSpec:
    actions = (
        ActionSpec(description=_text(base + 2), type=_text(base + 3), screenshot_url=url, screenshot=url is None),
        ActionSpec(description=_text(base + 4)),
    )
    return StepSpec(task=_text(base), successful=ok, result=_text(base + 1), duration=5, actions=actions)


def hostile_scenario() -> Scenario:
    """Six blueprints whose titles, tasks, results, actions and URLs carry every hostile case."""
    blueprints: dict[int, BlueprintSpec] = {}
    statuses = (FAILED, PASSED, FAILED, "::error::stopped <b>|</b>", PASSED, FAILED)
    per_blueprint = 3 * 5  # three steps of five text slots
    for number, status in enumerate(statuses):
        base = number * per_blueprint
        ok = status == PASSED
        steps = tuple(
            _hostile_step(base + 5 * s, ok=ok or s == 0, url=HOSTILE_URLS[(number + s) % len(HOSTILE_URLS)])
            for s in range(3)
        )
        # One flaky hostile run: its first attempt failed at step 1, its retry passed.
        retry = (steps,) if number == 4 else ()
        first = (dataclasses.replace(steps[0], successful=False), *steps[1:]) if retry else steps
        blueprints[666 + number] = BlueprintSpec(
            title=_text(base + number),
            starting_url=HOSTILE_URLS[number % len(HOSTILE_URLS)],
            steps=first,
            attempts=retry,
            final_status=status,
            duration_s=2.0 + number,
            video_url=HOSTILE_URLS[(number + 3) % len(HOSTILE_URLS)],
        )
    return Scenario(name="hostile", blueprints=blueprints, description="every hostile string in every text field")


def huge_scenario(*, result_bytes: int = 1_000_000, steps: int = 5_000) -> Scenario:
    """A failure whose result is ~1 MB of text, and a passing run with 5,000 steps."""
    chunk = "The agent scrolled and found nothing. <b>|</b> ::error::x \u202e\U0001f525\n"
    big = chunk * (result_bytes // len(chunk.encode()) + 1)
    big_step = StepSpec(task="Read the whole terms page", successful=False, result=big, duration=300)
    many = tuple(
        StepSpec(task=f"Check item {n}", successful=True, result=f"Item {n} is present.", duration=1)
        for n in range(1, steps + 1)
    )
    blueprints = {
        401: BlueprintSpec(
            title="A 1 MB failure explanation",
            starting_url="https://example.com/terms",
            steps=(big_step,),
            final_status=FAILED,
            duration_s=4.0,
        ),
        402: BlueprintSpec(
            title=f"A run with {steps} steps", starting_url="https://example.com/list", steps=many, duration_s=6.0
        ),
    }
    return Scenario(name="huge", blueprints=blueprints, description="a ~1 MB result and a 5,000-step run")
