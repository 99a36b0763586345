"""Checkpoints are read defensively: content that is wrong behind a matching checksum, symbolic links and files
whose size does not match their header are skipped, with a warning, for the next older checkpoint."""

from __future__ import annotations

import hashlib
import json
import logging
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from state_support import banking_posts, run, small_settings

from streamclust.errors import CheckpointError, CorruptCheckpointError
from streamclust.io.files.checkpoints import FileCheckpoints
from streamclust.state.capture import capture, restore
from streamclust.state.codec import HEADER, MAGIC, decode_state, encode_state
from streamclust.state.directory import StateDirectory, checkpoint_name, read_checkpoint
from streamclust.state.model_state import FORMAT_VERSION, ModelState

GOOD_MANIFEST: dict[str, Any] = {
    "format_version": FORMAT_VERSION,
    "model_version": 1,
    "position": 100,
    "config_fingerprint": "f",
    "meta": {},
    "extra": {},
    "arrays": [],
}


def forged(manifest: Any, arrays: bytes = b"") -> bytes:
    """A checkpoint whose checksum matches whatever it holds, as a bug or a forger would write it."""
    body = json.dumps(manifest).encode() + arrays
    header = HEADER.pack(
        FORMAT_VERSION, 0, len(body) - len(arrays), 0, len(arrays), hashlib.sha256(body).digest()
    )
    return MAGIC + header + body


@pytest.mark.parametrize(
    "manifest",
    [
        GOOD_MANIFEST | {"position": "one hundred"},  # ValueError
        GOOD_MANIFEST | {"meta": ["not", "a", "mapping"]},  # ValueError from dict()
        GOOD_MANIFEST | {"extra": 7},  # TypeError
        GOOD_MANIFEST | {"arrays": [{"name": "counts"}]},  # KeyError
        GOOD_MANIFEST | {"arrays": 5},  # TypeError
        GOOD_MANIFEST | {"arrays": [{"name": "x", "dtype": "no-such-dtype", "shape": [1], "offset": 0}]},
        GOOD_MANIFEST | {"arrays": [{"name": "x", "dtype": "<f8", "shape": [-3], "offset": 0}]},
        GOOD_MANIFEST | {"arrays": [{"name": "x", "dtype": "<f8", "shape": "abc", "offset": 0}]},
        [GOOD_MANIFEST],
    ],
)
def test_wrong_content_behind_a_matching_checksum_is_corrupt(manifest: Any) -> None:
    with pytest.raises(CorruptCheckpointError, match=r"corrupt|afresh"):
        decode_state(forged(manifest, arrays=b"\0" * 16))


def small_checkpoint(position: int) -> ModelState:
    return ModelState(FORMAT_VERSION, 1, position, "f", {}, {"counts": np.full(10, float(position))}, {})


def test_a_forged_newest_checkpoint_is_skipped_for_the_one_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = StateDirectory(tmp_path)
    directory.save(small_checkpoint(100))
    (tmp_path / "checkpoint-000000000200-v0001.sclstate").write_bytes(
        forged(GOOD_MANIFEST | {"arrays": [{"name": "counts"}]})
    )

    with caplog.at_level(logging.WARNING, logger="streamclust.state"):
        latest = directory.load_latest()

    assert latest is not None and latest.position == 100
    assert any("checkpoint-000000000200" in str(getattr(r, "path", "")) for r in caplog.records)


def test_symbolic_links_are_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    StateDirectory(elsewhere).save(small_checkpoint(900))
    directory = StateDirectory(tmp_path / "state")
    directory.save(small_checkpoint(100))
    link = directory.path / checkpoint_name(small_checkpoint(200))
    link.symlink_to(next(elsewhere.iterdir()))

    latest = directory.load_latest()

    assert latest is not None and latest.position == 100
    (directory.path / checkpoint_name(small_checkpoint(100))).unlink()
    with pytest.raises(CheckpointError, match="symbolic link") as error:
        directory.load_latest()
    assert "Move the directory aside" in str(error.value)


def test_a_file_larger_than_its_header_says_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / checkpoint_name(small_checkpoint(100))
    path.write_bytes(encode_state(small_checkpoint(100)))
    with path.open("r+b") as file:
        file.truncate(2 << 30)  # 2 GiB, sparse: no disk space used
    tracemalloc.start()
    try:
        with pytest.raises(CorruptCheckpointError, match="bytes where its header says"):
            read_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_a_file_shorter_than_its_header_says_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / checkpoint_name(small_checkpoint(100))
    path.write_bytes(encode_state(small_checkpoint(100))[:-1])
    with pytest.raises(CorruptCheckpointError, match="cut short"):
        read_checkpoint(path)


def test_a_model_checkpoint_whose_content_cannot_be_restored_is_skipped_in_file_mode(tmp_path: Path) -> None:
    settings = small_settings()
    engine = restore_free_engine(settings)
    good = capture(engine)
    engine.close()
    directory = StateDirectory(tmp_path)
    directory.save(good)
    wrong = ModelState(
        good.format_version,
        good.model_version,
        good.position + 500,
        good.config_fingerprint,
        good.meta | {"table": {"next_id": "seven"}, "engine": {"position": None}},
        good.arrays,
        good.tensors,
        good.extra,
    )
    directory.save(wrong)
    with pytest.raises(CorruptCheckpointError):
        restore(wrong, settings)
    said: list[str] = []

    resumed = FileCheckpoints.in_directory(tmp_path, settings, say=said.append).open_engine(settings)

    assert resumed.position == good.position
    assert f"{good.position} posts learned from" in said[-1]
    resumed.close()


def restore_free_engine(settings: Any) -> Any:
    from streamclust.engine import Engine

    engine = Engine.from_settings(settings)
    run(engine, banking_posts(300))
    return engine
