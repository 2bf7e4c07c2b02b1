"""`heishi learn`: retrain the learned score from the store's reviewed alerts and the labelled
files; show the change on the frozen test split; `--adopt` to put it in force."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option, store_path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "learn",
        help="retrain the model from confirmed and dismissed alerts; --adopt to use it",
    )
    add_db_option(parser)
    parser.add_argument("--keywords", metavar="DIR", help="keyword directory (default: keywords/)")
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="write the new model if it does not regress on the test split",
    )
    parser.add_argument("--test", metavar="FILE.jsonl", help="the held-out set (default: test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=cmd_learn)


def cmd_learn(args: argparse.Namespace) -> int:
    from monitor.matching.learn import learn
    from monitor.render import console as make_console
    from monitor.render import plain

    errors = make_console(stderr=True)
    report = learn(
        store_path(args),
        args.keywords,
        adopt=args.adopt,
        test_path=args.test,
        progress=None if args.json else (lambda m: errors.print(plain(m, style="dim"))),
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
        return 0
    console = make_console()
    labels = report["store_labels"]
    old, new = report["comparison"]["old"], report["comparison"]["new"]
    console.print(
        plain(
            f"learned from {labels['confirmed']} confirmed and {labels['dismissed']} dismissed "
            f"alerts and the labelled files: model {str(report['old_model'])[:8]} -> "
            f"{report['new_model'][:8]}"
        )
    )
    console.print(plain(f"on the frozen test split ({old['examples']} texts):"))
    for metric in ("precision", "recall", "f1", "category_exact", "category_micro_f1"):
        change = new[metric] - old[metric]
        console.print(
            plain(f"  {metric:18} {old[metric]:.3f} -> {new[metric]:.3f} ({change:+.3f})")
        )
    if report["adopted"]:
        console.print(plain("adopted: the new model is in force", style="bold green"))
    else:
        console.print(plain("not adopted (run with --adopt to put it in force)"))
    return 0
