"""``streamclust report``: the HTML report of a run from its timeline (``streamclust demo`` writes one)."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeline", type=Path, required=True, help="the run's timeline.jsonl")
    parser.add_argument(
        "--posts",
        type=Path,
        help="JSONL(.gz) of the posts (id, text, optional label): example texts and scores",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/report.html"), help="where to write the HTML file"
    )


def run(args: argparse.Namespace) -> int:
    from streamclust.obs.timeline import read_timeline
    from streamclust.report import read_known_posts, write_report

    timeline = read_timeline(args.timeline)
    known = read_known_posts(args.posts) if args.posts is not None else None
    path = write_report(timeline, args.out, known)
    print(f"report: {path.resolve()}")
    return 0
