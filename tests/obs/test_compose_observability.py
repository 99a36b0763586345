"""docker-compose.yml cannot run here (no Docker engine), so check that its Prometheus and Grafana services are
wired to the files in deploy/ and to each other."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from streamclust.config import HttpSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def services() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"])


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> repository path, for the service's bind mounts of repository folders."""
    found = {}
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        found[target] = (REPO / source).resolve()
    return found


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """Where a file the container reads lives in the repository (through the longest matching mount)."""
    path = PurePosixPath(container_path)
    for target, source in sorted(mounts(service).items(), key=lambda item: -len(item[0])):
        if path.is_relative_to(target):
            return source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not in any mount of {service['image']}")


def test_prometheus_reads_the_compose_config_and_its_rules(services: dict[str, Any]) -> None:
    prometheus = services["prometheus"]
    [config_flag] = [flag for flag in prometheus["command"] if flag.startswith("--config.file=")]
    config_file = host_path(prometheus, config_flag.split("=", 1)[1])
    assert config_file == REPO / "deploy" / "prometheus" / "prometheus.compose.yml"

    config = yaml.safe_load(config_file.read_text())
    for rule_file in config["rule_files"]:
        assert (config_file.parent / rule_file).is_file()


def test_prometheus_scrapes_the_worker_service_on_its_http_port(services: dict[str, Any]) -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.compose.yml").read_text())
    [job] = config["scrape_configs"]
    [target] = [target for group in job["static_configs"] for target in group["targets"]]
    host, port = target.split(":")
    assert host in services and host == "worker"
    assert int(port) == HttpSettings().port
    assert services["worker"]["environment"]["STREAMCLUST_HTTP__HOST"] == "0.0.0.0"


def test_the_compose_config_differs_from_the_local_one_only_in_the_target() -> None:
    local = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    compose = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.compose.yml").read_text())
    for config in (local, compose):
        config["scrape_configs"][0].pop("static_configs")
    assert local == compose


def test_grafana_loads_the_provisioning_and_the_dashboard(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    provisioning = host_path(grafana, "/etc/grafana/provisioning")
    assert provisioning == REPO / "deploy" / "grafana" / "provisioning"

    providers = yaml.safe_load((provisioning / "dashboards" / "streamclust.yml").read_text())["providers"]
    dashboards = host_path(grafana, providers[0]["options"]["path"])
    assert (dashboards / "streamclust.json").is_file()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home).is_file()


def test_grafana_queries_the_prometheus_service(services: dict[str, Any]) -> None:
    datasource_file = REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    [datasource] = yaml.safe_load(datasource_file.read_text())["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
    assert "prometheus" in services["grafana"]["depends_on"]
