"""The adoption rule of docs/matching.md, measured: the model the working tree trains against
the shipped one, point by point.

    python -m benchmarks.adoption [--shipped REV] [--shared PATH] [--write]

1. Honest dev: each recipe fitted on the training texts alone (`--final-fit train`) and
   evaluated on today's tests/data/eval/dev.jsonl. The shipped model's recipe is the commit
   that first committed the model file now in keywords/model.json (the same `version`; a
   model withdrawn and put back keeps the commit it was trained at), or REV: its code and its
   training texts, trained in a copy of that commit.
2. The shared dev set: the shipped file and the candidate (fitted on train and dev).
Each model is measured with the code and keyword lists it is trained with: the shipped
model's in the copy of its commit, the candidate's in the working tree.
3. Ordinary text (benchmarks/ordinary.py) with the candidate.

The test split is never read. With `--write` the candidate replaces keywords/model.json when
every point holds. Trains three models: minutes on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from monitor.settings import child_environment

ROOT = Path(__file__).resolve().parent.parent
SHARED_DEV = Path("/work/shared/eval/dev.jsonl")
DISCUSSION = ("news", "court", "report")
MIN_PRECISION = 0.97
MAX_ORDINARY_RATE = 0.0002


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def _environment() -> dict[str, str]:
    """The environment of a training run: the checkout's own keyword lists, never a
    directory the caller's environment points at."""
    env = child_environment()
    env.pop("HEISHI_KEYWORDS_DIR", None)
    return env


def _train(tree: Path, out: Path, final_fit: str) -> None:
    """Train with the code and labelled texts of `tree` (python -m imports from its cwd)."""
    command = [sys.executable, "-m", "monitor.matching.training", "--final-fit", final_fit]
    subprocess.run(
        [*command, "--out", str(out)],
        cwd=tree,
        env=_environment(),
        check=True,
        capture_output=True,
    )


def _keywords_with(model: Path, directory: Path, tree: Path = ROOT) -> Path:
    """The keyword lists of `tree` in `directory`, with `model` as their model file."""
    directory.mkdir(parents=True)
    for path in (tree / "keywords").glob("*.toml"):
        shutil.copy(path, directory / path.name)
    shutil.copy(model, directory / "model.json")
    return directory


# Run in a tree's own code: the figures `_figures` reads, as JSON.
_EVALUATE = """
import json, sys
from monitor.matching.evaluate import evaluate_file
from monitor.matching.matcher import load_matcher
print(json.dumps(evaluate_file(sys.argv[1], load_matcher(sys.argv[2]))))
"""


