"""The image's compile step leaves bytecode for everything a gate run imports, so no start compiles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.shipping import ROOT, dockerfile_instructions


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
