"""Evidence downloads against a loopback media host: saved where promised, bounded, and never sent the API key."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gate.clock import FakeClock
from gate.config import Command, Config, ReportPaths
from gate.outcome import RunOutcome
from gate.platforms import detect
from gate.reports.evidence import download_evidence, plain_session, plan_downloads, slug
from gate.reports.write import write_reports
from tests.support.edge import judged, outcome_of, payload, step
from tests.support.keys import TEST_API_KEY
from tests.support.media_server import MediaServer, Route

PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 500
WEBM = b"\x1aE\xdf\xa3" + b"w" * 2000


@pytest.fixture
def media() -> Iterator[MediaServer]:
    with MediaServer() as server:
        yield server


def _failed_run(media: MediaServer, run_id: int = 38, *, shots: int = 2, **kwargs: str) -> RunOutcome:
    """A failed run whose step 2 has ``shots`` screenshots served by ``media`` (step 1 passed, with its own)."""
    paths = [f"/r{run_id}/shot{i}.png" for i in range(1, shots + 1)]
    for path in paths:
        media.routes[path] = Route(body=PNG, content_type="image/png")
    steps = [
        step(1, ok=True, shots=(media.url("/passed-step.png"),)),
        step(2, ok=False, shots=tuple(map(media.url, paths))),
    ]
    return judged(payload(run_id, steps=steps, **kwargs))  # type: ignore[arg-type]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_saves_the_failing_steps_screenshots_and_the_video_of_failed_runs_only(
    media: MediaServer, tmp_path: Path
) -> None:
    """Each failed run gets <id>-<slug>/ with its failing step's screenshots and video; passed runs download nothing."""
    media.routes["/v38.webm"] = Route(body=WEBM, content_type="video/webm")
    failed = _failed_run(media, video=media.url("/v38.webm"))
    passed = judged(payload(39, status="passed", title="Search", video=media.url("/v39.webm")))
    dest = tmp_path / "evidence"
    evidence = download_evidence(outcome_of(failed, passed), dest=dest)

    expected = [
        "38-login-flow/step-02-screenshot-1.png",
        "38-login-flow/step-02-screenshot-2.png",
        "38-login-flow/video.webm",
    ]
    assert _files(dest) == expected
    assert evidence.attachments == {38: expected}
    assert (dest / expected[0]).read_bytes() == PNG and (dest / expected[2]).read_bytes() == WEBM
    assert evidence.notes == []
    assert "/v39.webm" not in media.paths_requested() and "/passed-step.png" not in media.paths_requested()


def test_attachment_paths_are_relative_to_the_directory_asked_for(media: MediaServer, tmp_path: Path) -> None:
    """With relative_to=workspace, paths are what GitLab/Jenkins resolve from the workspace."""
    run = _failed_run(media, shots=1)
    evidence = download_evidence(outcome_of(run), dest=tmp_path / "out" / "evidence", relative_to=tmp_path)
    assert evidence.attachments == {38: ["out/evidence/38-login-flow/step-02-screenshot-1.png"]}


def test_the_download_url_is_preferred_over_the_streaming_video_url(media: MediaServer, tmp_path: Path) -> None:
    """test_video_download_url wins when both are given."""
    media.routes["/download.webm"] = Route(body=WEBM, content_type="video/webm")
    run = _failed_run(media, shots=0, video=media.url("/stream.webm"), video_download=media.url("/download.webm"))
    download_evidence(outcome_of(run), dest=tmp_path)
    assert media.paths_requested() == ["/download.webm"]
    assert (tmp_path / "38-login-flow" / "video.webm").read_bytes() == WEBM


def test_media_hosts_never_receive_the_api_key_cookies_or_credentials(media: MediaServer, tmp_path: Path) -> None:
    """Even a session that carries X-API-KEY is scrubbed, and cookies a host sets are not sent back."""
    media.routes["/hop"] = Route(
        status=302, headers=(("Location", "/r38/shot1.png"), ("Set-Cookie", "track=1; Path=/"))
    )
    run = _failed_run(media, shots=2, video=media.url("/hop"))

    def careless_factory() -> requests.Session:
        session = plain_session()
        session.headers["X-API-KEY"] = TEST_API_KEY
        session.headers["Authorization"] = "Bearer " + TEST_API_KEY
        return session

    download_evidence(outcome_of(run), dest=tmp_path, session_factory=careless_factory)
    seen = list(media.all_headers())
    assert len(seen) == 4  # two screenshots, the redirect, and its target
    for headers in seen:
        assert "x-api-key" not in headers and "authorization" not in headers and "cookie" not in headers
        assert TEST_API_KEY not in repr(headers)
        assert headers["user-agent"].startswith("docketqa-gate/")


