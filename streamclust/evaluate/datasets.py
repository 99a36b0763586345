"""Labelled datasets: one JSON object per line with ``id``, ``text`` and ``label``, gzip-compressed or not."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamclust.errors import InputError

KNOWN_DATASETS = {
    "banking77": "banking77.jsonl.gz",
    "stackoverflow": "stackoverflow.jsonl.gz",
    "mstream-news": "mstream-news.jsonl.gz",
    "mstream-news-t": "mstream-news-t.jsonl.gz",
}


@dataclass(frozen=True)
class LabelledPosts:
    """Posts with their true class, in file order. ``labels`` are class numbers indexing ``class_names``."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # int64
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_classes(self) -> int:
        return len(np.unique(self.labels))

    def take(self, rows: np.ndarray) -> LabelledPosts:
        """The posts at ``rows``, in that order."""
        return LabelledPosts(
            name=self.name,
            ids=[self.ids[row] for row in rows],
            texts=[self.texts[row] for row in rows],
            labels=self.labels[rows],
            class_names=self.class_names,
        )


def dataset_path(dataset: str, data_dir: Path) -> Path:
    """The shared datasets (``KNOWN_DATASETS``) are looked up in ``data_dir``; anything else is a file path."""
    path = data_dir / KNOWN_DATASETS[dataset] if dataset in KNOWN_DATASETS else Path(dataset)
    if not path.is_file():
        known = ", ".join(KNOWN_DATASETS)
        raise InputError(
            f"dataset {dataset!r}: no file at {path}; give {known} (looked up in --data-dir) "
            "or the path of a JSONL file with id, text and label"
        )
    return path


def read_labelled_posts(path: Path, name: str | None = None) -> LabelledPosts:
    """Read a JSONL(.gz) file of ``{"id", "text", "label"}`` objects; a malformed line is an InputError."""
    opener = gzip.open if path.suffix == ".gz" else open
    ids: list[str] = []
    texts: list[str] = []
    raw_labels: list[str] = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                post_id, text, label = record["id"], record["text"], record["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise InputError(
                    f"{path} line {number}: expected a JSON object with id, text and label ({error})"
                ) from None
            ids.append(str(post_id))
            texts.append(str(text))
            raw_labels.append(str(label))
    if not ids:
        raise InputError(f"{path} holds no posts")
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: post ids are not unique; the evaluation matches labels to posts by id")
    class_names, labels = np.unique(np.array(raw_labels), return_inverse=True)
    return LabelledPosts(
        name=name or path.name.split(".")[0],
        ids=ids,
        texts=texts,
        labels=labels.astype(np.int64),
        class_names=[str(name) for name in class_names],
    )


def load_dataset(dataset: str, data_dir: Path) -> LabelledPosts:
    path = dataset_path(dataset, data_dir)
    return read_labelled_posts(path, name=dataset if dataset in KNOWN_DATASETS else None)


def subsample(posts: LabelledPosts, limit: int | None, seed: int) -> LabelledPosts:
    """A seeded random subset of ``limit`` posts, kept in file order (all posts when ``limit`` is None)."""
    if limit is None or limit >= len(posts):
        return posts
    rows = np.sort(np.random.default_rng(seed).choice(len(posts), size=limit, replace=False))
    return posts.take(rows)
