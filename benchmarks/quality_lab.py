"""Lab experiments behind docs/quality-lab.md: what the features know, and how much of it survives the engine.

Runs on the shared labelled streams (``../shared/data``), each in the order its quality target uses (News and
News-T as given, Banking77 emerging, StackOverflow shuffled; ``--order`` overrides). Everything is online and
single pass unless it says "KMeans" (offline, told k, the reference of what the vectors know).

    .venv/bin/python benchmarks/quality_lab.py leader            # static features, then + online TF-IDF
    .venv/bin/python benchmarks/quality_lab.py latents           # the engine's autoencoder, PCA, structure term

Not part of the product: a notebook's reproducible cells. Numbers go to stdout, one JSON line per result.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.sparse import csr_matrix
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from streamclust.config import load_settings
from streamclust.encode.autoencoder import AutoencoderShape, TextAutoencoder, model_inputs
from streamclust.evaluate.datasets import load_dataset
from streamclust.evaluate.orders import stream_order
from streamclust.featurize import build_featurizer
from streamclust.featurize.base import FeatureBatch, SparseRows

STREAMS = {
    "mstream-news": "as-is",
    "mstream-news-t": "as-is",
    "banking77": "emerging",
    "stackoverflow": "shuffled",
}
WARMUP = 2_000


@dataclass
class Stream:
    name: str
    order: str
    dense: np.ndarray  # static features, unit rows, stream order
    terms: csr_matrix  # hashed unigram counts
    labels: np.ndarray


def load_stream(name: str, order: str, data_dir: Path) -> Stream:
    path = data_dir / f"{name}.jsonl.gz"
    posts = load_dataset(str(path) if path.exists() else name, data_dir)
    rows = stream_order(order, posts.labels, 0)
    featurizer = build_featurizer(load_settings().featurize, seed=0)
    features = featurizer.transform([posts.texts[row] for row in rows])
    assert features.dense is not None
    return Stream(name, order, features.dense, features.terms.to_scipy(), posts.labels[rows])


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def online_tfidf(counts: csr_matrix) -> csr_matrix:
    """Sublinear unigram TF-IDF with the IDF of the posts seen so far (this one included), unit rows."""
    counts = counts.tocsr()
    document_frequency = np.zeros(counts.shape[1])
    values = np.empty(counts.nnz, dtype=np.float32)
    for row in range(counts.shape[0]):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        columns = counts.indices[start:end]
        document_frequency[columns] += 1
        weights = (1 + np.log(counts.data[start:end])) * (
            np.log((2 + row) / (1 + document_frequency[columns])) + 1
        )
        values[start:end] = weights / max(float(np.linalg.norm(weights)), 1e-12)
    return csr_matrix((values, counts.indices, counts.indptr), shape=counts.shape)


def leader(
    dense: np.ndarray, lexical: csr_matrix | None, threshold: float, dense_weight: float
) -> np.ndarray:
    """Single-pass leader on ``dense_weight * cos(dense) + (1 - dense_weight) * cos(lexical)``."""
    n, dims = dense.shape
    sums = np.zeros((n, dims), dtype=np.float32)
    centroids = np.zeros((n, dims), dtype=np.float32)
    lexical_sums = np.zeros(
        (1 if lexical is None else 4_000, 1 if lexical is None else lexical.shape[1]), np.float32
    )
    lexical_norm2 = np.zeros(n)
    labels = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        x = dense[i]
        columns = values = None
        if lexical is not None:
            columns = lexical.indices[lexical.indptr[i] : lexical.indptr[i + 1]]
            values = lexical.data[lexical.indptr[i] : lexical.indptr[i + 1]]
        best = -1
        dots = np.zeros(0)
        if k:
            similarity = centroids[:k] @ x
            if lexical is not None and k <= len(lexical_sums):
                dots = lexical_sums[:k][:, columns] @ values
                lexical_similarity = dots / np.sqrt(np.maximum(lexical_norm2[:k], 1e-12))
                similarity = dense_weight * similarity + (1 - dense_weight) * lexical_similarity
            best = int(similarity.argmax())
            if similarity[best] < threshold:
                best = -1
        if best < 0:
            best, k = k, k + 1
            dots = np.zeros(k)
        sums[best] += x
        centroids[best] = sums[best] / max(float(np.linalg.norm(sums[best])), 1e-12)
        if lexical is not None and best < len(lexical_sums):
            lexical_norm2[best] += 2 * float(dots[best]) + float(values @ values)
            lexical_sums[best, columns] += values
        labels[i] = best
    return labels


def scores(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "nmi": round(float(normalized_mutual_info_score(truth, labels)), 3),
        "ari": round(float(adjusted_rand_score(truth, labels)), 3),
        "clusters": len(np.unique(labels)),
    }


def knn_recall(reference: np.ndarray, other: np.ndarray, k: int = 10, n: int = 2_000) -> float:
    """Share of each post's k nearest neighbours (cosine, first n posts) that ``other`` keeps."""
    a, b = reference[:n] @ reference[:n].T, other[:n] @ other[:n].T
    np.fill_diagonal(a, -9.0)
    np.fill_diagonal(b, -9.0)
    near_a, near_b = np.argsort(-a, axis=1)[:, :k], np.argsort(-b, axis=1)[:, :k]
    return float(np.mean([len(set(near_a[i]) & set(near_b[i])) / k for i in range(len(near_a))]))


