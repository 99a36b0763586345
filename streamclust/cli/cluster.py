"""``streamclust cluster INPUT``: cluster a JSONL or CSV file (gzip accepted, ``-`` for stdin), no broker needed."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

BATCH_SIZE = 512


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a .jsonl, .csv (optionally .gz) file, or - for standard input")
    parser.add_argument("--config", type=Path, help="a YAML preset, e.g. configs/default.yaml")
    parser.add_argument(
        "--format", choices=["jsonl", "csv"], help="input format (default: from the file name)"
    )
    parser.add_argument("--labels", type=Path, help="write one label record per post here (JSONL)")
    parser.add_argument("--events", type=Path, help="write cluster events here (JSONL)")
    parser.add_argument(
        "--rejects", type=Path, help="write lines that could not be read here, with the reason"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="resume the model from the newest checkpoint here and save checkpoints to it (setting state_dir)",
    )
    parser.add_argument("--top", type=int, default=20, help="clusters shown in the summary table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from streamclust.config import load_settings
    from streamclust.engine import Engine
    from streamclust.io.file_state import FileCheckpoints
    from streamclust.io.files import (
        JsonlWriter,
        event_row,
        guess_format,
        label_rows,
        open_input,
        read_batches,
        reject_row,
    )
    from streamclust.obs.logs import setup_logging
    from streamclust.result import BatchResult

    settings = load_settings(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    console = Console(stderr=True, quiet=args.quiet)
    fmt = args.format or guess_format(args.input)
    rejects_path = args.rejects
    if rejects_path is None and args.labels is not None:
        rejects_path = args.labels.with_name(args.labels.stem + ".rejects.jsonl")
    labels_out, events_out, rejects_out = (
        JsonlWriter(args.labels),
        JsonlWriter(args.events),
        JsonlWriter(rejects_path),
    )
    state_dir = args.state_dir or settings.state_dir
    checkpoints = None
    if state_dir is not None:
        checkpoints = FileCheckpoints.in_directory(
            state_dir, settings, say=lambda text: print(text, file=sys.stderr)
        )
        engine = checkpoints.open_engine(settings)
    else:
        engine = Engine.from_settings(settings)
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    event_kinds: Counter[str] = Counter()

    def write(result: BatchResult) -> None:
        for row in label_rows(result.labels):
            labels_out.write(row)
        counts["labelled"] += len(result.labels)
        counts["outliers"] += int(result.labels.is_outlier.sum())
        for event in result.events:
            events_out.write(event_row(event))
            event_kinds[event.kind.value] += 1

    started = time.perf_counter()
    columns = [
        TextColumn("clustering"),
        BarColumn(),
        TextColumn("{task.fields[posts]} posts"),
        TimeElapsedColumn(),
    ]
    try:
        with (
            open_input(args.input) as (stream, progress),
            Progress(*columns, MofNCompleteColumn(), console=console, transient=True) as bar,
        ):
            task = bar.add_task("read", total=progress.total_bytes, posts=0)
            for batch in read_batches(stream, settings.input, fmt, BATCH_SIZE):
                for failure in batch.failures:
                    rejects_out.write(reject_row(failure))
                    reasons[failure.reason] += 1
                counts["read"] += len(batch.posts)
                if batch.posts:
                    write(engine.process(batch.posts))
                    if checkpoints is not None:
                        checkpoints.after_batch(engine)
                bar.update(task, completed=progress.done_bytes, posts=counts["read"])
            write(engine.flush())
        if checkpoints is not None:
            checkpoints.at_end(engine)
    finally:
        engine.close()
        for writer in (labels_out, events_out, rejects_out):
            writer.close()
    elapsed = time.perf_counter() - started

    table = Table(title=f"{len(engine.table)} active clusters (largest {args.top})")
    for column in ("cluster", "size", "keywords"):
        table.add_column(column)
    for entry in sorted(engine.catalog(), key=lambda e: -e.size)[: args.top]:
        if entry.status == "active":
            table.add_row(str(entry.cluster_id), f"{entry.size:.0f}", ", ".join(entry.keywords))
    console.print(table)
    rejected = sum(reasons.values())
    console.print(
        f"{counts['read']} posts labelled ({counts['outliers']} outliers), {rejected} rejected"
        + (f" {dict(reasons)}" if rejected else "")
        + f", events {dict(event_kinds)}, {counts['read'] / max(elapsed, 1e-9):.0f} posts/s"
    )
    if rejected and rejects_path is not None:
        console.print(f"rejected lines and reasons: {rejects_path}")
    if counts["labelled"] != counts["read"]:
        print(
            f"internal error: {counts['read']} posts read but {counts['labelled']} labelled", file=sys.stderr
        )
        return 1
    return 0
