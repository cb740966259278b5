"""What users run is provably this repository's: hash-pinned wheels, SHA-pinned actions, least permissions,
and release tags that run the published, attested image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.support.shipping import (
    ROOT,
    check_jsonschema,
    dockerfile_instructions,
    load_yaml,
    normalise,
    pip_install_commands,
    project,
    read_hashed_pins,
    stub,
)

RUNTIME = ROOT / "requirements/runtime.txt"
RELEASE = ".github/workflows/release.yml"
#: Every file that says `uses:`: the project's workflows, the composite action and the examples users copy.
USES_FILES = (
    *sorted(ROOT.glob(".github/workflows/*.yml")),
    ROOT / "composite/action.yml",
    *sorted(ROOT.glob("examples/*.yml")),
)
#: `uses: owner/repo[/path]@<40-hex commit> # v1.2.3`: immutable, and Dependabot can still read the release.
PINNED = re.compile(r"uses: (?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)\b")
#: The examples' reference to this action itself: OWNER is whoever publishes it, so no SHA can be written down.
OWN_ACTION = re.compile(r"uses: OWNER/docketqa-gate(?:/composite)?@v\d+$")
#: The platforms the image is published for, as wheel platform tags (glibc manylinux).
IMAGE_ARCHES = ("x86_64", "aarch64")
IMAGE_PYTHON = "3.13"
DIGEST = "sha256:" + "0123456789abcdef" * 4


# --- hash-pinned runtime dependencies ---


def index_url() -> str:
    return os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def served_files(name: str) -> list[dict[str, Any]]:
    """The files the package index lists for a project (PEP 691 JSON); skips the test if it is unreachable."""
    url = f"{index_url()}/{normalise(name)}/"
    try:
        response = requests.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=20)
        response.raise_for_status()
    except requests.RequestException as exc:
        pytest.skip(f"the package index is unreachable ({url}: {exc}); the pinned hashes were not checked")
    files: list[dict[str, Any]] = response.json()["files"]
    return files


def version_of(filename: str) -> str | None:
    """The version in a wheel or sdist file name, as packaging normalises it (None for eggs, installers...)."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidSdistFilename, InvalidWheelFilename):
        return None


def needed_by_the_image(filename: str) -> bool:
    """An sdist, a pure wheel, or a glibc wheel for one of the image's CPUs: what an image build may fetch."""
    if not filename.endswith(".whl"):
        return True
    platform = filename[:-4].rsplit("-", 1)[1]
    return platform == "any" or any("manylinux" in tag and tag.endswith(arch)
                                    for tag in platform.split(".") for arch in IMAGE_ARCHES)


def pin_lines(name: str, version: str, hashes: set[str]) -> str:
    return f"{name}=={version} \\\n" + " \\\n".join(f"    --hash=sha256:{h}" for h in sorted(hashes))


