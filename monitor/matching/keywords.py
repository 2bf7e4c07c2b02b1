"""Keyword lists (TOML files in keywords/): load, validate, lint and compile them.

Each `*.toml` file may set `category` (a category id), `role` (the default role of its terms)
and has a `[terms]` table whose keys are canonical terms and whose values are inline tables:
`weight`, `aliases`, `role`, `categories`, `group`, `word`, `unless`, `absorbs`, `compose`,
`pinyin`. A `[patterns]` table holds regular expressions (`regex`, `weight`, `role`,
`categories`); `watchlist.toml` has `[brands]`; `negators` lists words that negate a sale
signal right after them. `sources`, `kinds`, `exclude_sources` and `exclude_kinds` scope a
file's terms, brands and patterns to some sources or spider kinds (monitor/matching/keyword_scope.py).
keywords/README.md describes every key.

The compiled form (an Aho-Corasick automaton over normalised surface forms) is cached in
`monitor.config.cache_dir()`, keyed by the files' contents, so a warm start skips pinyin and
automaton building.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config_files import TomlFile, find_line, section_line
from monitor.errors import KeywordFileError
from monitor.matching.keyword_scope import SCOPE_KEYS, Scope, read_scope
from monitor.matching.normalize import normalize_term
from monitor.matching.regex_budget import regex_problem  # noqa: F401 (its home was here)
from monitor.matching.rules_version import model_file, version_of
from monitor.vocabulary import CATEGORIES

log = logging.getLogger(__name__)

ROLES = (
    "data",  # a data noun: what is sold (车主信息)
    "strong",  # a data noun that is itself an offer (社工库, 刷单): implies a sale
    "field",  # a data field offered (姓名, 手机号): weak; category only as a last resort
    "subject",  # whose data (业主, 股民, 微博): a data noun when a generic noun follows
    "generic",  # a data noun without a category (个人信息, 数据, 名单)
    "sale",  # a sale signal (出售, 私聊, 价格可谈)
    "contact",  # a contact channel named (微信, QQ, 飞机)
    "sample",  # a sample or verification offer (样本, 可验)
    "fresh",  # freshness (实时, 一手)
    "context",  # context that lowers the score (警方, 招聘, 隐私政策): negative weight
    "exclusion",  # a longer phrase that hides a term inside it (床上四件套)
    "brand",  # a watched brand
)
ENTRY_KEYS = {
    "weight",
    "aliases",
    "role",
    "categories",
    "group",
    "word",
    "unless",
    "absorbs",
    "compose",
    "pinyin",
}
PATTERN_KEYS = {"regex", "weight", "role", "categories", "group", "compose"}
FILE_KEYS = {
    "category",
    "role",
    "description",
    "terms",
    "patterns",
    "brands",
    "negators",
    *SCOPE_KEYS,
}
COMPILE_VERSION = 10  # 10: pinyin forms mix two of character, syllable, initial
# Roles whose Chinese terms also match as written in pinyin, initials or a mix (身fen证, kfjl).
VARIANT_ROLES = frozenset({"data", "strong", "field", "subject"})
_NUMERALS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}
_NUMERALS.update({"两": "2", "十": "10"})


@dataclass(frozen=True)
class Entry:
    """One surface form (a term or an alias) of a keyword, normalised."""

    term: str
    surface: str
    role: str
    categories: tuple[str, ...]
    weight: float
    group: str | None = None
    word: bool = False  # must be a whole jieba word (出, 料, 裤子)
    ascii: bool = False  # has Latin letters: must not touch other Latin letters
    unless: tuple[str, ...] = ()  # normalised words that cancel this term anywhere in the field
    absorbs: tuple[str, ...] = ()  # terms whose categories this one takes over (四件套)
    compose: bool = False  # a generic noun that turns a preceding subject into data
    where: str = ""  # file:line, for reasons and lint
    scope: Scope | None = None  # None: applies to every source and kind
    variant: bool = False  # generated from the term (pinyin, initials, digits): not a jieba word


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    role: str
    categories: tuple[str, ...]
    weight: float
    group: str | None
    where: str
    scope: Scope | None = None
    compose: bool = False  # like a term's compose: a subject just before makes it its data
    # Characters one of which every match contains: a text without any is not searched.
    hint: frozenset[str] | None = None


@dataclass
class Keywords:
    """Every keyword file of a directory, validated and compiled."""

    directory: str
    entries: list[Entry] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    negators: tuple[str, ...] = ()
    digest: str = ""
    automaton: Any = None  # ahocorasick.Automaton: surface -> tuple[Any, ...] of entry indices
    scopes: list[Scope] = field(default_factory=list)  # of the scoped files, in file order
    rules_version: str = ""  # monitor.matching.rules_version: the id of these files' contents


def keyword_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.toml") if p.is_file())


def load_keywords(directory: str | Path | None = None, *, use_cache: bool = True) -> Keywords:
    """Load and compile the keyword files of `directory`; raise KeywordFileError if malformed."""
    from monitor import config

    directory = Path(directory) if directory is not None else config.keywords_dir()
    files = keyword_files(directory)
    if not files:
        raise KeywordFileError(str(directory), "no keyword files (*.toml) in this directory")
    texts = {}
    for path in files:
        try:
            texts[path] = path.read_bytes()
        except OSError as exc:
            raise KeywordFileError(str(path), f"cannot read: {exc}") from exc
    digest = _digest(texts)
    # The model file beside the lists is part of the rules (monitor/matching/model.py).
    version = version_of(
        {path.name: data for path, data in texts.items()} | model_file(directory)
    ).id
    cache_path = config.cache_dir() / f"keywords-{digest}.pickle" if use_cache else None
    if cache_path is not None and cache_path.exists():
        try:
            with cache_path.open("rb") as handle:
                cached = pickle.load(handle)
            if isinstance(cached, Keywords) and cached.digest == digest:
                cached.directory = str(directory)
                cached.rules_version = version
                return cached
        except Exception as exc:  # a stale or truncated cache is rebuilt
            log.debug("ignoring keyword cache %s: %s", cache_path, exc)
    problems: list[KeywordFileError] = []
    keywords = _compile(directory, texts, problems)
    if problems:
        raise problems[0]
    keywords.digest = digest
    keywords.rules_version = version
    if cache_path is not None:
        tmp = cache_path.with_suffix(".tmp")
        try:
            with tmp.open("wb") as handle:
                pickle.dump(keywords, handle, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(cache_path)
        except OSError as exc:
            log.debug("cannot write keyword cache: %s", exc)
    return keywords


def lint_keywords(directory: str | Path | None = None) -> list[str]:
    """Every problem in the keyword files, each as 'file:line: message'."""
    from monitor import config

    directory = Path(directory) if directory is not None else config.keywords_dir()
    files = keyword_files(directory)
    if not files:
        return [f"{directory}: no keyword files (*.toml) in this directory"]
    texts = {path: path.read_bytes() for path in files}
    problems: list[KeywordFileError] = []
    keywords = _compile(directory, texts, problems, build_automaton=False)
    messages = [str(p) for p in problems]
    seen: dict[tuple[str, str], str] = {}
    for entry in keywords.entries:
        if entry.variant:
            continue
        key = (entry.surface, entry.role)
        if key in seen and seen[key] != entry.where and entry.role != "exclusion":
            messages.append(f"{entry.where}: {entry.surface!r} is also listed at {seen[key]}")
        seen.setdefault(key, entry.where)
    return messages


def _digest(texts: dict[Path, bytes]) -> str:
    hasher = hashlib.sha256(f"v{COMPILE_VERSION}".encode())
    for path, data in sorted(texts.items()):
        hasher.update(path.name.encode() + b"\0" + data + b"\0")
    return hasher.hexdigest()[:24]


def _weight_problem(role: str, weight: object) -> str | None:
    """What is wrong with a term's weight, or None."""
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        return "weight must be a number"
    if role == "context" and weight > 0:
        return "a context weight must be negative"
    if abs(weight) > 10:
        return f"weight {weight} outside -10..10"
    return None


