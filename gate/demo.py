"""`docketqa-gate demo`: the whole gate against the built-in sandbox, no account and no network needed."""

from __future__ import annotations

import datetime as dt
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
            reports=ReportPaths(
                junit=out_dir / "docketqa-junit.xml",
                json=out_dir / "docketqa-result.json",
                summary=out_dir / "docketqa-summary.md",
            ),
        )
        # No CI variables: the demo writes files and never emits workflow commands into a real CI log.
        outcome = execute_gate(config, env={}, out=out, err=err, cwd=Path.cwd(), tuning=tuning)
    steps_path = out_dir / "docketqa-junit-steps.xml"
    write_atomic(steps_path, render_junit(outcome, layout=JunitLayout.STEP))
    comment_path = out_dir / "pr-comment.md"
    context = CommentContext(key="demo", updated_at=dt.datetime.now(dt.timezone.utc))
    write_atomic(comment_path, render_comment(outcome, context))
    code = int(outcome.exit_code)
    out.write(
        f"\nAlso written: {steps_path} (JUnit, one testcase per step: --junit-layout step).\n"
        f"And {comment_path}: the pull-request comment --pr-comment would post or update.\n"
        f"A real gate would have exited {code} here, so this pipeline would "
        f"{'continue' if code == 0 else 'stop'}. The demo itself exits 0 because it worked.\n"
        f"Open {out_dir / 'docketqa-summary.md'} to see the job summary a developer would read.\n"
    )
    return 0


__all__ = ["run_demo"]
