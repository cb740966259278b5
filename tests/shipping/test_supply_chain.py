"""What users run is provably this repository's: hash-pinned wheels, SHA-pinned actions, least permissions
(the release itself: test_release.py; the image's bytecode: test_image_bytecode.py)."""

from __future__ import annotations

import os
import re
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
)

RUNTIME = ROOT / "requirements/runtime.txt"
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


def test_readme_workflow_snippets_pin_their_actions_too():
    """What users copy from README's YAML blocks is pinned like the examples: a commit with `# vX.Y.Z`."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    step = re.compile(r"^\s*(?:- )?uses: .+$", re.MULTILINE)
    lines = [m.strip().removeprefix("- ") for block in blocks for m in step.findall(block)]
    assert lines, "README shows no workflow step"
    loose = [line for line in lines if not PINNED.fullmatch(line.split(",")[0]) and not OWN_ACTION.fullmatch(line)]
    assert loose == []


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
#: The only write scopes any job holds: the release's push, signature and tags, and the PR gate's one comment.
WRITES = {
    "release.yml": {("image", "packages"), ("image", "id-token"), ("image", "attestations"),
                    ("release-tags", "contents")},
    "github-pr-gate.yml": {("docketqa", "pull-requests")},
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflows_grant_nothing_by_default_and_each_job_names_its_permissions(path):
    """`permissions: {}` at the top, and every job lists the scopes it uses (no read-all/write-all)."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict) and job["permissions"], f"job {name} declares none"
    writes = {(name, scope) for name, job in workflow["jobs"].items()
              for scope, level in job["permissions"].items() if level == "write"}
    assert writes == WRITES.get(path.name, set())


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


def test_gitlab_job_takes_no_artifacts_or_cache_and_pins_the_released_image():
    """The template's job downloads nothing from other jobs and runs the image of this package's version."""
    job = load_yaml("templates/docketqa.gitlab-ci.yml")[".docketqa-gate"]
    assert (job["dependencies"], job["cache"]) == ([], [])
    assert job["image"]["name"].endswith(f"/docketqa-gate:{project()['version']}")
