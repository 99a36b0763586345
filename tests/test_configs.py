"""The presets in configs/ load, and the default preset spells out the built-in defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from streamclust.config import Settings, load_settings

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = sorted(CONFIGS.glob("*.yaml"))


def test_there_are_presets_for_the_documented_uses() -> None:
    assert {path.name for path in PRESETS} >= {"default.yaml", "support-tickets.yaml", "social-posts.yaml"}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda path: path.name)
def test_every_preset_loads_and_uses_semantic_features(preset: Path) -> None:
    settings = load_settings(preset)
    assert settings.featurize.kind == "static"


def test_default_preset_lists_every_key_with_the_built_in_value() -> None:
    written = yaml.safe_load((CONFIGS / "default.yaml").read_text())
    built_in = Settings().model_dump(mode="json")
    differences = {}
    for section, values in built_in.items():
        if isinstance(values, dict):
            for key, value in values.items():
                if value is not None and written[section].get(key) != value:
                    differences[f"{section}.{key}"] = (written[section].get(key), value)
        elif values is not None and written.get(section) != values:
            differences[section] = (written.get(section), values)
    # No --config runs exactly what configs/default.yaml says.
    assert differences == {}