def test_a_file_over_the_per_file_limit_is_skipped_and_the_rest_still_download(
    media: MediaServer, tmp_path: Path
) -> None:
    """Oversized files (announced or discovered while streaming) are dropped whole, noted, and others continue."""
    media.routes["/r38/shot1.png"] = Route(body=b"x" * 5000, content_type="image/png")
    media.routes["/r38/shot2.png"] = Route(body=b"y" * 5000, content_type="image/png", content_length=False, pieces=5)
    media.routes["/v.webm"] = Route(body=WEBM, content_type="video/webm")
    run = judged(
        payload(
            38,
            steps=[step(1, ok=False, shots=(media.url("/r38/shot1.png"), media.url("/r38/shot2.png")))],
            video=media.url("/v.webm"),
        )
    )
    evidence = download_evidence(outcome_of(run), dest=tmp_path, per_file_limit=4096)
    assert _files(tmp_path) == ["38-login-flow/video.webm"]
    assert evidence.notes == [
        "evidence for run 38 (step 1 screenshot 1) not downloaded: larger than the 4096 bytes per-file limit",
        "evidence for run 38 (step 1 screenshot 2) not downloaded: larger than the 4096 bytes per-file limit",
    ]


def test_downloads_stop_once_the_total_limit_is_reached(media: MediaServer, tmp_path: Path) -> None:
    """Past the total limit nothing more is fetched, the partial file is removed, and a note says so."""
    for run_id in (38, 39, 40):
        media.routes[f"/v{run_id}.webm"] = Route(body=b"v" * 3000, content_type="video/webm", content_length=False)
    runs = [
        judged(payload(i, title=f"Run {i}", steps=[step(1, ok=False)], video=media.url(f"/v{i}.webm")))
        for i in (38, 39, 40)
    ]
    evidence = download_evidence(outcome_of(*runs), dest=tmp_path, total_limit=5000)
    assert _files(tmp_path) == ["38-run-38/video.webm"]
    assert media.paths_requested() == ["/v38.webm", "/v39.webm"]
    assert evidence.notes == [
        "evidence downloads stopped: the 5000 bytes total limit was reached; 2 file(s) not downloaded"
    ]


def test_only_http_urls_are_fetched(media: MediaServer, tmp_path: Path) -> None:
    """file:, javascript:, ftp: and data: URLs are skipped and noted; nothing is read from disk or requested."""
    shots = ("file:///etc/passwd", "javascript:alert(1)", "ftp://example.com/x.png", "data:image/png;base64,AAAA")
    run = judged(payload(38, steps=[step(1, ok=False, shots=shots)]))
    evidence = download_evidence(outcome_of(run), dest=tmp_path)
    assert _files(tmp_path) == [] and media.requests == []
    assert len(evidence.notes) == 4 and all(n.endswith("not an http(s) URL") for n in evidence.notes)


def test_redirects_are_followed_only_to_http_and_only_a_few_times(media: MediaServer, tmp_path: Path) -> None:
    """A redirect to file: is refused and a redirect loop ends; both are notes, and the good file still lands."""
    media.routes["/to-file"] = Route(status=302, headers=(("Location", "file:///etc/passwd"),))
    media.routes["/loop"] = Route(status=302, headers=(("Location", "/loop"),))
    media.routes["/good"] = Route(status=301, headers=(("Location", "/good.png"),))
    media.routes["/good.png"] = Route(body=PNG, content_type="image/png")
    shots = tuple(media.url(p) for p in ("/to-file", "/loop", "/good"))
    evidence = download_evidence(outcome_of(judged(payload(38, steps=[step(1, ok=False, shots=shots)]))), dest=tmp_path)
    assert _files(tmp_path) == ["38-login-flow/step-01-screenshot-3.png"]
    assert evidence.notes == [
        "evidence for run 38 (step 1 screenshot 1) not downloaded: redirected to a location that is not an http(s) URL",
        "evidence for run 38 (step 1 screenshot 2) not downloaded: more than 5 redirects",
    ]
    assert media.paths_requested().count("/loop") == 6


def test_host_errors_and_unreachable_hosts_are_notes_not_failures(media: MediaServer, tmp_path: Path) -> None:
    """A 404, a 500 and a refused connection each become a note; the call still returns normally."""
    media.routes["/boom"] = Route(status=500, body=b"oops")
    with MediaServer() as gone:
        unreachable = gone.url("/x.png")
    shots = (media.url("/missing.png"), media.url("/boom"), unreachable)
    evidence = download_evidence(outcome_of(judged(payload(38, steps=[step(1, ok=False, shots=shots)]))), dest=tmp_path)
    assert _files(tmp_path) == []
    assert evidence.notes == [
        "evidence for run 38 (step 1 screenshot 1) not downloaded: the media host answered HTTP 404",
        "evidence for run 38 (step 1 screenshot 2) not downloaded: the media host answered HTTP 500",
        "evidence for run 38 (step 1 screenshot 3) not downloaded: request failed (ConnectionError)",
    ]