def file_role(data: dict[str, Any]) -> Any:
    """The role of a keyword file's terms that name none: the file's `role`, else `data` in a
    file with a category and `generic` in one without."""
    return data.get("role", "data" if data.get("category") else "generic")


def term_spec(spec: Any) -> Any:
    """A term's value as a table: a weight (`"出售" = 2`) or a brand's aliases (a list) in
    their table form; anything else as written (the reader says what is wrong with it)."""
    if isinstance(spec, list):  # brands: name = ["alias", ...]
        return {"aliases": spec}
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return {"weight": spec}
    return spec


def _compile(
    directory: Path,
    texts: dict[Path, bytes],
    problems: list[KeywordFileError],
    *,
    build_automaton: bool = True,
) -> Keywords:
    keywords = Keywords(directory=str(directory))
    negators: list[str] = []
    for path, raw in texts.items():
        try:
            toml = TomlFile.parse(path, raw, KeywordFileError)
        except KeywordFileError as exc:
            problems.append(exc)
            continue
        _FileReader(path, toml.text, toml.data, keywords, negators, problems).read()
    keywords.entries = _without_clashing_variants(keywords.entries)
    keywords.negators = tuple(dict.fromkeys(negators))
    if build_automaton and not problems:
        keywords.automaton = surface_automaton(keywords.entries)
    return keywords


