"""Footprint: the runtime environment's installed size, and what the action's image adds to its base."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import REPO, Result, Row

RUNTIME_PINS = REPO / "requirements" / "runtime.txt"
#: The base image's size cannot be measured offline; this is a published figure, see docs/performance.md.
BASE_IMAGE = "python:3.13.7-slim-trixie"
BASE_IMAGE_MB = 150
BASE_SOURCE = "~150 MB uncompressed, as commonly published for python:3.13-slim (see docs/performance.md)"


def size_mb(root: Path, *, bytecode: bool = True) -> float:
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and (bytecode or "__pycache__" not in path.parts):
            total += path.stat().st_size
    return total / 1e6


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args[:2])} failed: {done.stderr.strip()[-300:]}")


def fresh_venv(root: Path) -> Path:
    """A venv created without pip (so pip and setuptools are not in it at all), filled by this Python's pip."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    # The package's wheel, built from a copy so no build/ or egg-info lands in the checkout.
    source, wheels = root.parent / "source", root.parent / "wheels"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "gate", source / "gate", ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
    _pip("wheel", "--no-deps", "-w", str(wheels), str(source))
    wheel = next(wheels.glob("docketqa_gate-*.whl"))
    # Two installs: the pins carry hashes (pip then wants one for every requirement), the local wheel has none.
    _pip("--python", str(root / "bin" / "python"), "install", "--no-deps", "--require-hashes", "-r", str(RUNTIME_PINS))
    _pip("--python", str(root / "bin" / "python"), "install", "--no-deps", str(wheel))
    return next(root.glob("lib/python3*/site-packages"))


def image_layers(root: Path) -> Path:
    """What the Dockerfile adds to the base: its pip line (bytecode compiled, as pip does) and the COPY lines."""
    site = root / "site-packages"
    _pip("install", "--no-cache-dir", "--no-deps", "--require-hashes", "--target", str(site), "-r", str(RUNTIME_PINS))
    app = root / "opt-docketqa-gate"
    shutil.copytree(REPO / "gate", app / "gate", ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
    shutil.copy2(REPO / "entrypoint.py", app / "entrypoint.py")
    return root


def run(*, quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="dq-footprint-") as tmp:
        try:
            site = fresh_venv(Path(tmp) / "venv")
            layers = image_layers(Path(tmp) / "image")
        except (RuntimeError, subprocess.CalledProcessError, StopIteration) as exc:
            return Result((Row("7. Footprint", "report", f"skipped: {exc}", None),))
        venv_mb, venv_source_mb = size_mb(site), size_mb(site, bytecode=False)
        gate_mb = size_mb(site / "gate")
        layer_mb = size_mb(layers)
    rows = (
        Row("7. Installed runtime (fresh venv: requests, PyYAML, junit-xml + closure, docketqa-gate)", "report",
            f"{venv_mb:.1f} MB", None,
            f"site-packages incl. bytecode; {venv_source_mb:.1f} MB without; gate itself {gate_mb:.1f} MB; "
            "no pip/setuptools (venv made --without-pip)"),
        Row("7. Image: layers the Dockerfile adds to the base", "report", f"{layer_mb:.1f} MB", None,
            f"expected image ~{BASE_IMAGE_MB + layer_mb:.0f} MB = {BASE_IMAGE} ({BASE_SOURCE}) + this, plus the "
            "bytecode of the compile step (benchmark 8)"),
    )
    return Result(rows)