def test_notes_never_repeat_media_urls(media: MediaServer, tmp_path: Path) -> None:
    """Pre-signed URLs carry tokens: a failure note names the run and file, never the URL or its query."""
    url = media.url("/private.png?X-Amz-Signature=TOKEN123")
    evidence = download_evidence(
        outcome_of(judged(payload(38, steps=[step(1, ok=False, shots=(url,))]))), dest=tmp_path
    )
    assert len(evidence.notes) == 1 and "TOKEN123" not in evidence.notes[0] and "private" not in evidence.notes[0]


def test_untrusted_titles_and_urls_cannot_steer_where_files_land(media: MediaServer, tmp_path: Path) -> None:
    """Traversal in the title or URL path still yields files named by us, inside dest."""
    # The client may normalise the dot segments away before sending; serve both spellings.
    for path in ("/a/../../../etc/cron.d/evil.sh", "/etc/cron.d/evil.sh"):
        media.routes[path] = Route(body=b"#!/bin/sh", content_type="text/x-sh")
    media.routes["/b/..%2F..%2Fescape.png"] = Route(body=PNG, content_type="image/png")  # as requests re-quotes it
    shots = (media.url("/a/../../../etc/cron.d/evil.sh"), media.url("/b/..%2f..%2fescape.png"))
    title = "../../../../etc/passwd\x00 \u202e <script>"
    run = judged(payload(38, title=title, steps=[step(1, ok=False, shots=shots)]))
    dest = tmp_path / "evidence"
    evidence = download_evidence(outcome_of(run), dest=dest)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(dest.resolve()) for p in files)
    assert all(".." not in path and "\\" not in path for path in evidence.attachments.get(38, []))
    assert sorted(p.relative_to(dest).as_posix() for p in files) == [
        "38-etc-passwd-script/step-01-screenshot-1.png",
        "38-etc-passwd-script/step-01-screenshot-2.png",
    ]


def test_a_host_trickling_bytes_is_cut_off_by_the_time_budget(media: MediaServer, tmp_path: Path) -> None:
    """When the download time budget runs out mid-file, the file is dropped and the rest are not fetched."""
    media.routes["/slow.webm"] = Route(body=b"s" * 400_000, content_type="video/webm", pieces=50)
    media.routes["/r39/shot.png"] = Route(body=PNG, content_type="image/png")

    class TickingClock(FakeClock):
        """Every look at the clock costs 10 virtual seconds, as if each chunk arrived slowly."""

        def now(self) -> float:
            self.advance(10.0)
            return super().now()

    runs = [
        judged(payload(38, steps=[step(1, ok=False)], video=media.url("/slow.webm"))),
        judged(payload(39, title="Other", steps=[step(1, ok=False, shots=(media.url("/r39/shot.png"),))])),
    ]
    evidence = download_evidence(outcome_of(*runs), dest=tmp_path, time_budget_s=35, clock=TickingClock())
    assert _files(tmp_path) == []
    assert evidence.notes == [
        "evidence downloads stopped: the time allowed for downloads ran out; 2 file(s) not downloaded"
    ]
    assert media.paths_requested() == ["/slow.webm"]


def test_only_the_last_ten_distinct_screenshots_of_the_failing_step_are_planned() -> None:
    """A step with many actions contributes its last ten distinct screenshots (what the agent saw at the end)."""
    shots = tuple(f"https://cdn.example/{i}.png" for i in range(1, 15)) + ("https://cdn.example/14.png",)
    plan = plan_downloads(outcome_of(judged(payload(38, steps=[step(1, ok=False, shots=shots)]))))
    assert [d.url.rsplit("/", 1)[1] for d in plan] == [f"{i}.png" for i in range(5, 15)]


def test_slugs_are_short_lowercase_ascii() -> None:
    """Directory names keep only a-z, 0-9 and hyphens, at most 40 characters, with a fallback."""
    assert slug("Login Flow – Café №1") == "login-flow-cafe-no1"
    assert slug("../..") == "run"
    assert len(slug("x" * 100)) == 40


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give files away")
def test_as_root_on_github_evidence_files_and_folders_belong_to_the_workspace_owner(
    media: MediaServer, tmp_path: Path
) -> None:
    """Like the reports, every downloaded file and folder under --artifacts-dir is the runner user's to delete."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 1001, 118)
    media.routes["/v38.webm"] = Route(body=WEBM, content_type="video/webm")
    config = Config(command=Command.REPORT, reports=ReportPaths(artifacts_dir=Path("out/evidence")))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}
    platform = detect(env, stdout=io.StringIO(), workspace=workspace)
    written = write_reports(outcome_of(_failed_run(media, video=media.url("/v38.webm"))), config, platform=platform,
                            workspace=workspace)  # fmt: skip
    assert written.failure is None
    created = sorted((workspace / "out").rglob("*"))
    assert len([p for p in created if p.is_file()]) == 3  # two screenshots and the video
    owners = {p.relative_to(workspace).as_posix(): (p.stat().st_uid, p.stat().st_gid) for p in created}
    assert owners == dict.fromkeys(owners, (1001, 118))
    assert (workspace / "out").stat().st_uid == 1001
