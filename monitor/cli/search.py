"""`heishi search`: full-text search over listings and every earlier version of their text."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option, store_path
from monitor.cli.options import add_since_option
from monitor.numbers import whole_number_argument
from monitor.vocabulary import CATEGORIES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "search",
        help="full-text search of listings, current and past text (Chinese words segmented)",
        description=(
            "Words separated by spaces must all occur; OR between two words makes either do; "
            '"quoted words" must occur together; -word excludes. Traditional and full-width '
            "characters find simplified text. Results are ranked by bm25 (title over text) "
            "among the newest 1000 matching versions; --sort recent lists newest text first."
        ),
    )
    add_db_option(parser)
    parser.add_argument("query", nargs="*", help='e.g. 身份证 四件套, "手持 身份证", 护照 OR 驾照')
    parser.add_argument("--source", help="only listings of this source")
    parser.add_argument(
        "--category",
        choices=CATEGORIES,
        metavar="CATEGORY",
        help="only listings now in this category: " + ", ".join(CATEGORIES),
    )
    add_since_option(parser, "listings last seen")
    parser.add_argument(
        "--limit", type=whole_number_argument(), default=20, help="listings to show (default 20)"
    )
    parser.add_argument("--sort", choices=("relevance", "recent"), default="relevance")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="rebuild the search index from every stored version (after changing keyword lists)",
    )
    parser.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from monitor.analysis.search import QueryError, index_is_current, search
    from monitor.config import db_path

    path = db_path(args.db)
    if args.reindex:
        return _reindex(store_path(args), args.json)
    query = " ".join(args.query).strip()
    if not query:
        raise QueryError("no query given", hint="e.g. heishi search 身份证 四件套")
    with _open(path) as store:
        results = search(
            store,
            query,
            source=args.source,
            category=args.category,
            since=args.since,
            limit=args.limit,
            sort=args.sort,
        )
        current = index_is_current(store)
    if current is False:
        import sys

        print(
            "heishi: the search index was made with other keyword lists than the ones loaded "
            "now, so words they add can be missed; rebuild it: heishi search --reindex",
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "query": results.query,
                    "expression": results.expression,
                    "sort": results.sort,
                    "since": results.since,
                    "ranked_versions": results.candidates,
                    "window": results.window,
                    "window_full": results.window_full,
                    "index_current": current,
                    "results": [hit.as_json() for hit in results.hits],
                },
                ensure_ascii=False,
            )
        )
        return 0
    _print_results(results)
    return 0


def _open(path):
    """The store read-only; once read-write when it predates the search index (it is built)."""
    import sys

    from monitor.store import open_store

    store = open_store(path, readonly=True)
    has_index = store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'listing_search'"
    ).fetchone()
    if has_index:
        return store
    store.close()
    print(f"heishi: building the search index of {path} (once)", file=sys.stderr)
    return open_store(path)


def _reindex(path, as_json: bool) -> int:
    from monitor.store import open_store

    with open_store(path) as store, store.transaction():
        indexed = store.search.rebuild_index()
    if as_json:
        print(json.dumps({"indexed_versions": indexed}))
    else:
        print(f"search index rebuilt: {indexed} versions indexed")
    return 0


def _print_results(results) -> None:
    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import highlighted, plain

    console = make_console()
    if not results.hits:
        console.print(plain(f"no listing matches {results.query!r}"))
        return
    table = Table(title=plain(f"Search: {results.query}"), show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("listing")
    table.add_column("found in")
    table.add_column("title / text", overflow="fold")
    table.add_column("last seen")
    for rank, hit in enumerate(results.hits, 1):
        where = plain(f"#{hit.listing_id}\n{hit.source}")
        if hit.status != "live":
            where.append_text(plain(f"\n{hit.status}", style="red"))
        if hit.current:
            found = plain("current text", style="green")
        else:
            found = plain(f"version {hit.found_in_version}\nno longer current", style="yellow")
            found.append(f"\n(now v{hit.version})", style="dim")
        body = highlighted(hit.title.text, hit.title.spans)
        body.stylize("bold")
        body.append("\n")
        body.append_text(highlighted(hit.text.text, hit.text.spans))
        table.add_row(str(rank), where, found, body, plain((hit.last_seen or "")[:10]))
    console.print(table)
    how = "ranked by bm25" if results.sort == "relevance" else "newest first"
    note = f"{len(results.hits)} listings, {how}, from {results.candidates} matching versions"
    if results.window_full:
        note += (
            f" (the newest {results.window}: more match; narrow with --source, --category, "
            "--since or more words, or use --sort recent)"
        )
    console.print(plain(note), style="dim")
