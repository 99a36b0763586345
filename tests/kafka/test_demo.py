"""``make demo`` end to end, shortened: it starts its own local broker, replays Banking77 through the worker with
the live view, writes the report, and stops the broker, leaving no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from streamclust.obs.timeline import read_timeline
from streamclust.report.series import online_labels

REPO = Path(__file__).resolve().parents[2]
POSTS = 800

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900, func_only=True)]

# A small, quick engine (no model to distill, a tiny autoencoder) so the test is about the plumbing.
QUICK_ENGINE = {
    "STREAMCLUST_FEATURIZE__KIND": "hashing",
    "STREAMCLUST_FEATURIZE__N_FEATURES": "4096",
    "STREAMCLUST_ENCODER__WARMUP_POSTS": "200",
    "STREAMCLUST_ENCODER__EPOCHS": "2",
    "STREAMCLUST_ENCODER__HIDDEN_DIM": "64",
    "STREAMCLUST_ENCODER__LATENT_DIM": "16",
    "STREAMCLUST_ENCODER__RETRAIN_EVERY_POSTS": "300",
    "STREAMCLUST_ENCODER__SWAP_AFTER_POSTS": "100",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(f"{cmdline.parent.name}: {command}")
    return found


def make_demo(port: int, controller_port: int, demo_args: str) -> list[str]:
    return [
        "make",
        "--no-print-directory",
        "demo",
        f"DEMO_PORT={port}",
        f"DEMO_CONTROLLER_PORT={controller_port}",
        f"DEMO_ARGS={demo_args}",
    ]


def assert_nothing_left(port: int, controller_port: int, printed: str) -> None:
    broker_pid = int(re.findall(r"running \(pid (\d+)\)", printed)[0])
    assert not Path(f"/proc/{broker_pid}").exists()
    assert not answers(port) and not answers(controller_port)
    assert processes_mentioning(f"127.0.0.1:{port}") == []
    status = subprocess.run(
        [str(REPO / "deploy" / "kafka" / "local-broker"), "status", "--port", str(port)], capture_output=True
    )
    assert status.returncode != 0


def test_make_demo_writes_the_report_and_leaves_nothing_running(tmp_path: Path) -> None:
    port, controller_port = free_port(), free_port()
    out = tmp_path / "demo"
    command = make_demo(port, controller_port, f"--limit {POSTS} --rate 400 --max-seconds 400 --out {out}")

    outcome = subprocess.run(
        command, cwd=REPO, env=os.environ | QUICK_ENGINE, capture_output=True, text=True, timeout=840
    )

    printed = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, printed[-4000:]
    assert "new topic #" in printed  # the live view announced topics as they were born
    report = Path(re.findall(r"report: (\S+)", printed)[-1])
    assert report == (out / "report.html").resolve() and report.stat().st_size > 10_000
    assert report.read_text(encoding="utf-8").count("<svg") == 5  # as tests/report/test_report.py
    post_ids, _ = online_labels(read_timeline(out / "timeline.jsonl").batches)
    assert len(post_ids) == POSTS and len(set(post_ids)) == POSTS  # every post labelled exactly once
    assert_nothing_left(port, controller_port, printed)  # the broker is stopped, nothing of the demo runs
    assert json.loads((out / "timeline.jsonl").read_text().splitlines()[0])["posts"] == POSTS


def test_ctrl_c_stops_the_demo_writes_the_report_so_far_and_stops_the_broker(tmp_path: Path) -> None:
    port, controller_port = free_port(), free_port()
    out = tmp_path / "demo"
    command = make_demo(port, controller_port, f"--rate 100 --max-seconds 400 --out {out}")
    log = tmp_path / "make.log"
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            command,
            cwd=REPO,
            env=os.environ | QUICK_ENGINE,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while "new topic #" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                assert demo.poll() is None, log.read_text(errors="replace")[-4000:]
                time.sleep(0.5)
            os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
            demo.wait(timeout=120)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait(timeout=30)

    printed = log.read_text(errors="replace")
    assert re.search(r"interrupted with [\d,]+ of 13,083 posts labelled", printed), printed[-4000:]
    assert (out / "report.html").stat().st_size > 10_000
    assert_nothing_left(port, controller_port, printed)
