"""Reading labelled JSONL files and the shared datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streamclust.errors import InputError
from streamclust.evaluate.datasets import load_dataset, read_labelled_posts, subsample

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # ../shared/data from the repo


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_labels_become_class_numbers_and_ids_strings(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            {"id": 1, "text": "lost card", "label": "card"},
            {"id": 2, "text": "refund please", "label": "refund"},
            {"id": 3, "text": "card stolen", "label": "card"},
        ],
    )

    posts = read_labelled_posts(path)

    assert posts.name == "posts"
    assert posts.ids == ["1", "2", "3"]
    assert [posts.class_names[label] for label in posts.labels] == ["card", "refund", "card"]
    assert posts.n_classes == 2


def test_a_line_without_a_label_is_an_input_error_naming_the_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "text": "a", "label": 0}, {"id": 2, "text": "b"}])

    with pytest.raises(InputError, match="line 2"):
        read_labelled_posts(path)


def test_repeated_ids_are_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "twice.jsonl", [{"id": 1, "text": "a", "label": 0}] * 2)

    with pytest.raises(InputError, match="not unique"):
        read_labelled_posts(path)


def test_subsample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    records = [{"id": i, "text": f"post {i}", "label": i % 3} for i in range(50)]
    posts = read_labelled_posts(write_jsonl(tmp_path / "posts.jsonl", records))

    sample = subsample(posts, 10, seed=4)

    assert len(sample) == 10
    assert sample.ids == subsample(posts, 10, seed=4).ids
    assert [int(i) for i in sample.ids] == sorted(int(i) for i in sample.ids)
    assert subsample(posts, None, seed=4) is posts


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the shared datasets are not at {SHARED_DATA}")
@pytest.mark.parametrize(
    ("name", "n_posts", "n_classes"), [("banking77", 13_083, 77), ("stackoverflow", 20_000, 20)]
)
def test_the_shared_datasets_load_by_name(name: str, n_posts: int, n_classes: int) -> None:
    posts = load_dataset(name, SHARED_DATA)

    assert (len(posts), posts.n_classes) == (n_posts, n_classes)
    assert np.all(posts.labels >= 0) and all(text for text in posts.texts)
