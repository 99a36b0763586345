"""File mode's output: labels, cluster events and rejects, one JSON object per line, to files or standard output."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from streamclust.errors import OutputError
from streamclust.io.decode import DecodeFailure
from streamclust.result import LabelBatch
from streamclust.schema import ClusterEvent


class JsonlWriter:
    """Appends one JSON object per line to a file, or to ``stream`` (left open) when no path is given; with
    neither, everything is discarded."""

    def __init__(self, path: Path | None, stream: IO[str] | None = None) -> None:
        self.handle: IO[str] | None = stream
        self.owned = path is not None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = path.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self.handle is None:
            return
        try:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        except BrokenPipeError:
            self.stop_writing_to_a_closed_pipe()

    def stop_writing_to_a_closed_pipe(self) -> None:
        """The reader of the stream went away (``streamclust cluster posts.jsonl | head``): stop the run."""
        if self.handle is not None and not self.owned:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.handle.fileno())  # nothing left to flush at exit
        self.handle = None
        raise OutputError(
            "standard output was closed by the program reading the labels (such as head): the run stopped; "
            "give --labels FILE to keep every label"
        )

    def close(self) -> None:
        if self.handle is None:
            return
        if self.owned:
            self.handle.close()
            return
        try:
            self.handle.flush()
        except BrokenPipeError:
            self.stop_writing_to_a_closed_pipe()


def label_rows(labels: LabelBatch) -> Iterator[dict[str, Any]]:
    for record in labels.records():
        yield record.model_dump(exclude_none=True)


def event_row(event: ClusterEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


def reject_row(failure: DecodeFailure) -> dict[str, Any]:
    return {
        "line": failure.position,
        "reason": failure.reason,
        "detail": failure.detail,
        "raw": failure.raw.decode("utf-8", errors="replace")[:2000],
    }