def _figures(path: Path, keywords: Path, tree: Path = ROOT) -> dict[str, Any]:
    """The rule's figures of a model on a labelled file, matched by the code of `tree`: the
    shipped model is measured with the code that ships it (features computed by newer code
    are not the ones its weights were fitted to)."""
    command = [sys.executable, "-c", _EVALUATE, str(path), str(keywords)]
    done = subprocess.run(
        command, cwd=tree, env=_environment(), check=True, capture_output=True, text=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    genres = report.get("genres", {})
    return {
        "version": report.get("model_version", "")[:8],
        "precision": report["precision"],
        "recall": report["recall"],
        "category_exact": report["category_exact"],
        "false_alerts": report["fp"],
        "discussion_false_alerts": sum(
            genres.get(g, {}).get("false_alerts", 0) for g in DISCUSSION
        ),
    }


def _ordinary_rate(keywords: Path, out: Path) -> float:
    env = _environment() | {"HEISHI_KEYWORDS_DIR": str(keywords)}
    command = [sys.executable, "-m", "benchmarks.ordinary", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return float(json.loads(out.read_text(encoding="utf-8"))["rate"])


def _version_at(commit: str) -> str | None:
    try:
        data = json.loads(_git("show", f"{commit}:keywords/model.json"))
    except (subprocess.CalledProcessError, ValueError):
        return None
    return data.get("version") if isinstance(data, dict) else None


def shipped_recipe() -> str:
    """The commit the shipped model was trained at: the oldest commit whose keywords/model.json
    has the version of the file in the checkout (after a withdrawal, the commit that puts the
    old file back changed the file but trained nothing); the last commit that changed the
    file when none has it."""
    history = _git("log", "--format=%H", "--", "keywords/model.json").decode().split()
    current = json.loads((ROOT / "keywords" / "model.json").read_text(encoding="utf-8"))
    same = [c for c in history if _version_at(c) == current.get("version")]
    if same:
        return same[-1]
    return history[0] if history else _git("rev-parse", "HEAD").decode().strip()


def measure(shipped: str, shared: Path, work: Path) -> dict[str, Any]:
    """Every figure the rule reads, for the shipped model (commit `shipped`) and the
    candidate the working tree trains."""
    tree = work / "shipped-tree"
    tree.mkdir()
    with tarfile.open(fileobj=BytesIO(_git("archive", shipped))) as archive:
        archive.extractall(tree, filter="data")
    (work / "shipped.json").write_bytes(_git("show", f"{shipped}:keywords/model.json"))
    _train(tree, work / "shipped-honest.json", "train")
    _train(ROOT, work / "candidate-honest.json", "train")
    _train(ROOT, work / "candidate.json", "train+dev")
    dev = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
    trees = {"shipped-honest": tree, "shipped": tree, "candidate-honest": ROOT, "candidate": ROOT}
    directories = {
        name: _keywords_with(work / f"{name}.json", work / f"keywords-{name}", trees[name])
        for name in trees
    }
    figures: dict[str, Any] = {
        "dev": {
            "shipped": _figures(dev, directories["shipped-honest"], tree),
            "candidate": _figures(dev, directories["candidate-honest"]),
        },
        "ordinary_rate": _ordinary_rate(directories["candidate"], work / "ordinary.json"),
    }
    if shared.is_file():
        figures["shared"] = {
            "shipped": _figures(shared, directories["shipped"], tree),
            "candidate": _figures(shared, directories["candidate"]),
        }
    return figures


def points(figures: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each point of the rule and whether it holds."""
    dev_old, dev_new = figures["dev"]["shipped"], figures["dev"]["candidate"]
    out = [
        (f"dev precision >= {MIN_PRECISION}", dev_new["precision"] >= MIN_PRECISION),
        (
            "dev discussion false alerts do not rise",
            dev_new["discussion_false_alerts"] <= dev_old["discussion_false_alerts"],
        ),
        ("dev recall does not drop", dev_new["recall"] >= dev_old["recall"] - 1e-9),
        (
            "dev category exact does not drop",
            dev_new["category_exact"] >= dev_old["category_exact"] - 1e-9,
        ),
    ]
    if "shared" in figures:
        old, new = figures["shared"]["shipped"], figures["shared"]["candidate"]
        for name in ("precision", "recall", "category_exact"):
            out.append((f"shared dev {name} does not drop", new[name] >= old[name] - 1e-9))
        out.append(
            ("shared dev false alerts do not rise", new["false_alerts"] <= old["false_alerts"])
        )
    out.append(
        (f"ordinary text <= {MAX_ORDINARY_RATE:.2%}", figures["ordinary_rate"] <= MAX_ORDINARY_RATE)
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adoption", description=__doc__)
    parser.add_argument(
        "--shipped",
        metavar="REV",
        help="the commit the shipped model was trained at (default: the oldest commit "
        "holding keywords/model.json's version)",
    )
    parser.add_argument("--shared", type=Path, default=SHARED_DEV, help="the shared dev set")
    parser.add_argument("--write", action="store_true", help="adopt the candidate if it passes")
    args = parser.parse_args(argv)
    shipped = args.shipped.strip() if args.shipped else shipped_recipe()
    with tempfile.TemporaryDirectory(prefix="heishi-adoption-") as name:
        work = Path(name)
        figures = measure(shipped, args.shared, work)
        print(f"shipped model's commit {shipped[:10]}")
        for split in ("dev", "shared"):
            for side in ("shipped", "candidate"):
                if split in figures:
                    print(f"  {split:6} {side:9} {figures[split][side]}")
        print(f"  ordinary text, candidate: {figures['ordinary_rate']:.4%}")
        verdict = points(figures)
        for point, holds in verdict:
            print(f"  {'ok  ' if holds else 'FAIL'} {point}")
        adopted = all(holds for _, holds in verdict)
        if adopted and args.write:
            shutil.copy(work / "candidate.json", ROOT / "keywords" / "model.json")
            print("keywords/model.json is the candidate")
    print("adopt" if adopted else "do not adopt")
    return 0 if adopted else 1


if __name__ == "__main__":
    sys.exit(main())
