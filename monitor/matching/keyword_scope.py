"""Where a keyword file's lists apply: to some sources or spider kinds, or to all but some.

A keyword file may set, at top level, `sources`, `kinds`, `exclude_sources` and
`exclude_kinds` (lists of site-file names and spider kinds). The matcher is given the
listing's source and kind and uses only the lists that apply: a `RuleView`, one per distinct
set of applicable lists, built once by monitor/matching/matcher.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.matching.keywords import Entry, Pattern

SCOPE_KEYS = ("sources", "kinds", "exclude_sources", "exclude_kinds")
# The roles the matcher's first pass counts (Matcher._could_alert): data, offers, brands.
FIRST_PASS_ROLES = frozenset(
    {"data", "strong", "generic", "field", "subject", "sale", "contact", "sample", "fresh"}
    | {"brand"}
)


@dataclass(frozen=True)
class Scope:
    """Where one keyword file's lists apply.

    An unknown side of the context (source or kind None) does not restrict: with no context
    at all every list applies."""

    sources: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    exclude_sources: frozenset[str] = frozenset()
    exclude_kinds: frozenset[str] = frozenset()
    file: str = ""  # the keyword file's name, for lint and reasons

    def applies(self, source: str | None, kind: str | None) -> bool:
        """True when this file's lists apply to a listing of `source`, swept by `kind`."""
        if source is not None and (
            (self.sources and source not in self.sources) or source in self.exclude_sources
        ):
            return False
        return kind is None or not (
            (self.kinds and kind not in self.kinds) or kind in self.exclude_kinds
        )

    def describe(self) -> str:
        """E.g. 'kinds marketplace; not sources noisy_forum'."""
        parts = [
            f"{label} {', '.join(sorted(names))}"
            for label, names in (
                ("sources", self.sources),
                ("kinds", self.kinds),
                ("not sources", self.exclude_sources),
                ("not kinds", self.exclude_kinds),
            )
            if names
        ]
        return "; ".join(parts)


