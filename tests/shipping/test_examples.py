"""The release workflow, the GitLab template and the examples do what their comments promise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.shipping import (
    INPUTS,
    ROOT,
    TRICKY,
    load_yaml,
    project,
    stub,
    tool,
    workflow_triggers,
)

# --- release workflow and GitLab template ---


def test_release_pushes_version_and_major_tags_to_ghcr_on_version_tags():
    """A v* tag builds the image and pushes ghcr.io/<owner>/docketqa-gate as 1.2.3 and 1 (tests/test_supply_chain.py
    covers the tag check, the attestation and the release commit)."""
    workflow = load_yaml(".github/workflows/release.yml")
    assert workflow_triggers(workflow) == {"push": {"tags": ["v*"]}}
    steps = workflow["jobs"]["image"]["steps"]
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["docker/login-action"]["with"]["registry"] == "ghcr.io"
    meta = uses["docker/metadata-action"]["with"]
    assert meta["images"] == "${{ steps.version.outputs.image }}"
    assert meta["tags"].split() == [
        "type=semver,pattern={{version}}",
        "type=semver,pattern={{major}}",
    ]
    pushes = [
        s["with"]
        for s in steps
        if s.get("uses", "").startswith("docker/build-push-action")
        and s["with"].get("push")
    ]
    assert [p["tags"] for p in pushes] == ["${{ steps.meta.outputs.tags }}"]


def test_gitlab_template_runs_the_published_image_and_keeps_every_report():
    """The template uses the released image with a shell, and keeps JUnit, dotenv, summary, JSON and evidence."""
    job = load_yaml("templates/docketqa.gitlab-ci.yml")[".docketqa-gate"]
    assert job["image"] == {
        "name": f"ghcr.io/OWNER/docketqa-gate:{project()['version']}",
        "entrypoint": [""],
    }
    script = " ".join(job["script"])
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"] == {
        "junit": "docketqa-junit.xml",
        "dotenv": "docketqa.env",
    }
    for flag, path in re.findall(r"--(junit|json|summary|artifacts-dir) (\S+)", script):
        assert path in artifacts["paths"] or path + "/" in artifacts["paths"], flag
    assert "allow_failure" not in job, "allow_failure on 3/4 is opt-in"
    assert re.search(
        r"^\s*#\s*allow_failure:\s*\n\s*#\s*exit_codes: \[3, 4\]",
        (ROOT / "templates/docketqa.gitlab-ci.yml").read_text(),
        re.MULTILINE,
    )
    assert "DOCKET_API_KEY" not in json.dumps(job), (
        "the key comes from a masked CI/CD variable, never the file"
    )


@pytest.mark.parametrize("blueprints", [TRICKY, None])
def test_gitlab_script_passes_blueprints_as_one_value_or_leaves_them_to_the_config(
    tmp_path, blueprints
):
    """In GitLab's sh, DOCKETQA_BLUEPRINTS becomes one --blueprint value; unset, no --blueprint is passed."""
    script = load_yaml("templates/docketqa.gitlab-ci.yml")[".docketqa-gate"]["script"]
    stub(
        tmp_path / "bin",
        "docketqa-gate",
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$CAPTURE"\n',
    )
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "CAPTURE": str(tmp_path / "argv"),
    }
    if blueprints is not None:
        env["DOCKETQA_BLUEPRINTS"] = blueprints
    subprocess.run(
        ["sh", "-ec", "\n".join(script)], cwd=tmp_path, env=env, check=True, timeout=30
    )
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[0] == "run"
    assert (argv[1:3] == ["--blueprint", TRICKY]) is (blueprints is not None)
    assert "--blueprint" not in argv[3 if blueprints else 1 :]
    assert not (tmp_path / "injected").exists()


@pytest.mark.parametrize("mode", ["failures", None])
def test_gitlab_script_passes_the_comment_mode_only_when_set(tmp_path, mode):
    """DOCKETQA_PR_COMMENT becomes --pr-comment; unset, the gate's own default (off) applies."""
    script = load_yaml("templates/docketqa.gitlab-ci.yml")[".docketqa-gate"]["script"]
    stub(tmp_path / "bin", "docketqa-gate", '#!/bin/sh\nprintf "%s\\n" "$@" > "$CAPTURE"\n')
    env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "CAPTURE": str(tmp_path / "argv")}
    if mode is not None:
        env["DOCKETQA_PR_COMMENT"] = mode
    subprocess.run(["sh", "-ec", "\n".join(script)], cwd=tmp_path, env=env, check=True, timeout=30)
    argv = (tmp_path / "argv").read_text().splitlines()
    assert (argv[-2:] == ["--pr-comment", "failures"]) is (mode is not None)
    assert ("--pr-comment" in argv) is (mode is not None)


