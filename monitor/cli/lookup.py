"""`heishi lookup`: did a phone, ID or card number appear in any listing, and where; or a
whole list of them at once (`--file customers.csv`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from monitor.cli.app import add_db_option

KIND_OPTIONS = (("phone", "phone"), ("id", "id_number"), ("card", "bank_card"))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "lookup",
        help="whether a phone, ID or card number appeared in any listing (by keyed hash)",
        description="Looks numbers up by their keyed hash: the store holds no clear numbers. "
        "Give '-' to read numbers from standard input, one a line (kept out of the shell "
        "history). --file reads a CSV or text file (or '-'): every cell is read, whatever its "
        "column, and each number's kind (mobile, ID, bank card) is told from the number; the "
        "report shows numbers only masked, with the rows they stood on.",
    )
    add_db_option(parser)
    number = parser.add_mutually_exclusive_group(required=True)
    number.add_argument("--phone", metavar="NUMBER", help="a mainland mobile number, or -")
    number.add_argument("--id", metavar="NUMBER", help="an 18-character ID number, or -")
    number.add_argument("--card", metavar="NUMBER", help="a bank card number, or -")
    number.add_argument(
        "--file",
        metavar="FILE",
        help="a list of numbers of any kind: CSV or one a line (- reads stdin)",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(func=cmd_lookup)


def _secret() -> tuple[bytes, Path]:
    from monitor.config import secret_path
    from monitor.errors import HeishiError

    key_path = secret_path()
    # Never create a key here: a new one would silently find nothing.
    if not key_path.exists():
        raise HeishiError(
            f"no install secret at {key_path}: the store's hashes were made with its key",
            hint="set HEISHI_SECRET_FILE to the key file the crawls use",
        )
    return bytes.fromhex(key_path.read_text().strip()), key_path


def cmd_lookup(args: argparse.Namespace) -> int:
    from monitor.analysis.lookup import lookup
    from monitor.config import db_path
    from monitor.store import open_store

    kind, number = next(
        ((kind, getattr(args, option)) for option, kind in KIND_OPTIONS if getattr(args, option)),
        (None, None),
    )
    if args.file is not None or number == "-":
        return _bulk(args, kind)
    assert kind is not None and number is not None
    secret, key_path = _secret()
    with open_store(db_path(args.db), readonly=True) as store:
        result = lookup(store, kind, number, secret, key_source=f"the key in {key_path}")
    _warn_about_keys(result.other_keys, result.key_checked, result.found, key_path)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    _print_result(result)
    return 0


def _bulk(args: argparse.Namespace, kind: str | None) -> int:
    from monitor.analysis.bulk_lookup import bulk_lookup, read_cells
    from monitor.config import db_path
    from monitor.errors import HeishiError
    from monitor.store import open_store

    if args.file in (None, "-"):
        text, source = sys.stdin.read(), "standard input"
    else:
        path = Path(args.file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise HeishiError(f"cannot read {path}: {exc.strerror}") from None
        text, source = _decoded(data, path), path.name
    secret, key_path = _secret()
    cells = read_cells(text, one_per_line=args.file is None)
    with open_store(db_path(args.db), readonly=True) as store:
        report = bulk_lookup(
            store, cells, secret, source=source, kind=kind, key_source=f"the key in {key_path}"
        )
    _warn_about_keys(report.other_keys, report.key_checked, bool(report.found), key_path)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    print_bulk_report(report)
    return 0


def _decoded(data: bytes, path: Path) -> str:
    """A customer list as text: UTF-8 (with or without BOM), else GB18030 (Excel in China)."""
    from monitor.errors import HeishiError

    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise HeishiError(f"{path} is neither UTF-8 nor GB18030 text", hint="save it as UTF-8 CSV")


def _warn_about_keys(other_keys: int, key_checked: bool, found: bool, key_path: Path) -> None:
    if other_keys:
        print(
            f"heishi: {other_keys} other key(s) also hashed numbers in this store; "
            "numbers they hashed cannot be found with this one",
            file=sys.stderr,
        )
    elif not key_checked and not found:
        print(
            "heishi: this store does not record which key hashed its numbers; if it was not "
            f"the key in {key_path}, nothing can be found",
            file=sys.stderr,
        )


def _print_result(result) -> None:
    from rich.table import Table

    from monitor.analysis.lookup import KIND_NAMES
    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    line = plain(f"{KIND_NAMES[result.kind]} ") + plain(result.masked, style="bold")
    if not result.found:
        console.print(line + plain(": not seen in any listing"))
        return
    console.print(
        line
        + plain(
            f": in {result.listings} listing(s), {result.versions} version(s), on "
            f"{', '.join(result.sources)}; first seen {result.first_seen}, "
            f"last seen {result.last_seen}"
        )
    )
    table = Table("listing", "source", "title", "status", "versions", "first seen", "last seen")
    for s in result.sightings:
        table.add_row(
            *(
                plain(value)
                for value in (
                    s.listing_id,
                    f"{s.source}:{s.site_id}",
                    s.title or "",
                    s.status + ("" if s.in_current_version else " (no longer quoted)"),
                    s.versions,
                    s.first_seen or "",
                    s.last_seen or "",
                )
            )
        )
    console.print(table)


def print_bulk_report(report) -> None:
    """What was read, then one row per (number, listing) where a number was seen."""
    from rich.table import Table

    from monitor.analysis.lookup import KIND_NAMES
    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    kinds = ", ".join(f"{n} {KIND_NAMES[k]}" for k, n in report.by_kind().items() if n)
    summary = (
        f"{report.source}: {report.cells} cell(s), {len(report.numbers)} distinct number(s)"
        + (f" ({kinds})" if kinds else "")
    )
    if report.skipped:
        summary += f", {report.skipped} cell(s) with no number"
    console.print(plain(summary))
    if report.invalid:
        where = ", ".join(f"row {u.row} column {u.column}" for u in report.invalid[:10])
        more = f" and {len(report.invalid) - 10} more" if len(report.invalid) > 10 else ""
        console.print(
            plain(f"{len(report.invalid)} cell(s) are not valid numbers: {where}{more}", "yellow")
        )
    found = report.found
    if not found:
        console.print(plain("none of the numbers was seen in any listing", style="bold"))
        return
    console.print(
        plain(f"{len(found)} of {len(report.numbers)} number(s) seen in listings:", style="bold")
    )
    table = Table("number", "kind", "row(s)", "listing", "source", "title", "status", "last seen")
    for number in found:
        rows = ", ".join(str(r) for r in number.rows)
        if number.occurrences > len(number.rows):
            rows += ", …"
        for index, s in enumerate(number.result.sightings):
            first = index == 0
            table.add_row(
                plain(number.masked if first else "", style="bold"),
                plain(KIND_NAMES[number.kind] if first else ""),
                plain(rows if first else ""),
                plain(s.listing_id),
                plain(f"{s.source}:{s.site_id}"),
                plain(s.title or ""),
                plain(s.status + ("" if s.in_current_version else " (no longer quoted)")),
                plain(s.last_seen or ""),
            )
    console.print(table)
