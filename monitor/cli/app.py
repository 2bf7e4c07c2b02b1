"""Placeholder until the command table lands."""

from __future__ import annotations


def run(argv: list[str]) -> int:
    print("heishi: commands coming")
    return 0
