"""--wait-for-url: a loopback target that becomes ready on status or text, times out, and never sees a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.clock import FakeClock
from gate.config import WaitFor
from gate.config.values import parse_statuses
from gate.errors import ExitCode, TargetNotReady
from gate.target import MAX_BODY_BYTES, wait_for_targets
from tests.support.http_fixture import Reply, serving


def _wait(wait: WaitFor, clock: FakeClock | None = None) -> list[str]:
    notes: list[str] = []
    wait_for_targets(wait, clock=clock or FakeClock(), interval_s=5.0, note=notes.append)
    return notes


def test_ready_once_the_status_is_2xx_with_a_progress_line_per_try() -> None:
    """503, 503, then 200: two 'waiting' lines naming the status and what was wanted, then 'ready'."""
    clock = FakeClock()
    with serving() as target:
        target.script("GET", "/health", Reply(503), Reply(503), Reply(200, b"ok"))
        url = f"{target.url}/health"
        notes = _wait(WaitFor(urls=(url,)), clock)
    assert notes == [
        f"Waiting for {url}: status 503, wanted 2xx; next try in 5 s",
        f"Waiting for {url}: status 503, wanted 2xx; next try in 5 s",
        f"Target {url} is ready (200)",
    ]
    assert clock.sleeps == [5.0, 5.0]


def test_ready_on_a_listed_status_such_as_401() -> None:
    """--wait-for-status 200,401: a login-protected page that answers 401 is up."""
    with serving() as target:
        target.script("GET", "/", Reply(401))
        notes = _wait(WaitFor(urls=(target.url + "/",), statuses=parse_statuses("200, 401")))
    assert notes == [f"Target {target.url}/ is ready (401)"]


def test_ready_only_once_the_body_contains_the_text() -> None:
    """The /version page serves the old commit first, then the new one: ready only on the new one."""
    with serving() as target:
        target.script("GET", "/version", Reply(200, b"commit 1111aaa"), Reply(200, b"commit 2222bbb"))
        url = f"{target.url}/version"
        notes = _wait(WaitFor(urls=(url,), text="2222bbb"))
    assert notes == [
        f"Waiting for {url}: status 200, but the body does not contain '2222bbb'; next try in 5 s",
        f"Target {url} is ready (200)",
    ]


def test_redirects_on_the_target_are_followed() -> None:
    """A 302 to the real page is followed (the target is not the API), and the final page decides."""
    with serving() as target:
        target.script("GET", "/", Reply(302, headers={"Location": "/home"}))
        target.script("GET", "/home", Reply(200, b"welcome build-7"))
        notes = _wait(WaitFor(urls=(target.url + "/",), text="build-7"))
        assert [seen.path for seen in target.seen()] == ["/", "/home"]
    assert notes == [f"Target {target.url}/ is ready (200)"]


def test_no_more_than_one_megabyte_is_read_for_the_text() -> None:
    """The text after the first 1 MB does not count, and the line says where the gate looked."""
    clock = FakeClock()
    body = b"x" * MAX_BODY_BYTES + b"needle"
    with serving() as target:
        target.script("GET", "/big", Reply(200, body, chunked=True))
        with pytest.raises(TargetNotReady) as caught:
            _wait(WaitFor(urls=(f"{target.url}/big",), text="needle", timeout_s=12), clock)
    assert "does not contain 'needle' in the first 1,000,000 bytes" in caught.value.message


def test_never_ready_raises_exit_3_naming_the_url_and_its_last_answer() -> None:
    """Still 502 at the wait timeout: exit 3, the URL, what it answered, and that nothing was triggered."""
    clock = FakeClock()
    with serving() as target:
        target.script("GET", "/", Reply(502))
        url = target.url + "/"
        with pytest.raises(TargetNotReady) as caught:
            _wait(WaitFor(urls=(url,), timeout_s=60), clock)
    assert caught.value.exit_code is ExitCode.TIMED_OUT
    assert caught.value.message == (
        f"{url} was not ready within the 1m wait timeout (last answer: status 502, wanted 2xx); nothing was "
        "triggered: check the deployment, or raise --wait-timeout"
    )
    assert sum(clock.sleeps) == 60


def test_the_last_wait_before_the_deadline_is_shown_in_tenths_of_a_second() -> None:
    """A wait cut short by the deadline reads 'next try in 2.1 s', not the raw float the clock left."""
    clock = FakeClock()
    with serving() as target:
        target.script("GET", "/", Reply(503))
        url = target.url + "/"
        notes: list[str] = []
        with pytest.raises(TargetNotReady):
            wait_for_targets(WaitFor(urls=(url,), timeout_s=7.0987654), clock=clock, interval_s=5.0, note=notes.append)
    assert notes == [
        f"Waiting for {url}: status 503, wanted 2xx; next try in 5 s",
        f"Waiting for {url}: status 503, wanted 2xx; next try in 2.1 s",
    ]
    assert sum(clock.sleeps) == pytest.approx(7.0987654)


def test_a_target_that_is_down_is_not_ready_yet() -> None:
    """Connection refused is 'no answer', retried until the deadline, never a crash."""
    from tests.support.http_fixture import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(TargetNotReady) as caught:
        _wait(WaitFor(urls=(url,), timeout_s=10))
    assert "(last answer: no answer (connection failed))" in caught.value.message


def test_no_secret_reaches_the_target_even_with_a_netrc_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key, no Authorization (a ~/.netrc entry for the host included, also after a redirect)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login deploy password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with serving() as target:
        target.script("GET", "/", Reply(301, headers={"Location": "/next"}))
        target.script("GET", "/next", Reply(200))
        _wait(WaitFor(urls=(target.url + "/",)))
        headers = [seen.headers for seen in target.seen()]
    assert len(headers) == 2
    assert not any("authorization" in h or "x-api-key" in h or "cookie" in h for h in headers)
    assert all(h["user-agent"].startswith("docketqa-gate/") and h["user-agent"].endswith(" (wait-for-url)") for h in headers)


def test_each_url_in_turn_under_one_deadline() -> None:
    """Two URLs: the second is polled once the first is ready; both within one wait timeout."""
    clock = FakeClock()
    with serving() as target:
        target.script("GET", "/a", Reply(200))
        target.script("GET", "/b", Reply(503), Reply(200))
        notes = _wait(WaitFor(urls=(f"{target.url}/a", f"{target.url}/b")), clock)
    assert notes[0].endswith("/a is ready (200)") and notes[-1].endswith("/b is ready (200)") and len(notes) == 3


@pytest.mark.parametrize("text", ["", "ok", "200,abc", "99", "600", "2xx", "+200"])
def test_status_lists_are_parsed_strictly(text: str) -> None:
    with pytest.raises(ValueError, match="expected HTTP status codes separated by commas, such as 200,401"):
        parse_statuses(text)
