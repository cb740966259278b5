"""Sandbox state (group runs, test runs over time) rendered in DocketQA's documented JSON shapes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from gate.sandbox.scenarios import PASSED, BlueprintSpec, Scenario, StepSpec

FIRST_GROUP_ID = 35  # the ids of the documented examples: group run 35, test run 38
FIRST_RUN_ID = 38
COMPANY_ID = 2


@dataclasses.dataclass(frozen=True)
class RunState:
    id: int
    group_id: int
    blueprint_id: int
    spec: BlueprintSpec
    created_at: float
    final_at: float

    def is_final(self, now: float) -> bool:
        return now >= self.final_at


@dataclasses.dataclass(frozen=True)
class GroupState:
    id: int
    created_at: float
    run_ids: tuple[int, ...]
    #: False for the group the sandbox creates itself at start.
    triggered: bool


class Ledger:
    """Every group run and test run the sandbox created; ids are sequential, so runs are reproducible."""

    def __init__(self, scenario: Scenario, *, time_scale: float) -> None:
        self.scenario = scenario
        self.time_scale = time_scale
        self._runs: dict[int, RunState] = {}
        self._groups: list[GroupState] = []
        self._lock = threading.Lock()

    def unknown_blueprint(self, blueprint_ids: Iterable[int]) -> int | None:
        return next((bid for bid in blueprint_ids if bid not in self.scenario.blueprint_ids), None)

    def create_group(
        self, blueprint_ids: Iterable[int], *, now: float, triggered: bool
    ) -> tuple[GroupState, list[RunState]]:
        """Login runs first (nobody asks for them), then one run per requested id unless it is omitted."""
        specs = self.scenario.blueprints
        wanted = [bid for bid, spec in specs.items() if spec.login]
        wanted += [bid for bid in blueprint_ids if not specs[bid].omit_from_trigger]
        with self._lock:
            group_id = FIRST_GROUP_ID + len(self._groups)
            runs = []
            for bid in wanted:
                run_id = FIRST_RUN_ID + len(self._runs)
                final_at = now + specs[bid].duration_s * self.time_scale
                run = RunState(
                    id=run_id, group_id=group_id, blueprint_id=bid, spec=specs[bid], created_at=now, final_at=final_at
                )
                self._runs[run_id] = run
                runs.append(run)
            group = GroupState(id=group_id, created_at=now, run_ids=tuple(r.id for r in runs), triggered=triggered)
            self._groups.append(group)
        return group, runs

    def run(self, run_id: int) -> RunState | None:
        with self._lock:
            return self._runs.get(run_id)

    @property
    def groups(self) -> tuple[GroupState, ...]:
        with self._lock:
            return tuple(self._groups)


#: The sandbox's stand-in for DocketQA's dashboard page of a group run.
DASHBOARD_PREFIX = "/dashboard/grouprun/"


class Renderer:
    """Turns state into response bodies; ``base_url`` serves the media links, ``wall`` maps clock -> epoch."""

    def __init__(self, *, base_url: str, wall: Callable[[float], float]) -> None:
        self.base_url = base_url
        self.wall = wall

    def iso(self, at: float) -> str:
        return dt.datetime.fromtimestamp(self.wall(at), tz=dt.timezone.utc).isoformat(timespec="microseconds")

    def trigger(self, group: GroupState, runs: list[RunState]) -> dict[str, Any]:
        created = self.iso(group.created_at)
        stamp = created[:19].replace("T", " ")
        return {
            "message": "Test group run triggered successfully",
            "test_group_run": {
                "company_id": COMPANY_ID,
                "created_at": created,
                "id": group.id,
                "name": f"Manual Run {stamp}",
                "status": "running",
                "test_runs": [self._summary(run) for run in runs],
                "updated_at": created,
                # Sandbox only (DocketQA sends no such field): its group runs exist nowhere on app.docketqa.com.
                "dashboard_url": self.dashboard_url(group.id),
            },
        }

    def dashboard_url(self, group_id: int) -> str:
        return f"{self.base_url}{DASHBOARD_PREFIX}{group_id}"

    def _summary(self, run: RunState) -> dict[str, Any]:
        return {
            "blueprint_metadata": self._metadata(run),
            "created_at": self.iso(run.created_at),
            "id": run.id,
            "is_login_test_run": run.spec.login,
            "results": None,
            "status": run.spec.pending_status,
            "test_blueprint_id": run.blueprint_id,
            "test_group_run_id": run.group_id,
            "test_video_s3_key": None,
            "updated_at": self.iso(run.created_at),
        }

    def run(self, run: RunState, *, now: float) -> dict[str, Any]:
        """The ``GET /test_run/{id}`` body: ``running`` with null results until ``final_at``."""
        body = self._summary(run)
        body.update(test_video_url=None, test_video_download_url=None)
        if run.is_final(now):
            spec = run.spec
            video = self._video(run)
            body.update(
                status=spec.final_status,
                results=self._results(run, spec.steps, attempt=1) if spec.results_when_final else None,
                test_video_url=video,
                test_video_download_url=f"{video}?download=1" if video and spec.video_url is None else video,
                test_video_s3_key=f"videos/run-{run.id}.webm" if video else None,
                updated_at=self.iso(run.final_at),
            )
            if spec.attempts:
                body["additional_attempts"] = [self._attempt(run, steps, n) for n, steps in enumerate(spec.attempts, 2)]
        return {"test_run": body}

    def _attempt(self, run: RunState, steps: tuple[StepSpec, ...], number: int) -> dict[str, Any]:
        return {
            "attempt_number": number,
            "status": PASSED if all(s.successful for s in steps) else "failed",
            "results": self._results(run, steps, attempt=number),
            "test_video_url": self._video(run, attempt=number),
        }

    def _metadata(self, run: RunState) -> dict[str, Any]:
        spec = run.spec
        steps = [{"action": s.task, "step_number": n, "type": s.type} for n, s in enumerate(spec.steps, 1)]
        return {
            "id": run.blueprint_id,
            "title": spec.title,
            "type": spec.type,
            "starting_url": spec.starting_url,
            "steps": steps,
        }

    def _results(self, run: RunState, steps: tuple[StepSpec, ...], *, attempt: int) -> list[dict[str, Any]]:
        out = []
        for number, step in enumerate(steps, 1):
            actions = []
            for index, action in enumerate(step.actions, 1):
                shot = action.screenshot_url
                before = None
                if shot is None and action.screenshot:
                    shot = self._media(run, f"a{attempt}-s{number}-{index}.png")
                    before = self._media(run, f"a{attempt}-s{number}-{index}-before.png")
                actions.append(
                    {
                        "description": action.description,
                        "type": action.type,
                        "screenshot_url": shot,
                        "screenshot_url_before": before,
                    }
                )
            out.append(
                {
                    "step_number": number,
                    "task": step.task,
                    "is_successful": step.successful,
                    "result": step.result,
                    "duration": step.duration,
                    "actions": actions,
                }
            )
        return out

    def _video(self, run: RunState, *, attempt: int = 1) -> str | None:
        if run.spec.video_url is not None:
            return run.spec.video_url
        return self._media(run, f"a{attempt}-video.webm") if run.spec.video else None

    def _media(self, run: RunState, name: str) -> str:
        return f"{self.base_url}/media/runs/{run.id}/{name}"


def encode_json(body: Any) -> bytes:
    """UTF-8 JSON; lone surrogates (hostile data) become ``\\udXXX`` escapes, which keeps the bytes valid."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8", errors="backslashreplace")


def _placeholder_png(width: int = 400, height: int = 225) -> bytes:
    """A grey browser-window shape: what a sandbox screenshot looks like in a summary (a real PNG, ~1 KB)."""
    bar, page = b"\x5f\x63\x68", b"\xf3\xf4\xf6"
    rows = b"".join(b"\x00" + (bar if y < 24 else page) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


#: A placeholder screenshot and the first bytes of a WebM (EBML header): enough for download, type checks and a look.
PNG_BYTES = _placeholder_png()
WEBM_BYTES = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d") + bytes(256)


def media(path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for ``/media/...``: pre-signed-style links that need no API key."""
    if path.endswith(".png"):
        return 200, "image/png", PNG_BYTES
    if path.endswith(".webm"):
        return 200, "video/webm", WEBM_BYTES
    return 404, "application/json", b'{"error": "Not found"}'
