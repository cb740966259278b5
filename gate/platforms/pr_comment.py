"""The sticky pull/merge-request comment, written after the reports: a courtesy whose trouble is one warning line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping

from gate.clock import Clock, SystemClock
from gate.config import CommentMode, CommentSettings
from gate.model import Verdict
from gate.outcome import Outcome
from gate.platforms import in_github_actions, in_gitlab_ci
from gate.platforms.forge_http import CommentFailed, CommentSkipped, Written, WrittenAs
from gate.secret import Secret


@dataclasses.dataclass(frozen=True)
class CommentNote:
    """One line for the log: a warning (the comment could not be written) or a plain note."""

    text: str
    warning: bool = False


def write_comment(
    outcome: Outcome,
    settings: CommentSettings,
    *,
    env: Mapping[str, str],
    clock: Clock | None = None,
    wall_clock: Callable[[], dt.datetime] | None = None,
) -> list[CommentNote]:
    """Create or update this gate job's comment as ``settings.mode`` says; never raises, never decides the exit."""
    if settings.mode is CommentMode.OFF:
        return []
    wall = wall_clock or (lambda: dt.datetime.now(dt.timezone.utc))
    create = settings.mode is CommentMode.ALWAYS or outcome.verdict is not Verdict.PASSED
    try:
        written, noun = _write(outcome, settings, env=env, create=create, clock=clock or SystemClock(), wall=wall)
    except CommentSkipped as exc:
        return [CommentNote(exc.message)]
    except CommentFailed as exc:
        text = f"no pull-request comment: {exc.message}"
        for token in settings.tokens:  # last line of defence: the messages never quote a token
            text = token.redact(text)
        return [CommentNote(text, warning=True)]
    except Exception as exc:  # noqa: BLE001 - a courtesy: whatever breaks here must not change the verdict
        return [CommentNote(f"no pull-request comment: internal error ({type(exc).__name__}); the verdict stands",
                            warning=True)]
    return [said(w, noun) for w in written]


def _write(
    outcome: Outcome,
    settings: CommentSettings,
    *,
    env: Mapping[str, str],
    create: bool,
    clock: Clock,
    wall: Callable[[], dt.datetime],
) -> tuple[list[Written], str]:
    if in_github_actions(env):
        from gate.platforms.github_comment import comment_on_github

        written = comment_on_github(
            outcome, env=env, key=settings.key, pr=settings.pr, author=settings.author,
            token=settings.github_token or Secret(""),
            create=create, clock=clock, wall_clock=wall,
        )
        return written, "pull request #"
    if in_gitlab_ci(env):
        from gate.platforms.gitlab_note import comment_on_gitlab

        written = comment_on_gitlab(
            outcome, env=env, key=settings.key, iid=settings.pr,
            token=settings.gitlab_token or Secret(""),
            create=create, clock=clock, wall_clock=wall,
        )
        return written, "merge request !"
    raise CommentSkipped("pull-request comments are written on GitHub Actions and GitLab CI only; none here")


def said(written: Written, noun: str) -> CommentNote:
    """The log line for one pull (merge) request's comment."""
    where = f"{noun}{written.number}"
    if written.action is WrittenAs.SKIPPED:
        return CommentNote(f"passed, and {where} has no comment of this gate to update: none written (failures mode)")
    return CommentNote(f"{written.action.value} the comment on {where}" + (f": {written.url}" if written.url else ""))
