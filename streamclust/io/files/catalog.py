"""The clusters a file-mode state directory holds: the catalog of each checkpoint (oldest first), and recent
posts of one cluster from a labels file and the posts file it was made from."""

from __future__ import annotations

import json
import logging
from collections import defaultdict, deque
from pathlib import Path

from streamclust.config import Settings
from streamclust.errors import CheckpointError, InputError
from streamclust.schema import CatalogEntry

log = logging.getLogger("streamclust.inspect")


def checkpoint_catalogs(path: Path, settings: Settings) -> dict[int, list[CatalogEntry]]:
    """Each cluster's entry in every readable checkpoint of ``path``, oldest checkpoint first."""
    from streamclust.state.capture import restore
    from streamclust.state.codec import decode_state
    from streamclust.state.directory import StateDirectory, read_checkpoint

    checkpoints = StateDirectory(path).checkpoints()
    if not checkpoints:
        raise InputError(
            f"no checkpoint in {path}; give the --state-dir a file-mode run wrote (streamclust cluster --state-dir)"
        )
    history: dict[int, list[CatalogEntry]] = defaultdict(list)
    failures: list[str] = []  # "<file name>: <why>", for every checkpoint that cannot be read
    for checkpoint in checkpoints:
        try:
            engine = restore(decode_state(read_checkpoint(checkpoint)), settings)
        except (CheckpointError, OSError) as error:
            failures.append(f"{checkpoint.name}: {error}")
            continue
        try:
            for entry in engine.catalog():
                history[entry.cluster_id].append(entry)
        finally:
            engine.close()
    if not history:
        raise CheckpointError(
            f"no checkpoint in {path} can be read with these settings; pass the --config of the run that wrote "
            "them (streamclust cluster --config ... --state-dir ...):\n  " + "\n  ".join(failures)
        )
    for failure in failures:
        log.warning(f"skipping a checkpoint that cannot be read: {failure}")
    return dict(history)


def recent_labelled_ids(labels: Path, cluster_id: int, count: int) -> list[str]:
    """The last ``count`` post ids a labels file (JSON lines of label records) gives ``cluster_id``, newest first."""
    recent: deque[str] = deque(maxlen=count)
    try:
        with labels.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("cluster_id") == cluster_id:
                    recent.append(str(record.get("post_id")))
    except OSError as error:
        raise InputError(f"cannot read the labels file {labels}: {error.strerror}") from None
    return list(reversed(recent))
