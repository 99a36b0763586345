"""The provisioned Grafana dashboard shows what ops people ask about, with queries Prometheus can run on
metrics the worker actually exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
METRIC_NAME = re.compile(r"\bstreamclust_[a-zA-Z0-9_:]*")
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$instance": ".*"}


def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA_DIR / "dashboards" / "streamclust.json").read_text())


def graph_panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        panels.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return panels


def queries() -> dict[str, str]:
    """Every PromQL expression on the dashboard: panel targets and annotations, keyed by where they are."""
    found = {
        f"panel {panel['title']!r} target {target['refId']}": target["expr"]
        for panel in graph_panels()
        for target in panel["targets"]
    }
    for annotation in dashboard()["annotations"]["list"]:
        if "expr" in annotation:
            found[f"annotation {annotation['name']!r}"] = annotation["expr"]
    return found


def test_the_panels_ops_people_need_are_there() -> None:
    titles = {panel["title"] for panel in graph_panels()}
    assert {
        "Throughput",
        "Consumer lag",
        "Latency percentiles",
        "Active clusters and new topics",
        "Outlier share",
        "Reconstruction error",
        "Dead-letter rate",
    } <= titles


def test_the_first_row_answers_the_person_on_call() -> None:
    first_row = [panel for panel in graph_panels() if panel["gridPos"]["y"] < 5]
    shown = {panel["title"]: panel["targets"][0]["expr"] for panel in first_row}

    assert list(shown) == ["Up", "Ready", "Checkpoint age", "Posts held (warm-up)"]
    assert "up{" in shown["Up"] and "streamclust_ready" in shown["Ready"]
    assert "streamclust_last_checkpoint_timestamp_seconds" in shown["Checkpoint age"]
    assert "streamclust_pending_posts" in shown["Posts held (warm-up)"]


def test_shared_mode_shows_the_trainer_its_lag_and_the_models_it_published() -> None:
    queries_by_title = {panel["title"]: panel["targets"][0]["expr"] for panel in graph_panels()}

    assert "streamclust_is_trainer" in queries_by_title["Trainer"]
    assert "streamclust_trainer_lag_posts" in queries_by_title["Trainer lag"]
    assert "streamclust_models_published_total" in queries_by_title["Models published"]


def test_retrains_and_drift_are_marked_on_the_time_axis() -> None:
    markers = {
        annotation["name"]: annotation["expr"] for annotation in dashboard()["annotations"]["list"][1:]
    }
    assert "streamclust_model_version" in markers["Retrains"]
    assert "streamclust_drift_detections_total" in markers["Drift"]


def test_every_query_names_only_metrics_the_worker_exports(exported_metric_names: set[str]) -> None:
    variable_queries = {
        f"variable {variable['name']!r}": variable["definition"]
        for variable in dashboard()["templating"]["list"]
    }
    for place, expression in {**queries(), **variable_queries}.items():
        names = set(METRIC_NAME.findall(expression))
        assert names or 'up{job="streamclust"' in expression, (
            f"{place} reads no streamclust metric: {expression}"
        )
        assert names <= exported_metric_names, f"{place} reads unknown {names - exported_metric_names}"


@pytest.mark.prometheus
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    executable = shutil.which("promtool")
    assert executable, "promtool is not installed: run `bash deploy/prometheus/install`"
    rules = []
    for index, expression in enumerate(queries().values()):
        for variable, value in GRAFANA_VARIABLES.items():
            expression = expression.replace(variable, value)
        assert "$" not in expression, f"unexpected Grafana variable in {expression}"
        rules.append({"record": f"dashboard:query_{index}", "expr": expression})
    rules_file = tmp_path / "dashboard_queries.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    outcome = subprocess.run(
        [executable, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_panels_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [datasource] = provisioned["datasources"]
    for panel in graph_panels():
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]


def test_panels_fit_the_grid_without_overlapping() -> None:
    positions = {panel["title"]: panel["gridPos"] for panel in graph_panels()}
    for title, box in positions.items():
        assert box["x"] + box["w"] <= 24, title
        for other_title, other in positions.items():
            apart = (
                box["x"] + box["w"] <= other["x"]
                or other["x"] + other["w"] <= box["x"]
                or box["y"] + box["h"] <= other["y"]
                or other["y"] + other["h"] <= box["y"]
            )
            assert other_title == title or apart, f"{title} overlaps {other_title}"