def dense_batch(vectors: np.ndarray) -> FeatureBatch:
    n = len(vectors)
    empty = SparseRows(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), 1)
    return FeatureBatch(terms=empty, dense=vectors)


def train(warmup: np.ndarray, latent: int, structure: float, epochs: int = 20) -> TextAutoencoder:
    """The engine's autoencoder (default sizes and optimiser) trained on the warm-up posts; ``structure`` adds
    ``mean((cos z_i z_j - cos x_i x_j)^2)`` over each mini-batch (centred inputs) to the reconstruction loss."""
    shape = AutoencoderShape(0, warmup.shape[1], 256, latent)
    torch.manual_seed(0)
    model = TextAutoencoder(shape)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    mean = torch.from_numpy(warmup.mean(axis=0))
    for _ in range(epochs):
        order = torch.randperm(len(warmup), generator=generator).numpy()
        for start in range(0, len(warmup), 256):
            inputs = model_inputs(dense_batch(warmup[order[start : start + 256]]), shape)
            latents = model.encode(inputs)
            loss = model.reconstruction_loss(inputs, latents).mean()
            if structure and inputs.dense is not None:
                x = torch.nn.functional.normalize(inputs.dense - mean, dim=1)
                z = torch.nn.functional.normalize(latents - latents.mean(0, keepdim=True).detach(), dim=1)
                loss = loss + structure * ((z @ z.T - x @ x.T) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def encode(model: TextAutoencoder, vectors: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        latents = model.encode(model_inputs(dense_batch(vectors), model.shape)).numpy()
    return unit(latents - latents[:WARMUP].mean(axis=0))


def report(stream: Stream, what: str, **values: object) -> None:
    print(json.dumps({"stream": stream.name, "order": stream.order, "what": what, **values}), flush=True)


def run_leader(stream: Stream) -> None:
    features = unit(stream.dense - stream.dense[:WARMUP].mean(axis=0))
    lexical = online_tfidf(stream.terms)
    for threshold in (0.3, 0.4):
        report(
            stream,
            "leader static",
            t=threshold,
            **scores(stream.labels, leader(features, None, threshold, 1)),
        )
    for threshold in (0.15, 0.2, 0.25):
        labels = leader(features, lexical, threshold, 0.5)
        report(
            stream, "leader static + online tf-idf (half each)", t=threshold, **scores(stream.labels, labels)
        )


def run_latents(stream: Stream) -> None:
    features = unit(stream.dense - stream.dense[:WARMUP].mean(axis=0))
    lexical = online_tfidf(stream.terms)
    k = len(np.unique(stream.labels))

    def describe(what: str, vectors: np.ndarray) -> None:
        kmeans = KMeans(k, n_init=1, random_state=0).fit_predict(vectors)
        report(
            stream,
            what,
            knn_recall=round(knn_recall(features, vectors), 3),
            kmeans_nmi=round(float(normalized_mutual_info_score(stream.labels, kmeans)), 3),
            leader_lexical_t02=scores(stream.labels, leader(vectors, lexical, 0.2, 0.5)),
        )

    describe("features", features)
    mean = stream.dense[:WARMUP].mean(axis=0)
    _, _, components = np.linalg.svd(stream.dense[:WARMUP] - mean, full_matrices=False)
    for dims in (64, 128):
        describe(f"pca {dims} (fitted on warm-up)", unit((stream.dense - mean) @ components[:dims].T))
    for latent, structure in ((64, 0.0), (64, 10.0), (128, 10.0), (256, 100.0)):
        model = train(stream.dense[:WARMUP], latent, structure)
        describe(f"autoencoder latent {latent}, structure {structure}", encode(model, stream.dense))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiment", choices=["leader", "latents"])
    parser.add_argument("--streams", default=",".join(STREAMS))
    parser.add_argument("--order", default=None, help="one order for every stream (default: the target's)")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.streams.split(","):
        started = time.perf_counter()
        stream = load_stream(name, args.order or STREAMS[name], args.data_dir)
        (run_leader if args.experiment == "leader" else run_latents)(stream)
        print(json.dumps({"stream": name, "seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    main()
