"""Bytecode in the image: start to ``--version`` and to a finished ``report`` without and with the bytecode the
Dockerfile compiles (docker/compile_bytecode.py), and what that bytecode adds to the image."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench_reports import write_saved_responses
from harness import REPO, Result, Row

COMPILE = REPO / "docker" / "compile_bytecode.py"
#: The pinned packages' import names: pip compiles these when the image installs them, with or without our step.
PINNED_MODULES = ("requests", "urllib3", "idna", "charset_normalizer", "certifi", "yaml", "junit_xml", "six")
REPORT_RUNS = 10
REPORT_ARGS = ("report", "saved.json", "--junit", "junit.xml", "--json", "result.json", "--summary", "summary.md")
#: Two images built from this checkout, without and with the compile step, e.g. "docketqa-gate:plain
#: docketqa-gate:bytecode" (docs/performance.md shows how they were built); measured when set.
IMAGES_VARIABLE = "DOCKETQA_BENCH_IMAGES"

COMPILE_PINNED = """
import compileall, importlib.util, sys
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    if spec.submodule_search_locations:
        ok = all(compileall.compile_dir(d, quiet=1) for d in spec.submodule_search_locations)
    else:
        ok = compileall.compile_file(spec.origin, quiet=1)
    if not ok:
        sys.exit(f"could not compile {name}")
"""


def layout_env(prefix: Path) -> dict[str, str]:
    """The image's environment, with bytecode read (and never written) only under ``prefix``.

    With PYTHONPYCACHEPREFIX set, Python ignores the __pycache__ directories beside the sources, so this
    machine's own compiled standard library plays no part: the prefix alone decides what is compiled.
    """
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(prefix)}


def build_prefixes(work: Path) -> tuple[Path, Path, str]:
    """``plain``: bytecode for the pinned packages only (as pip leaves the image); ``bytecode``: plus what the
    Dockerfile's compile step adds. Returns both and the compile step's own summary line."""
    plain, compiled = work / "plain", work / "bytecode"
    subprocess.run([sys.executable, "-c", COMPILE_PINNED, *PINNED_MODULES], env=layout_env(plain), check=True)
    shutil.copytree(plain, compiled)
    done = subprocess.run([sys.executable, str(COMPILE), str(REPO)], env=layout_env(compiled), capture_output=True,
                          text=True, check=True)
    return plain, compiled, done.stdout.strip().replace(f"{REPO}/", "")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def interleaved(commands: Mapping[str, tuple[Sequence[str], Mapping[str, str] | None]], *, cwd: Path,
                repeat: int) -> dict[str, float]:
    """Median wall time of each command (start to exit), run in turn so a busy moment hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, (command, env) in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
            times[name].append(time.perf_counter() - started)
            if done.returncode not in (0, 1):  # report's verdict is 1: one of the saved runs failed
                raise RuntimeError(f"{name} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return {name: statistics.median(values) for name, values in times.items()}


def start_rows(medians: dict[str, float], *, where: str, repeat: int) -> list[Row]:
    rows = []
    for label, what in (("version", "`--version`"), ("report", f"a finished `report` ({REPORT_RUNS} runs)")):
        without, with_ = medians[f"plain {label}"], medians[f"bytecode {label}"]
        rows.append(Row(f"8. Start to {what}, {where}: without -> with bytecode", "faster with",
                        f"{without * 1000:.0f} -> {with_ * 1000:.0f} ms", with_ < without,
                        f"{(without - with_) * 1000:.0f} ms ({(without - with_) / without:.0%}) saved; median of "
                        f"{repeat}, interleaved"))
    return rows


def emulated(work: Path, *, repeat: int) -> list[Row]:
    plain, compiled, summary = build_prefixes(work)
    entry = [sys.executable, str(REPO / "entrypoint.py")]
    commands = {f"{variant} {label}": ([*entry, *args], layout_env(prefix))
                for variant, prefix in (("plain", plain), ("bytecode", compiled))
                for label, args in (("version", ("--version",)), ("report", REPORT_ARGS))}
    medians = interleaved(commands, cwd=work, repeat=repeat)
    added = tree_bytes(compiled) - tree_bytes(plain)
    stdlib = Path(sysconfig.get_paths()["stdlib"]).relative_to("/")
    stdlib_added = tree_bytes(compiled / stdlib) - tree_bytes(plain / stdlib)
    gate_added = tree_bytes(compiled / REPO.relative_to("/") / "gate")
    size = Row("8. Bytecode the compile step adds (image layout)", "report", f"{added / 1e6:.1f} MB", None,
               f"standard library {stdlib_added / 1e6:.1f} MB, gate {gate_added / 1e6:.2f} MB; {summary}")
    return [*start_rows(medians, where="image layout", repeat=repeat), size]


def engine() -> str | None:
    for name in ("podman", "docker"):
        if shutil.which(name) and subprocess.run([name, "info"], capture_output=True, check=False).returncode == 0:
            return name
    return None


def containers(work: Path, *, repeat: int) -> list[Row]:
    """The same starts as real containers (``ENGINE run --rm``), when two images are named and an engine runs."""
    images = os.environ.get(IMAGES_VARIABLE, "").split()
    if not images:
        return [Row("8. Containers", "compare", f"skipped: set {IMAGES_VARIABLE}='PLAIN BYTECODE'", None)]
    found = engine()
    if len(images) != 2 or found is None:
        return [Row("8. Containers", "compare", "skipped: needs two images and podman or docker", None)]
    run = [found, "run", "--rm", "--network", "none", "-v", f"{work}:/work", "-w", "/work"]
    commands = {f"{variant} {label}": ([*run, image, *args], None)
                for variant, image in zip(("plain", "bytecode"), images)
                for label, args in (("version", ("--version",)), ("report", REPORT_ARGS))}
    medians = interleaved(commands, cwd=work, repeat=repeat)
    sizes = [int(subprocess.run([found, "image", "inspect", "--format", "{{.Size}}", image], capture_output=True,
                                text=True, check=True).stdout) for image in images]
    size = Row("8. Image size: without -> with bytecode", "report",
               f"{sizes[0] / 1e6:.1f} -> {sizes[1] / 1e6:.1f} MB", None,
               f"+{(sizes[1] - sizes[0]) / 1e6:.1f} MB ({(sizes[1] - sizes[0]) / sizes[0]:.1%}); {found} image inspect")
    return [*start_rows(medians, where=f"{found} run", repeat=repeat), size]


def run(*, quick: bool) -> Result:
    repeat = 7 if quick else 21
    with tempfile.TemporaryDirectory(prefix="dq-bytecode-") as tmp:
        work = Path(tmp)
        write_saved_responses(work / "saved.json", runs=REPORT_RUNS)
        rows = emulated(work, repeat=repeat) + containers(work, repeat=repeat)
    return Result(tuple(rows))
