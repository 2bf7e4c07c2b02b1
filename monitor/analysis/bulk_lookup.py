"""Many numbers looked up at once: a customer list (CSV, or one number a line) checked against
the listings' keyed hashes, in one report of which numbers appear where.

Every cell of the file is read, whatever its column; each cell that holds a number is told
apart as a mobile, ID or bank card number the way masking tells them apart (monitor/privacy/pii.py).
A number is reported only masked, with the rows it stood on; a cell that looks like a number
but is none is reported by row and column with the reason, never by its value. Nothing read
here is stored or logged.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.analysis.lookup import (
    KIND_NAMES,
    LookupInputError,
    LookupResult,
    checked_key,
    checked_number,
    found_number,
)
from monitor.errors import HeishiError
from monitor.privacy.pii import key_fingerprint

MAX_CELLS = 200_000  # a customer list larger than this is split by its owner
# About 3,500 numbers a second are checked and looked up (one core): the web page takes a
# list it answers within its query time (10 s), the command line ten times more.
WEB_MAX_CELLS = 20_000
ROWS_SHOWN = 20  # rows listed per number (the count is always whole)
# A cell that looks like someone meant a number: digits and separators, seven digits or more.
_NUMBER_LIKE = re.compile(r"[0-9Xx +\-().]+")
_KIND_ORDER = ("phone", "id_number", "bank_card")


class BulkLookupError(HeishiError):
    """The list given to a bulk look-up cannot be read."""


@dataclass
class Cell:
    row: int  # 1-based, as a spreadsheet numbers them
    column: int
    value: str


@dataclass
class NumberReport:
    """One distinct number of the list: masked, where it stood, and where it was seen."""

    kind: str
    masked: str
    rows: list[int]
    occurrences: int
    result: LookupResult

    def to_dict(self) -> dict[str, Any]:
        found = self.result.to_dict()
        found.pop("other_keys", None)
        found.pop("key_checked", None)
        return {
            "kind": self.kind,
            "masked": self.masked,
            "rows": self.rows,
            "occurrences": self.occurrences,
            **{k: v for k, v in found.items() if k not in ("kind", "masked")},
        }


@dataclass
class Unreadable:
    row: int
    column: int
    reason: str


@dataclass
class BulkReport:
    source: str  # the file's name, or "standard input", "the form"
    cells: int = 0
    numbers: list[NumberReport] = field(default_factory=list)
    invalid: list[Unreadable] = field(default_factory=list)
    skipped: int = 0  # cells holding no number (names, headers, notes)
    other_keys: int = 0
    key_checked: bool = True

    @property
    def found(self) -> list[NumberReport]:
        return [n for n in self.numbers if n.result.found]

    def by_kind(self) -> dict[str, int]:
        counts = {kind: 0 for kind in _KIND_ORDER}
        for number in self.numbers:
            counts[number.kind] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "cells": self.cells,
            "numbers": len(self.numbers),
            "by_kind": self.by_kind(),
            "found": len(self.found),
            "skipped": self.skipped,
            "invalid": [asdict(u) for u in self.invalid],
            "results": [n.to_dict() for n in self.numbers],
        }


def read_cells(text: str, *, one_per_line: bool = False, max_cells: int = MAX_CELLS) -> list[Cell]:
    """The non-empty cells of a CSV (comma, semicolon, tab or bar separated, as a sniff of
    its start says) or, with `one_per_line`, of each line taken whole; BulkLookupError past
    `max_cells` cells."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if one_per_line:
        rows: list[list[str]] = [[line] for line in lines]
    else:
        try:
            dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        try:
            rows = list(csv.reader(io.StringIO(text), dialect))
        except csv.Error as exc:
            raise BulkLookupError(f"the list is not readable CSV: {exc}") from None
    cells = []
    for row_number, row in enumerate(rows, 1):
        for column, value in enumerate(row, 1):
            if value.strip():
                cells.append(Cell(row_number, column, value.strip()))
                if len(cells) > max_cells:
                    raise BulkLookupError(
                        f"the list has more than {max_cells:,} cells: split it into smaller lists",
                        hint="split it into smaller files",
                    )
    return cells


def number_in(cell: str, secret: bytes, kind: str | None = None) -> tuple[str, str, str] | str:
    """(kind, masked, digest) of the number a cell holds, or why it holds none ("" when it
    does not even look like a number). With `kind`, only that kind is accepted."""
    folded = unicodedata.normalize("NFKC", cell).strip()
    if not _NUMBER_LIKE.fullmatch(folded) or sum(c.isdigit() for c in folded) < 7:
        return "" if kind is None else f"not a {KIND_NAMES[kind]}: only digits may be given"
    reasons = []
    for candidate in (kind,) if kind else _KIND_ORDER:
        try:
            masked, digest = checked_number(candidate, folded, secret)
        except LookupInputError as exc:
            reasons.append(str(exc))
            continue
        return candidate, masked, digest
    if kind:
        return reasons[0]
    # The reason of the kind it comes nearest to, by length: short ones were meant as mobile
    # numbers, 18 characters as an ID number, the rest as a card number.
    length = sum(c.isdigit() or c in "Xx" for c in folded)
    return reasons[0 if length <= 13 else 1 if length == 18 else 2]


def bulk_lookup(
    store: Any,
    cells: list[Cell],
    secret: bytes,
    *,
    source: str,
    kind: str | None = None,
    key_source: str = "the key given",
) -> BulkReport:
    """Each distinct number among `cells` looked up once, in the order first met."""
    keys = checked_key(store, secret, key_source)
    mine = key_fingerprint(secret)
    report = BulkReport(
        source=source,
        cells=len(cells),
        other_keys=len([k for k in keys if k != mine]),
        key_checked=mine in keys,
    )
    seen: dict[tuple[str, str], NumberReport] = {}
    for cell in cells:
        found = number_in(cell.value, secret, kind)
        if isinstance(found, str):
            if found:
                report.invalid.append(Unreadable(cell.row, cell.column, found))
            else:
                report.skipped += 1
            continue
        number_kind, masked, digest = found
        entry = seen.get((number_kind, digest))
        if entry is None:
            result = found_number(store, number_kind, masked, digest, keys, mine)
            entry = seen[(number_kind, digest)] = NumberReport(number_kind, masked, [], 0, result)
            report.numbers.append(entry)
        entry.occurrences += 1
        if len(entry.rows) < ROWS_SHOWN and cell.row not in entry.rows:
            entry.rows.append(cell.row)
    return report
