"""The sandbox's stand-in for DocketQA's dashboard: one small HTML page per group run, clearly marked as the sandbox."""

from __future__ import annotations

import html

from gate.sandbox.payloads import Ledger


def dashboard_page(ledger: Ledger, raw_id: str, *, now: float) -> tuple[int, bytes]:
    """(status, HTML) for ``/dashboard/grouprun/{id}``: the group's runs and where each stands now."""
    group = next((g for g in ledger.groups if raw_id.isascii() and raw_id.isdigit() and g.id == int(raw_id)), None)
    if group is None:
        return 404, _page("No such group run", "<p>This sandbox has no group run with that id.</p>")
    rows = []
    for run_id in group.run_ids:
        run = ledger.run(run_id)
        if run is None:
            continue
        status = run.spec.final_status if run.is_final(now) else run.spec.pending_status
        rows.append(f"<tr><td>{run.id}</td><td>{html.escape(run.spec.title)}</td><td>{html.escape(status)}</td></tr>")
    body = (
        "<p>This page is served by the local DocketQA sandbox (docketqa-gate sandbox/demo); it is not DocketQA's "
        "dashboard and goes away with the sandbox.</p>"
        "<table><tr><th>Test run</th><th>Blueprint</th><th>Status</th></tr>" + "".join(rows) + "</table>"
    )
    return 200, _page(f"Sandbox group run {group.id}", body)


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{body}</body></html>").encode()
