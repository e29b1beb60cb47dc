"""A real HTTP receiver for webhook tests, and a worker that retries quickly."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port

SECRET = "a-test-secret-of-32-characters!!"


@dataclass
class Received:
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (then 200) and keeps what it got."""

    port: int
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/lumen"

    def answer(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver():
    state = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"nope")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_retries(settings, monkeypatch):
    """Retries 0.2 s, 0.4 s, … apart, in this process and in the worker started after it."""
    settings.LUMEN_WEBHOOK_BACKOFF_SECONDS = 0.2
    settings.LUMEN_WEBHOOK_MAX_ATTEMPTS = 4
    settings.LUMEN_WEBHOOK_TIMEOUT = 5
    monkeypatch.setenv("LUMEN_WEBHOOK_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("LUMEN_WEBHOOK_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("LUMEN_WEBHOOK_TIMEOUT", "5")


@pytest.fixture
def webhook_worker(fast_retries, worker):
    """The real Celery worker (tests/conftest.py), started with the quick retries in its environment."""
    return worker


@pytest.fixture
def endpoint(receiver, admin_user):
    from integrations.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        description="RIS", url=receiver.url, secret=SECRET, events=["report.final", "study.received"], created_by=admin_user
    )
