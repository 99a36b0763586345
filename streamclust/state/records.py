"""A checkpoint as records of a compacted Kafka topic, and reading the newest complete one back.

``state_records`` cuts the encoded checkpoint into chunks keyed ``<namespace>/chunk/<i>`` and ends with a
manifest keyed ``<namespace>/manifest`` (model version, position, checkpoint id, chunk count, SHA-256). Every
chunk carries its checkpoint id, so chunks of different checkpoints are never mixed. The caller sends them all
in one transaction; compaction then keeps the newest value of every key.

``StateAssembler`` is fed the topic's records in log order and returns the newest checkpoint whose manifest and
chunks are all there: an older complete checkpoint survives a newer incomplete one, chunks that compaction
dropped are not missed, and leftover chunks of an older, longer checkpoint are ignored. It keeps the two newest
complete checkpoints in memory (the older one in case the newer one is unreadable) and forgets the rest.

>>> import numpy as np
>>> from streamclust.state.model_state import FORMAT_VERSION, ModelState
>>> state = ModelState(FORMAT_VERSION, 2, 500, "f", {}, {"counts": np.zeros(1000)}, {})
>>> records = state_records(state, "main", chunk_bytes=4096)
>>> [key.decode() for key, _ in records]
['main/chunk/00000', 'main/chunk/00001', 'main/chunk/00002', 'main/manifest']
>>> assembler = StateAssembler()
>>> for key, value in records:
...     assembler.add(key, value)
>>> assembler.latest("main").position
500
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from streamclust.errors import CheckpointError
from streamclust.state.codec import decode_state, encode_state
from streamclust.state.model_state import ModelState

log = logging.getLogger("streamclust.state")

CHUNK_MAGIC = b"SCC1"
CHUNK_HEADER = struct.Struct("<4sH")  # magic, checkpoint id length; then the id, then the data
MANIFEST_KIND = "streamclust-checkpoint"


def chunk_key(namespace: str, index: int) -> bytes:
    return f"{namespace}/chunk/{index:05d}".encode()


def manifest_key(namespace: str) -> bytes:
    return f"{namespace}/manifest".encode()


def state_records(state: ModelState, namespace: str, chunk_bytes: int = 512_000) -> list[tuple[bytes, bytes]]:
    """(key, value) records holding ``state``: its chunks, then its manifest (send them in one transaction)."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    blob = encode_state(state)
    digest = hashlib.sha256(blob).hexdigest()
    checkpoint_id = f"{state.model_version}-{state.position}-{digest[:16]}"
    identity = checkpoint_id.encode()
    prefix = CHUNK_HEADER.pack(CHUNK_MAGIC, len(identity)) + identity
    pieces = [blob[start : start + chunk_bytes] for start in range(0, len(blob), chunk_bytes)]
    records = [(chunk_key(namespace, i), prefix + piece) for i, piece in enumerate(pieces)]
    manifest = {
        "kind": MANIFEST_KIND,
        "checkpoint_id": checkpoint_id,
        "format_version": state.format_version,
        "model_version": state.model_version,
        "position": state.position,
        "chunks": len(pieces),
        "bytes": len(blob),
        "sha256": digest,
    }
    records.append((manifest_key(namespace), json.dumps(manifest, sort_keys=True).encode()))
    return records


@dataclass
class Manifest:
    checkpoint_id: str
    model_version: int
    position: int
    chunks: int
    sha256: str


@dataclass
class NamespaceLog:
    """What has been read of one namespace: manifests in log order, and chunk data per checkpoint id."""

    manifests: list[Manifest] = field(default_factory=list)
    chunks: dict[str, dict[int, bytes]] = field(default_factory=dict)  # checkpoint id -> index -> data
    first_seen: dict[str, int] = field(default_factory=dict)  # checkpoint id -> arrival number
    decoded: dict[str, ModelState] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # checkpoint id -> why (warned about once)

    def complete(self, manifest: Manifest) -> bool:
        have = self.chunks.get(manifest.checkpoint_id, {})
        return all(index in have for index in range(manifest.chunks))