def surface_automaton(entries: list[Entry], keep: Callable[[Entry], bool] | None = None):
    """Normalised surface -> (surface, indices into `entries`), over the entries `keep` allows
    (all by default): the matcher's main automaton, or one per scope."""
    import ahocorasick

    by_surface: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        if keep is None or keep(entry):
            by_surface.setdefault(entry.surface, []).append(index)
    automaton = ahocorasick.Automaton()
    for surface, indices in by_surface.items():
        automaton.add_word(surface, (surface, tuple(indices)))
    automaton.make_automaton()
    return automaton


class _FileReader:
    """Reads one parsed keyword file into entries and patterns, collecting problems."""

    def __init__(self, path, text, data, keywords, negators, problems) -> None:
        self.path = path
        self.text = text
        self.data = data
        self.keywords = keywords
        self.negators = negators
        self.problems = problems
        self.scope: Scope | None = None

    def error(self, message: str, *, needle: str | None = None, line: int | None = None, key=None):
        if line is None and needle is not None:
            line = find_line(self.text, needle)
        self.problems.append(KeywordFileError(str(self.path), message, line=line, key=key))

    def read(self) -> None:
        data = self.data
        for key in data:
            if key not in FILE_KEYS:
                self.error(f"unknown key {key!r} (expected one of {sorted(FILE_KEYS)})", needle=key)
        self.scope = read_scope(data, self.path.name, self.error)
        if self.scope is not None:
            self.keywords.scopes.append(self.scope)
        category = data.get("category")
        if category is not None and category not in CATEGORIES:
            self.error(f"unknown category {category!r}", needle="category", key="category")
            return
        default_role = file_role(data)
        if default_role not in ROLES:
            self.error(f"unknown role {default_role!r}", needle="role", key="role")
            return
        negators = data.get("negators", [])
        if not isinstance(negators, list) or not all(isinstance(n, str) for n in negators):
            self.error("negators must be a list of strings", needle="negators")
        else:
            self.negators.extend(normalize_term(n) for n in negators if normalize_term(n))
        for section, role in (("terms", default_role), ("brands", "brand")):
            table = data.get(section, {})
            if not isinstance(table, dict):
                self.error(f"[{section}] must be a table", needle=section)
                continue
            for term, spec in table.items():
                self.read_term(section, term, spec, role, category)
        patterns = data.get("patterns", {})
        if not isinstance(patterns, dict):
            self.error("[patterns] must be a table", needle="patterns")
        else:
            for name, spec in patterns.items():
                self.read_pattern(name, spec, default_role, category)

    def where(self, term: str, section: str) -> str:
        line = find_line(self.text, term, section_line(self.text, section))
        return f"{self.path.name}:{line}" if line else self.path.name

    def read_term(self, section, term, spec, default_role, category) -> None:
        spec = term_spec(spec)
        if not isinstance(spec, dict):
            self.error(f"{term!r}: expected a weight or an inline table", needle=term, key=term)
            return
        unknown = set(spec) - ENTRY_KEYS
        if unknown:
            self.error(f"{term!r}: unknown key(s) {sorted(unknown)}", needle=term, key=term)
            return
        role = spec.get("role", default_role)
        if role not in ROLES:
            self.error(f"{term!r}: unknown role {role!r}", needle=term, key=term)
            return
        weight = spec.get("weight", 1.0 if role not in ("context", "exclusion", "brand") else 0.0)
        problem = _weight_problem(role, weight)
        if problem:
            self.error(f"{term!r}: {problem}", needle=term, key=term)
            return
        cats = spec.get("categories", [category] if category and role != "generic" else [])
        if not isinstance(cats, list) or any(c not in CATEGORIES for c in cats):
            self.error(f"{term!r}: categories must be ids from MISSION.md", needle=term, key=term)
            return
        lists = {}
        for key in ("aliases", "unless", "absorbs"):
            value = spec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                self.error(f"{term!r}: {key} must be a list of strings", needle=term, key=term)
                return
            lists[key] = value
        for key in ("word", "compose", "pinyin"):
            if key in spec and not isinstance(spec[key], bool):
                self.error(f"{term!r}: {key} must be true or false", needle=term, key=term)
                return
        canonical = normalize_term(term)
        if not canonical:
            self.error(f"{term!r}: the term is empty after normalisation", needle=term, key=term)
            return
        surfaces = [canonical] + [normalize_term(a) for a in lists["aliases"]]
        variants = [v for s in surfaces for v in _digit_forms(s)]
        if spec.get("pinyin", role in VARIANT_ROLES and len(canonical) >= 3):
            variants.extend(_pinyin_forms(canonical))
        where = self.where(term, section)
        group = spec.get("group")
        written = dict.fromkeys(s for s in surfaces if s)
        generated = dict.fromkeys(v for v in variants if v and v not in written)
        for surface, variant in [*((s, False) for s in written), *((v, True) for v in generated)]:
            self.keywords.entries.append(
                Entry(
                    term=term,
                    surface=surface,
                    role=role,
                    categories=tuple(cats),
                    weight=float(weight),
                    group=str(group) if group else None,
                    word=bool(spec.get("word", False)),
                    ascii=bool(re.search(r"[a-z0-9]", surface)),
                    unless=tuple(normalize_term(u) for u in lists["unless"]),
                    absorbs=tuple(normalize_term(a) for a in lists["absorbs"]),
                    compose=bool(spec.get("compose", False)),
                    where=where,
                    scope=self.scope,
                    variant=variant,
                )
            )

    def read_pattern(self, name, spec, default_role, category) -> None:
        if not isinstance(spec, dict) or "regex" not in spec:
            self.error(f"pattern {name!r}: needs an inline table with regex", needle=name)
            return
        unknown = set(spec) - PATTERN_KEYS
        if unknown:
            self.error(f"pattern {name!r}: unknown key(s) {sorted(unknown)}", needle=name)
            return
        source = spec["regex"]
        problem = regex_problem(source)
        if problem:
            self.error(f"pattern {name!r}: {problem}", needle=name, key=name)
            return
        role = spec.get("role", default_role)
        cats = spec.get("categories", [category] if category else [])
        weight = spec.get("weight", 1.0)
        if role not in ROLES or not isinstance(weight, int | float) or isinstance(weight, bool):
            self.error(f"pattern {name!r}: bad role or weight", needle=name, key=name)
            return
        if not isinstance(cats, list) or any(c not in CATEGORIES for c in cats):
            self.error(f"pattern {name!r}: unknown category", needle=name, key=name)
            return
        if not isinstance(spec.get("compose", False), bool):
            self.error(f"pattern {name!r}: compose must be true or false", needle=name, key=name)
            return
        line = find_line(self.text, name, section_line(self.text, "patterns"))
        self.keywords.patterns.append(
            Pattern(
                name=name,
                regex=re.compile(source),
                role=role,
                categories=tuple(cats),
                weight=float(weight),
                group=spec.get("group"),
                where=f"{self.path.name}:{line}",
                scope=self.scope,
                compose=bool(spec.get("compose", False)),
                hint=required_characters(source),
            )
        )


