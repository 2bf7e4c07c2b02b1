"""Real local receivers for notifications: a webhook server and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """An HTTP server that records every POST (JSON body and headers); can be taken down.
    `delay`: seconds it takes before answering (a slow receiver: it has the message at once);
    `status`: what it answers (500 for a receiver that fails)."""

    def __init__(self, port: int = 0, *, delay: float = 0.0, status: int = 200) -> None:
        self.received: list[dict] = []
        self.port = port
        self.delay = delay
        self.status = status
        self.server: ThreadingHTTPServer | None = None

    def keys(self) -> list[str]:
        """The idempotency keys received, in order (repeats included)."""
        return [m["headers"].get("X-Heishi-Idempotency-Key", "") for m in self.received]

    def start(self) -> WebhookReceiver:
        received = self.received
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def start(self) -> SmtpReceiver:
        import socket

        from aiosmtpd.controller import Controller

        messages = self.messages

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                messages.append(
                    {
                        "from": envelope.mail_from,
                        "to": list(envelope.rcpt_tos),
                        "data": envelope.content.decode("utf-8", "replace"),
                    }
                )
                return "250 OK"

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
