"""File-mode checkpoints: written atomically, the newest few kept, and an unreadable newest one skipped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from streamclust.errors import CheckpointError
from streamclust.state.directory import StateDirectory
from streamclust.state.model_state import FORMAT_VERSION, ModelState


def checkpoint(position: int) -> ModelState:
    return ModelState(FORMAT_VERSION, 1, position, "f", {}, {"counts": np.full(10, float(position))}, {})


def test_the_newest_checkpoints_are_kept_in_position_order(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path / "state", keep=2)
    assert directory.load_latest() is None
    for position in (900, 10_000, 2_000):
        directory.save(checkpoint(position))
    assert [path.name for path in directory.checkpoints()] == [
        "checkpoint-000000002000-v0001.sclstate",
        "checkpoint-000000010000-v0001.sclstate",
    ]
    latest = directory.load_latest()
    assert latest is not None and latest.position == 10_000


def test_leftover_temporary_files_are_ignored(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path)
    directory.save(checkpoint(100))
    (tmp_path / ".checkpoint-000000000200-v0001.sclstate.x1y2.tmp").write_bytes(b"half a checkpoint")
    latest = directory.load_latest()
    assert latest is not None and latest.position == 100


def test_a_failed_write_leaves_the_previous_checkpoints_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = StateDirectory(tmp_path)
    directory.save(checkpoint(100))

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(CheckpointError, match="free space"):
        directory.save(checkpoint(200))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint-000000000100-v0001.sclstate"]


def test_a_corrupt_newest_checkpoint_falls_back_to_the_one_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = StateDirectory(tmp_path)
    directory.save(checkpoint(100))
    newest = directory.save(checkpoint(200))
    newest.write_bytes(newest.read_bytes()[:-7])
    with caplog.at_level(logging.WARNING, logger="streamclust.state"):
        latest = directory.load_latest()
    assert latest is not None and latest.position == 100
    assert any("unreadable checkpoint" in record.getMessage() for record in caplog.records)


def test_when_no_checkpoint_is_readable_the_error_names_them_all(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path)
    for position in (100, 200):
        directory.save(checkpoint(position)).write_bytes(b"garbage")
    with pytest.raises(CheckpointError) as error:
        directory.load_latest()
    message = str(error.value)
    assert "checkpoint-000000000100" in message and "checkpoint-000000000200" in message
    assert "start the model afresh" in message
