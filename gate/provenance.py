"""Where an outcome's runs come from: what ``--resume`` checks before it trusts a result, and what a re-run started."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Provenance:
    """The commit under test (``GITHUB_SHA`` / ``CI_COMMIT_SHA``), the API the runs belong to, and the group run
    this gate triggered (None for ``wait``, ``report``, or when everything was carried over or followed)."""

    commit: str | None = None
    api_url: str | None = None
    triggered_group_run_id: int | None = None
