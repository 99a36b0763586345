"""Input that does not match the settings stops early with the fix, and labels go to standard output when no
``--labels`` file is given (the summary to standard error), so ``streamclust cluster`` can sit in a pipe."""

from __future__ import annotations

import csv
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

import streamclust.io.missing_field
from streamclust.cli import main
from streamclust.io.missing_field import SAMPLE_LINES

CONFIG = """
featurize: {kind: hashing, n_features: 4096, ngram_max: 1}
encoder: {warmup_posts: 40, hidden_dim: 16, latent_dim: 8, epochs: 5, batch_size: 16,
          reservoir_size: 100, retrain_every_posts: 0, drift_detector: "off", background: false}
"""
WORDS = "card declined payment flight airport luggage tomato soil seeds compost".split()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def tickets_csv(path: Path, rows: int) -> Path:
    """A CSV whose text column is ``body``, not the ``text`` the settings expect."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "queue"])
        for i in range(rows):
            writer.writerow([f"t{i}", f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} please help", "support"])
    return path


def test_a_csv_without_the_text_column_stops_after_the_first_hundred_rows_with_the_fix(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tickets_csv(tmp_path / "tickets.csv", 5_000)
    rejects = tmp_path / "rejects.jsonl"

    code = main(["cluster", str(source), "--config", str(config), "--rejects", str(rejects), "--quiet"])

    assert code == 2
    err = capsys.readouterr().err
    assert "the input does not match the settings" in err
    assert f"the first {SAMPLE_LINES} rows were rejected as missing_text" in err
    assert "The rows have the columns: id, body, queue." in err
    assert "Set input.text_field" in err and "STREAMCLUST_INPUT__TEXT_FIELD=body" in err
    assert "input: {text_field: body}" in err
    assert len(rejects.read_text().splitlines()) == SAMPLE_LINES, "reading stopped at the hundredth row"


def test_the_fix_the_message_gives_works(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tickets_csv(tmp_path / "tickets.csv", 120)
    monkeypatch.setenv("STREAMCLUST_INPUT__TEXT_FIELD", "body")

    assert main(["cluster", str(source), "--config", str(config), "--quiet"]) == 0

    labels = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [label["post_id"] for label in labels] == [f"t{i}" for i in range(120)]


def test_a_short_file_gets_the_message_at_its_end(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "posts.jsonl"
    lines = [{"ticket": f"t{i}", "payload": {"body": "my card was declined"}} for i in range(7)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))

    code = main(["cluster", str(source), "--config", str(config), "--quiet"])

    assert code == 2
    err = capsys.readouterr().err
    assert "all 7 lines were rejected as missing_id (no value at input.id_field 'id')" in err
    assert "The lines have the fields: ticket, payload.body." in err
    assert "STREAMCLUST_INPUT__ID_FIELD=ticket" in err


def test_rejects_for_different_reasons_are_bad_lines_not_a_mismatch(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_text('{"id": "1"}\nnot json\n{"id": "2", "text": "   "}\n')

    assert main(["cluster", str(source), "--config", str(config), "--quiet"]) == 0
    assert "does not match the settings" not in capsys.readouterr().err


def test_a_few_posts_without_text_among_good_ones_are_only_rejected(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "posts.jsonl"
    good = [{"id": f"p{i}", "text": f"{WORDS[i % 10]} and {WORDS[(i + 4) % 10]}"} for i in range(60)]
    source.write_text('{"id": "x"}\n' + "".join(json.dumps(post) + "\n" for post in good))

    assert main(["cluster", str(source), "--config", str(config), "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 60


def test_without_labels_the_labels_go_to_stdout_and_the_summary_to_stderr(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "posts.jsonl"
    posts = [{"id": f"p{i}", "text": f"{WORDS[i % 10]} {WORDS[(i * 7) % 10]} today"} for i in range(80)]
    source.write_text("".join(json.dumps(post) + "\n" for post in posts))

    assert main(["cluster", str(source), "--config", str(config)]) == 0

    captured = capsys.readouterr()
    labels = [json.loads(line) for line in captured.out.splitlines()]
    assert [label["post_id"] for label in labels] == [post["id"] for post in posts]
    assert "80 posts labelled" in captured.err and "active clusters" in captured.err
    assert "posts labelled" not in captured.out


def test_the_module_example_runs() -> None:
    assert doctest.testmod(streamclust.io.missing_field).failed == 0


def test_a_reader_that_stops_early_stops_the_run_with_a_message_not_a_traceback(
    tmp_path: Path, config: Path
) -> None:
    source = tmp_path / "posts.jsonl"
    posts = [{"id": f"p{i}", "text": f"{WORDS[i % 10]} {WORDS[(i * 7) % 10]} today"} for i in range(20_000)]
    source.write_text("".join(json.dumps(post) + "\n" for post in posts))
    command = [
        sys.executable,
        "-m",
        "streamclust",
        "cluster",
        str(source),
        "--config",
        str(config),
        "--quiet",
    ]

    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:  # like `| head -1`
        assert run.stdout is not None and run.stderr is not None
        first = json.loads(run.stdout.readline())
        run.stdout.close()
        err = run.stderr.read().decode()
        code = run.wait(timeout=300)

    assert first["post_id"] == "p0"
    assert code == 2
    assert "standard output was closed" in err and "--labels FILE" in err
    assert "Traceback" not in err
