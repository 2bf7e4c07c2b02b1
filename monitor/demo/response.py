"""What a demo page renderer returns, and helpers shared by the three sites."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def html_page(
    body: str, *, status: int = 200, charset: str = "utf-8", encoding: str = ""
) -> Response:
    """An HTML response whose header declares `charset`, encoded with `encoding` (default: the
    same)."""
    return Response(
        status,
        body.encode(encoding or charset),
        {"Content-Type": f"text/html; charset={charset}"},
    )


def json_response(data: Any) -> Response:
    return Response(
        200,
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        {"Content-Type": "application/json; charset=utf-8"},
    )


def error_page(status: int, reason: str) -> Response:
    page = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    )
    return html_page(page, status=status)


def split_path(path: str) -> tuple[str, dict[str, str]]:
    """The path and its query as a dict of first values (blank values kept)."""
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return parts.path, query


def text_to_html(text: str, br: str = "<br />") -> str:
    """Escape `text` and turn its line breaks into `br`."""
    return br.join(html.escape(line, quote=False) for line in text.split("\n"))


esc = html.escape
