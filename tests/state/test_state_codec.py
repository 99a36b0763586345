"""Checkpoint bytes: a lossless round trip, and a clear refusal of anything damaged, foreign or too new.
Reading a checkpoint never unpickles anything."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct

import numpy as np
import pytest
import torch

from streamclust.errors import CheckpointError
from streamclust.state.codec import HEADER, MAGIC, decode_state, encode_state
from streamclust.state.model_state import FORMAT_VERSION, ModelState


def example_state() -> ModelState:
    return ModelState(
        format_version=FORMAT_VERSION,
        model_version=4,
        position=12_000,
        config_fingerprint="0123abcd",
        meta={"post_ids": ["a", "b"], "similarity": 0.75, "nested": {"next_id": 9}},
        arrays={
            "centroids": np.arange(12, dtype=np.float32).reshape(3, 4),
            "ids": np.array([3, 7, 9], dtype=np.int64),
            "kept": np.array([True, False]),
            "empty": np.zeros((0, 4), dtype=np.float64),
            "big_endian": np.array([1.5, 2.5], dtype=">f8"),
        },
        tensors={"encoder/weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)},
        extra={"offsets": {"posts": {"0": 1234}}},
    )


def test_a_state_survives_encoding_unchanged() -> None:
    state = example_state()
    decoded = decode_state(encode_state(state))
    assert (decoded.format_version, decoded.model_version, decoded.position) == (FORMAT_VERSION, 4, 12_000)
    assert decoded.config_fingerprint == "0123abcd"
    assert decoded.meta == state.meta and decoded.extra == state.extra
    for name, array in state.arrays.items():
        assert decoded.arrays[name].shape == array.shape and decoded.arrays[
            name
        ].dtype == array.dtype.newbyteorder("=")
        assert np.array_equal(decoded.arrays[name], array)
    assert torch.equal(decoded.tensors["encoder/weight"], state.tensors["encoder/weight"])


def test_reading_a_checkpoint_unpickles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a checkpoint must never be unpickled")

    blob = encode_state(example_state())
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert decode_state(blob).position == 12_000


def test_one_flipped_byte_is_reported_as_corrupt() -> None:
    blob = bytearray(encode_state(example_state()))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(CheckpointError, match=r"corrupt.*restore an older checkpoint"):
        decode_state(bytes(blob))


def test_a_truncated_checkpoint_is_reported_as_cut_short() -> None:
    blob = encode_state(example_state())
    with pytest.raises(CheckpointError, match="truncated"):
        decode_state(blob[:-10])
    with pytest.raises(CheckpointError, match="truncated"):
        decode_state(blob[: len(MAGIC) + 3])


def test_something_else_is_not_taken_for_a_checkpoint() -> None:
    with pytest.raises(CheckpointError, match="not a streamclust checkpoint"):
        decode_state(pickle.dumps({"weights": [1, 2, 3]}))


def test_a_checkpoint_from_a_newer_format_asks_for_an_upgrade() -> None:
    blob = bytearray(encode_state(example_state()))
    struct.pack_into("<I", blob, len(MAGIC), FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match=r"newer streamclust.*upgrade streamclust"):
        decode_state(bytes(blob))


def test_a_checkpoint_from_an_older_format_says_how_to_go_on() -> None:
    blob = bytearray(encode_state(example_state()))
    struct.pack_into("<I", blob, len(MAGIC), FORMAT_VERSION - 1)
    with pytest.raises(CheckpointError, match=r"older streamclust.*Start the model afresh.*--fresh-model"):
        decode_state(bytes(blob))


def test_arrays_of_python_objects_are_neither_written_nor_read() -> None:
    state = example_state()
    objects = ModelState(**{**state.__dict__, "arrays": {"ids": np.array(["a", None], dtype=object)}})
    with pytest.raises(CheckpointError, match="numeric arrays only"):
        encode_state(objects)
    # a manifest edited to claim an object array is refused too
    blob = encode_state(state)
    _, _, manifest_size, tensors_size, arrays_size, _ = HEADER.unpack_from(blob, len(MAGIC))
    start = len(MAGIC) + HEADER.size
    manifest = json.loads(blob[start : start + manifest_size])
    manifest["arrays"][0]["dtype"] = "|O"
    edited = json.dumps(manifest).encode()
    body = edited + blob[start + manifest_size :]
    header = HEADER.pack(
        FORMAT_VERSION, 0, len(edited), tensors_size, arrays_size, hashlib.sha256(body).digest()
    )
    with pytest.raises(CheckpointError, match="only numeric arrays"):
        decode_state(MAGIC + header + body)
