"""``streamclust replay``: re-label the input topic (from the beginning or a time) with the current model into
a topic of its own, without disturbing the live worker."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def iso_timestamp(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time; write it like 2026-11-24T09:30:00Z"
        ) from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="the live worker's YAML preset (kafka.*, the model's settings)"
    )
    parser.add_argument(
        "--bootstrap", help="the Kafka broker(s), host:port (overrides kafka.bootstrap_servers)"
    )
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--from-beginning", action="store_true", help="replay the whole input topic")
    start.add_argument(
        "--from-timestamp",
        type=iso_timestamp,
        metavar="ISO8601",
        help="replay the posts the input topic received at or after this time (UTC unless it says otherwise)",
    )
    parser.add_argument(
        "--output-topic", required=True, help="where the labels go (not the live kafka.labels_topic)"
    )
    parser.add_argument(
        "--group",
        help="the replay's consumer group (default: <kafka.group_id>-replay-<UTC time>); "
        "run again with the same group to resume a replay that stopped",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from streamclust.config import load_settings
    from streamclust.errors import KafkaSetupError
    from streamclust.io.kafka.durability.state_topic import read_latest_state
    from streamclust.io.kafka.tools.replay import (
        check_output_topic,
        default_group,
        ensure_output_topic,
        plan_replay,
        replay_consumer,
        run_replay,
    )
    from streamclust.obs.logs import setup_logging
    from streamclust.state.capture import restore

    overrides = {"kafka": {"bootstrap_servers": args.bootstrap}} if args.bootstrap else {}
    settings = load_settings(args.config, **overrides)
    setup_logging(settings.logging.level, settings.logging.format)
    kafka = settings.kafka
    check_output_topic(kafka, args.output_topic)
    console = Console(stderr=True, quiet=args.quiet)
    console.print(f"loading the model of group {kafka.group_id} from {kafka.state_topic}")
    state = read_latest_state(kafka, kafka.group_id)
    if state is None:
        raise KafkaSetupError(
            f"no model of consumer group {kafka.group_id!r} on state topic {kafka.state_topic!r}; run the worker "
            "(streamclust run) with this config until it has written a checkpoint, then replay"
        )
    engine = restore(state, settings)
    group = args.group or default_group(kafka, datetime.now(UTC))
    ensure_output_topic(kafka, args.output_topic)
    consumer = replay_consumer(kafka, group)
    try:
        plan = plan_replay(consumer, kafka, group, args.output_topic, args.from_timestamp)
        if plan.resumed:
            console.print(f"resuming replay group {group}: {plan.total} posts left")
        columns = [TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("replay", total=plan.total)
            summary = run_replay(
                settings, engine, plan, consumer, on_progress=lambda done: bar.update(task, completed=done)
            )
    finally:
        consumer.close()
        engine.close()
    rate = summary.labelled / max(summary.seconds, 1e-9)
    console.print(
        f"replayed {summary.labelled} posts into {args.output_topic} with model version {summary.model_version} "
        f"({summary.outliers} outliers, {len(summary.clusters)} clusters), skipped {summary.skipped} records "
        f"that are not posts, in {summary.seconds:.1f}s ({rate:.0f} posts/s); consumer group {group}"
    )
    return 0
