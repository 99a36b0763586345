"""The worker's HTTP endpoints: ``/metrics``, ``/healthz``, ``/readyz`` and ``/clusters``.

A standard-library ``ThreadingHTTPServer`` in a daemon thread; it only reads (the registry and the worker's
``WorkerStatus``), so it needs no lock of its own. The default bind address is 127.0.0.1 (``HttpSettings``).

- ``/metrics``: the registry in the Prometheus text format (or OpenMetrics, if the scraper asks for it).
- ``/healthz``: 200 while the process is alive, 503 otherwise.
- ``/readyz``: 200 when the worker is connected to Kafka (partitions assigned), the model is warm and its last
  transaction committed; 503 otherwise, steadily through the whole warm-up.
- ``/clusters``: a JSON list of the current clusters (``CatalogEntry``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from streamclust.config import HttpSettings
from streamclust.errors import ConfigError
from streamclust.observer import WorkerStatus

log = logging.getLogger(__name__)

Response = tuple[HTTPStatus, str, bytes]  # status, content type, body


class Endpoints:
    """What each path answers; kept apart from the socket handling so it reads (and tests) on its own."""

    def __init__(self, status: WorkerStatus, registry: CollectorRegistry) -> None:
        self._status = status
        self._registry = registry
        self._routes: dict[str, Callable[[str], Response]] = {
            "/metrics": self.metrics,
            "/healthz": lambda _accept: self._probe(self._status.is_alive, "alive", "not alive"),
            "/readyz": lambda _accept: self._probe(self._status.is_ready, "ready", "not ready"),
            "/clusters": lambda _accept: self.clusters(),
        }

    def answer(self, path: str, accept: str) -> Response:
        route = self._routes.get(urlsplit(path).path.rstrip("/") or "/")
        if route is None:
            known = ", ".join(self._routes)
            return HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", f"not found; try {known}\n".encode()
        try:
            return route(accept)
        except Exception:
            log.exception("http endpoint failed", extra={"path": path})
            return HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", b"internal error\n"

    def metrics(self, accept: str) -> Response:
        encoder, content_type = choose_encoder(accept)
        return HTTPStatus.OK, content_type, encoder(self._registry)

    def clusters(self) -> Response:
        entries = [entry.model_dump(mode="json") for entry in self._status.clusters()]
        return HTTPStatus.OK, "application/json", json.dumps(entries).encode()

    @staticmethod
    def _probe(check: Callable[[], bool], good: str, bad: str) -> Response:
        if check():
            return HTTPStatus.OK, "text/plain; charset=utf-8", f"{good}\n".encode()
        return HTTPStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", f"{bad}\n".encode()


def _handler_for(endpoints: Endpoints) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "streamclust"

        def do_GET(self) -> None:
            status, content_type, body = endpoints.answer(self.path, self.headers.get("Accept", ""))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http " + format, *args)

    return Handler


class HttpServer:
    """Serves the endpoints on ``settings.host:settings.port`` (port 0 picks a free port; see ``port``)."""

    def __init__(self, settings: HttpSettings, status: WorkerStatus, registry: CollectorRegistry) -> None:
        self._settings = settings
        self._endpoints = Endpoints(status, registry)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP server is not running; call start() first (and set http.enabled)")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread. Does nothing when ``http.enabled`` is false or it is already serving."""
        if not self._settings.enabled or self._server is not None:
            return
        host, port = self._settings.host, self._settings.port
        try:
            server = ThreadingHTTPServer((host, port), _handler_for(self._endpoints))
        except OSError as error:
            raise ConfigError(
                f"cannot serve HTTP on {host}:{port} ({error.strerror}); "
                "set http.port to a free port (0 picks one) or http.enabled to false"
            ) from None
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="streamclust-http", daemon=True)
        self._thread.start()
        log.info("serving http", extra={"host": host, "port": self.port})

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
