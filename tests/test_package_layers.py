"""The package's import rules: every folder imports only what sits below it, so no arrow runs back up.

From the bottom: the core (``schema``, ``result``, ``config``, ``featurize/``, ``encode/``, ``cluster/``,
``stages/``, ``engine``, ``state/``) imports no adapter, observer, report or tool. The observer contract
(``observer.py``) sits between the adapters (``io/``), which send reports, and the observers (``obs/``), which
read them: neither imports the other. ``report/`` draws what ``obs/`` records; ``evaluate/`` scores the engine.
``bench/``, ``demo.py`` and ``cli/`` sit on top: they may import everything, and nothing below imports them.
Inside ``io/kafka/`` the plumbing (``clients``, ``topics``, ``records``, ``isolation``) imports no role,
``durability/`` only the plumbing, ``worker/`` and ``tools/`` the plumbing and ``durability/``, ``shared_mode/``
all but ``tools/``.

Imports are read from the source (``ast``), function-level and type-checking ones included, so an import kept
inside a function to stay lazy still counts.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "streamclust"

CORE = [
    "streamclust",  # the package's __init__ (its version)
    "streamclust.schema",
    "streamclust.result",
    "streamclust.config",
    "streamclust.config_check",
    "streamclust.config_reference",
    "streamclust.errors",
    "streamclust.redact",
    "streamclust.threads",
    "streamclust.testing",
    "streamclust.featurize",
    "streamclust.encode",
    "streamclust.cluster",
    "streamclust.stages",
    "streamclust.engine",
    "streamclust.state",
]
ADAPTERS, OBSERVERS, REPORT, EVALUATE = (
    "streamclust.io",
    "streamclust.obs",
    "streamclust.report",
    "streamclust.evaluate",
)
TOOLS = ["streamclust.bench", "streamclust.demo", "streamclust.cli", "streamclust.__main__"]
KAFKA = "streamclust.io.kafka"
PLUMBING = [f"{KAFKA}.clients", f"{KAFKA}.topics", f"{KAFKA}.records", f"{KAFKA}.isolation"]
ROLES = [f"{KAFKA}.worker", f"{KAFKA}.durability", f"{KAFKA}.shared_mode", f"{KAFKA}.tools"]
ABOVE_THE_CORE = [ADAPTERS, "streamclust.observer", OBSERVERS, REPORT, EVALUATE, *TOOLS]

# Each module obeys the rule of the longest prefix that names it: the prefixes it must not import.
MUST_NOT_IMPORT: dict[str, list[str]] = {
    **{core: ABOVE_THE_CORE for core in CORE},
    "streamclust.observer": ABOVE_THE_CORE,
    ADAPTERS: [OBSERVERS, REPORT, EVALUATE, *TOOLS],
    OBSERVERS: [ADAPTERS, REPORT, EVALUATE, *TOOLS],
    REPORT: [ADAPTERS, *TOOLS],
    EVALUATE: [ADAPTERS, OBSERVERS, REPORT, *TOOLS],
    "streamclust.bench": ["streamclust.demo", "streamclust.cli"],
    "streamclust.demo": ["streamclust.bench", "streamclust.cli"],
    "streamclust.cli": [],
    "streamclust.__main__": [],
    # inside the Kafka adapter; its __init__ (the front door, which exports KafkaWorker) may import its parts
    KAFKA: [OBSERVERS, REPORT, EVALUATE, *TOOLS],
    **{plumbing: [*ROLES, OBSERVERS, REPORT, EVALUATE, *TOOLS] for plumbing in PLUMBING},
    f"{KAFKA}.durability": [
        f"{KAFKA}.worker",
        f"{KAFKA}.shared_mode",
        f"{KAFKA}.tools",
        OBSERVERS,
        REPORT,
        *TOOLS,
    ],
    f"{KAFKA}.worker": [f"{KAFKA}.shared_mode", f"{KAFKA}.tools", OBSERVERS, REPORT, EVALUATE, *TOOLS],
    f"{KAFKA}.tools": [f"{KAFKA}.worker", f"{KAFKA}.shared_mode", OBSERVERS, REPORT, EVALUATE, *TOOLS],
    f"{KAFKA}.shared_mode": [f"{KAFKA}.tools", OBSERVERS, REPORT, EVALUATE, *TOOLS],
}
# The outside libraries that belong to one place: the Kafka client to the Kafka adapter (and the Kafka
# benchmarks, which measure the raw client), Prometheus and the HTTP server to the observers.
LIBRARY_OWNERS = {
    "kafka": [KAFKA, "streamclust.bench"],
    "prometheus_client": [OBSERVERS],
    "http": [OBSERVERS],
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def rule_of(name: str) -> str | None:
    matching = [prefix for prefix in MUST_NOT_IMPORT if within(name, prefix)]
    return max(matching, key=len) if matching else None


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """The package's modules that ``name`` imports, and the top-level names of the outside libraries."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    ours: set[str] = set()
    libraries: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if within(alias.name, "streamclust") else libraries).add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if not within(source, "streamclust"):
                libraries.add(source)
                continue
            for alias in node.names:  # ``from streamclust.stages import clusters`` imports a module
                ours.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return ours, {library.split(".")[0] for library in libraries}


def test_every_module_has_a_rule() -> None:
    assert [name for name in MODULES if rule_of(name) is None] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_runs_back_up(name: str) -> None:
    rule = rule_of(name)
    assert rule is not None
    ours, _ = imports_of(name)
    wrong = sorted(
        imported
        for imported in ours
        for forbidden in MUST_NOT_IMPORT[rule]
        if within(imported, forbidden) and not within(name, forbidden)
    )
    assert wrong == [], f"{name} (rule {rule}) must not import {wrong}"


@pytest.mark.parametrize("library", sorted(LIBRARY_OWNERS))
def test_an_outside_library_is_imported_only_where_it_belongs(library: str) -> None:
    importers = sorted(name for name in MODULES if library in imports_of(name)[1])
    strays = [name for name in importers if not any(within(name, owner) for owner in LIBRARY_OWNERS[library])]
    assert importers and strays == []


def test_the_committer_process_starts_without_the_engine() -> None:
    """The committer is spawned for every worker (and again after a lost producer): importing it loads the
    Kafka client and the plumbing, not torch, FAISS or the engine."""
    script = (
        "import json, sys\n"
        "import streamclust.io.kafka.worker.committer\n"
        "heavy = ['torch', 'faiss', 'streamclust.engine', 'streamclust.io.kafka.worker.batch_loop']\n"
        "print(json.dumps([name for name in heavy if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
