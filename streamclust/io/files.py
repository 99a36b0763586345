"""File mode: read posts from JSONL or CSV (a file, gzip, or stdin) and write labels, events and rejects as JSONL."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from streamclust.config import InputSettings
from streamclust.errors import InputError
from streamclust.io.decode import DecodeFailure, decode_json, post_from_mapping
from streamclust.result import LabelBatch
from streamclust.schema import ClusterEvent, Post

Format = Literal["jsonl", "csv"]


def guess_format(path: str) -> Format:
    name = path.lower().removesuffix(".gz")
    return "csv" if name.endswith(".csv") else "jsonl"


@dataclass
class InputProgress:
    """How far reading has got, in bytes of the (possibly compressed) input file."""

    total_bytes: int | None = None
    raw: IO[bytes] | None = None

    @property
    def done_bytes(self) -> int:
        return 0 if self.raw is None or self.raw.closed else self.raw.tell()


@dataclass
class InputBatch:
    posts: list[Post] = field(default_factory=list)
    failures: list[DecodeFailure] = field(default_factory=list)


@contextmanager
def open_input(path: str) -> Iterator[tuple[IO[bytes], InputProgress]]:
    """A binary stream of the input's decompressed bytes; ``-`` is standard input."""
    if path == "-":
        yield sys.stdin.buffer, InputProgress()
        return
    source = Path(path)
    if not source.is_file():
        raise InputError(
            f"input file {path} does not exist (pass a JSONL or CSV file, or - for standard input)"
        )
    raw = source.open("rb")
    progress = InputProgress(total_bytes=source.stat().st_size, raw=raw)
    try:
        magic = raw.read(2)
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw  # type: ignore[assignment]
        yield stream, progress
    finally:
        raw.close()


def read_jsonl(stream: IO[bytes], fields: InputSettings) -> Iterator[Post | DecodeFailure]:
    for number, line in enumerate(stream, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        outcome = decode_json(raw, fields)
        if isinstance(outcome, Post):
            yield outcome
        else:
            yield DecodeFailure(raw=raw, reason=outcome[0], detail=outcome[1], position=number)


def read_csv(stream: IO[bytes], fields: InputSettings) -> Iterator[Post | DecodeFailure]:
    """CSV with a header row; a line that is not UTF-8 is rejected on its own."""
    failures: list[DecodeFailure] = []

    def text_lines() -> Iterator[str]:
        for number, line in enumerate(stream, start=1):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as error:
                failures.append(
                    DecodeFailure(line, "not_utf8", f"bytes are not UTF-8: {error.reason}", number)
                )

    reader = csv.DictReader(text_lines())
    for row in reader:
        yield from failures
        failures.clear()
        outcome = post_from_mapping(row, fields)
        if isinstance(outcome, Post):
            yield outcome
        else:
            raw = json.dumps(row, ensure_ascii=False).encode("utf-8")
            yield DecodeFailure(raw=raw, reason=outcome[0], detail=outcome[1], position=reader.line_num)
    yield from failures


def read_batches(
    stream: IO[bytes], fields: InputSettings, fmt: Format, batch_size: int
) -> Iterator[InputBatch]:
    records = read_csv(stream, fields) if fmt == "csv" else read_jsonl(stream, fields)
    batch = InputBatch()
    for record in records:
        if isinstance(record, Post):
            batch.posts.append(record)
        else:
            batch.failures.append(record)
        if len(batch.posts) >= batch_size:
            yield batch
            batch = InputBatch()
    if batch.posts or batch.failures:
        yield batch


class JsonlWriter:
    """Appends one JSON object per line to a file (or discards everything when no path is given)."""

    def __init__(self, path: Path | None) -> None:
        self.handle: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = path.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self.handle is not None:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


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
