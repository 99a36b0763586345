"""``streamclust config prepare`` builds the featurizer's model ahead of the first run, as `make setup` and the
Dockerfile use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model2vec import StaticModel
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from streamclust.cli import main
from streamclust.featurize import static


def tiny_model(**kwargs: Any) -> StaticModel:
    """What the real distillation returns, in miniature (the real one takes 40 s)."""
    vocabulary = ["[UNK]", "[PAD]", "lost", "card"]
    tokenizer = Tokenizer(WordLevel({token: i for i, token in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    rng = np.random.default_rng(0)
    return StaticModel(rng.normal(size=(len(vocabulary), kwargs["pca_dims"])).astype(np.float32), tokenizer)


def test_prepare_distils_the_static_model_into_the_cache_the_settings_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[dict[str, Any]] = []

    def distill(**kwargs: Any) -> StaticModel:
        asked.append(kwargs)
        return tiny_model(**kwargs)

    monkeypatch.setattr(static, "import_distill", lambda: distill)
    monkeypatch.setenv("STREAMCLUST_FEATURIZE__CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("STREAMCLUST_FEATURIZE__STATIC_DIMS", "16")

    assert main(["config", "prepare"]) == 0

    assert [kwargs["pca_dims"] for kwargs in asked] == [16]
    assert (tmp_path / "model2vec-minilm-16" / "config.json").exists()
    assert "the static featurizer is ready" in capsys.readouterr().out
    assert main(["config", "prepare"]) == 0  # a second time reads the cache
    assert len(asked) == 1


def test_prepare_with_the_hashing_featurizer_has_nothing_to_distil(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static, "import_distill", lambda: pytest.fail("nothing should be distilled"))
    monkeypatch.setenv("STREAMCLUST_FEATURIZE__CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("STREAMCLUST_FEATURIZE__KIND", "hashing")

    assert main(["config", "prepare"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_prepare_says_what_is_wrong_with_a_model_folder_that_is_not_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAMCLUST_FEATURIZE__STATIC_MODEL", str(tmp_path / "missing"))

    assert main(["config", "prepare"]) == 2

    error = capsys.readouterr().err
    assert "is not a folder holding a saved model2vec model" in error and "minilm-distilled" in error
