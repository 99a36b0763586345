"""``streamclust produce FILE``: replay a JSONL or CSV file (gzip is fine) into the input topic."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="JSONL or CSV (.gz is fine); '-' reads JSONL from stdin")
    parser.add_argument("--config", type=Path, help="a YAML preset for kafka.* (bootstrap, input topic)")
    parser.add_argument("--rate", type=float, default=0.0, help="posts per second; 0 = as fast as possible")
    parser.add_argument("--limit", type=int, help="stop after this many posts")
    parser.add_argument("--topic", help="override kafka.input_topic")
    parser.add_argument("--bootstrap", help="override kafka.bootstrap_servers")


def run(args: argparse.Namespace) -> int:
    from streamclust.config import load_settings
    from streamclust.io.kafka.tools.produce import produce_file

    overrides = {}
    if args.bootstrap:
        overrides["bootstrap_servers"] = args.bootstrap
    if args.topic:
        overrides["input_topic"] = args.topic
    settings = load_settings(args.config)
    kafka = settings.kafka.model_copy(update=overrides)
    sent = produce_file(args.file, kafka, rate=args.rate, limit=args.limit)
    print(f"produced {sent} records to {kafka.input_topic} on {kafka.bootstrap_servers}")
    return 0
