"""The alert rules in deploy/prometheus are valid, pass their promtool unit tests and read exported metrics.

promtool comes with Debian's prometheus package (``bash deploy/prometheus/install``); CI installs it, so a
missing promtool fails these tests instead of skipping them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
METRIC_NAME = re.compile(r"\bstreamclust_[a-zA-Z0-9_:]*")

pytestmark = pytest.mark.prometheus


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    assert executable, "promtool is not installed: run `bash deploy/prometheus/install`"
    return subprocess.run(
        [executable, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def alert_rules() -> list[dict[str, object]]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_rules_file_is_valid() -> None:
    outcome = promtool("check", "rules", "alerts.yml")
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in outcome.stdout


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_the_prometheus_config_is_valid_and_loads_the_rules(config: str) -> None:
    outcome = promtool("check", "config", config)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "1 rule files found" in outcome.stdout


def test_the_rule_unit_tests_pass() -> None:
    outcome = promtool("test", "rules", "alerts_test.yml")
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_every_alert_has_a_unit_test() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert {rule["alert"] for rule in alert_rules()} == tested


def test_rules_read_only_metrics_the_worker_exports(exported_metric_names: set[str]) -> None:
    for rule in alert_rules():
        expression = str(rule["expr"])
        names = set(METRIC_NAME.findall(expression))
        assert names or "up{" in expression, f"{rule['alert']} reads no streamclust metric"
        assert names <= exported_metric_names, (
            f"{rule['alert']} reads unknown {names - exported_metric_names}"
        )