@dataclass
class RuleView:
    """The keyword lists that apply in one context (source, kind): an automaton over their
    entries (indices into `Keywords.entries`), their patterns, and the files left out."""

    automaton: Any
    patterns: list[Pattern]
    entries: list[Entry]
    keep: Any = None  # Callable[[Entry], bool] | None: which entries this view holds
    excluded: tuple[Scope, ...] = ()
    _quick: Any = field(default=None, repr=False)
    _repeats: Any = field(default=None, repr=False)
    _by_role: Any = field(default=None, repr=False)
    # What the properties below computed, by name: built once per view, on first use (a
    # plain dict, not functools.cached_property, which compiled classes do not cache).
    _computed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def byte_automaton(self) -> Any:
        """`automaton` over UTF-8 bytes (utf8_letters): a surface's bytes -> (its length in
        characters, entry indices). pyahocorasick searches a node's children one by one, and
        the automaton's root has thousands of first characters; over bytes it has a few
        dozen (the matcher maps a hit's last byte back to its character). Built once."""
        computed = self._computed
        found = computed.get("byte_automaton")
        if found is None:
            import ahocorasick

            found = ahocorasick.Automaton()
            for surface, (_, indices) in self.automaton.items():
                found.add_word(utf8_letters(surface), (len(surface), indices))
            found.make_automaton()
            computed["byte_automaton"] = found
        return found

    def pattern_table(self) -> list[tuple[Any, tuple[str, ...] | None, bool, Pattern]]:
        """Per pattern of the view: (its regex, its hint's characters or None, whether every
        match starts with a digit, the pattern), read by the matcher for every field without
        looking each up on the pattern. Built once."""
        computed = self._computed
        table = computed.get("pattern_table")
        if table is None:
            digit_led = self.digit_led
            table = [
                (
                    p.regex,
                    tuple(sorted(p.hint)) if p.hint is not None else None,
                    id(p) in digit_led,
                    p,
                )
                for p in self.patterns
            ]
            computed["pattern_table"] = table
        return table

    def entry_facts(self) -> list[tuple[str, float, str, bool]]:
        """Per entry (by its index): (role, weight, term, word), what the first pass reads of
        each hit, as a tuple (compiled code unpacks it natively; an Entry's attributes are
        Python attribute lookups). Built once."""
        computed = self._computed
        facts = computed.get("entry_facts")
        if facts is None:
            facts = [(e.role, e.weight, e.term, e.word) for e in self.entries]
            computed["entry_facts"] = facts
        return facts

    def data_pattern_table(
        self, data_roles
    ) -> list[tuple[Any, tuple[str, ...] | None, bool, float]]:
        """The data patterns the first pass may run (subjects never add to its bound), as
        (regex, hint characters or None, whether every match starts with a digit, weight).
        Built once."""
        computed = self._computed
        table = computed.get("data_pattern_table")
        if table is None:
            digit_led = self.digit_led
            table = [
                (
                    p.regex,
                    tuple(sorted(p.hint)) if p.hint is not None else None,
                    id(p) in digit_led,
                    p.weight,
                )
                for p in self.data_patterns(data_roles)
                if p.role != "subject"
            ]
            computed["data_pattern_table"] = table
        return table

    def data_patterns(self, data_roles) -> list[Pattern]:
        """This view's patterns that name data (what the first pass reads); computed once."""
        if self._by_role is None:
            self._by_role = [p for p in self.patterns if p.role in data_roles]
        return self._by_role

    @property
    def digit_led(self) -> frozenset[int]:
        """The ids of this view's patterns every match of which starts with a digit (N个号,
        N粉): a text without a digit is not searched for them (most patterns count
        something, and most chatter has no number)."""
        computed = self._computed
        if "digit_led" not in computed:
            computed["digit_led"] = frozenset(
                id(p) for p in self.patterns if starts_with_digit(p.regex.pattern)
            )
        return computed["digit_led"]

    @property
    def hint_characters(self) -> re.Pattern[str] | None:
        """A class of every character of the data patterns' hints (None when there are
        none): found in a text by one regex pass, the characters a hint is checked against,
        instead of a set of the whole text."""
        computed = self._computed
        if "hint_characters" not in computed:
            computed["hint_characters"] = _character_class(p.hint for p in self._by_role or ())
        return computed["hint_characters"]

    @property
    def all_hint_characters(self) -> re.Pattern[str] | None:
        """hint_characters for every pattern of the view."""
        computed = self._computed
        if "all_hint_characters" not in computed:
            computed["all_hint_characters"] = _character_class(p.hint for p in self.patterns)
        return computed["all_hint_characters"]

    def repeat_index(self) -> dict[str, tuple[int, ...]]:
        """One-word Latin surfaces without repeated letters (sgk, fulz, q) -> entry indices,
        for words written with letters repeated (monitor.matching.matcher)."""
        if self._repeats is None:
            import re

            index: dict[str, list[int]] = {}
            for position, entry in enumerate(self.entries):
                if self.keep is not None and not self.keep(entry):
                    continue
                if re.fullmatch(r"[a-z]{2,30}", entry.surface):
                    key = re.sub(r"([a-z])\1+", r"\1", entry.surface)
                    index.setdefault(key, []).append(position)
            self._repeats = {key: tuple(value) for key, value in index.items()}
        return self._repeats

    @property
    def repeat_prefixes(self) -> frozenset[str]:
        """Every prefix of a repeat_index key: the matcher joins Latin words written apart
        (kaifang jilu, shen/fen/zheng) only while they still begin a keyword."""
        computed = self._computed
        if "repeat_prefixes" not in computed:
            computed["repeat_prefixes"] = frozenset(
                key[:n] for key in self.repeat_index() for n in range(1, len(key) + 1)
            )
        return computed["repeat_prefixes"]

    @property
    def joined_keys(self) -> Any:
        """An automaton of the repeat_index keys of four letters or more (two words at least):
        the matcher reads a run of Latin words word by word only when its letters hold one."""
        computed = self._computed
        if "joined_keys" not in computed:
            computed["joined_keys"] = _joined_keys(self.repeat_index())
        return computed["joined_keys"]

    def quick_automaton(self):
        """Every surface of a role the first pass reads (FIRST_PASS_ROLES), with separators
        dropped (as quick_text drops them) -> entry indices, each surface as its UTF-8 bytes
        (utf8_letters): run it over utf8_letters(text). Context words, the most frequent
        hits in ordinary text, are left out: the first pass passes over them anyway."""
        if self._quick is None:
            import ahocorasick

            from monitor.matching.normalize import quick_fold

            by_surface: dict[str, list[int]] = {}
            for index, entry in enumerate(self.entries):
                if self.keep is not None and not self.keep(entry):
                    continue
                if entry.role not in FIRST_PASS_ROLES:
                    continue
                surface = quick_fold(entry.surface)
                if surface:
                    by_surface.setdefault(surface, []).append(index)
                # The copy of quick_text without repeated letters: initials or pinyin with
                # a double letter (czxx) written with more (cczzxxxx) read czx there, and the
                # matcher compares both without repeats. Only generated forms: an English
                # word without its double letter (pasenger) would count its data twice.
                if entry.variant and surface.isascii() and surface.isalpha():
                    single = re.sub(r"([a-z])\1+", r"\1", surface)
                    if single != surface:
                        by_surface.setdefault(single, []).append(index)
            automaton = ahocorasick.Automaton()
            for surface, indices in by_surface.items():
                automaton.add_word(utf8_letters(surface), tuple(indices))
            automaton.make_automaton()
            self._quick = automaton
        return self._quick


