"""File mode's input: posts from JSONL or CSV (a file, gzip, or standard input), in batches, with a reject for
every line or row that is not a post and the reason why (``writer.py`` writes what comes out)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from streamclust.config import InputSettings
from streamclust.errors import InputError
from streamclust.io.decode import DecodeFailure, decode_json, post_from_mapping, short
from streamclust.io.missing_field import MissingFieldCheck
from streamclust.schema import Post

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
    mismatch: str | None = None  # the input does not match the settings: reading stopped, this says why


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
    try:
        raw = source.open("rb")
    except OSError as error:
        raise InputError(f"cannot open {path}: {error.strerror}; check that the file is readable") from None
    progress = InputProgress(total_bytes=source.stat().st_size, raw=raw)
    try:
        magic = raw.read(2)
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw  # type: ignore[assignment]
        yield stream, progress
    finally:
        raw.close()


FILE_REASONS = {
    "line_too_large": "a line is longer than file mode reads at once (max_line_bytes)",
    "bad_csv": "a CSV row cannot be parsed (a field over the size limit, a stray quote)",
    "wrong_columns": "a CSV row has more fields than the header",
    "damaged_input": "reading stopped here: the file is truncated or corrupt (a damaged gzip, a read error)",
}
DAMAGE = (EOFError, OSError, zlib.error)  # what a truncated or corrupt gzip, or a failing disk, raises


def max_line_bytes(fields: InputSettings) -> int:
    """The longest line read: room for the longest text as JSON escapes (6 bytes a character), and metadata."""
    return max(1 << 20, 8 * fields.max_text_chars)


class InputLines:
    """The input's lines (without line endings), numbered from 1, each at most ``limit`` bytes.

    A longer line is skipped and reported as ``line_too_large``, so a file without newlines is never read into
    memory whole. Reading stops at the first damage (a truncated or corrupt gzip, a read error): ``damage``
    then says what went wrong and ``line`` is the number of the line that could not be read.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.line = 0
        self.damage: str | None = None
        self.interrupted = False  # reading was stopped by Ctrl-C

    def __iter__(self) -> Iterator[bytes | DecodeFailure]:
        while True:
            self.line += 1
            try:
                line = self.stream.readline(self.limit)
                if not line:
                    return
                if len(line) == self.limit and not line.endswith(b"\n"):
                    size = len(line) + self.skip_rest_of_line()
                    yield DecodeFailure(
                        line[:2000],
                        "line_too_large",
                        f"the line has {size} bytes, the limit is {self.limit}",
                        self.line,
                    )
                    continue
            except DAMAGE as error:
                self.damage = short(f"{type(error).__name__}: {error}")
                return
            yield line.rstrip(b"\r\n")

    def skip_rest_of_line(self) -> int:
        skipped = 0
        while True:
            chunk = self.stream.readline(self.limit)
            skipped += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return skipped

    def damage_failure(self) -> DecodeFailure | None:
        """A reject for the rest of the input when reading stopped at damage."""
        if self.damage is None:
            return None
        return DecodeFailure(
            b"", "damaged_input", f"the rest of the input is unreadable: {self.damage}", self.line
        )


def read_jsonl(lines: InputLines, fields: InputSettings) -> Iterator[Post | DecodeFailure]:
    for raw in lines:
        if isinstance(raw, DecodeFailure):
            yield raw
            continue
        if not raw.strip():
            continue
        outcome = decode_json(raw, fields)
        if isinstance(outcome, Post):
            yield outcome
        else:
            yield DecodeFailure(raw=raw, reason=outcome[0], detail=outcome[1], position=lines.line)


def read_csv(lines: InputLines, fields: InputSettings) -> Iterator[Post | DecodeFailure]:
    """CSV with a header row; a line that is not UTF-8, or a row that cannot be parsed, is rejected on its own."""
    csv.field_size_limit(max(csv.field_size_limit(), fields.max_text_chars + 1))
    failures: list[DecodeFailure] = []

    def text_lines() -> Iterator[str]:
        for line in lines:
            if isinstance(line, DecodeFailure):
                failures.append(line)
                continue
            try:
                yield line.decode("utf-8") + "\n"
            except UnicodeDecodeError as error:
                detail = f"bytes are not UTF-8: {error.reason} at byte {error.start}"
                failures.append(DecodeFailure(line, "not_utf8", detail, lines.line))

    reader = csv.DictReader(text_lines(), restkey=EXTRA_COLUMNS)
    while True:
        row: dict[str, Any] | None = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            failures.append(DecodeFailure(b"", "bad_csv", short(str(error)), lines.line))
        yield from failures
        failures.clear()
        if row is not None:
            yield row_outcome(row, fields, lines.line)
    yield from failures


EXTRA_COLUMNS = "\x00extra columns"


def row_outcome(row: dict[str, Any], fields: InputSettings, line: int) -> Post | DecodeFailure:
    raw = json.dumps(row, ensure_ascii=False).encode("utf-8", errors="replace")
    if EXTRA_COLUMNS in row:
        columns = len(row) - 1 + len(row[EXTRA_COLUMNS])
        return DecodeFailure(
            raw, "wrong_columns", f"the row has {columns} fields, the header {len(row) - 1}", line
        )
    outcome = post_from_mapping(row, fields)
    if isinstance(outcome, Post):
        return outcome
    return DecodeFailure(raw=raw, reason=outcome[0], detail=outcome[1], position=line)


def read_batches(
    lines: InputLines, fields: InputSettings, fmt: Format, batch_size: int
) -> Iterator[InputBatch]:
    """Batches of ``batch_size`` posts with the failures met on the way; the damage reject comes last.

    Ctrl-C while reading ends the batches, the posts already read still come in the last one. When the first
    records all lack the same field, the batch that says so (``mismatch``) is the last (MissingFieldCheck)."""
    records = read_csv(lines, fields) if fmt == "csv" else read_jsonl(lines, fields)
    check = MissingFieldCheck(fields, fmt)
    batch = InputBatch()
    try:
        for record in records:
            if isinstance(record, Post):
                batch.posts.append(record)
            else:
                batch.failures.append(record)
            check.see(record)
            if check.mismatch is not None:
                batch.mismatch = check.mismatch
                yield batch
                return
            if len(batch.posts) >= batch_size:
                yield batch
                batch = InputBatch()
    except KeyboardInterrupt:
        lines.interrupted = True
    if not lines.interrupted:
        batch.mismatch = check.verdict(at_end=True)
    damage = lines.damage_failure()
    if damage is not None:
        batch.failures.append(damage)
    if batch.posts or batch.failures or batch.mismatch:
        yield batch
