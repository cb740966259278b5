"""The action files and the image pass GitHub's and Docker's own checks and keep the runner contract."""

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
    OUTPUTS,
    ROOT,
    TRICKY,
    WORKFLOWS,
    check_jsonschema,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_patterns,
    load_yaml,
    normalise,
    pip_install_commands,
    project,
    read_pins,
    stub,
    substitute_expressions,
    tool,
)

ACTIONS = ("action.yml", "composite/action.yml")
#: What `pip install requests PyYAML junit-xml` pulls in besides the three direct dependencies.
TRANSITIVE = {"certifi", "charset-normalizer", "idna", "urllib3", "six"}


def instructions():
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


# --- the ecosystems' own validators ---


@pytest.mark.parametrize("relative", ACTIONS)
def test_action_file_validates_against_the_github_actions_schema(relative):
    """GitHub would load the action metadata file: check-jsonschema's vendor.github-actions accepts it."""
    result = check_jsonschema("vendor.github-actions", ROOT / relative)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_validates_and_bounds_every_job(workflow):
    """Every example and project workflow is a valid GitHub workflow whose jobs all set timeout-minutes."""
    for schema in (
        "vendor.github-workflows",
        "custom.github-workflows-require-timeout",
    ):
        result = check_jsonschema(schema, workflow)
        assert result.returncode == 0, f"{schema}: {result.stdout}{result.stderr}"


