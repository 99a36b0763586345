"""``streamclust inspect``: the clusters as the catalog topic (or a file-mode state directory) holds them;
``--cluster ID`` for one cluster's keywords, size history and recent posts."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="the worker's (or file-mode run's) YAML preset")
    parser.add_argument(
        "--state-dir", type=Path, help="read a file-mode state directory's checkpoints instead of Kafka"
    )
    parser.add_argument(
        "--labels", type=Path, help="with --state-dir: the run's labels file (for recent posts)"
    )
    parser.add_argument("--posts", type=Path, help="with --state-dir: the run's posts file (for their texts)")
    parser.add_argument("--bootstrap", help="override kafka.bootstrap_servers")
    parser.add_argument("--catalog-topic", help="override kafka.catalog_topic")
    parser.add_argument("--labels-topic", help="override kafka.labels_topic (for --cluster's recent posts)")
    parser.add_argument(
        "--input-topic", help="override kafka.input_topic (for --cluster's recent posts' texts)"
    )
    parser.add_argument("--cluster", type=int, metavar="ID", help="show this cluster in detail")
    parser.add_argument("--all", action="store_true", help="also list merged and retired clusters")
    parser.add_argument("--top", type=int, default=50, help="clusters listed (largest first)")
    parser.add_argument("--examples", type=int, default=5, help="recent posts shown with --cluster")
    parser.add_argument(
        "--scan", type=int, default=50_000, help="labels and posts read per partition to find recent posts"
    )


def when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from streamclust.config import load_settings
    from streamclust.io.kafka.tools.catalog import read_catalog

    settings = load_settings(args.config)
    overrides: dict[str, Any] = {}
    for option, key in (
        ("bootstrap", "bootstrap_servers"),
        ("catalog_topic", "catalog_topic"),
        ("labels_topic", "labels_topic"),
        ("input_topic", "input_topic"),
    ):
        if getattr(args, option):
            overrides[key] = getattr(args, option)
    kafka = settings.kafka.model_copy(update=overrides)
    console = Console()
    if args.state_dir is not None:
        from streamclust.io.files.catalog import checkpoint_catalogs

        history = checkpoint_catalogs(args.state_dir, settings)
        source = str(args.state_dir)
    else:
        history = read_catalog(kafka)
        source = kafka.catalog_topic
    if args.cluster is None:
        print_catalog(console, history, show_all=args.all, top=args.top, topic=source)
        return 0
    if args.cluster not in history:
        known = ", ".join(str(cluster) for cluster in sorted(history)[:20]) or "none yet"
        print(
            f"streamclust inspect: cluster {args.cluster} is not in {source} (clusters: {known})",
            file=sys.stderr,
        )
        return 1
    print_cluster(console, history[args.cluster])
    if args.state_dir is not None:
        print_file_posts(console, args)
    else:
        print_kafka_posts(console, args, kafka, settings.input)
    return 0


def print_catalog(
    console: Any, history: dict[int, list[Any]], *, show_all: bool, top: int, topic: str
) -> None:
    from rich.table import Table

    latest = [entries[-1] for entries in history.values()]
    shown = [entry for entry in latest if show_all or entry.status == "active"]
    shown.sort(key=lambda entry: (entry.status != "active", -entry.size))
    active = sum(entry.status == "active" for entry in latest)
    table = Table(title=f"{active} active clusters of {len(latest)} in {topic}")
    for column in ("id", "status", "size", "keywords", "last seen (UTC)"):
        table.add_column(column, justify="right" if column in ("id", "size") else "left")
    for entry in shown[:top]:
        status = entry.status if entry.merged_into is None else f"merged into {entry.merged_into}"
        table.add_row(
            str(entry.cluster_id),
            status,
            f"{entry.size:,.0f}",
            ", ".join(entry.keywords),
            when(entry.last_seen_at),
        )
    console.print(table)
    if len(shown) > top:
        console.print(f"... and {len(shown) - top} more (--top N)")


def print_cluster(console: Any, entries: list[Any]) -> None:
    from rich.table import Table

    entry = entries[-1]
    console.print(f"[bold]cluster {entry.cluster_id}[/] ({entry.status}, model v{entry.model_version})")
    console.print(f"keywords: {', '.join(entry.keywords)}")
    console.print(f"created {when(entry.created_at)} UTC, last seen {when(entry.last_seen_at)} UTC")
    if entry.merged_into is not None:
        console.print(f"merged into cluster {entry.merged_into}")
    sizes = Table(title="size history")
    sizes.add_column("at (UTC)")
    sizes.add_column("size", justify="right")
    sizes.add_column("status")
    for old in entries[-20:]:
        sizes.add_row(when(old.last_seen_at), f"{old.size:,.0f}", old.status)
    console.print(sizes)


def print_kafka_posts(console: Any, args: argparse.Namespace, kafka: Any, input_fields: Any) -> None:
    from rich.table import Table

    from streamclust.io.kafka.tools.catalog import recent_posts

    posts = recent_posts(
        kafka,
        input_fields,
        args.cluster,
        count=args.examples,
        scan=args.scan,
        progress=lambda message: console.print(f"[dim]{message}[/]"),
    )
    examples = Table(title=f"recent posts ({len(posts)})")
    examples.add_column("post id")
    examples.add_column("similarity", justify="right")
    examples.add_column("text")
    for post in posts:
        examples.add_row(
            post.post_id, f"{post.similarity:.2f}", post.text if post.text is not None else "(not found)"
        )
    console.print(examples)


def print_file_posts(console: Any, args: argparse.Namespace) -> None:
    from rich.table import Table

    from streamclust.io.files.catalog import recent_labelled_ids
    from streamclust.report import read_known_posts

    if args.labels is None:
        console.print("[dim]recent posts: pass the run's --labels file (and --posts for their texts)[/]")
        return
    post_ids = recent_labelled_ids(args.labels, args.cluster, args.examples)
    texts = read_known_posts(args.posts).texts if args.posts is not None else {}
    examples = Table(title=f"recent posts ({len(post_ids)})")
    examples.add_column("post id")
    examples.add_column("text")
    for post_id in post_ids:
        examples.add_row(post_id, texts.get(post_id, "(pass --posts for the text)"))
    console.print(examples)
