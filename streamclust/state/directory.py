"""Checkpoints as files in a local directory (file mode): atomic writes, the newest few kept.

File names sort by stream position (``checkpoint-000000012000-v0003.sclstate``). A checkpoint is written to a
temporary file in the same directory, flushed to disk, renamed into place and the directory flushed too, so a
crash leaves either the old set of checkpoints or the new one, never a half-written file under a final name.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from streamclust.errors import CheckpointError
from streamclust.state.codec import decode_state, encode_state
from streamclust.state.model_state import ModelState

log = logging.getLogger("streamclust.state")

SUFFIX = ".sclstate"
PREFIX = "checkpoint-"


def checkpoint_name(state: ModelState) -> str:
    return f"{PREFIX}{state.position:012d}-v{state.model_version:04d}{SUFFIX}"


class StateDirectory:
    """A directory of checkpoints; ``save`` adds one, ``load_latest`` reads the newest readable one."""

    def __init__(self, path: Path | str, keep: int = 3) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.path = Path(path)
        self.keep = keep

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first (temporary files are not checkpoints)."""
        if not self.path.is_dir():
            return []
        return sorted(path for path in self.path.glob(f"{PREFIX}*{SUFFIX}") if path.is_file())

    def save(self, state: ModelState) -> Path:
        """Write ``state`` atomically; keep only the newest ``keep`` checkpoints. Returns the file written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            target = self.path / checkpoint_name(state)
            write_atomically(target, encode_state(state))
        except OSError as error:
            raise CheckpointError(
                f"cannot write a checkpoint to {self.path} ({error}); "
                "check that the state directory exists, is writable and has free space"
            ) from error
        for stale in self.checkpoints()[: -self.keep]:
            stale.unlink(missing_ok=True)
        return target

    def load_latest(self) -> ModelState | None:
        """The newest readable checkpoint, or None when there is none.

        An unreadable newest checkpoint is skipped (with a warning) for the one before it; CheckpointError
        when every checkpoint is unreadable.
        """
        failures: list[str] = []
        for path in reversed(self.checkpoints()):
            try:
                state = decode_state(path.read_bytes())
            except (CheckpointError, OSError) as error:
                log.warning(
                    "skipping an unreadable checkpoint", extra={"path": str(path), "error": str(error)}
                )
                failures.append(f"{path.name}: {error}")
                continue
            if failures:
                log.warning("resuming from an older checkpoint", extra={"path": str(path)})
            return state
        if failures:
            raise CheckpointError(
                f"no checkpoint in {self.path} can be read:\n  "
                + "\n  ".join(failures)
                + "\nMove the directory aside to start the model afresh."
            )
        return None


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file in the same directory, fsync, rename over ``target``, fsync the directory."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
