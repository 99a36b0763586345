"""File mode against hostile input: every bad line or row is a reject with its reason, a damaged gzip ends the
run with the labels of what came before and exit code 3, and posts held for warm-up are always labelled."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import signal
import zlib
from pathlib import Path

import pytest
from test_file_mode import CONFIG, read_jsonl, synthetic_posts

from streamclust.cli import main
from streamclust.config import InputSettings
from streamclust.engine import Engine
from streamclust.io.files.reader import InputLines
from streamclust.io.files.run import EXIT_DAMAGED_INPUT, EXIT_INTERRUPTED, FileOutputs, FileRun
from streamclust.io.files.writer import JsonlWriter

HOSTILE_LINES = [
    (b'{"id": "\\ud800", "text": "lone surrogate in the id"}', "bad_unicode"),
    (b'{"id": "s2", "text": "a lone \\udfff surrogate"}', "bad_unicode"),
    (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    (b'{"id": ' + b"7" * 5000 + b', "text": "a huge id"}', "number_too_large"),
    (b'{"id": "t1", "text": "hello", "timestamp": 1e308}', "bad_timestamp"),
    (b'{"id": "t2", "text": "hello", "timestamp": NaN}', "bad_timestamp"),
    (b'{"id": "l1", "text": "' + b"x" * (2 << 20) + b'"}', "line_too_large"),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG + "input: {max_text_chars: 500}\n")
    return path


def cluster(source: Path, config: Path, labels: Path, *extra: str) -> int:
    return main(["cluster", str(source), "--config", str(config), "--labels", str(labels), "--quiet", *extra])


def test_hostile_json_lines_are_rejected_and_the_run_goes_on(tmp_path: Path, config: Path) -> None:
    posts = synthetic_posts(200)
    lines = [json.dumps(post).encode() for post in posts[:100]]
    lines += [raw for raw, _ in HOSTILE_LINES] + [json.dumps(post).encode() for post in posts[100:]]
    source = tmp_path / "posts.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    labels = tmp_path / "labels.jsonl"

    assert cluster(source, config, labels) == 0

    assert [row["post_id"] for row in read_jsonl(labels)] == [post["id"] for post in posts]
    rejected = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert [row["reason"] for row in rejected] == [reason for _, reason in HOSTILE_LINES]
    assert [row["line"] for row in rejected] == list(range(101, 101 + len(HOSTILE_LINES)))
    assert all(len(str(row["detail"])) <= 200 for row in rejected)


def test_csv_rows_that_cannot_be_read_are_rejected_with_their_line(tmp_path: Path, config: Path) -> None:
    posts = synthetic_posts(150)
    source = tmp_path / "posts.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for post in posts[:75]:
            writer.writerow([post["id"], post["text"]])
        writer.writerow(["extra", "more fields", "than the", "header"])  # line 77
        writer.writerow(["huge", "x" * 200_000])  # line 78: over the csv module's 128 KB field limit
    with source.open("ab") as handle:
        handle.write(b"bad,caf\xe9 latin-1\n")  # line 79
    with source.open("a", newline="") as handle:
        writer = csv.writer(handle)
        for post in posts[75:]:
            writer.writerow([post["id"], post["text"]])
    labels = tmp_path / "labels.jsonl"

    assert cluster(source, config, labels) == 0

    assert [row["post_id"] for row in read_jsonl(labels)] == [post["id"] for post in posts]
    rejected = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert [(row["reason"], row["line"]) for row in rejected] == [
        ("wrong_columns", 77),
        ("bad_csv", 78),
        ("not_utf8", 79),
    ]


def complete_lines(gzipped: bytes) -> int:
    """How many whole lines a damaged gzip still holds."""
    return zlib.decompressobj(wbits=31).decompress(gzipped).count(b"\n")


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_gzip_labels_what_came_before_and_exits_3(
    tmp_path: Path, config: Path, damage: str, capfd: pytest.CaptureFixture[str]
) -> None:
    posts = synthetic_posts(3000)
    whole = gzip.compress("".join(json.dumps(post) + "\n" for post in posts).encode())
    if damage == "truncated":
        data = whole[: len(whole) // 2]
    else:
        middle = len(whole) // 2
        data = (
            whole[:middle] + bytes(byte ^ 0xFF for byte in whole[middle : middle + 64]) + whole[middle + 64 :]
        )
    source = tmp_path / "posts.jsonl.gz"
    source.write_bytes(data)
    labels = tmp_path / "labels.jsonl"

    code = cluster(source, config, labels)

    err = capfd.readouterr().err
    assert code == EXIT_DAMAGED_INPUT == 3
    assert "Traceback" not in err
    labelled = [row["post_id"] for row in read_jsonl(labels)]
    rejected = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert rejected[-1]["reason"] == "damaged_input"
    assert f"the input is damaged at line {rejected[-1]['line']}" in err
    intact = complete_lines(data[: len(whole) // 2])
    assert labelled[:intact] == [post["id"] for post in posts[:intact]]
    if (
        damage == "truncated"
    ):  # nothing but whole lines before the cut: each is labelled, the cut line is the reject
        assert labelled == [post["id"] for post in posts[:intact]]
        assert rejected == [rejected[-1]] and rejected[-1]["line"] == intact + 1
    else:  # deflate turns corrupt bytes into some garbage before it notices: garbage lines are rejects or posts
        assert len(labelled) < len(posts)


def test_posts_held_for_warm_up_are_labelled_when_the_gzip_breaks_early(tmp_path: Path, config: Path) -> None:
    posts = synthetic_posts(40)  # fewer than warmup_posts: all of them are still held when reading stops
    noise = random.Random(0).randbytes(3000).hex()  # a last line that does not compress, cut in the middle
    whole = gzip.compress("".join(json.dumps(post) + "\n" for post in posts).encode() + noise.encode())
    source = tmp_path / "posts.jsonl.gz"
    source.write_bytes(whole[:-40])
    labels = tmp_path / "labels.jsonl"

    assert cluster(source, config, labels) == EXIT_DAMAGED_INPUT

    assert [row["post_id"] for row in read_jsonl(labels)] == [post["id"] for post in posts]


class InterruptingStream(io.BytesIO):
    """Sends this process Ctrl-C (SIGINT) when line ``at`` is read, as a user pressing it would."""

    def __init__(self, data: bytes, at: int) -> None:
        super().__init__(data)
        self.at = at
        self.lines = 0

    def readline(self, size: int | None = -1) -> bytes:
        self.lines += 1
        if self.lines == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return super().readline(size)


def test_ctrl_c_labels_every_post_read_before_it(tmp_path: Path, config: Path) -> None:
    from streamclust.config import load_settings

    settings = load_settings(config)
    posts = synthetic_posts(1500)
    stream = InterruptingStream("".join(json.dumps(post) + "\n" for post in posts).encode(), at=1100)
    labels = tmp_path / "labels.jsonl"
    outputs = FileOutputs(JsonlWriter(labels), JsonlWriter(None), JsonlWriter(None))
    engine = Engine.from_settings(settings)

    summary = FileRun(engine, outputs).run(InputLines(stream, 1 << 20), InputSettings(), "jsonl", 512)
    outputs.close()
    engine.close()

    assert summary.interrupted and summary.exit_code == EXIT_INTERRUPTED
    labelled = [row["post_id"] for row in read_jsonl(labels)]
    assert labelled == [post["id"] for post in posts[:1099]]
    assert summary.read == summary.labelled == 1099
