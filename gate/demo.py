"""`docketqa-gate demo`: the whole gate against the built-in sandbox, no account and no network needed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate.config import Blueprint, Command, Config, JunitLayout, ReportPaths
from gate.secret import Secret

if TYPE_CHECKING:
    from gate.execute import Tuning

#: Sandbox runs last tens of "seconds"; compressed so the demo finishes in a few real seconds.
DEMO_TIME_SCALE = 0.05
DEMO_POLL_INTERVAL_S = 0.25
DEMO_TIMEOUT_S = 120.0
EVIDENCE_DIR = "evidence"
#: Where the demo keeps the sandbox media its summary and comment show, so they still show after it ends.
MEDIA_DIR = "media"


def run_demo(*, out_dir: Path, scenario: str, out: TextIO, err: TextIO, tuning: Tuning | None = None) -> int:
    """Serve the sandbox in-process, run the gate against it, write every report into ``out_dir``."""
    from gate.execute import execute_gate
    from gate.reports.comment import CommentContext, render_comment
    from gate.reports.files import write_atomic
    from gate.reports.junit import render_junit
    from gate.sandbox.server import Sandbox

    with Sandbox(scenario=scenario, time_scale=DEMO_TIME_SCALE) as sandbox:
        blueprints = tuple(Blueprint(id=i) for i in sandbox.scenario.blueprint_ids)
        out.write(
            f"Demo: sandbox scenario '{sandbox.scenario.name}' at {sandbox.url}; triggering blueprints "
            f"{', '.join(str(b.id) for b in blueprints)} and following them to a final status.\n\n"
        )
        out.flush()
        config = Config(
            command=Command.RUN,
            api_url=sandbox.url,
            api_key=Secret(sandbox.api_key),
            blueprints=blueprints,
            timeout_s=DEMO_TIMEOUT_S,
            poll_interval_s=DEMO_POLL_INTERVAL_S,
            # Relative to out_dir (the gate's workspace here), so the summary names the evidence relative to itself.
            reports=ReportPaths(
                junit=Path("docketqa-junit.xml"),
                json=Path("docketqa-result.json"),
                summary=Path("docketqa-summary.md"),
                # The sandbox's media links stop working when the demo ends: keep the failing steps' screenshots.
                artifacts_dir=Path(EVIDENCE_DIR),
            ),
        )
        # No CI variables: the demo writes files and never emits workflow commands into a real CI log.
        outcome = execute_gate(config, env={}, out=out, err=err, cwd=out_dir, tuning=tuning)
    steps_path = out_dir / "docketqa-junit-steps.xml"
    write_atomic(steps_path, render_junit(outcome, layout=JunitLayout.STEP))
    comment_path = out_dir / "pr-comment.md"
    context = CommentContext(key="demo", updated_at=dt.datetime.now(dt.timezone.utc))
    write_atomic(comment_path, render_comment(outcome, context))
    _keep_media([out_dir / "docketqa-summary.md", comment_path], sandbox_url=sandbox.url, out_dir=out_dir)
    code = int(outcome.exit_code)
    out.write(
        f"\nAlso written: {steps_path} (JUnit, one testcase per step: --junit-layout step).\n"
        f"And {comment_path}: the pull-request comment --pr-comment would post or update.\n"
        f"A real gate would have exited {code} here, so this pipeline would "
        f"{'continue' if code == 0 else 'stop'}. The demo itself exits 0 because it worked.\n"
        f"Open {out_dir / 'docketqa-summary.md'} to see the job summary a developer would read.\n"
    )
    if (out_dir / EVIDENCE_DIR).is_dir():
        out.write(
            f"The failing steps' screenshots are saved in {out_dir / EVIDENCE_DIR}/ (--artifacts-dir), and the "
            f"summary and comment show theirs from {out_dir / MEDIA_DIR}/: the sandbox's own media links stop "
            "working now that the demo has ended.\n"
        )
    return 0


def _keep_media(paths: list[Path], *, sandbox_url: str, out_dir: Path) -> None:
    """Point the sandbox's media links in these Markdown files at copies beside them (the sandbox makes its media
    itself, so the copies need no request), so screenshots and videos still show after the demo ends."""
    from gate.reports.files import write_atomic
    from gate.sandbox.payloads import media

    link = re.compile(re.escape(sandbox_url) + r"/(media/[A-Za-z0-9_/-]+\.(?:png|webm))(?:\?[A-Za-z0-9=&]*)?")

    def local(match: re.Match[str]) -> str:
        status, _, data = media("/" + match.group(1))
        if status != 200:
            return match.group(0)
        copy = out_dir / match.group(1)
        copy.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(copy, data)
        return match.group(1)

    for path in paths:
        if path.is_file():
            write_atomic(path, link.sub(local, path.read_text(encoding="utf-8")))


__all__ = ["run_demo"]