def test_gitlab_template_validates_against_the_gitlab_ci_schema():
    """GitLab would accept the job template: check-jsonschema's vendor.gitlab-ci accepts it."""
    result = check_jsonschema(
        "vendor.gitlab-ci", ROOT / "templates/docketqa.gitlab-ci.yml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_broken_action(tmp_path):
    """The validator is really checking offline: an action with an unknown `runs.using` is rejected."""
    broken = tmp_path / "action.yml"
    broken.write_text(
        (ROOT / "action.yml").read_text().replace("using: docker", "using: dokcer")
    )
    result = check_jsonschema("vendor.github-actions", broken)
    assert (
        result.returncode != 0
        and "validation errors" in (result.stdout + result.stderr).lower()
    )


def test_hadolint_finds_nothing_in_the_dockerfile():
    """hadolint reports no warning at all for the Dockerfile."""
    result = subprocess.run(
        [tool("hadolint"), "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# --- the action files ---


@pytest.mark.parametrize("relative", ACTIONS)
def test_action_declares_exactly_the_documented_inputs_and_outputs(relative):
    """Both action files declare the fixed input and output names the gate reads and writes."""
    action = load_yaml(relative)
    assert tuple(action["inputs"]) == INPUTS
    assert tuple(action["outputs"]) == OUTPUTS


def test_container_and_composite_actions_offer_the_same_interface():
    """Switching between the container and the composite action changes nothing for the workflow."""
    docker, composite = load_yaml("action.yml"), load_yaml("composite/action.yml")
    assert docker["inputs"] == composite["inputs"]
    assert {k: v["description"] for k, v in docker["outputs"].items()} == {
        k: v["description"] for k, v in composite["outputs"].items()
    }


def test_inputs_say_their_default_instead_of_overriding_the_config_file():
    """No input the config file can set has an action default (it would override .docketqa.yml); each description
    names its default. The token's default is the workflow's token, which no file holds."""
    inputs = load_yaml("action.yml")["inputs"]
    assert [name for name, spec in inputs.items() if "default" in spec] == ["github-token"]
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert [
        name
        for name, spec in inputs.items()
        if "Default:" not in spec["description"] and name != "api-key"
    ] == []
    assert inputs["api-key"]["required"] is True
    for boolean in ("fail-on-timeout", "fail-fast", "job-summary", "annotations"):
        assert "`true` or `false`" in inputs[boolean]["description"]
    assert (
        "`test`" in inputs["junit-layout"]["description"]
        and "`step`" in inputs["junit-layout"]["description"]
    )


def test_container_action_builds_the_dockerfile_and_passes_no_arguments():
    """The runner builds ./Dockerfile and starts it without args, so the entrypoint reads INPUT_* variables."""
    action = load_yaml("action.yml")
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert set(action["branding"]) == {"icon", "color"}


def test_composite_outputs_come_from_the_gate_step():
    """Each composite output is the same-named output the gate step wrote."""
    outputs = load_yaml("composite/action.yml")["outputs"]
    assert {name: spec["value"] for name, spec in outputs.items()} == {
        name: f"${{{{ steps.gate.outputs.{name} }}}}" for name in OUTPUTS
    }


def test_composite_hands_every_input_to_the_gate_as_the_docker_runner_would(tmp_path):
    """Run through bash like the runner, the gate step starts `python -m gate` with INPUT_<NAME> (hyphens kept)."""
    step = next(
        s
        for s in load_yaml("composite/action.yml")["runs"]["steps"]
        if s.get("id") == "gate"
    )
    capture = tmp_path / "capture.json"
    python = stub(
        tmp_path,
        "python",
        "#!" + sys.executable + "\nimport json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('INPUT_')}\n"
        "json.dump({'argv': sys.argv[1:], 'env': env}, open(os.environ['CAPTURE'], 'w'))\n",
    )
    values = {f"inputs.{name}": f"{TRICKY} {name}" for name in INPUTS}
    values["steps.install.outputs.python"] = str(python)
    env = {
        name: substitute_expressions(value, values)
        for name, value in step["env"].items()
    }
    script = tmp_path / "step.sh"
    script.write_text(substitute_expressions(step["run"], values))
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        check=True,
        env={"PATH": os.environ["PATH"], "CAPTURE": str(capture), **env},
        timeout=60,
    )
    captured = json.loads(capture.read_text())
    assert captured["argv"] == ["-m", "gate"]
    assert captured["env"] == {
        f"INPUT_{name.upper()}": f"{TRICKY} {name}" for name in INPUTS
    }
    assert not (tmp_path / "injected").exists()


def test_composite_scripts_are_clean_bash_without_expression_injection():
    """The composite steps' scripts read inputs only through env (no `${{ }}` in scripts) and pass bash -n."""
    for step in load_yaml("composite/action.yml")["runs"]["steps"]:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], step["name"]
        subprocess.run(
            ["bash", "-n"], input=step["run"], text=True, check=True, timeout=30
        )
        if shutil.which("shellcheck"):
            lint = subprocess.run(
                ["shellcheck", "-s", "bash", "-"],
                input=step["run"],
                text=True,
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert lint.returncode == 0, lint.stdout


# --- the image ---


def test_dockerfile_follows_the_runner_contract():
    """Pinned slim base, unbuffered output, no USER or WORKDIR, exec-form ENTRYPOINT at an absolute path."""
    by_keyword: dict[str, list[str]] = {}
    for instruction in instructions():
        by_keyword.setdefault(instruction.keyword, []).append(instruction.arguments)
    assert len(by_keyword["FROM"]) == 1
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", by_keyword["FROM"][0])
    env = " ".join(by_keyword["ENV"]).split()
    assert {"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"} <= set(env)
    assert "USER" not in by_keyword and "WORKDIR" not in by_keyword
    assert json.loads(by_keyword["ENTRYPOINT"][0]) == [
        "python",
        "/opt/docketqa-gate/entrypoint.py",
    ]
    copies = {tuple(arguments.split()) for arguments in by_keyword["COPY"]}
    assert {
        ("entrypoint.py", "/opt/docketqa-gate/"),
        ("gate/", "/opt/docketqa-gate/gate/"),
    } <= copies


def test_image_installs_exactly_the_pinned_runtime_requirements():
    """The only pip install is `--no-cache-dir --no-deps -r` of the file copied from requirements/runtime.txt."""
    commands = pip_install_commands(instructions())
    assert len(commands) == 1
    argv = commands[0]
    assert {"--no-cache-dir", "--no-deps"} <= set(argv)
    target = argv[argv.index("-r") + 1]
    assert [a for a in argv[2:] if not a.startswith("--")] == ["-r", target]
    copies = [i.arguments.split() for i in instructions() if i.keyword == "COPY"]
    assert ["requirements/runtime.txt", target] in copies


def test_runtime_pins_cover_exactly_pyprojects_dependencies_and_their_own():
    """requirements/runtime.txt pins every runtime dependency within pyproject's ranges, and nothing else."""
    from packaging.requirements import Requirement

    pins = read_pins(ROOT / "requirements/runtime.txt")
    direct = [Requirement(spec) for spec in project()["dependencies"]]
    assert set(pins) == {normalise(r.name) for r in direct} | TRANSITIVE
    for requirement in direct:
        assert requirement.specifier.contains(pins[normalise(requirement.name)]), (
            requirement
        )


def test_dockerignore_keeps_what_the_image_copies_and_drops_the_rest():
    """The build context has the gate's sources and pins, but not tests, docs, git history or bytecode."""
    patterns = dockerignore_patterns()
    sources = ["entrypoint.py", "requirements/runtime.txt", "Dockerfile"]
    sources += [p.relative_to(ROOT).as_posix() for p in (ROOT / "gate").rglob("*.py")]
    assert [s for s in sources if dockerignore_excludes(patterns, s)] == []
    for dropped in (
        "tests/test_shipping.py",
        ".git/HEAD",
        "docs/ARCHITECTURE.md",
        "gate/__pycache__/cli.pyc",
        "README.md",
        "examples/pre-deploy.sh",
    ):
        assert dockerignore_excludes(patterns, dropped), dropped


def test_image_command_wrapper_runs_the_same_entrypoint(tmp_path):
    """`docketqa-gate` inside the image (for GitLab shells) execs the ENTRYPOINT's script with all arguments."""
    run = next(
        i.arguments
        for i in instructions()
        if i.keyword == "RUN" and "/usr/local/bin/docketqa-gate" in i.arguments
    )
    printf = re.search(r"(printf '[^']*')\s*>\s*/usr/local/bin/docketqa-gate", run)
    assert printf is not None
    wrapper = subprocess.run(
        ["sh", "-c", printf.group(1)], capture_output=True, text=True, check=True
    ).stdout
    assert wrapper == '#!/bin/sh\nexec python /opt/docketqa-gate/entrypoint.py "$@"\n'
    assert "chmod 0755 /usr/local/bin/docketqa-gate" in run