def required_characters(source: str) -> frozenset[str] | None:
    """Characters one of which every match of the pattern contains (the fewest such set among
    its top-level parts that must match: a literal, a class of literals, alternatives that
    start with literals), or None when no part gives one."""
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(source)
    except Exception:  # noqa: BLE001 - a pattern regex_problem() let through; no hint then
        return None
    best: frozenset[str] | None = None
    for op, av in parsed:
        chars = _first_characters(_parser, op, av)
        if chars and (best is None or len(chars) < len(best)):
            best = chars
    return best


def _first_characters(parser, op, av) -> frozenset[str] | None:
    """The characters one of which starts every match of one parsed item (None: unknown)."""
    constants = parser  # re._parser re-exports the opcode constants
    if op is constants.LITERAL:
        return frozenset({chr(av)})
    if op is constants.IN:
        if all(kind is constants.LITERAL for kind, _ in av):
            return frozenset(chr(value) for _, value in av)
        return None
    if op in (constants.MAX_REPEAT, constants.MIN_REPEAT):
        low, _high, item = av
        return _first_of_sequence(parser, item) if low >= 1 else None
    if op is constants.SUBPATTERN:
        return _first_of_sequence(parser, av[-1])
    if op is constants.BRANCH:
        found: set[str] = set()
        for alternative in av[1]:
            chars = _first_of_sequence(parser, alternative)
            if not chars:
                return None
            found |= chars
        return frozenset(found)
    return None


