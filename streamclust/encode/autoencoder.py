"""A small torch autoencoder for sparse (hashed TF-IDF) and/or dense (static embedding) post features.

Encoder: sparse rows through an ``EmbeddingBag`` and dense rows through a linear layer, summed into one hidden
layer, then a linear map to the latent space. Dense input also reaches the latent space directly, through a
fixed *skip* map: the principal axes of the first model's training posts (an isometry of the centred features when
the latent space is as wide as the input, the default). The learned map starts at zero and adds a residual to it,
so a model keeps what its input knows however few posts it was trained on, and training may only move posts
where that helps it reconstruct them; a structure term (``structure_weight``) charges it for changing the
cosines between the posts of a mini-batch. Decoder: back to the hidden size, then a softmax over (folded) hashed
columns for the sparse part and a linear reconstruction of the dense part. Latents are L2-normalised by
``encode`` so that inner product = cosine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from streamclust.encode.adam import Adam
from streamclust.featurize.base import FeatureBatch

MAX_RECONSTRUCTED_COLUMNS = 4096


@dataclass(frozen=True)
class AutoencoderShape:
    sparse_columns: int
    dense_columns: int
    hidden_dim: int = 256
    latent_dim: int = 64

    @property
    def reconstructed_columns(self) -> int:
        return min(self.sparse_columns, MAX_RECONSTRUCTED_COLUMNS)


class TextAutoencoder(nn.Module):
    def __init__(self, shape: AutoencoderShape) -> None:
        super().__init__()
        self.shape = shape
        hidden, latent = shape.hidden_dim, shape.latent_dim
        self.sparse_in = (
            nn.EmbeddingBag(shape.sparse_columns, hidden, mode="sum") if shape.sparse_columns else None
        )
        self.dense_in = nn.Linear(shape.dense_columns, hidden, bias=False) if shape.dense_columns else None
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        self.to_latent = nn.Linear(hidden, latent)
        self.from_latent = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU())
        self.sparse_out = nn.Linear(hidden, shape.reconstructed_columns) if shape.sparse_columns else None
        self.dense_out = nn.Linear(hidden, shape.dense_columns) if shape.dense_columns else None
        if self.sparse_in is not None:
            nn.init.normal_(self.sparse_in.weight, std=1.0 / np.sqrt(hidden))
        self.skip: nn.Linear | None = None
        if shape.dense_columns:
            self.skip = nn.Linear(shape.dense_columns, latent, bias=False)
            self.skip.weight.requires_grad_(False)
            with torch.no_grad():
                self.skip.weight.copy_(torch.eye(latent, shape.dense_columns))
            nn.init.zeros_(self.to_latent.weight)
            nn.init.zeros_(self.to_latent.bias)

    def set_skip_axes(self, dense: np.ndarray) -> None:
        """Point the skip map at the principal axes of ``dense`` (rows of training posts)."""
        if self.skip is None or len(dense) < 2:
            return
        centred = dense.astype(np.float64) - dense.mean(axis=0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        weight = np.zeros(tuple(self.skip.weight.shape), dtype=np.float32)
        kept = min(len(axes), weight.shape[0])
        weight[:kept] = axes[:kept]
        with torch.no_grad():
            self.skip.weight.copy_(torch.from_numpy(weight))

    def encode(self, inputs: ModelInputs) -> torch.Tensor:
        hidden = self.hidden_bias.expand(inputs.rows, -1)
        if self.sparse_in is not None and inputs.indices is not None:
            hidden = hidden + self.sparse_in(
                inputs.indices, inputs.offsets, per_sample_weights=inputs.weights
            )
        if self.dense_in is not None and inputs.dense is not None:
            hidden = hidden + self.dense_in(inputs.dense)
        latent = self.to_latent(torch.relu(hidden))
        if self.skip is not None and inputs.dense is not None:
            latent = latent + self.skip(inputs.dense)
        return latent

    def structure_loss(self, latent: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Mean squared difference between the pairwise cosines of a mini-batch's centred latents and those of
        its centred ``reference`` rows (the teacher's vectors of the same posts, or their dense features)."""
        if len(latent) < 2:
            return torch.zeros(())
        before = torch.nn.functional.normalize(reference - reference.mean(0, keepdim=True), dim=1)
        after = torch.nn.functional.normalize(latent - latent.mean(0, keepdim=True), dim=1)
        return ((after @ after.T - before @ before.T) ** 2).mean()

    def reconstruction_loss(self, inputs: ModelInputs, latent: torch.Tensor) -> torch.Tensor:
        """Per-post reconstruction loss: cross-entropy over hashed columns plus squared error of dense part."""
        decoded = self.from_latent(latent)
        loss = torch.zeros(inputs.rows)
        if self.sparse_out is not None and inputs.target is not None:
            log_probs = torch.log_softmax(self.sparse_out(decoded), dim=1)
            loss = loss - (inputs.target * log_probs).sum(dim=1)
        if self.dense_out is not None and inputs.dense is not None:
            loss = loss + ((self.dense_out(decoded) - inputs.dense) ** 2).sum(dim=1)
        return loss