def test_the_pr_gate_example_comments_with_the_permission_it_needs():
    workflow = load_yaml("examples/github-pr-gate.yml")
    assert workflow["jobs"]["docketqa"]["permissions"]["pull-requests"] == "write"
    gate = next(s for s in workflow["jobs"]["docketqa"]["steps"] if "docketqa-gate" in s.get("uses", ""))
    assert gate["with"]["pr-comment"] == "failures"


# --- examples ---


def test_example_workflows_use_only_declared_inputs_and_upload_reports_always():
    """Every `with:` key given to the gate action is a declared input, and report uploads run even on failure."""
    for path in sorted(ROOT.glob("examples/github-*.yml")):
        for job in load_yaml(path.relative_to(ROOT).as_posix())["jobs"].values():
            for step in job["steps"]:
                uses = step.get("uses", "")
                if "docketqa-gate" in uses:
                    assert set(step["with"]) <= set(INPUTS), (path.name, uses)
                    assert step["with"]["api-key"] == "${{ secrets.DOCKET_API_KEY }}"
                if uses.startswith("actions/upload-artifact@"):
                    assert step.get("if") == "always()", path.name


def test_deploy_example_deploys_only_after_the_gate():
    """The deploy job `needs:` the gate job, so a failing gate blocks the deploy."""
    jobs = load_yaml("examples/github-deploy.yml")["jobs"]
    gate_jobs = [
        name
        for name, job in jobs.items()
        if any("docketqa-gate@" in s.get("uses", "") for s in job["steps"])
    ]
    assert jobs["deploy"]["needs"] in (gate_jobs[0], [gate_jobs[0]])


def test_pre_deploy_script_is_clean_bash():
    """The pre-deploy example is executable, parses with bash -n and (when installed) passes shellcheck."""
    script = ROOT / "examples/pre-deploy.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    if shutil.which("shellcheck"):
        lint = subprocess.run(
            ["shellcheck", str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize(
    ("gate_exit", "extra_env", "deploys", "script_exit"),
    [
        (0, {}, True, 0),
        (1, {}, False, 1),
        (2, {}, False, 2),
        (3, {}, False, 3),
        (4, {}, False, 4),
        (130, {}, False, 130),
        (143, {}, False, 143),
        (70, {}, False, 70),
        (3, {"DOCKETQA_DEPLOY_IF_UNAVAILABLE": "true"}, True, 0),
        (4, {"DOCKETQA_DEPLOY_IF_UNAVAILABLE": "true"}, True, 0),
        (1, {"DOCKETQA_DEPLOY_IF_UNAVAILABLE": "true"}, False, 1),
    ],
)
def test_pre_deploy_script_deploys_only_on_the_documented_exit_codes(
    tmp_path, gate_exit, extra_env, deploys, script_exit
):
    """The script runs the deploy command only when the gate passed (or, opted in, when DocketQA was unavailable)."""
    stub(
        tmp_path / "bin",
        "docketqa-gate",
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$CAPTURE"\nexit "$GATE_EXIT"\n',
    )
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "CAPTURE": str(tmp_path / "argv"),
        "GATE_EXIT": str(gate_exit),
        "DOCKETQA_BLUEPRINTS": TRICKY,
        **extra_env,
    }
    result = subprocess.run(
        [str(ROOT / "examples/pre-deploy.sh"), "touch", "deployed"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, (tmp_path / "deployed").exists()) == (
        script_exit,
        deploys,
    ), result.stderr
    assert (tmp_path / "argv").read_text().splitlines()[:3] == [
        "run",
        "--blueprint",
        TRICKY,
    ]
    if not deploys:
        assert "not deploying" in result.stderr


def test_pre_deploy_script_says_how_to_install_a_missing_cli(tmp_path):
    """Without docketqa-gate on PATH the script exits 2 with the install command, and deploys nothing."""
    result = subprocess.run(
        [tool("bash"), str(ROOT / "examples/pre-deploy.sh"), "touch", "deployed"],
        cwd=tmp_path,
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "pip install docketqa-gate" in result.stderr
    assert not (tmp_path / "deployed").exists()


def test_example_config_is_accepted_by_the_gate(tmp_path):
    """The gate loads examples/.docketqa.yml without complaint and writes the reports it names."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITLAB", "DOCKET_"))
    }
    command = [
        sys.executable,
        str(ROOT / "entrypoint.py"),
        "report",
        str(ROOT / "tests/fixtures/passing.json"),
        "--config",
        str(ROOT / "examples/.docketqa.yml"),
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reports = load_yaml("examples/.docketqa.yml")["reports"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(reports.values())
