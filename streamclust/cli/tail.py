"""``streamclust tail``: print what the worker committed (read_committed), one record per line."""

from __future__ import annotations

import argparse
from pathlib import Path

TOPICS = ("labels", "events", "catalog", "deadletter", "input")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="a YAML preset for kafka.* (bootstrap, topic names)")
    parser.add_argument("--topic", choices=TOPICS, default="labels", help="which of the configured topics")
    parser.add_argument("--max", type=int, help="stop after this many records")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds without a new record")
    parser.add_argument("--from-end", action="store_true", help="only records written from now on")
    parser.add_argument("--bootstrap", help="override kafka.bootstrap_servers")
    parser.add_argument("--raw", action="store_true", help="print the JSON values as they are")


def run(args: argparse.Namespace) -> int:
    from streamclust.config import load_settings
    from streamclust.io.kafka.tools.tail import pretty, tail_topic

    settings = load_settings(args.config)
    kafka = settings.kafka
    if args.bootstrap:
        kafka = kafka.model_copy(update={"bootstrap_servers": args.bootstrap})
    topic = {
        "labels": kafka.labels_topic,
        "events": kafka.events_topic,
        "catalog": kafka.catalog_topic,
        "deadletter": kafka.deadletter_topic,
        "input": kafka.input_topic,
    }[args.topic]
    for record in tail_topic(
        kafka, topic, max_records=args.max, idle_timeout=args.timeout, from_end=args.from_end
    ):
        print(record.value.decode("utf-8", "replace") if args.raw else pretty(args.topic, record))
    return 0