@dataclass(frozen=True)
class ModelInputs:
    rows: int
    indices: torch.Tensor | None = None
    offsets: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    target: torch.Tensor | None = None  # sparse part as a distribution over folded columns
    dense: torch.Tensor | None = None


def model_inputs(batch: FeatureBatch, shape: AutoencoderShape, with_target: bool = False) -> ModelInputs:
    rows = len(batch)
    indices = offsets = weights = target = dense = None
    if batch.sparse is not None and shape.sparse_columns:
        sparse = batch.sparse
        indices = torch.from_numpy(sparse.indices.astype(np.int64))
        offsets = torch.from_numpy(sparse.indptr[:-1].astype(np.int64))
        weights = torch.from_numpy(sparse.values.astype(np.float32))
        if with_target:
            folded = np.zeros((rows, shape.reconstructed_columns), dtype=np.float32)
            np.add.at(
                folded,
                (sparse.row_ids(), sparse.indices % shape.reconstructed_columns),
                np.abs(sparse.values),
            )
            totals = folded.sum(axis=1, keepdims=True)
            totals[totals == 0] = 1.0
            target = torch.from_numpy(folded / totals)
    if batch.dense is not None and shape.dense_columns:
        dense = torch.from_numpy(np.ascontiguousarray(batch.dense, dtype=np.float32))
    return ModelInputs(
        rows=rows, indices=indices, offsets=offsets, weights=weights, target=target, dense=dense
    )


@dataclass(frozen=True)
class TrainingPlan:
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 2e-3
    seed: int = 0
    structure_weight: float = 0.0
    keep_start_cosines: bool = False  # with dense input, a retrain keeps the cosines its starting model gives


def train_autoencoder(
    features: FeatureBatch,
    shape: AutoencoderShape,
    plan: TrainingPlan,
    start_from: TextAutoencoder | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    targets: np.ndarray | None = None,
    target_rows: np.ndarray | None = None,
) -> TextAutoencoder:
    """Train (or continue training a copy of ``start_from``) on ``features``; returns a model in eval mode.

    ``targets`` (any width) are vectors whose cosines the structure term asks the latents to have: one per post,
    or one per post of ``target_rows`` (the term then looks at those posts only). Without them it keeps the
    cosines of the dense features."""
    generator = torch.Generator().manual_seed(plan.seed)
    if start_from is not None:
        model = copy.deepcopy(start_from)
    else:
        torch.manual_seed(plan.seed)
        model = TextAutoencoder(shape)
        if features.dense is not None:
            model.set_skip_axes(features.dense)
    if targets is None and start_from is not None and plan.keep_start_cosines and shape.dense_columns:
        with torch.inference_mode():
            targets = start_from.encode(model_inputs(features, shape)).numpy()
            target_rows = None
    model.train()
    optimizer = Adam([p for p in model.parameters() if p.requires_grad], lr=plan.learning_rate)
    n = len(features)
    references = structure_references(n, targets, target_rows)
    for epoch in range(plan.epochs):
        order = torch.randperm(n, generator=generator).numpy()
        total = 0.0
        for start in range(0, n, plan.batch_size):
            rows = order[start : start + plan.batch_size]
            inputs = model_inputs(features.take(rows), shape, with_target=True)
            latent = model.encode(inputs)
            loss = model.reconstruction_loss(inputs, latent).mean()
            if plan.structure_weight:
                loss = loss + plan.structure_weight * references.loss(model, inputs, latent, rows)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        if on_epoch is not None:
            on_epoch(epoch, total / max(n, 1))
    model.eval()
    return model


