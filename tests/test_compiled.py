"""The compiled matcher (monitor/matching/compiled.py): the same outputs as its Python
sources, and the sources run when the build is stale or switched off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.matching import compiled

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"

# Matches the first 200 labelled texts of a set; prints the outputs and whether it ran compiled.
MATCH_ALL = """
import itertools, json, sys
from monitor.matching.compiled import is_compiled
from monitor.matching.matcher import load_matcher
matcher = load_matcher()
rules = matcher.without_model()
out = []
for line in itertools.islice(open(sys.argv[1], encoding="utf-8"), 200):
    row = json.loads(line)
    title, text = row.get("title", ""), row.get("text", "")
    out.append([matcher.match(title, text).to_dict(), rules.match(title, text, first_pass=False).to_dict()])
print(json.dumps({"compiled": is_compiled(), "outputs": out}, sort_keys=True, ensure_ascii=False))
"""


def _match_all(path: Path, switch: str) -> dict:
    env = {**os.environ, "HEISHI_MATCHER_COMPILED": switch}
    result = subprocess.run(
        [sys.executable, "-c", MATCH_ALL, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(not compiled.built(), reason="the matcher is not compiled here (make compile)")
def test_the_compiled_matcher_gives_what_its_sources_give():
    labelled = DATA / "eval" / "dev.jsonl"
    built = _match_all(labelled, "on")
    sources = _match_all(labelled, "off")
    assert built["compiled"] == (not compiled.stale())
    assert sources["compiled"] is False
    assert len(built["outputs"]) == 200
    assert built["outputs"] == sources["outputs"]


def test_a_source_newer_than_the_build_is_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(compiled, "HERE", tmp_path)
    suffix = compiled.importlib.machinery.EXTENSION_SUFFIXES[0]
    # What the build compiles, and a shim an older build left (contacts.py was compiled once).
    names = [m.rsplit(".", 1)[1] for m in compiled.COMPILED] + ["contacts"]
    for name in names:
        (tmp_path / f"{name}.py").write_text("")
        (tmp_path / f"{name}{suffix}").write_text("")
    library = tmp_path / f"compiled_core__mypyc{suffix}"
    library.write_text("")
    os.utime(library, (2_000_000_000, 2_000_000_000))
    assert compiled.built() == sorted(f"monitor.matching.{name}" for name in names)
    assert compiled.stale() == []
    for edited in ("scoring.py", "contacts.py"):
        os.utime(tmp_path / edited, (2_000_000_100, 2_000_000_100))
    assert compiled.stale() == ["monitor.matching.contacts", "monitor.matching.scoring"]
    library.unlink()
    assert compiled.stale() == compiled.built()
