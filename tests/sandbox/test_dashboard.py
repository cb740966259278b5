"""A sandbox group run links the sandbox's own dashboard page, and every place that shows the link says "sandbox"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gate.client import TRIGGER_PATH
from gate.model import DASHBOARD_GROUP_RUN
from tests.support.cli import CliResult, gate_env, read_json, run_args, sandbox
from tests.support.http_fixture import json_reply, make_client, serving, trigger_body


def test_a_sandbox_group_run_links_a_working_page_of_the_sandbox_labelled_as_such(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """The link opens a page the sandbox serves (not app.docketqa.com, where no such group exists)."""
    with sandbox("mixed") as served:
        result = cli(run_args(served, "--json", "r.json", "--summary", "s.md"), env=gate_env())
        group = read_json(tmp_path / "r.json")["group_runs"][0]
        assert group["dashboard_url"] == f"{served.url}/dashboard/grouprun/{group['id']}"
        page = requests.get(group["dashboard_url"], timeout=10)
    assert result.code == 1, result.err
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in page.text.lower() and all(str(run["test_run_id"]) in page.text
                                                  for run in read_json(tmp_path / "r.json")["runs"])  # fmt: skip
    assert f"Group run {group['id']} started in the sandbox: {group['dashboard_url']}" in result.err
    assert f"[sandbox dashboard]({group['dashboard_url']})" in (tmp_path / "s.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("offered", ["https://evil.example/dashboard/grouprun/35", "javascript:alert(1)"])
def test_a_dashboard_link_on_another_host_than_the_api_is_ignored(offered: str) -> None:
    """Only a link on the API's own host replaces DocketQA's dashboard: anything else keeps the real one."""
    with serving() as server:
        body = trigger_body(35, [(38, 180)])
        body["test_group_run"]["dashboard_url"] = offered
        server.script("POST", TRIGGER_PATH, json_reply(body))
        result = make_client(server).trigger([180], timeout=10)
    assert result.group_run.dashboard_url == DASHBOARD_GROUP_RUN.format(id=35)
    assert result.group_run.sandbox_dashboard_url is None
