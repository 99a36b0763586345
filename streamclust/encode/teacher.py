"""The teacher: a contextual sentence encoder whose cosines the first autoencoder learns to reproduce.

The static featurizer averages word vectors, so it cannot tell what a word means in its sentence. The MiniLM
sentence encoder it was distilled from can, but runs at a few hundred posts per second on a CPU, far too slow to
embed every post. So it embeds only the warm-up posts, once: the first autoencoder is trained to give those posts
the cosines the teacher gives them (``encode/autoencoder.py``, the structure term), and it carries that geometry
to every later post at the static featurizer's speed. A retrain keeps the cosines the current encoder gives its
reservoir, so the teacher's geometry survives retraining without running the teacher again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

import numpy as np

from streamclust.errors import ModelError

MINILM_TEACHER = "minilm"
TEACHER_BATCH_SIZE = 64


class Teacher(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 rows, one per text."""
        ...


class SentenceTeacher:
    """The packaged all-MiniLM-L6-v2 through sentence-transformers, on the CPU, no model hub involved."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embedded on every CPU: the stream waits for the warm-up anyway, and the transformer's matrices are
        large enough for more threads to help (the engine's own are not, hence its one thread)."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(max(threads, os.cpu_count() or 1))
        try:
            vectors = self.model.encode(
                list(texts), batch_size=TEACHER_BATCH_SIZE, show_progress_bar=False, convert_to_numpy=True
            )
        finally:
            torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


def build_teacher(name: str) -> Teacher | None:
    """The teacher ``encoder.teacher`` names, or None for ``"none"``."""
    if name == "none":
        return None
    if name != MINILM_TEACHER:
        raise ModelError(f"encoder.teacher {name!r} is not known; use '{MINILM_TEACHER}' or 'none'")
    return SentenceTeacher(load_minilm())


@cache
def load_minilm() -> Any:
    """The packaged MiniLM, loaded once per process (it is read only for each first training)."""
    from streamclust.featurize.static import packaged_minilm_folder

    folder = packaged_minilm_folder()
    os.environ["HF_HUB_OFFLINE"] = (
        "1"  # read when huggingface_hub is imported: set before sentence_transformers
    )
    try:
        import transformers
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ModelError(
            "encoder.teacher 'minilm' needs sentence-transformers; run: pip install sentence-transformers, "
            "or set encoder.teacher to 'none'"
        ) from None
    transformers.logging.set_verbosity_error()  # its load report lists a buffer the checkpoint carries, harmlessly
    transformers.logging.disable_progress_bar()  # a loading bar per process would clutter the worker's log
    return SentenceTransformer(str(folder), device="cpu")
