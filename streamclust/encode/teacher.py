"""The teacher: a contextual sentence encoder whose cosines the first autoencoder learns to reproduce.

The static featurizer averages word vectors, so it cannot tell what a word means in its sentence. The MiniLM
sentence encoder it was distilled from can, but runs at about a hundred posts per second on 2 CPU cores, far too
slow to embed every post. So it embeds some of the warm-up posts (``encoder.teacher_posts``), once: the first
autoencoder is trained to give those posts the cosines the teacher gives them (``encode/autoencoder.py``, the
structure term), and it carries that geometry to every later post at the static featurizer's speed. A retrain
keeps the cosines the current encoder gives its reservoir, so the teacher's geometry survives retraining without
running the teacher again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Protocol

import numpy as np
import torch

from streamclust.encode.minilm import MiniLM
from streamclust.errors import ModelError

MINILM_TEACHER = "minilm"
TEACHER_BATCH_SIZE = 64


class Teacher(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 rows, one per text."""
        ...


class SentenceTeacher:
    """The packaged all-MiniLM-L6-v2 (``encode/minilm.py``), on the CPU, no model hub involved."""

    def __init__(self, model: MiniLM) -> None:
        self.model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embedded on every CPU: the stream waits for the warm-up anyway, and the transformer's matrices are
        large enough for more threads to help (the engine's own are not, hence its one thread)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(max(threads, os.cpu_count() or 1))
        try:
            return self.model.embed(texts)
        finally:
            torch.set_num_threads(threads)


def taught_rows(posts: int, wanted: int) -> np.ndarray:
    """The rows of ``posts`` warm-up posts the teacher embeds: ``wanted`` of them (or all), evenly spread, so an
    emerging stream's later topics are taught as well as its first ones."""
    if wanted >= posts:
        return np.arange(posts)
    return np.unique(np.linspace(0, posts - 1, wanted).round().astype(np.int64))


def build_teacher(name: str) -> Teacher | None:
    """The teacher ``encoder.teacher`` names, or None for ``"none"``."""
    if name == "none":
        return None
    if name != MINILM_TEACHER:
        raise ModelError(f"encoder.teacher {name!r} is not known; use '{MINILM_TEACHER}' or 'none'")
    return SentenceTeacher(load_minilm())


@cache
def load_minilm() -> MiniLM:
    """The packaged MiniLM, loaded once per process (it is read only for each first training)."""
    from streamclust.featurize.static import packaged_minilm_folder

    return MiniLM(packaged_minilm_folder())
