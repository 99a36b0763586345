"""Checkpoints as files in a local directory (file mode): atomic writes, the newest few kept.

File names sort by stream position (``checkpoint-000000012000-v0003.sclstate``). A checkpoint is written to a
temporary file in the same directory, flushed to disk, renamed into place and the directory flushed too, so a
crash leaves either the old set of checkpoints or the new one, never a half-written file under a final name.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from streamclust.errors import CheckpointError, CorruptCheckpointError
from streamclust.state.codec import PREAMBLE_SIZE, decode_state, encode_state, expected_size
from streamclust.state.model_state import ModelState

Restored = TypeVar("Restored")

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
        """Checkpoint entries, oldest first (temporary files are not checkpoints; symbolic links are listed, so
        that reading refuses them by name)."""
        if not self.path.is_dir():
            return []
        return sorted(
            path for path in self.path.glob(f"{PREFIX}*{SUFFIX}") if path.is_symlink() or path.is_file()
        )

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
        """The newest readable checkpoint, or None when there is none (see ``restore_latest``)."""
        found = self.restore_latest(lambda state: state)
        return None if found is None else found[0]

    def restore_latest(self, build: Callable[[ModelState], Restored]) -> tuple[ModelState, Restored] | None:
        """The newest checkpoint that reads and that ``build`` accepts, with what ``build`` made of it; None when
        the directory holds no checkpoint.

        A checkpoint that cannot be read, is a symbolic link, or that ``build`` finds corrupt (it raises
        CorruptCheckpointError) is skipped with a warning for the one before it. Another CheckpointError from
        ``build`` (the checkpoint does not fit the settings) is raised at once. CheckpointError, saying what
        to do, when every checkpoint is unusable.
        """
        failures: list[str] = []
        for path in reversed(self.checkpoints()):
            try:
                state = decode_state(read_checkpoint(path))
            except (CheckpointError, OSError) as error:
                failures.append(self.skip(path, error))
                continue
            try:
                built = build(state)
            except CorruptCheckpointError as error:
                failures.append(self.skip(path, error))
                continue
            if failures:
                log.warning("resuming from an older checkpoint", extra={"path": str(path)})
            return state, built
        if failures:
            raise CheckpointError(
                f"no checkpoint in {self.path} can be used:\n  "
                + "\n  ".join(failures)
                + "\nMove the directory aside (or delete the checkpoints in it) to start the model afresh, "
                "or restore a good checkpoint into it from a backup."
            )
        return None

    def skip(self, path: Path, error: Exception) -> str:
        log.warning("skipping an unreadable checkpoint", extra={"path": str(path), "error": str(error)})
        return f"{path.name}: {error}"


def read_checkpoint(path: Path) -> bytes:
    """The bytes of the checkpoint file at ``path``, which must be a regular file and not a symbolic link.

    Its size is checked against the sizes its header records before the rest is read, so a file that is not
    the checkpoint it claims to be (truncated, or much larger) is never read into memory whole."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise CorruptCheckpointError(
                f"{path.name} is a symbolic link; checkpoints are never read through links "
                "(put the checkpoint file itself in the state directory)"
            ) from None
        raise
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CorruptCheckpointError(f"{path.name} is not a regular file")
        preamble = file.read(PREAMBLE_SIZE)
        expected = expected_size(preamble)
        if info.st_size != expected:
            raise CorruptCheckpointError(
                f"{path.name} has {info.st_size} bytes where its header says {expected}; it was cut short or "
                "changed after it was written"
            )
        return preamble + file.read(expected - len(preamble))


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
