"""Checkpoints on a compacted topic: cut into chunks with a manifest last, and read back as the newest complete
checkpoint whatever compaction, aborted writes or a shrinking checkpoint left in the log."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.errors import CheckpointError
from streamclust.state.model_state import FORMAT_VERSION, ModelState
from streamclust.state.records import StateAssembler, state_records


def checkpoint(position: int, size: int = 20_000, model_version: int = 1) -> ModelState:
    rng = np.random.default_rng(position)
    arrays = {"centroids": rng.random(size // 8)}
    return ModelState(FORMAT_VERSION, model_version, position, "f", {"at": position}, arrays, {})


def read(records: list[tuple[bytes, bytes]], namespace: str = "main") -> ModelState | None:
    assembler = StateAssembler()
    for key, value in records:
        assembler.add(key, value)
    return assembler.latest(namespace)


def compacted(records: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """What log compaction leaves: the last record of every key, in log order."""
    last = {key: offset for offset, (key, _) in enumerate(records)}
    return [record for offset, record in enumerate(records) if last[record[0]] == offset]


def test_chunks_come_first_and_the_manifest_last() -> None:
    records = state_records(checkpoint(100), "main", chunk_bytes=4_096)
    keys = [key.decode() for key, _ in records]
    assert keys[-1] == "main/manifest"
    assert keys[:-1] == [f"main/chunk/{i:05d}" for i in range(len(keys) - 1)]
    assert len(keys) > 3 and all(len(value) <= 4_096 + 64 for _, value in records[:-1])
    state = read(records)
    assert state is not None and state.position == 100 and state.meta == {"at": 100}


def test_an_older_complete_checkpoint_survives_a_newer_incomplete_one() -> None:
    older = state_records(checkpoint(100), "main", chunk_bytes=4_096)
    newer = state_records(checkpoint(200), "main", chunk_bytes=4_096)
    # the newer one's manifest arrived but one of its chunks did not (yet)
    state = read(older + newer[:2] + newer[3:])
    assert state is not None and state.position == 100
    # nor does a newer checkpoint count before its manifest is there
    state = read(older + newer[:-1])
    assert state is not None and state.position == 100


def test_compaction_dropping_old_chunks_leaves_the_newest_readable() -> None:
    log = [
        *state_records(checkpoint(100), "main", chunk_bytes=4_096),
        *state_records(checkpoint(200), "main", chunk_bytes=4_096),
        *state_records(checkpoint(300), "main", chunk_bytes=4_096),
    ]
    state = read(compacted(log))
    assert state is not None and state.position == 300


def test_a_shrinking_checkpoint_ignores_the_leftover_chunks_of_a_longer_one() -> None:
    longer = state_records(checkpoint(100, size=60_000), "main", chunk_bytes=4_096)
    shorter = state_records(checkpoint(200, size=10_000), "main", chunk_bytes=4_096)
    assert len(shorter) < len(longer)
    log = compacted(longer + shorter)
    assert any(key == b"main/chunk/00010" for key, _ in log)  # a leftover of the longer checkpoint
    state = read(log)
    assert state is not None and state.position == 200


def test_namespaces_are_independent_and_foreign_records_ignored() -> None:
    log = [
        *state_records(checkpoint(100), "team-a", chunk_bytes=4_096),
        (b"team-b/manifest", b"not json"),
        (b"something-else", b"\x00\x01"),
        (b"team-a/chunk/00000", b"xx"),  # too short to be a chunk of anything
        *state_records(checkpoint(700), "team-b", chunk_bytes=4_096),
    ]
    assembler = StateAssembler()
    for key, value in log:
        assembler.add(key, value)
    assembler.add(b"team-a/chunk/00001", None)  # a tombstone
    team_a, team_b = assembler.latest("team-a"), assembler.latest("team-b")
    assert team_a is not None and team_a.position == 100
    assert team_b is not None and team_b.position == 700
    assert assembler.latest("team-c") is None


def test_only_the_two_newest_complete_checkpoints_are_kept_in_memory() -> None:
    assembler = StateAssembler()
    for position in (100, 200, 300, 400):
        for key, value in state_records(checkpoint(position), "main", chunk_bytes=4_096):
            assembler.add(key, value)
    seen = assembler.namespaces["main"]
    assert [manifest.position for manifest in seen.manifests] == [300, 400] and len(seen.chunks) == 2


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    older = state_records(checkpoint(100), "main", chunk_bytes=4_096)
    newer = state_records(checkpoint(200), "main", chunk_bytes=4_096)
    key, value = newer[1]
    damaged = [*newer[:1], (key, value[:-1] + bytes([value[-1] ^ 0xFF])), *newer[2:]]
    assembler = StateAssembler()
    for record in older + damaged:
        assembler.add(*record)
    with caplog.at_level(logging.WARNING, logger="streamclust.state"):
        first, again = assembler.latest("main"), assembler.latest("main")
    assert first is not None and again is not None and first.position == again.position == 100
    assert sum("unreadable checkpoint" in record.getMessage() for record in caplog.records) == 1
    # with nothing to fall back on, the error says which checkpoint is broken and why
    alone = StateAssembler()
    for record in damaged:
        alone.add(*record)
    with pytest.raises(CheckpointError, match=r"200-.*corrupt"):
        alone.latest("main")


@settings(max_examples=30, deadline=None)
@given(
    writes=st.lists(st.tuples(st.booleans(), st.integers(1, 6)), min_size=1, max_size=5),
    compact=st.booleans(),
    unread=st.integers(0, 4),
)
def test_the_newest_complete_committed_checkpoint_is_read_whatever_the_log_holds(
    writes: list[tuple[bool, int]], compact: bool, unread: int
) -> None:
    """Checkpoints of any size are written in turn; aborted ones never reach a read_committed reader,
    compaction may have run, and the reader may not have read the last few records yet: the newest checkpoint
    all of whose records it has read is returned."""
    log: list[tuple[bytes, bytes]] = []
    written: dict[int, list[tuple[bytes, bytes]]] = {}
    for number, (commits, kilobytes) in enumerate(writes):
        position = 100 * (number + 1)
        records = state_records(checkpoint(position, size=kilobytes * 1_000), "main", chunk_bytes=1_024)
        if commits:
            log.extend(records)
            written[position] = records
    if compact:
        log = compacted(log)
    read_so_far = log[: len(log) - unread]
    complete = [position for position, records in written.items() if all(r in read_so_far for r in records)]
    state = read(read_so_far)
    assert (state.position if state is not None else None) == (max(complete) if complete else None)