def _first_of_sequence(parser, sequence) -> frozenset[str] | None:
    items = list(sequence)
    return _first_characters(parser, *items[0]) if items else None


def _pinyin_forms(term: str) -> list[str]:
    """A Chinese term as sellers write it in pinyin: in full when long enough (shenfenzheng,
    also with its syllables apart: shen fen zheng, she-gong-ku; the matcher reads other
    groupings), by initials for three to six characters (kfjl, sjt), and, for three or four,
    each character written two of three ways: as itself, its pinyin or its initial (身fen证,
    身f证, s份证, sfzheng: the 北J, S东 and Sdong of ToolGood.Words' PinyinMatchTest); a form
    of Latin letters only needs five of them (sgku would be too short to be safe)."""
    if not re.fullmatch(r"[\u4e00-\u9fff]+", term):
        return []
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(term, style=Style.NORMAL)
    if len(syllables) != len(term) or not all(s.isascii() and s.isalpha() for s in syllables):
        return []
    forms: list[str] = []
    full = "".join(syllables)
    if len(full) >= 8:
        forms.append(full)
        forms.extend(sep.join(syllables) for sep in (" ", "-", "_", "."))
    initials = "".join(s[0] for s in syllables)
    if 3 <= len(term) <= 6:
        forms.append(initials)
    if 3 <= len(term) <= 4:
        # Two ways of writing mixed in one form (a third is rare, and would double the list).
        for pair in ((0, 1), (0, 2), (1, 2)):
            ways = [[(c, s, s[0])[k] for k in pair] for c, s in zip(term, syllables, strict=True)]
            forms.extend(_mixed_forms(ways, term, full, initials))
    return list(dict.fromkeys(forms))


def _mixed_forms(ways: list[list[str]], term: str, full: str, initials: str) -> list[str]:
    """Every form taking one of its two ways per character, but the term, its full pinyin and
    its initials (listed apart), and Latin-only forms shorter than five letters."""
    forms = []
    for choice in itertools.product(*ways):
        form = "".join(choice)
        if form in (term, full, initials) or (form.isascii() and len(form) < 5):
            continue
        forms.append(form)
    return forms


def _digit_forms(surface: str) -> list[str]:
    """The surface with its one Chinese numeral written as a digit (四件套 -> 4件套)."""
    found = [c for c in surface if c in _NUMERALS]
    if len(found) != 1:
        return []  # none, or a compound number (三十): leave it
    return [surface.replace(found[0], _NUMERALS[found[0]])]


def _without_clashing_variants(entries: list[Entry]) -> list[Entry]:
    """Drop a generated variant that is written elsewhere or that two terms generate (the
    heavier keeps it), so a variant never shadows a listed word."""
    written = {e.surface for e in entries if not e.variant}
    best: dict[str, Entry] = {}
    for entry in entries:
        if entry.variant and entry.surface not in written:
            current = best.get(entry.surface)
            if current is None or entry.weight > current.weight:
                best[entry.surface] = entry
    return [e for e in entries if not e.variant or best.get(e.surface) is e]
