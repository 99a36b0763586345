"""The HTTP endpoints answer from the worker's status and the metrics registry."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from streamclust.config import HttpSettings
from streamclust.errors import ConfigError
from streamclust.obs.http import HttpServer
from streamclust.schema import CatalogEntry


class FakeWorker:
    """A WorkerStatus whose answers the test sets."""

    def __init__(self) -> None:
        self.alive = True
        self.ready = False
        self.catalog: list[CatalogEntry] = []
        self.fail_clusters = False

    def is_alive(self) -> bool:
        return self.alive

    def is_ready(self) -> bool:
        return self.ready

    def clusters(self) -> list[CatalogEntry]:
        if self.fail_clusters:
            raise RuntimeError("engine busy")
        return self.catalog


@pytest.fixture
def worker() -> FakeWorker:
    return FakeWorker()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def server(worker: FakeWorker, registry: CollectorRegistry) -> Iterator[HttpServer]:
    server = HttpServer(HttpSettings(port=0), status=worker, registry=registry)
    server.start()
    yield server
    server.stop()


def get(server: HttpServer, path: str, accept: str = "") -> tuple[int, str, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_metrics_serves_the_registry_in_the_prometheus_text_format(
    server: HttpServer, registry: CollectorRegistry
) -> None:
    Counter("streamclust_posts_labelled", "Posts labelled.", registry=registry).inc(7)

    status, content_type, body = get(server, "/metrics")

    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "streamclust_posts_labelled_total 7.0" in body.decode()


def test_metrics_speaks_openmetrics_when_the_scraper_asks(
    server: HttpServer, registry: CollectorRegistry
) -> None:
    Counter("streamclust_posts_labelled", "Posts labelled.", registry=registry).inc(2)

    status, content_type, body = get(server, "/metrics", accept="application/openmetrics-text; version=1.0.0")

    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


def test_healthz_follows_whether_the_worker_is_alive(server: HttpServer, worker: FakeWorker) -> None:
    assert get(server, "/healthz")[0] == 200
    worker.alive = False
    assert get(server, "/healthz")[0] == 503


def test_readyz_is_503_until_the_worker_is_ready(server: HttpServer, worker: FakeWorker) -> None:
    status, _, body = get(server, "/readyz")
    assert (status, body) == (503, b"not ready\n")

    worker.ready = True

    status, _, body = get(server, "/readyz")
    assert (status, body) == (200, b"ready\n")


def test_clusters_lists_the_catalog_as_json(server: HttpServer, worker: FakeWorker) -> None:
    worker.catalog = [
        CatalogEntry(
            cluster_id=4,
            status="active",
            size=12.5,
            keywords=["rain", "flood"],
            created_at=1_700_000_000.0,
            last_seen_at=1_700_000_600.0,
            model_version=2,
        )
    ]

    status, content_type, body = get(server, "/clusters")

    assert (status, content_type) == (200, "application/json")
    [cluster] = json.loads(body)
    assert cluster["cluster_id"] == 4
    assert cluster["keywords"] == ["rain", "flood"]
    assert cluster["last_seen_at"] == 1_700_000_600.0


def test_a_failing_status_is_a_500_and_the_server_keeps_serving(
    server: HttpServer, worker: FakeWorker
) -> None:
    worker.fail_clusters = True
    assert get(server, "/clusters")[0] == 500
    assert get(server, "/healthz")[0] == 200


def test_unknown_paths_are_404_and_name_the_known_ones(server: HttpServer) -> None:
    status, _, body = get(server, "/metricz")
    assert status == 404
    assert b"/metrics" in body


def test_port_zero_binds_a_free_port_on_loopback_and_stop_releases_it(worker: FakeWorker) -> None:
    server = HttpServer(HttpSettings(port=0), status=worker, registry=CollectorRegistry())
    server.start()
    port = server.port
    assert port > 0
    server.stop()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


def test_a_busy_port_is_a_config_error_that_says_what_to_do(worker: FakeWorker) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = HttpServer(
            HttpSettings(port=taken.getsockname()[1]), status=worker, registry=CollectorRegistry()
        )
        with pytest.raises(ConfigError, match=r"http\.port"):
            busy.start()


def test_a_disabled_server_does_not_listen(worker: FakeWorker) -> None:
    server = HttpServer(HttpSettings(enabled=False, port=0), status=worker, registry=CollectorRegistry())
    server.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    server.stop()
