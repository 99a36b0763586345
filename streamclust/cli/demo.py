"""``streamclust demo``: replay Banking77 into Kafka, cluster it live with a terminal view, write the HTML report.

``make demo`` starts the local broker, runs this command and stops the broker again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_POSTS = REPO / "examples" / "data" / "banking77.jsonl.gz"
DEMO_CONFIG = REPO / "configs" / "demo.yaml"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", help="the Kafka broker (default: kafka.bootstrap_servers of --config)")
    parser.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help="a YAML preset (default: configs/demo.yaml)"
    )
    parser.add_argument(
        "--posts", type=Path, default=DEMO_POSTS, help="JSONL(.gz) with id, text, label (default: Banking77)"
    )
    parser.add_argument(
        "--order",
        choices=("emerging", "shuffled", "as-is"),
        default="emerging",
        help="stream order of the posts",
    )
    parser.add_argument("--rate", type=float, default=150.0, help="posts per second offered (default: 150)")
    parser.add_argument("--limit", type=int, help="replay only this many posts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stream order")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop after this long in any case")
    parser.add_argument(
        "--out", type=Path, default=Path("out/demo"), help="folder for timeline.jsonl and report.html"
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from streamclust.config import load_settings
    from streamclust.demo import DemoPlan, run_demo
    from streamclust.engine import Engine
    from streamclust.errors import ConfigError
    from streamclust.obs.logs import setup_logging

    if args.rate <= 0:
        raise ConfigError(f"--rate {args.rate}: give a positive number of posts per second")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: give a positive number of posts")
    settings = load_settings(args.config)
    if args.bootstrap:
        settings = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"bootstrap_servers": args.bootstrap})}
        )
    setup_logging(settings.logging.level, settings.logging.format)
    plan = DemoPlan(
        posts_file=args.posts,
        out_dir=args.out,
        order=args.order,
        rate=args.rate,
        limit=args.limit,
        seed=args.seed,
        max_seconds=args.max_seconds,
    )
    console = Console()
    outcome = run_demo(settings, plan, Engine.from_settings, console)
    console.print()
    console.print(
        f"labelled {outcome.labelled:,} of {outcome.sent:,} posts in {outcome.seconds:.0f} s; "
        f"timeline: {outcome.timeline}"
    )
    console.print(f"report: {outcome.report.resolve()}", soft_wrap=True)
    return 130 if outcome.interrupted else 0