def test_every_runtime_pin_is_exact_hashed_and_inside_pyprojects_ranges():
    """Each runtime.txt line pins one version with sha256 hashes, and the direct dependencies fit pyproject."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = read_hashed_pins(RUNTIME)
    assert [name for name, pin in pins.items() if not pin.hashes] == []
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        pin = pins[normalise(requirement.name)]
        assert requirement.specifier.contains(Version(pin.version)), f"{pin.name}=={pin.version} is outside {spec}"


def test_image_and_composite_action_install_in_hash_checking_mode():
    """Both installs of runtime.txt pass --require-hashes, so an unhashed or tampered file fails the build."""
    (docker_pip,) = pip_install_commands(dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8")))
    assert {"--require-hashes", "--no-deps"} <= set(docker_pip)
    install = load_yaml("composite/action.yml")["runs"]["steps"][0]["run"]
    (line,) = [line for line in install.splitlines() if "requirements/runtime.txt" in line]
    assert "--require-hashes" in line.split() and "--no-deps" in line.split()


@pytest.mark.parametrize("name", sorted(read_hashed_pins(RUNTIME)))
def test_pinned_hashes_are_files_the_index_serves_and_cover_the_image_platforms(name):
    """Every pinned hash is a file the index serves for that version, and every file an amd64/arm64 build might
    pick (sdist, pure wheel, manylinux wheel) is pinned. Needs the package index; skipped without it."""
    from packaging.version import Version

    pin = read_hashed_pins(RUNTIME)[name]
    version = str(Version(pin.version))
    files = [f for f in served_files(name) if not f.get("yanked") and version_of(f["filename"]) == version]
    served = {f["hashes"]["sha256"] for f in files}
    needed = {f["hashes"]["sha256"] for f in files if needed_by_the_image(f["filename"])}
    assert files, f"the index serves no file of {pin.name}=={pin.version}"
    correct = pin_lines(pin.name, pin.version, served)
    assert pin.hashes <= served, f"hashes the index does not serve; the right lines are:\n{correct}"
    assert needed <= pin.hashes, f"files of the image's platforms are not pinned; the right lines are:\n{correct}"


def pip_download(requirements: Path, destination: Path, *, arch: str) -> subprocess.CompletedProcess[str]:
    """Fetch the pinned files as a linux/<arch> image build would, in pip's hash-checking mode."""
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
               "--require-hashes", "--only-binary=:all:", "--platform", f"manylinux_2_28_{arch}",
               "--python-version", IMAGE_PYTHON, "--implementation", "cp", "--abi", "cp313",
               "--dest", str(destination), "-r", str(requirements)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def index_reachable() -> None:
    served_files("six")  # skips every test that needs the index when it cannot be reached


@pytest.mark.parametrize("arch", IMAGE_ARCHES)
def test_pip_accepts_the_pinned_files_for_each_image_platform_and_refuses_a_changed_hash(
    tmp_path, arch, index_reachable
):
    """pip --require-hashes fetches every pinned wheel for linux/<arch> Python 3.13; one wrong hash stops it."""
    fetched = pip_download(RUNTIME, tmp_path / "ok", arch=arch)
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    wheels = sorted(normalise(p.name.split("-")[0]) for p in (tmp_path / "ok").glob("*.whl"))
    assert wheels == sorted(read_hashed_pins(RUNTIME))
    tampered = tmp_path / "tampered.txt"
    six = read_hashed_pins(RUNTIME)["six"]
    tampered.write_text(f"six=={six.version} --hash=sha256:{'0' * 64}\n", encoding="utf-8")
    refused = pip_download(tampered, tmp_path / "bad", arch=arch)
    assert refused.returncode != 0 and "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr[-2000:]
    assert not list((tmp_path / "bad").glob("*.whl"))


# --- actions pinned to commits, least privilege ---


def uses_lines(path: Path) -> list[str]:
    """Every `uses:` value in a file, read from the text (the comment matters) and checked against the YAML."""
    lines = [m.group(0).strip().removeprefix("- ")
             for m in re.finditer(r"^\s*(?:- )?uses: .+$", path.read_text(encoding="utf-8"), re.MULTILINE)]
    parsed = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(lines) == len(list(_uses_values(parsed))), f"{path.name}: a `uses:` the text scan missed"
    return lines


def _uses_values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses":
                yield value
            else:
                yield from _uses_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uses_values(item)


