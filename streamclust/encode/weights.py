"""An autoencoder's weights out as tensors and back into a model of the same shape, and an ``Encoder`` as a
snapshot (weights, centring vector, version) and back.

A model is rebuilt on torch's ``meta`` device and the weights are assigned to it, so no random initialisation
runs (and no random generator moves) on restore.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from streamclust.encode.autoencoder import AutoencoderShape, Encoder, TextAutoencoder


def weights_of(model: TextAutoencoder) -> dict[str, torch.Tensor]:
    """A copy of every weight of ``model``, by name."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def model_from(shape: AutoencoderShape, weights: dict[str, torch.Tensor]) -> TextAutoencoder:
    """An autoencoder of ``shape`` holding ``weights``, ready for inference."""
    with torch.device("meta"):
        model = TextAutoencoder(shape)
    model.load_state_dict(weights, strict=True, assign=True)
    model.eval()
    return model


def encoder_snapshot(encoder: Encoder) -> dict[str, Any]:
    return {"version": encoder.version, "center": encoder.center.copy(), "weights": weights_of(encoder.model)}


def encoder_from(snapshot: dict[str, Any], shape: AutoencoderShape) -> Encoder:
    return Encoder(
        model_from(shape, dict(snapshot["weights"])),
        int(snapshot["version"]),
        np.asarray(snapshot["center"]).astype(np.float32),
    )
