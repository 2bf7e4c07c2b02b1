"""The README's layout is a module map: every module of the library is named under its folder,
and every module it names exists there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_NAME = re.compile(r"(?<![\w/.])(\w+\.py)\b")


def layout_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1]
    block = section.split("```", 2)[1]
    return block.splitlines()


def folder_sections(top: str) -> dict[str, str]:
    """The text the layout gives each folder under `top` (`monitor/`), keyed by its path."""
    lines = layout_block()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{top}/"))
    sections: dict[str, list[str]] = {top: [lines[start]]}
    stack: list[tuple[int, str]] = [(0, top)]
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break  # the next top-level entry
        indent = len(line) - len(line.lstrip(" "))
        head = line.strip().split(" ", 1)[0]
        if head.endswith("/"):
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = f"{stack[-1][1]}/{head.rstrip('/')}"
            stack.append((indent, path))
            sections[path] = [line[indent + len(head) :]]
            continue
        while len(stack) > 1 and indent <= stack[-1][0]:
            stack.pop()
        sections[stack[-1][1]].append(line)
    return {path: "\n".join(text) for path, text in sections.items()}


def modules(top: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / top).rglob("*.py"):
        if path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        folder = path.parent.relative_to(ROOT).as_posix()
        found.setdefault(folder, set()).add(path.name)
    return found


def test_every_module_of_the_library_is_named_under_its_folder() -> None:
    sections = folder_sections("monitor")
    missing = [
        f"{folder}/{name}"
        for folder, names in modules("monitor").items()
        for name in sorted(names)
        if name not in set(MODULE_NAME.findall(sections.get(folder, "")))
    ]
    assert not missing, f"README.md's Layout does not name these modules: {missing}"


def test_every_module_the_map_names_exists_where_it_says() -> None:
    found = modules("monitor")
    stale = [
        f"{folder}/{name}"
        for folder, text in folder_sections("monitor").items()
        for name in MODULE_NAME.findall(text)
        if name not in found.get(folder, set())
    ]
    assert not stale, f"README.md's Layout names modules that are not there: {stale}"


def test_the_library_is_grouped_by_stage_not_flat() -> None:
    flat = sorted(modules("monitor").get("monitor", set()))
    # Only shared helpers stay at the top; each stage has its folder.
    assert len(flat) <= 10, flat
    for stage in ("matching", "alerting", "running", "privacy", "analysis", "store"):
        assert (ROOT / "monitor" / stage / "__init__.py").is_file(), stage
