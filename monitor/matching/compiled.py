"""The matcher's hot modules compiled to C by mypyc, and pure Python when they are not.

`make setup` runs `main()` here (`make compile`): one mypyc build of
COMPILED into extension modules beside their sources (normalize.cpython-311-….so beside
normalize.py), which Python imports in preference to the .py. Without a C compiler or Python's
headers the build is skipped and the same modules run as pure Python, with the same outputs
(`python -m benchmarks.match_outputs --check`). monitor/matching/__init__.py calls
`prefer_source()` before any of them is imported: the sources run instead of the build when
HEISHI_MATCHER_COMPILED is off, or when a source is newer than the build (edited or checked
out since: the build would run old code).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# The modules holding at least 3% of the matcher's time in Python code (cProfile's own time,
# pure Python, heishi bench matcher's mixes: matcher 27-33%, model 8-16%, scoring 9-13%,
# features 5-9%, normalize 8-9%, extract 3-4%); keyword_scope, digit_runs and contacts hold
# less than the build costs. One mypyc group, so calls between them are C calls.
COMPILED = (
    "monitor.matching.normalize",
    "monitor.matching.extract",
    "monitor.matching.scoring",
    "monitor.matching.features",
    "monitor.matching.model",
    "monitor.matching.matcher",
)
# The group's shared library (mypyc's runtime and every module's code): monitor/matching/
# compiled_core__mypyc.*.so; each module's own .so is a small shim that loads it.
GROUP = "monitor.matching.compiled_core"


def _source(module: str) -> Path:
    return HERE / (module.rsplit(".", 1)[1] + ".py")


def _extension(module: str) -> Path | None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    path = HERE / (module.rsplit(".", 1)[1] + suffix)
    return path if path.exists() else None


def built() -> list[str]:
    """The modules here with an extension module beside their source: COMPILED after
    `make compile`, or what an older build compiled."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    names = (path.name.removesuffix(suffix) for path in HERE.glob("*" + suffix))
    return sorted(f"{__package__}.{name}" for name in names if (HERE / f"{name}.py").exists())


def stale() -> list[str]:
    """Built modules whose source changed after the build. Their code is in the group's
    shared library; a module's own .so is a shim that a rebuild leaves as it was."""
    library = _extension(GROUP + "__mypyc")
    if library is None:
        return built()
    built_at = library.stat().st_mtime
    return [module for module in built() if _source(module).stat().st_mtime > built_at]


def switched_off() -> bool:
    """HEISHI_MATCHER_COMPILED=off: run the sources even where a build is there."""
    from monitor import settings

    return not settings.current().matcher_compiled


class _Sources(importlib.abc.MetaPathFinder):
    """Finds the built modules as their .py files, ahead of their extension modules."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


def prefer_source() -> None:
    """Import the built modules from their sources when the build is switched off or stale.
    All or none: a compiled module calls its group's compiled code directly, never the
    source."""
    modules = built()
    if not modules or any(isinstance(f, _Sources) for f in sys.meta_path):
        return
    if switched_off():
        sys.meta_path.insert(0, _Sources(modules))
        return
    changed = stale()
    if changed:
        log.warning(
            "%s changed since the matcher was compiled: running its pure-Python form "
            "(make compile rebuilds it)",
            ", ".join(m.rsplit(".", 1)[1] + ".py" for m in changed),
        )
        sys.meta_path.insert(0, _Sources(modules))


def is_compiled() -> bool:
    """Whether the matcher imported (or would import) its compiled form."""
    module = sys.modules.get("monitor.matching.matcher")
    if module is not None:
        return not str(module.__file__).endswith(".py")
    return bool(built()) and not switched_off() and not stale()


def compiler_missing() -> str | None:
    """Why this machine cannot build extension modules (None: it can)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers ({headers})"
    return None


def build(build_dir: Path) -> int:
    """Compile COMPILED in place with mypyc; the exit status of the build."""
    # A clean build, or none: no shim left of a module an older build compiled (it would load
    # a shared library without its code: AttributeError ... 'init_monitor___matching___...').
    _remove_build(build_dir)
    missing = compiler_missing()
    if missing:
        print(f"compile: {missing}: the matcher stays pure Python (same outputs, slower)")
        return 0
    root = HERE.parent.parent
    build_dir.mkdir(parents=True, exist_ok=True)
    script = build_dir / "setup.py"
    # The C compiler at -O1: 37-41 s against 52 s for -O2 here (warm mypy cache, load 1),
    # and heishi bench matcher within its spread (listings 0.43-0.44x against 0.45-0.48x,
    # forum 2.66-2.70x against 2.75-3.15x): CI runs this build on every clean clone.
    paths = [str(_source(m).relative_to(root)) for m in COMPILED]
    script.write_text(
        "from setuptools import setup\n"
        "from mypyc.build import mypycify\n"
        f"setup(name='heishi_compiled', ext_modules=mypycify({paths!r}, "
        f"group_name={GROUP!r}, target_dir={str(build_dir)!r}, opt_level='1'))\n",
        encoding="utf-8",
    )
    command = [sys.executable, str(script), "-q", "build_ext", "--inplace"]
    command += ["--build-temp", str(build_dir / "temp")]
    started = time.monotonic()
    # mypyc's notes (a generator read as a list) and setuptools' warnings only in the log.
    with (build_dir / "build.log").open("w", encoding="utf-8") as out:
        status = subprocess.run(command, cwd=root, stdout=out, stderr=out, check=False)
    seconds = time.monotonic() - started
    if status.returncode != 0:
        print((build_dir / "build.log").read_text(encoding="utf-8")[-4000:], file=sys.stderr)
        print(f"compile: mypyc failed (exit {status.returncode})", file=sys.stderr)
        return status.returncode
    print(f"compile: {len(COMPILED)} matcher modules compiled by mypyc in {seconds:.0f} s")
    return 0


def _remove_build(build_dir: Path) -> None:
    for path in HERE.glob("*" + importlib.machinery.EXTENSION_SUFFIXES[0]):
        path.unlink()
    shutil.rmtree(build_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--build-dir", type=Path, default=Path("build/compiled"))
    parser.add_argument("--clean", action="store_true", help="remove the build, run pure Python")
    args = parser.parse_args(argv)
    if args.clean:
        _remove_build(args.build_dir)
        return 0
    return build(args.build_dir)
