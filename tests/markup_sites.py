"""Test helper: the real-markup fixture pages of tests/data/markup/ (rebuilt from public
templates and test suites, see each folder's SOURCE.md) served at the addresses their sites
use, from a real local server.

Pages name the site they came from (`http://bbs.example.com/` in a Discuz! `<base href>`,
Tieba's protocol-relative `//tieba.baidu.com` links): the server rewrites those to its own
address as it serves them, so every link a crawler follows stays on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.demo.local_server import LocalServer, Page, Received
from tests.servers import PROJECT_ROOT

MARKUP = PROJECT_ROOT / "tests" / "data" / "markup"

# The hosts fixture pages name, each rewritten to the local server.
HOSTS = (b"http://bbs.example.com", b"//tieba.baidu.com")

KW = "%E6%95%B0%E6%8D%AE"  # 数据, Tieba's board name

# preset -> {request path: (fixture file, content type)}
ROUTES: dict[str, dict[str, tuple[str, str]]] = {
    "discuz": {
        "/forum.php?mod=forumdisplay&fid=36": ("forumdisplay_fid36_gbk.html", "gbk"),
        "/forum.php?mod=viewthread&tid=4711&extra=page%3D1": ("viewthread_4711.html", "gbk"),
        "/forum.php?mod=viewthread&tid=4708&extra=page%3D1": ("viewthread_4708.html", "gbk"),
        "/forum.php?mod=viewthread&tid=4690&extra=page%3D1": ("viewthread_deleted.html", "gbk"),
        "/forum.php?mod=viewthread&tid=4685&extra=page%3D1": ("viewthread_4685.html", "gbk"),
        "/forum.php?mod=forumdisplay&fid=37": ("forumdisplay_empty.html", "gbk"),
        "/forum.php?mod=forumdisplay&fid=38": ("login_wall.html", "gbk"),
        "/forum-36-1.html": ("forum-36-1.html", "utf-8"),
        "/forum-36-2.html": ("forum-36-2.html", "utf-8"),
        "/thread-5120-1-1.html": ("thread-5120-1-1.html", "utf-8"),
        "/thread-5117-1-1.html": ("thread-5117-1-1.html", "utf-8"),
        "/thread-5102-1-1.html": ("thread-5102-1-1.html", "utf-8"),
    },
    "phpbb": {
        "/viewforum.php?f=12": ("viewforum_f12.html", "utf-8"),
        "/viewforum.php?f=12&sid=5b1e0f7c2a9d4e8f&start=25": (
            "viewforum_f12_start25.html",
            "utf-8",
        ),
        "/viewforum.php?f=13": ("viewforum_login.html", "utf-8"),
        **{
            f"/viewtopic.php?t={tid}&sid=5b1e0f7c2a9d4e8f": (f"viewtopic_t{tid}.html", "utf-8")
            for tid in (88, 231, 229, 226, 201)
        },
    },
    "tieba": {
        f"/f?kw={KW}&ie=utf-8": ("frs_kw_pn0.html", "utf-8"),
        f"/f?kw={KW}&ie=utf-8&pn=50": ("frs_kw_pn50.html", "utf-8"),
        "/static/captcha/tuxing.html?ak=demo": ("captcha.html", "utf-8"),
        **{
            f"/p/{tid}": (f"p_{tid}.html", "utf-8")
            for tid in (8912345602, 8912345603, 8912345605, 8912345598)
        },
    },
    "telegram": {
        "/s/shuju_daily": ("s_channel.html", "utf-8"),
        "/s/shuju_daily?before=62": ("s_channel_before62.html", "utf-8"),
        "/s/quiet_channel": ("s_empty.html", "utf-8"),
    },
    "paste": {
        "/archive": ("archive.html", "utf-8"),
        "/raw/Xk3v9QaL": ("raw_Xk3v9QaL.txt", "text/plain"),
        "/raw/p7RtY2mN": ("raw_p7RtY2mN.txt", "text/plain"),
        "/raw/Zq8wE4sD": ("raw_Zq8wE4sD.txt", "text/plain"),
    },
}


def fixture_path(preset: str, name: str) -> Path:
    return MARKUP / preset / name


def fixture_bytes(preset: str, name: str, base: str | None = None) -> bytes:
    """A fixture page as served: the site's own host rewritten to `base` when given."""
    body = fixture_path(preset, name).read_bytes()
    if base is not None:
        host = base.encode()
        for original in HOSTS:
            local = host if original.startswith(b"http") else host.split(b":", 1)[1]
            body = body.replace(original, local)
    return body


class MarkupSite(LocalServer):
    """A local server for one preset's fixture pages (add more routes through `pages`)."""

    def __init__(self, preset: str) -> None:
        super().__init__()
        self.preset = preset
        for path, (name, kind) in ROUTES[preset].items():
            self.pages[path] = self._route(name, kind)

    def _route(self, name: str, kind: str) -> Callable[[], Page]:
        content_type = kind if "/" in kind else f"text/html; charset={kind}"
        if kind.startswith("text/plain"):
            content_type = "text/plain; charset=utf-8"

        def serve() -> Page:
            return Page(
                fixture_bytes(self.preset, name, self.url), 200, {"Content-Type": content_type}
            )

        return serve

    def redirect(self, path: str, to: str) -> None:
        """`path` answers 302 to `to` (a path on this server)."""

        def answer(_: Received) -> Page:
            return Page(b"", 302, {"Location": self.url + to})

        self.pages[path] = answer
