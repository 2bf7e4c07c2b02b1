"""`heishi keywords test|lint` and `heishi eval`: try the matcher, check keyword files, measure."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keywords", help="try the matcher on a text; check keyword files")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    test = actions.add_parser("test", help="what the matcher finds in a text, and why")
    test.add_argument("text", metavar="TEXT")
    test.add_argument("--title", default="", help="the listing's title")
    test.add_argument("--keywords", metavar="DIR", help="keyword directory (default: keywords/)")
    test.add_argument("--threshold", type=float, help="alert threshold")
    test.add_argument("--source", help="match as a listing of this source (scoped lists)")
    test.add_argument("--kind", help="match as a listing of this spider kind: forum, ...")
    test.add_argument("--json", action="store_true")
    test.set_defaults(func=cmd_test)
    lint = actions.add_parser("lint", help="check keyword files; problems name file and line")
    lint.add_argument("dir", nargs="?", metavar="DIR")
    lint.add_argument("--sites", metavar="DIR", help="site files that scoped sources must name")
    lint.add_argument("--json", action="store_true")
    lint.set_defaults(func=cmd_lint)

    evaluate = sub.add_parser("eval", help="precision, recall and categories on labelled listings")
    evaluate.add_argument("file", metavar="FILE.jsonl", nargs="?", help="a labelled file")
    evaluate.add_argument(
        "--set",
        dest="eval_set",
        metavar="test|dev|train|PATH",
        help="a split of tests/data/eval (or a path): the same as giving FILE",
    )
    evaluate.add_argument("--threshold", type=float, help="alert threshold")
    evaluate.add_argument("--keywords", metavar="DIR", help="keyword directory")
    evaluate.add_argument(
        "--against",
        metavar="OLD_DIR",
        help="compare with the rules in this keyword directory: deltas and flipped examples",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)


def cmd_test(args: argparse.Namespace) -> int:
    from monitor.matching.matcher import load_matcher

    if args.kind is not None:
        from monitor.errors import HeishiError
        from monitor.matching.keyword_scope import spider_kinds

        if args.kind not in spider_kinds():
            raise HeishiError(
                f"unknown spider kind {args.kind!r}", hint="one of " + ", ".join(spider_kinds())
            )
    matcher = load_matcher(args.keywords, threshold=args.threshold)
    # Full analysis even for text the first pass would decide: show every hit and fact.
    result = matcher.match(
        args.title, args.text, first_pass=False, source=args.source, kind=args.kind
    )
    left_out = matcher.view(args.source, args.kind).excluded
    if args.json:
        report = result.to_dict()
        report["rules_version"] = matcher.rules_version
        report["threshold"] = matcher.alert_threshold
        report["lists_not_applied"] = [scope.file for scope in left_out]
        print(json.dumps(report, ensure_ascii=False))
        return 0
    from rich.table import Table
    from rich.text import Text

    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    verdict = "[bold red]ALERT[/]" if result.alert else "[green]no alert[/]"
    learned = (
        f"  probability [bold]{result.probability:.2f}[/] (model {matcher.model_version[:8]}, "
        f"threshold {matcher.alert_threshold:.2f})"
        if result.probability is not None and matcher.model_version
        else ""
    )
    console.print(
        f"{verdict}  rules score [bold]{result.score:g}[/] (threshold {matcher.threshold:g})"
        f"{learned}  ",
        plain(
            f"categories: {', '.join(result.categories) or '-'}"
            + (f"  brands: {', '.join(result.brands)}" if result.brands else "")
        ),
        sep="",
    )
    for name, value in (("title", args.title), ("text", args.text)):
        if not value:
            continue
        console.print(Text(f"{name}: ", style="bold") + highlighted(value, result.hits, name))
    table = Table(title="hits")
    for column in ("field", "term", "surface", "role", "category", "weight", "span"):
        table.add_column(column)
    for hit in result.hits:
        table.add_row(
            *(
                plain(value)
                for value in (
                    hit.field,
                    hit.term,
                    hit.surface,
                    hit.role,
                    hit.category or "",
                    f"{hit.weight:g}",
                    f"{hit.start}-{hit.end}",
                )
            )
        )
    console.print(table)
    ex = result.extraction
    facts = {
        "prices": [
            f"{p.text} ({p.amount:g} {p.currency}{' / ' + p.per if p.per else ''})"
            for p in ex.prices
        ],
        "volumes": [f"{v.text} ({v.count:,})" for v in ex.volumes],
        "contacts": [f"{c.kind} {c.value}" for c in ex.contacts],
        "sample offer": ["yes"] if ex.sample_offer else [],
        "freshness": ex.freshness,
        "data fields": ex.data_fields,
    }
    for label, values in facts.items():
        if values:
            console.print(plain(f"{label}:", style="bold"), plain(", ".join(values)))
    for scope in left_out:
        console.print(plain(f"not applied here: {scope.file} ({scope.describe()})", style="dim"))
    console.print("[bold]reasons:[/]")
    for reason in result.reasons:
        console.print(plain(f"  - {reason}"))
    return 0


def highlighted(value: str, hits, field: str):
    """`value` as rich Text with the matched spans styled by role."""
    from monitor.render import plain

    styles = {
        "context": "underline blue",
        "negated": "strike",
        "brand": "bold magenta",
        "sale": "bold yellow",
        "contact": "bold yellow",
        "sample": "yellow",
        "fresh": "yellow",
    }
    text = plain(value)
    for hit in hits:
        if hit.field == field and hit.end > hit.start:
            text.stylize(styles.get(hit.role, "bold red"), hit.start, hit.end)
    return text


def cmd_lint(args: argparse.Namespace) -> int:
    from monitor import config
    from monitor.matching.keyword_scope import scope_warnings
    from monitor.matching.keywords import lint_keywords
    from monitor.matching.rules_version import model_lists_warning

    problems = lint_keywords(args.dir)
    warnings = scope_warnings(args.dir, args.sites)
    stale_model = model_lists_warning(args.dir or config.keywords_dir())
    if stale_model is not None:
        warnings.append(stale_model)
    if args.json:
        print(json.dumps({"problems": problems, "warnings": warnings}, ensure_ascii=False))
    else:
        for problem in problems + warnings:
            print(problem)
        if not problems:
            print("keyword files OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return 1 if problems else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.matching.evaluate import eval_set_path, evaluate_file
    from monitor.matching.matcher import load_matcher

    if (args.file is None) == (args.eval_set is None):
        raise HeishiError("give one labelled set", hint="FILE.jsonl or --set test|dev|train|PATH")
    args.file = str(eval_set_path(args.file or args.eval_set))
    matcher = load_matcher(args.keywords, threshold=args.threshold)
    if args.against:
        return _compare(args, matcher)
    report = evaluate_file(args.file, matcher=matcher)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    model = report.get("model_version")
    console.print(
        f"{report['examples']} examples, threshold {report['threshold']:g}"
        f"{f' (model {model[:8]})' if model else ' (rules score)'}: "
        f"precision [bold]{report['precision']:.3f}[/]  recall [bold]{report['recall']:.3f}[/]  "
        f"F1 [bold]{report['f1']:.3f}[/]  category_exact [bold]{report['category_exact']:.3f}[/]"
        f"  category micro-F1 [bold]{report['category_micro_f1']:.3f}[/]"
        f"  (tp {report['tp']}, fp {report['fp']}, fn {report['fn']}, tn {report['tn']})"
    )
    genres = Table(title="alerts per genre (false alerts for every genre but offer)")
    for column in ("genre", "texts", "alerts", "rate"):
        genres.add_column(column)
    for name, cell in report["genres"].items():
        alerts = cell.get("false_alerts", cell.get("alerts", 0))
        genres.add_row(plain(name), str(cell["texts"]), str(alerts), f"{cell['rate']:.1%}")
    console.print(genres)
    curve = Table(title="precision/recall over thresholds")
    for column in ("threshold", "precision", "recall", "F1", "alerts"):
        curve.add_column(column, justify="right")
    for point in report["curve"]:
        curve.add_row(
            f"{point['threshold']:g}",
            f"{point['precision']:.3f}",
            f"{point['recall']:.3f}",
            f"{point['f1']:.3f}",
            str(point["alerts"]),
        )
    console.print(curve)
    table = Table(title="per category")
    for column in ("category", "tp", "fp", "fn", "precision", "recall", "f1"):
        table.add_column(column)
    for name, cell in report["categories"].items():
        table.add_row(
            plain(name),
            str(cell["tp"]),
            str(cell["fp"]),
            str(cell["fn"]),
            f"{cell['precision']:.2f}",
            f"{cell['recall']:.2f}",
            f"{cell['f1']:.2f}",
        )
    console.print(table)
    if report["misclassified"]:
        console.print(f"[bold]misclassified ({len(report['misclassified'])}):[/]")
    for row in report["misclassified"]:
        console.print(
            plain(row["id"], style="bold"),
            plain(
                f"{row['kind']} score {row['score']:g} "
                f"gold {row['categories']} predicted {row['predicted']}"
            ),
        )
        console.print(plain(f"  {row['title']} | {row['text'][:120]}"))
        for reason in row["reasons"]:
            console.print(plain(f"    - {reason}"))
    return 0


def _compare(args: argparse.Namespace, matcher) -> int:
    """`heishi eval FILE --against OLD_DIR`: old rules against the new, before going live."""
    from monitor.matching.evaluate import compare_rules, read_examples
    from monitor.matching.matcher import load_matcher

    old_matcher = load_matcher(args.against, threshold=args.threshold)
    report = compare_rules(read_examples(args.file), matcher, old_matcher)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    old, new, delta = report["old"], report["new"], report["delta"]
    console.print(
        plain(
            f"{report['examples']} examples: old rules {old['rules_version'][:8]} "
            f"({args.against}) -> new rules {new['rules_version'][:8]} "
            f"({args.keywords or 'keywords/'})"
        )
    )
    table = Table()
    for column in ("metric", "old", "new", "delta"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for metric, change in delta.items():
        if isinstance(old[metric], float):
            cells = (f"{old[metric]:.3f}", f"{new[metric]:.3f}", f"{change:+.3f}")
        else:
            cells = (str(old[metric]), str(new[metric]), f"{change:+d}")
        style = "" if not change else ("green" if _better(metric, change) else "red")
        table.add_row(metric, *cells[:2], f"[{style}]{cells[2]}[/]" if style else cells[2])
    console.print(table)
    if not report["flipped"]:
        console.print("no example changed its verdict or categories")
    for row in report["flipped"]:
        console.print(
            plain(row["id"], style="bold"),
            plain(
                f"{row['change']}: score {row['old']['score']:g} -> "
                f"{row['new']['score']:g}, categories {row['old']['categories']} -> "
                f"{row['new']['categories']} (gold {row['categories']})"
            ),
        )
        console.print(plain(f"  {row['title']} | {row['text'][:120]}"))
    return 0


def _better(metric: str, change: float) -> bool:
    """Whether a move of `change` in `metric` is an improvement (fewer fp/fn is better)."""
    return change < 0 if metric in ("fp", "fn") else change > 0