@pytest.mark.parametrize("path", USES_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release_in_a_comment(path):
    """No `uses:` names a movable tag or branch: a 40-hex commit with `# vX.Y.Z`, or (examples) this action."""
    loose = [line for line in uses_lines(path)
             if not PINNED.fullmatch(line.split(",")[0]) and not OWN_ACTION.fullmatch(line)]
    assert loose == []
    if "examples" not in path.parts:
        assert not [line for line in uses_lines(path) if OWN_ACTION.fullmatch(line)]


def test_each_action_is_pinned_to_one_commit_everywhere():
    """An action used in several files is pinned to the same commit and release in all of them."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in USES_FILES:
        for line in uses_lines(path):
            match = PINNED.match(line)
            if match:
                seen.setdefault(match["action"], set()).add((match["sha"], match["version"]))
    assert {action: pins for action, pins in seen.items() if len(pins) > 1} == {}
    assert {"actions/checkout", "docker/build-push-action", "actions/attest"} <= set(seen)


WORKFLOWS = (*sorted(ROOT.glob(".github/workflows/*.yml")), *sorted(ROOT.glob("examples/github-*.yml")))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflows_grant_nothing_by_default_and_each_job_names_its_permissions(path):
    """`permissions: {}` at the top, and every job lists the scopes it uses (no read-all/write-all)."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict) and job["permissions"], f"job {name} declares none"
    writes = {(name, scope) for name, job in workflow["jobs"].items()
              for scope, level in job["permissions"].items() if level == "write"}
    expected = {("image", "packages"), ("image", "id-token"), ("image", "attestations"),
                ("release-tags", "contents")} if path.name == "release.yml" else set()
    assert writes == expected


def test_dependabot_updates_pip_docker_and_actions_and_validates():
    """Dependabot watches runtime.txt and pyproject, the Dockerfile, the workflows and the composite action."""
    result = check_jsonschema("vendor.dependabot", ROOT / ".github/dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    updates = {u["package-ecosystem"]: u for u in load_yaml(".github/dependabot.yml")["updates"]}
    assert set(updates) == {"pip", "docker", "github-actions"}

    def directories(update: dict[str, Any]) -> set[str]:
        return set(update.get("directories", [update.get("directory")]))

    assert {"/", "/requirements"} <= directories(updates["pip"])
    assert "/" in directories(updates["docker"])
    assert {"/", "/composite"} <= directories(updates["github-actions"])


def test_release_workflow_validates_against_githubs_schema():
    """GitHub would load the release workflow: check-jsonschema's vendor.github-workflows accepts it."""
    result = check_jsonschema("vendor.github-workflows", ROOT / RELEASE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_job_takes_no_artifacts_or_cache_and_pins_the_released_image():
    """The template's job downloads nothing from other jobs and runs the image of this package's version."""
    job = load_yaml("templates/docketqa.gitlab-ci.yml")[".docketqa-gate"]
    assert (job["dependencies"], job["cache"]) == ([], [])
    assert job["image"]["name"].endswith(f"/docketqa-gate:{project()['version']}")


# --- the release: an attested multi-platform image, and tags that run it ---


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


# --- bytecode compiled at build time ---


def image_tree(root: Path) -> list[str]:
    """Follow the Dockerfile's COPY lines into ``root``; return the compile step's command with paths mapped."""
    instructions = dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    for instruction in (i for i in instructions if i.keyword == "COPY"):
        source, target = instruction.arguments.split()
        destination = root / target.lstrip("/")
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            destination = destination / Path(source).name if target.endswith("/") else destination
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, destination)
    (run,) = [i.arguments for i in instructions if i.keyword == "RUN" and "compile_bytecode" in i.arguments]
    argv = run.split()
    assert argv[0] == "python", run
    return [sys.executable, *(str(root / a.lstrip("/")) if a.startswith("/") else a for a in argv[1:])]


def pyc_files(prefix: Path) -> set[Path]:
    return set(prefix.rglob("*.pyc"))


def test_after_the_compile_step_a_gate_run_compiles_nothing(tmp_path):
    """The Dockerfile's compile step leaves hash-based bytecode for every gate module, and a later `demo` run
    and `--version` find bytecode for everything they import: nothing is compiled at start."""
    root, prefix = tmp_path / "image", tmp_path / "pycache"
    command = image_tree(root)
    # A cache prefix keeps every .pyc out of this interpreter's own directories and shows exactly what exists.
    env = {"PATH": os.environ["PATH"], "PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": "1"}
    built = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    app = root / "opt/docketqa-gate"
    for module in (app / "gate").rglob("*.py"):
        cached = prefix / str(module.resolve()).lstrip("/")
        (pyc,) = cached.parent.glob(f"{module.stem}.*.pyc")
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, f"{pyc}: not unchecked-hash bytecode"
    compiled = pyc_files(prefix)
    del env["PYTHONDONTWRITEBYTECODE"]  # from here on Python would write whatever it had to compile
    for args in (["demo"], ["--version"]):
        ran = subprocess.run([sys.executable, str(app / "entrypoint.py"), *args], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        assert ran.returncode == 0, ran.stderr[-2000:]
    assert sorted(map(str, pyc_files(prefix) - compiled)) == []
