"""The HTML report renders in a real browser: headless Chromium (Debian's ``chromium``, installed by
``deploy/chromium/install``) takes a screenshot of it, which must have the requested size and show plots."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from run_support import record_run, write_posts

from streamclust.obs.timeline import read_timeline
from streamclust.report import read_known_posts, write_report

WIDTH, HEIGHT = 1200, 1600


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.timeout(300, func_only=True)
def test_headless_chromium_renders_the_report(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run deploy/chromium/install", pytrace=False)
    posts = write_posts(tmp_path / "posts.jsonl", 600)
    record_run(tmp_path / "timeline.jsonl", posts)
    report = write_report(
        read_timeline(tmp_path / "timeline.jsonl"),
        tmp_path / "report.html",
        read_known_posts(tmp_path / "posts.jsonl"),
    )
    screenshot = tmp_path / "report.png"

    outcome = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            f"--window-size={WIDTH},{HEIGHT}",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert outcome.returncode == 0 and screenshot.exists(), outcome.stderr[-2000:]
    assert png_size(screenshot) == (WIDTH, HEIGHT)
    pixels = (imread(screenshot)[:, :, :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(pixels, axis=0)
    assert len(colours) > 200, f"only {len(colours)} colours: the page looks blank"
    not_white = np.mean(np.any(pixels < 240, axis=1))
    assert not_white > 0.05, f"only {not_white:.1%} of the page is drawn on"