# Whether a text holds a digit, as the patterns' \d reads one (any script's decimal digits).
ANY_DIGIT = re.compile(r"\d")


def starts_with_digit(source: str) -> bool:
    r"""Whether every match of the regex `source` starts with a \d digit: its first item is
    \d, or \d repeated at least once (not under a top-level alternation)."""
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = list(_parser.parse(source))
    except Exception:  # noqa: BLE001 - a pattern regex_problem() let through: assume not
        return False
    if not parsed:
        return False
    op, av = parsed[0]
    if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT):
        low, _high, item = av
        items = list(item)
        if low < 1 or len(items) != 1:
            return False
        op, av = items[0]
    return op is _parser.IN and list(av) == [(_parser.CATEGORY, _parser.CATEGORY_DIGIT)]


def utf8_letters(text: str) -> str:
    """`text` as its UTF-8 bytes, one character per byte (U+0000-U+00FF).

    pyahocorasick finds a node's next letter by a linear search of its children: at the root
    of the first pass's automaton that is hundreds of first characters, for every character
    of the text. Over bytes a node has at most 256 children, and the CJK block shares a few
    lead bytes, so the same pass runs about twice as fast. UTF-8 is self-synchronising: a
    surface's bytes occur in a text's bytes only where the surface occurs in the text, and in
    the same order, so the hits are the same (their end offsets count bytes, not characters).
    """
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _joined_keys(keys: dict[str, tuple[int, ...]]) -> Any:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for key in keys:
        if len(key) >= 4:
            automaton.add_word(key, key)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _character_class(hints) -> re.Pattern[str] | None:
    chars = {c for hint in hints if hint is not None for c in hint}
    if not chars:
        return None
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


def spider_kinds() -> tuple[str, ...]:
    """The spider kinds a site file may name."""
    from monitor.vocabulary import SITE_KINDS

    return SITE_KINDS


def read_scope(data: dict[str, Any], file: str, error: Callable[..., None]) -> Scope | None:
    """The scope keys of one parsed keyword file, validated; None when it applies everywhere.

    `error(message, needle=key, key=key)` records a problem at the key's line."""
    names: dict[str, frozenset[str]] = {}
    for key in SCOPE_KEYS:
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            error(f"{key} must be a list of names", needle=key, key=key)
            continue
        if not value:
            error(f"{key} is empty (leave it out to apply everywhere)", needle=key, key=key)
            continue
        if key.endswith("kinds"):
            known = spider_kinds()
            for kind in value:
                if kind not in known:
                    error(
                        f"unknown spider kind {kind!r} (known: {', '.join(known)})",
                        needle=key,
                        key=key,
                    )
        names[key] = frozenset(value)
    if not names:
        return None
    for kept, dropped in (("sources", "exclude_sources"), ("kinds", "exclude_kinds")):
        both = names.get(kept, frozenset()) & names.get(dropped, frozenset())
        if both:
            error(
                f"{', '.join(sorted(both))} in both {kept} and {dropped}",
                needle=dropped,
                key=dropped,
            )
    return Scope(**names, file=file)


def scope_warnings(
    directory: str | Path | None = None, sites_dir: str | Path | None = None
) -> list[str]:
    """'file:line: warning: ...' for each scoped source name that no site file defines."""
    from monitor import config
    from monitor.config_files import TomlFile, find_line
    from monitor.errors import HeishiError, KeywordFileError
    from monitor.matching.keywords import keyword_files

    directory = Path(directory) if directory is not None else config.keywords_dir()
    sites_dir = Path(sites_dir) if sites_dir is not None else config.sites_dir()
    scoped: list[tuple[Path, str, str, str]] = []  # (file, its text, key, source name)
    for path in keyword_files(directory):
        try:
            toml = TomlFile.read(path, KeywordFileError)
        except KeywordFileError:
            continue  # lint_keywords reports it
        for key in ("sources", "exclude_sources"):
            value = toml.data.get(key)
            if isinstance(value, list):
                scoped += [(path, toml.text, key, name) for name in value if isinstance(name, str)]
    if not scoped:
        return []
    from monitor.sites import load_sites

    try:
        known = {site.name for site in load_sites(sites_dir)}
    except HeishiError as exc:
        return [f"{sites_dir}: warning: cannot check the scoped source names: {exc}"]
    return [
        f"{path}:{find_line(text, key) or 1}: warning: {key}: no site file in {sites_dir} "
        f"defines source {name!r}"
        for path, text, key, name in scoped
        if name not in known
    ]
