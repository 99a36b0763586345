"""One self-describing, pickle-free byte string per checkpoint.

Layout::

    magic (8 bytes) | header | manifest (JSON) | tensors (safetensors) | arrays (raw little-endian bytes)

The header holds the format version, the length of each section and the SHA-256 of everything after it. The
manifest holds the scalar fields, ``meta``, ``extra`` and the dtype, shape and place of every array. Reading
never unpickles: JSON, safetensors and ``np.frombuffer`` of numeric dtypes only.

>>> import numpy as np
>>> state = ModelState(FORMAT_VERSION, 3, 1000, "f", {"note": "x"}, {"counts": np.arange(3.0)}, {})
>>> decode_state(encode_state(state)).arrays["counts"].tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import numpy as np
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from streamclust.errors import CheckpointError, CorruptCheckpointError
from streamclust.state.model_state import FORMAT_VERSION, ModelState

MAGIC = b"SCLSTATE"
HEADER = struct.Struct("<IIQQQ32s")  # format version, reserved, manifest, tensors, arrays lengths, sha256
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float
PREAMBLE_SIZE = len(MAGIC) + HEADER.size  # enough bytes to know a checkpoint's whole size


def encode_state(state: ModelState) -> bytes:
    """The checkpoint as bytes (see the module docstring for the layout)."""
    tensors = save_tensors({name: tensor.detach().contiguous() for name, tensor in state.tensors.items()})
    descriptions, parts, offset = [], [], 0
    for name, array in state.arrays.items():
        array = np.asarray(array)
        if array.dtype.kind not in NUMERIC_KINDS:
            raise CheckpointError(
                f"array {name!r} has dtype {array.dtype}; checkpoints hold numeric arrays only "
                "(keep text and mappings in meta)"
            )
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        descriptions.append(
            {
                "name": name,
                "dtype": array.dtype.newbyteorder("<").str,
                "shape": list(array.shape),
                "offset": offset,
            }
        )
        parts.append(data)
        offset += len(data)
    manifest = json.dumps(
        {
            "format_version": state.format_version,
            "model_version": state.model_version,
            "position": state.position,
            "config_fingerprint": state.config_fingerprint,
            "meta": state.meta,
            "extra": state.extra,
            "arrays": descriptions,
        },
        separators=(",", ":"),
    ).encode("utf-8")
    body = manifest + tensors + b"".join(parts)
    header = HEADER.pack(
        state.format_version, 0, len(manifest), len(tensors), offset, hashlib.sha256(body).digest()
    )
    return MAGIC + header + body


def expected_size(preamble: bytes) -> int:
    """The size in bytes of the whole checkpoint that starts with ``preamble`` (its first PREAMBLE_SIZE bytes).

    CheckpointError if it is not a checkpoint or has another format version, CorruptCheckpointError if the
    preamble is cut short."""
    if not preamble.startswith(MAGIC):
        raise CorruptCheckpointError(
            "not a streamclust checkpoint (it does not start with the checkpoint marker); "
            "point streamclust at a state directory or state topic that streamclust wrote"
        )
    if len(preamble) < PREAMBLE_SIZE:
        raise CorruptCheckpointError(truncated(len(preamble), PREAMBLE_SIZE))
    format_version, _, manifest_size, tensors_size, arrays_size, _ = HEADER.unpack_from(preamble, len(MAGIC))
    if format_version != FORMAT_VERSION:
        raise CheckpointError(unsupported_version(format_version))
    return PREAMBLE_SIZE + manifest_size + tensors_size + arrays_size


def decode_state(blob: bytes) -> ModelState:
    """The checkpoint in ``blob``; CheckpointError if it is not one, is damaged, or has another format version.

    Whatever is wrong with it, reading a checkpoint raises CheckpointError (CorruptCheckpointError for damage
    and wrong content) and nothing else."""
    expected = expected_size(blob[:PREAMBLE_SIZE])
    if len(blob) != expected:
        raise CorruptCheckpointError(truncated(len(blob), expected))
    _, _, manifest_size, tensors_size, _, digest = HEADER.unpack_from(blob, len(MAGIC))
    body = memoryview(blob)[PREAMBLE_SIZE:]
    if hashlib.sha256(body).digest() != digest:
        raise CorruptCheckpointError(
            "the checkpoint is corrupt (its checksum does not match its contents); "
            "restore an older checkpoint or start the model afresh"
        )
    try:
        return decode_body(body, manifest_size, tensors_size)
    except CheckpointError:
        raise
    except Exception as error:  # a matching checksum over wrong content: written by a bug, or forged
        raise CorruptCheckpointError(
            f"the checkpoint's content is wrong ({type(error).__name__}: {str(error)[:200]}); "
            "restore an older checkpoint or start the model afresh"
        ) from None


def decode_body(body: memoryview, manifest_size: int, tensors_size: int) -> ModelState:
    manifest = read_manifest(bytes(body[:manifest_size]))
    tensors = load_tensors(bytes(body[manifest_size : manifest_size + tensors_size])) if tensors_size else {}
    arrays = read_arrays(body[manifest_size + tensors_size :], manifest["arrays"])
    return ModelState(
        format_version=int(manifest["format_version"]),
        model_version=int(manifest["model_version"]),
        position=int(manifest["position"]),
        config_fingerprint=str(manifest["config_fingerprint"]),
        meta=dict(manifest["meta"]),
        arrays=arrays,
        tensors=dict(tensors),
        extra=dict(manifest["extra"]),
    )


def read_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptCheckpointError(
            f"the checkpoint's manifest is unreadable ({error}); it is corrupt"
        ) from None
    needed = {"format_version", "model_version", "position", "config_fingerprint", "meta", "extra", "arrays"}
    if not isinstance(manifest, dict) or not needed <= manifest.keys():
        raise CorruptCheckpointError(
            "the checkpoint's manifest lacks required fields; it is corrupt or not streamclust's"
        )
    return manifest


def read_arrays(data: memoryview, descriptions: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for description in descriptions:
        name = description["name"]
        dtype = np.dtype(str(description["dtype"]))
        if dtype.kind not in NUMERIC_KINDS:
            raise CorruptCheckpointError(
                f"array {name!r} in the checkpoint has dtype {dtype}; only numeric arrays are read back"
            )
        shape = tuple(int(size) for size in description["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        offset = int(description["offset"])
        if (
            min(shape, default=0) < 0
            or count < 0
            or offset < 0
            or offset + count * dtype.itemsize > len(data)
        ):
            raise CorruptCheckpointError(f"array {name!r} lies outside the checkpoint's data; it is corrupt")
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        arrays[name] = flat.reshape(shape).astype(dtype.newbyteorder("="), copy=True)
    return arrays


def truncated(size: int, expected: int) -> str:
    return (
        f"the checkpoint is truncated ({size} bytes where {expected} were written); "
        "it was cut short while being written or copied; restore an older checkpoint"
    )


def unsupported_version(version: int) -> str:
    if version > FORMAT_VERSION:
        return (
            f"the checkpoint has format version {version}, written by a newer streamclust than this one "
            f"(which reads version {FORMAT_VERSION}); upgrade streamclust, or start the model afresh"
        )
    return (
        f"the checkpoint has format version {version}, written by an older streamclust; this one reads "
        f"version {FORMAT_VERSION} only. Start the model afresh (an empty state_dir in file mode, "
        "`streamclust run --fresh-model` with Kafka), or keep running the streamclust version that wrote it"
    )
