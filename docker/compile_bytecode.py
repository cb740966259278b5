"""Image build step: compile the gate and every module a full gate run imports to bytecode, once."""

from __future__ import annotations

import compileall
import importlib.util
import os
import py_compile
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

# The image never changes its sources, so the interpreter need not check them: unchecked-hash .pyc files are
# used as they are, whatever timestamps the build (or a reproducible-build rewrite) gives the sources.
MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH
#: Imports every module of the gate, so modules only some platforms or commands use are compiled too.
IMPORT_ALL = (
    "import importlib, pkgutil, gate\n"
    "for info in pkgutil.walk_packages(gate.__path__, 'gate.'):\n"
    "    if not info.name.endswith('__main__'):\n"
    "        importlib.import_module(info.name)\n"
)


def imported_modules(command: list[str], *, cwd: str, app: Path) -> set[str]:
    """Names of the modules ``command`` imports, from ``python -X importtime`` (it survives ``os._exit``)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(app), "PYTHONDONTWRITEBYTECODE": "1"}
    if "PYTHONPYCACHEPREFIX" in os.environ:
        env["PYTHONPYCACHEPREFIX"] = os.environ["PYTHONPYCACHEPREFIX"]
    result = subprocess.run([sys.executable, "-X", "importtime", *command], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise SystemExit(f"compile_bytecode: {' '.join(command)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and not line.rstrip().endswith("imported package"):
            name = line.rsplit("|", 1)[1].strip()
            # A package imported only as its submodules' parent can lack a line of its own (charset_normalizer).
            parts = name.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def source_files(names: set[str]) -> set[Path]:
    """The .py files behind module names that have no bytecode yet (pip compiled the pinned packages when it
    installed them; compiling them again would only store a second copy in this layer). Built-in, frozen and
    extension modules have no source."""
    files = set()
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py") and not Path(importlib.util.cache_from_source(origin)).exists():
            files.add(Path(origin))
    return files


def main(app: Path) -> int:
    sys.path.insert(0, str(app))
    with tempfile.TemporaryDirectory() as scratch:
        names = imported_modules([str(app / "entrypoint.py"), "demo"], cwd=scratch, app=app)
        names |= imported_modules([str(app / "entrypoint.py"), "--version"], cwd=scratch, app=app)
        names |= imported_modules(["-c", IMPORT_ALL], cwd=scratch, app=app)
    files = source_files(names)
    for path in sorted(files):
        py_compile.compile(str(path), doraise=True, invalidation_mode=MODE)
    if not compileall.compile_dir(str(app / "gate"), quiet=1, force=True, invalidation_mode=MODE):
        raise SystemExit("compile_bytecode: the gate's code did not compile")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    from_stdlib = sum(1 for path in files if path.is_relative_to(stdlib))
    print(f"compile_bytecode: {len(files)} imported modules without bytecode compiled ({from_stdlib} of the "
          f"standard library), and every module of {app / 'gate'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent))
