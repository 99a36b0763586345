"""The whole model state of an engine as one plain, safely serialisable value.

A ``ModelState`` holds numbers only: JSON-able ``meta`` (scalars, lists, mappings), numeric NumPy ``arrays``
and torch ``tensors`` (the encoder's weights). Adapters attach what they need to resume (for example the input
offsets committed with the checkpoint) under ``extra`` with ``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

FORMAT_VERSION = 3  # 3: one part per engine stage; 2: lexical profiles and provisional clusters


@dataclass(frozen=True)
class ModelState:
    format_version: int
    model_version: int
    position: int  # posts the model has learned from
    config_fingerprint: str  # hash of the settings that shape the arrays
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    tensors: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, int]:
        """How checkpoints are ordered: model version first, then stream position."""
        return (self.model_version, self.position)
