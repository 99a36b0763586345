"""A newcomer's mistakes in the settings stop the run with the way out: the name they meant, the place that set a
bad value, the presets there are, the line of a YAML error. Secrets stay masked in all of it."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import streamclust.config_check
from streamclust.cli import main
from streamclust.config import load_settings
from streamclust.errors import ConfigError
from streamclust.redact import MASK

PASSWORD = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("STREAMCLUST_"):
            monkeypatch.delenv(name)


def config_error(path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def yaml_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("STREAMCLUST_CLUSTR__HALF_LIFE_POSTS", "STREAMCLUST_CLUSTER__HALF_LIFE_POSTS"),
        ("STREAMCLUST_CLUSTER_HALF_LIFE_POSTS", "STREAMCLUST_CLUSTER__HALF_LIFE_POSTS"),
        ("STREAMCLUST_HTTP__PROT", "STREAMCLUST_HTTP__PORT"),
        ("STREAMCLUST_SED", "STREAMCLUST_SEED"),
    ],
)
def test_a_misspelt_variable_is_an_error_that_names_the_one_meant(
    variable: str, meant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "3")

    message = config_error()

    assert f"{variable} is not a setting; did you mean {meant}?" in message


def test_a_single_underscore_between_section_and_key_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER_HALF_LIFE_POSTS", "3")
    assert "joined by two underscores" in config_error()


def test_a_variable_close_to_nothing_points_to_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_ZZZ", "1")
    message = config_error()
    assert "STREAMCLUST_ZZZ is not a setting" in message
    assert "STREAMCLUST_SECTION__KEY" in message and "streamclust config reference" in message


def test_a_key_its_section_does_not_have_is_answered_with_the_keys_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER__RADIUS_K", "3")  # a setting of an older version
    path = yaml_file(tmp_path, "novelty:\n  radius_k: 3\n")

    message = config_error(path)

    assert "STREAMCLUST_CLUSTER__RADIUS_K is not a setting; the keys of cluster are: " in message
    assert "join_fraction" in message and "half_life_posts" in message
    assert f"{path} line 2: unknown key novelty.radius_k; the keys of novelty are: " in message


def test_the_local_brokers_cache_variable_is_not_taken_for_a_typo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_CACHE", "/var/cache/streamclust")
    assert load_settings().seed == 0


def test_an_unknown_yaml_key_names_the_file_line_and_the_key_meant(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "seed: 1\nclustr:\n  half_life_posts: 3\ncluster:\n  half_life_post: 3\n")

    message = config_error(path)

    assert f"{path} line 2: unknown key clustr; did you mean cluster?" in message
    assert (
        f"{path} line 5: unknown key cluster.half_life_post; did you mean cluster.half_life_posts?" in message
    )


def test_a_key_in_the_wrong_section_names_the_section_it_belongs_to(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "cluster:\n  warmup_posts: 100\n")
    assert "unknown key cluster.warmup_posts; did you mean encoder.warmup_posts?" in config_error(path)


def test_a_bad_value_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER__HALF_LIFE_POSTS", "abc")

    message = config_error()

    assert "cluster.half_life_posts = 'abc'" in message
    assert "(set by STREAMCLUST_CLUSTER__HALF_LIFE_POSTS)" in message


def test_a_bad_value_from_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "cluster:\n  join_fraction: 7\n")
    message = config_error(path)
    assert (
        f"cluster.join_fraction = 7: Input should be less than or equal to 1 (set in {path} line 2)"
        in message
    )


def test_the_environment_is_named_when_it_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = yaml_file(tmp_path, "cluster:\n  half_life_posts: 10\n")
    monkeypatch.setenv("STREAMCLUST_CLUSTER__HALF_LIFE_POSTS", "-1")
    message = config_error(path)
    assert "(set by STREAMCLUST_CLUSTER__HALF_LIFE_POSTS)" in message and "line 2" not in message


def test_a_missing_preset_lists_the_presets_in_configs(tmp_path: Path) -> None:
    message = config_error(tmp_path / "nowhere.yaml")
    assert "does not exist" in message
    assert "configs/default.yaml" in message and "configs/support-tickets.yaml" in message


def test_a_preset_named_without_its_folder_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no configs/ here: the presets of the checkout are offered
    assert "did you mean configs/social-posts.yaml?" in config_error(Path("social-posts.yaml"))


def test_a_yaml_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "seed: 1\ncluster:\n  half_life_posts: [1, 2\n")
    message = config_error(path)
    assert f"config file {path} is not valid YAML" in message and "line 4" in message
    assert "<unicode string>" not in message


def test_a_folder_given_as_the_config_says_to_pass_a_file(tmp_path: Path) -> None:
    assert "pass a YAML file as --config" in config_error(tmp_path)


def test_mistakes_around_a_secret_never_show_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_KAFKA__SASL_PASSWORDD", PASSWORD)
    assert PASSWORD not in config_error()
    monkeypatch.delenv("STREAMCLUST_KAFKA__SASL_PASSWORDD")
    monkeypatch.setenv("STREAMCLUST_KAFKA__SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("STREAMCLUST_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    message = config_error()
    assert PASSWORD not in message and MASK in message
    assert "STREAMCLUST_KAFKA__SECURITY_PROTOCOL" in message
    path = yaml_file(tmp_path, f"kafka:\n  sasl_pasword: {PASSWORD}\n")
    message = config_error(path)
    assert "did you mean kafka.sasl_password?" in message and PASSWORD not in message


def test_the_cli_stops_with_exit_code_2_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAMCLUST_CLUSTER_HALF_LIFE_POSTS", "3")
    source = tmp_path / "posts.jsonl"
    source.write_text('{"id": "1", "text": "hello"}\n')

    code = main(["cluster", str(source), "--quiet"])

    assert code == 2
    err = capsys.readouterr().err
    assert "streamclust cluster: error: unknown settings" in err
    assert "did you mean STREAMCLUST_CLUSTER__HALF_LIFE_POSTS?" in err


def test_the_module_example_runs() -> None:
    assert doctest.testmod(streamclust.config_check).failed == 0