@dataclass(frozen=True)
class StructureReferences:
    """What the structure term compares a mini-batch's cosines with: target vectors for the posts that have one
    (``taught``), or the posts' own dense features when there are no targets."""

    vectors: torch.Tensor | None
    taught: torch.Tensor | None

    def loss(
        self, model: TextAutoencoder, inputs: ModelInputs, latent: torch.Tensor, rows: np.ndarray
    ) -> torch.Tensor:
        if self.vectors is None or self.taught is None:
            return torch.zeros(()) if inputs.dense is None else model.structure_loss(latent, inputs.dense)
        index = torch.from_numpy(rows)
        chosen = self.taught[index]
        return model.structure_loss(latent[chosen], self.vectors[index][chosen])


def structure_references(
    n: int, targets: np.ndarray | None, target_rows: np.ndarray | None
) -> StructureReferences:
    """Targets spread over all ``n`` training posts, with the posts that have none marked untaught."""
    if targets is None:
        return StructureReferences(None, None)
    rows = np.arange(n) if target_rows is None else np.asarray(target_rows, dtype=np.int64)
    vectors = np.zeros((n, targets.shape[1]), dtype=np.float32)
    vectors[rows] = targets
    taught = np.zeros(n, dtype=bool)
    taught[rows] = True
    return StructureReferences(torch.from_numpy(vectors), torch.from_numpy(taught))


class Encoder:
    """A trained autoencoder frozen for inference, with the version it was published under.

    Latents are centred on the mean latent of the training posts before they are normalised, so cosine
    similarity measures direction away from the average post rather than the shared offset of all posts.
    """

    def __init__(self, model: TextAutoencoder, version: int, center: np.ndarray | None = None) -> None:
        self.model = model
        self.version = version
        self.center = np.zeros(model.shape.latent_dim, dtype=np.float32) if center is None else center

    @classmethod
    def fitted(cls, model: TextAutoencoder, version: int, training: FeatureBatch) -> Encoder:
        return cls.fitted_with_latents(model, version, training)[0]

    @classmethod
    def fitted_with_latents(
        cls, model: TextAutoencoder, version: int, training: FeatureBatch
    ) -> tuple[Encoder, np.ndarray]:
        """The encoder centred on ``training``, and ``encode(training)`` (computed once for both)."""
        with torch.inference_mode():
            raw = model.encode(model_inputs(training, model.shape)).numpy()
        encoder = cls(model, version, raw.mean(axis=0).astype(np.float32))
        return encoder, normalize(raw - encoder.center)

    @property
    def shape(self) -> AutoencoderShape:
        return self.model.shape

    def encode(self, batch: FeatureBatch) -> np.ndarray:
        """L2-normalised latents, float32 [n, latent_dim]."""
        with torch.inference_mode():
            latent = self.model.encode(model_inputs(batch, self.shape)).numpy()
        return normalize(latent - self.center)

    def reconstruction_error(self, batch: FeatureBatch) -> np.ndarray:
        with torch.inference_mode():
            inputs = model_inputs(batch, self.shape, with_target=True)
            return self.model.reconstruction_loss(inputs, self.model.encode(inputs)).numpy()


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)
