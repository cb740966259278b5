"""The release workflow publishes an attested multi-platform image and points the version tags at a release
commit that runs it; its steps run here as the runner runs them, in throwaway git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.shipping import ROOT, check_jsonschema, load_yaml, project, stub

RELEASE = ".github/workflows/release.yml"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_release_workflow_validates_against_githubs_schema():
    """GitHub would load the release workflow: check-jsonschema's vendor.github-workflows accepts it."""
    result = check_jsonschema("vendor.github-workflows", ROOT / RELEASE)
    assert result.returncode == 0, result.stdout + result.stderr


def release_step(job: str, step_id: str) -> dict[str, Any]:
    steps = load_yaml(RELEASE)["jobs"][job]["steps"]
    return next(s for s in steps if s.get("id") == step_id)


def test_release_publishes_an_attested_multi_platform_image_with_an_sbom():
    """The pushed image is built for amd64 and arm64 with an SBOM and provenance, and its digest is attested."""
    steps = load_yaml(RELEASE)["jobs"]["image"]["steps"]
    push = release_step("image", "push")["with"]
    assert (push["platforms"], push["push"], push["sbom"], push["provenance"]) == (
        "linux/amd64,linux/arm64", True, True, "mode=max")
    (attest,) = [s["with"] for s in steps if s.get("uses", "").startswith("actions/attest@")]
    assert attest["subject-name"] == "${{ steps.version.outputs.image }}"
    assert attest["subject-digest"] == "${{ steps.push.outputs.digest }}"
    assert attest["push-to-registry"] is True
    assert load_yaml(RELEASE)["jobs"]["image"]["outputs"] == {
        "image": "${{ steps.version.outputs.image }}",
        "version": "${{ steps.version.outputs.version }}",
        "digest": "${{ steps.push.outputs.digest }}",
    }


