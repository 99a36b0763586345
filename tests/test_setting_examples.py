"""Every ``STREAMCLUST_...`` variable the documentation shows as an example is a real setting, so a newcomer who
copies one gets what the text promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streamclust.config import Settings
from streamclust.config_check import NOT_SETTINGS, unknown_environment_names

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "configs").glob("*.yaml"))]
# Placeholders for the pattern itself, not examples: STREAMCLUST_SECTION__KEY, STREAMCLUST_<SECTION>__<KEY>.
PLACEHOLDERS = {"STREAMCLUST_SECTION__KEY", "STREAMCLUST_"}
VARIABLE = re.compile(r"STREAMCLUST_[A-Z0-9_]*")


def examples(path: Path) -> set[str]:
    return set(VARIABLE.findall(path.read_text(encoding="utf-8"))) - PLACEHOLDERS - NOT_SETTINGS


def test_the_documents_show_examples() -> None:
    assert "STREAMCLUST_CLUSTER__JOIN_FRACTION" in examples(REPO / "README.md")
    assert "STREAMCLUST_CLUSTER__JOIN_FRACTION" in examples(REPO / "configs" / "default.yaml")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_variable_example_names_a_real_setting(document: Path) -> None:
    unknown = unknown_environment_names(Settings, dict.fromkeys(examples(document), "1"))
    assert unknown == [], f"{document.name} shows variables that set nothing"