class StateAssembler:
    """Feed it a state topic's records in log order; ask it for the newest complete checkpoint."""

    def __init__(self) -> None:
        self.namespaces: dict[str, NamespaceLog] = {}
        self.arrivals = 0

    def add(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the state topic (tombstones and records that are not streamclust's are ignored)."""
        if key is None or value is None:
            return
        name = key.decode("utf-8", errors="replace")
        if name.endswith("/manifest"):
            self.add_manifest(name[: -len("/manifest")], value)
            return
        parts = name.rsplit("/", 2)
        if len(parts) == 3 and parts[1] == "chunk" and parts[2].isdigit():
            self.add_chunk(parts[0], int(parts[2]), value)

    def add_chunk(self, namespace: str, index: int, value: bytes) -> None:
        if len(value) < CHUNK_HEADER.size:
            return
        magic, id_length = CHUNK_HEADER.unpack_from(value)
        if magic != CHUNK_MAGIC:
            return
        checkpoint_id = value[CHUNK_HEADER.size : CHUNK_HEADER.size + id_length].decode("utf-8", "replace")
        data = value[CHUNK_HEADER.size + id_length :]
        seen = self.namespaces.setdefault(namespace, NamespaceLog())
        self.arrivals += 1
        seen.first_seen.setdefault(checkpoint_id, self.arrivals)
        seen.chunks.setdefault(checkpoint_id, {})[index] = data

    def add_manifest(self, namespace: str, value: bytes) -> None:
        manifest = parse_manifest(value)
        if manifest is None:
            return
        seen = self.namespaces.setdefault(namespace, NamespaceLog())
        self.arrivals += 1
        seen.first_seen.setdefault(manifest.checkpoint_id, self.arrivals)
        seen.manifests.append(manifest)
        if seen.complete(manifest):
            forget_older(seen)

    def latest(self, namespace: str) -> ModelState | None:
        """The newest checkpoint of ``namespace`` with every chunk present and intact, or None.

        A complete checkpoint that fails its checksum or cannot be decoded is skipped with a warning in favour
        of the one before it; CheckpointError when no complete checkpoint can be read.
        """
        seen = self.namespaces.get(namespace)
        if seen is None:
            return None
        failures: list[str] = []
        for manifest in reversed(seen.manifests):
            checkpoint_id = manifest.checkpoint_id
            if not seen.complete(manifest):
                continue
            if checkpoint_id in seen.decoded:
                return seen.decoded[checkpoint_id]
            if checkpoint_id not in seen.unreadable:
                try:
                    state = assemble(manifest, seen.chunks[checkpoint_id])
                except CheckpointError as error:
                    seen.unreadable[checkpoint_id] = str(error)
                    log.warning(
                        "skipping an unreadable checkpoint on the state topic",
                        extra={"namespace": namespace, "checkpoint_id": checkpoint_id, "error": str(error)},
                    )
                else:
                    seen.decoded = {checkpoint_id: state}
                    return state
            failures.append(f"{checkpoint_id}: {seen.unreadable[checkpoint_id]}")
        if failures:
            raise CheckpointError(
                f"no readable checkpoint for {namespace!r} on the state topic: " + " | ".join(failures)
            )
        return None


def assemble(manifest: Manifest, chunks: dict[int, bytes]) -> ModelState:
    blob = b"".join(chunks[index] for index in range(manifest.chunks))
    if hashlib.sha256(blob).hexdigest() != manifest.sha256:
        raise CheckpointError(
            f"checkpoint {manifest.checkpoint_id} on the state topic is corrupt (its checksum does not match)"
        )
    return decode_state(blob)


def forget_older(seen: NamespaceLog) -> None:
    """Drop what came before the second newest complete checkpoint: memory stays bounded, and the checkpoint
    before the newest is still there should the newest turn out to be unreadable."""
    complete = [manifest for manifest in seen.manifests if seen.complete(manifest)]
    start = seen.first_seen[complete[-2 if len(complete) > 1 else -1].checkpoint_id]
    seen.manifests = [kept for kept in seen.manifests if seen.first_seen[kept.checkpoint_id] >= start]
    kept_ids = {kept.checkpoint_id for kept in seen.manifests}
    for checkpoint_id in list(seen.chunks):
        if checkpoint_id not in kept_ids and seen.first_seen[checkpoint_id] < start:
            del seen.chunks[checkpoint_id]
    seen.first_seen = {
        key: value for key, value in seen.first_seen.items() if key in seen.chunks or key in kept_ids
    }


def parse_manifest(value: bytes) -> Manifest | None:
    try:
        data: Any = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND:
        return None
    try:
        return Manifest(
            checkpoint_id=str(data["checkpoint_id"]),
            model_version=int(data["model_version"]),
            position=int(data["position"]),
            chunks=int(data["chunks"]),
            sha256=str(data["sha256"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