def run_step(step: dict[str, Any], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` step as the runner runs it on Linux: bash -e -o pipefail, the step's env and the runner's."""
    expressions = {f"${{{{ needs.image.outputs.{k} }}}}": env.get(k.upper(), "") for k in ("image", "version", "digest")}
    expressions["${{ steps.pin.outputs.reference }}"] = env.get("REFERENCE", "")
    step_env = {k: expressions.get(v, v) for k, v in step.get("env", {}).items()}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd,
                          env={**os.environ, **env, **step_env}, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the step uses tomllib, as the runner's python3 has")
@pytest.mark.parametrize(("case", "publishes"), [("release", True), ("other tag", False), ("release commit", False)])
def test_release_starts_only_from_a_main_commit_tagged_with_the_package_version(tmp_path, case, publishes):
    """v<pyproject version> on a commit whose action.yml builds the Dockerfile publishes to the lower-cased
    owner's image; another tag, or a tag on a release commit, stops with an error before anything is built."""
    for name in ("pyproject.toml", "action.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    if case == "release commit":
        action = tmp_path / "action.yml"
        action.write_text(action.read_text().replace("image: Dockerfile", "image: docker://ghcr.io/x/y:1"))
    bin_dir = tmp_path / "bin"
    stub(bin_dir, "python3", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    version = project()["version"]
    output = tmp_path / "output"
    result = run_step(release_step("image", "version"), cwd=tmp_path, env={
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output), "GITHUB_REPOSITORY_OWNER": "MyOrg",
        "GITHUB_REF_NAME": "v0.0.0-other" if case == "other tag" else f"v{version}"})
    assert (result.returncode == 0) is publishes, result.stdout + result.stderr
    if publishes:
        assert output.read_text().splitlines() == [f"version={version}", "image=ghcr.io/myorg/docketqa-gate"]
    else:
        assert result.stdout.startswith("::error::") and not output.exists()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


@pytest.fixture
def tagged_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A clone of a repository whose main commit carries the version tag, with its bare origin."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(tmp_path, "init", "--quiet", str(work))
    for name in ("action.yml", "Dockerfile"):
        shutil.copy(ROOT / name, work / name)
    git(work, "add", ".")
    git(work, "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "--quiet", "-m", "main")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "tag", "v1")
    git(work, "push", "--quiet", "origin", "HEAD:refs/heads/main", "refs/tags/v1")
    return work, origin


def release(work: Path, *, version: str, digest: str = DIGEST) -> list[subprocess.CompletedProcess[str]]:
    """The release-tags job's two run steps, in order, with the image job's outputs."""
    env = {"IMAGE": "ghcr.io/myorg/docketqa-gate", "VERSION": version, "DIGEST": digest, "GITHUB_SHA": "abc123",
           "GITHUB_OUTPUT": str(work.parent / "output"), "GITHUB_STEP_SUMMARY": str(work.parent / "summary")}
    pinned = run_step(release_step("release-tags", "pin"), cwd=work, env=env)
    if pinned.returncode != 0:
        return [pinned]
    reference = (work.parent / "output").read_text().strip().removeprefix("reference=")
    steps = load_yaml(RELEASE)["jobs"]["release-tags"]["steps"]
    move = next(s for s in steps if "git push" in s.get("run", ""))
    return [pinned, run_step(move, cwd=work, env={**env, "REFERENCE": reference})]


def test_release_commit_runs_the_published_image_of_this_version_by_digest(tagged_checkout):
    """The release commit's action.yml says image: docker://ghcr.io/<owner>/docketqa-gate:<version>@<digest>,
    changes nothing else, and is still a valid action."""
    work, _ = tagged_checkout
    version = project()["version"]
    before = load_yaml("action.yml")
    results = release(work, version=version)
    assert [r.returncode for r in results] == [0, 0], [r.stdout + r.stderr for r in results]
    after = yaml.safe_load((work / "action.yml").read_text(encoding="utf-8"))
    assert after["runs"] == {"using": "docker", "image": f"docker://ghcr.io/myorg/docketqa-gate:{version}@{DIGEST}"}
    assert {**after, "runs": before["runs"]} == before
    assert git(work, "diff", "--numstat", "HEAD~1", "HEAD") == "1\t1\taction.yml"
    result = check_jsonschema("vendor.github-actions", work / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_release_moves_the_version_and_major_tags_to_the_release_commit(tagged_checkout):
    """v<version> and v<major> on the remote point at the release commit; main stays on `image: Dockerfile`."""
    work, origin = tagged_checkout
    version = project()["version"]
    main = git(work, "rev-parse", "HEAD")
    assert [r.returncode for r in release(work, version=version)] == [0, 0]
    released = git(work, "rev-parse", "HEAD")
    assert released != main
    major = "v" + version.split(".")[0]
    assert git(origin, "rev-parse", f"refs/tags/v{version}^{{commit}}", f"refs/tags/{major}^{{commit}}").split() == [
        released, released]
    assert git(origin, "rev-parse", "refs/heads/main") == main
    assert "image: Dockerfile" in git(origin, "show", "main:action.yml")
    assert f"v{version} {major} run `docker://ghcr.io/myorg/docketqa-gate:{version}@{DIGEST}`" in (
        work.parent / "summary").read_text()


def test_a_pre_release_moves_only_its_own_tag(tagged_checkout):
    """Releasing 9.1.0rc1 tags its release commit v9.1.0rc1 and leaves the major tag where it was."""
    work, origin = tagged_checkout
    v1 = git(origin, "rev-parse", "refs/tags/v1")
    assert [r.returncode for r in release(work, version="9.1.0rc1")] == [0, 0]
    assert git(origin, "rev-parse", "refs/tags/v9.1.0rc1^{commit}") == git(work, "rev-parse", "HEAD")
    assert git(origin, "rev-parse", "refs/tags/v1") == v1
    assert git(origin, "tag", "--list").split() == ["v1", "v9.1.0rc1"]


@pytest.mark.parametrize("digest", ["", "latest", "sha256:abc"])
def test_release_without_a_digest_changes_nothing(tagged_checkout, digest):
    """No digest from the image job (a failed push): the step fails with an error and nothing is committed."""
    work, _ = tagged_checkout
    head = git(work, "rev-parse", "HEAD")
    (result,) = release(work, version=project()["version"], digest=digest)
    assert result.returncode == 1 and result.stdout.startswith("::error::")
    assert git(work, "rev-parse", "HEAD") == head
    assert "image: Dockerfile" in (work / "action.yml").read_text(encoding="utf-8")
