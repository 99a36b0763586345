"""Settings: a YAML preset, environment overrides that win over it, and errors that say what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamclust.config import load_settings
from streamclust.errors import ConfigError

PRESET = """
seed: 7
cluster:
  half_life_posts: 500
  join_similarity: 0.3
encoder:
  latent_dim: 32
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("STREAMCLUST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    path = tmp_path / "preset.yaml"
    path.write_text(PRESET, encoding="utf-8")
    return path


def test_a_yaml_preset_sets_values_and_leaves_the_rest_at_their_defaults(preset: Path) -> None:
    settings = load_settings(preset)
    assert settings.seed == 7
    assert settings.cluster.half_life_posts == 500 and settings.cluster.join_similarity == 0.3
    assert settings.encoder.latent_dim == 32
    assert settings.cluster.semantic_weight == 0.5 and settings.encoder.hidden_dim == 256


def test_the_environment_wins_over_the_yaml_file_key_by_key(
    preset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER__HALF_LIFE_POSTS", "900")

    settings = load_settings(preset)

    assert settings.cluster.half_life_posts == 900
    assert settings.cluster.join_similarity == 0.3, "the rest of the YAML section survives the override"


def test_keyword_overrides_win_over_the_environment(preset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_SEED", "11")
    assert load_settings(preset).seed == 11
    assert load_settings(preset, seed=12).seed == 12


def test_settings_are_frozen(preset: Path) -> None:
    settings = load_settings(preset)
    with pytest.raises(Exception, match="frozen"):
        settings.cluster.half_life_posts = 1


def test_a_wrong_environment_value_names_the_key_the_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER__HALF_LIFE_POSTS", "-1")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "cluster.half_life_posts" in message and "'-1'" in message
    assert "greater than or equal to 1" in message


def test_a_wrong_choice_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cluster:\n  index: kdtree\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert "cluster.index" in message and "'kdtree'" in message
    assert all(choice in message for choice in ("'auto'", "'flat'", "'hnsw'", "'ivf'"))
    assert str(path) in message


def test_an_unknown_key_is_an_error_not_silently_ignored(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("cluster:\n  radius_kk: 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cluster\.radius_kk"):
        load_settings(path)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [("cluster: [1, 2\n", "not valid YAML"), ("- a\n- b\n", "must hold a mapping")],
)
def test_a_broken_yaml_file_says_what_is_wrong(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=complaint):
        load_settings(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nowhere.yaml")


def test_an_empty_yaml_file_means_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_settings(path) == load_settings()
