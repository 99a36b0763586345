"""``streamclust cluster INPUT``: cluster a JSONL or CSV file (gzip accepted, ``-`` for stdin), no broker needed."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from streamclust.engine import Engine
    from streamclust.io.files.run import FileRunSummary

BATCH_SIZE = 512


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a .jsonl, .csv (optionally .gz) file, or - for standard input")
    parser.add_argument("--config", type=Path, help="a YAML preset, e.g. configs/default.yaml")
    parser.add_argument(
        "--format", choices=["jsonl", "csv"], help="input format (default: from the file name)"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        help="write one label record per post here (JSONL); without it they go to standard output",
    )
    parser.add_argument("--events", type=Path, help="write cluster events here (JSONL)")
    parser.add_argument(
        "--rejects", type=Path, help="write lines that could not be read here, with the reason"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="resume the model from the newest checkpoint here and save checkpoints to it (setting state_dir)",
    )
    parser.add_argument(
        "--timeline",
        type=Path,
        help="write the run's timeline (JSON lines) here, for `streamclust report --timeline FILE`",
    )
    parser.add_argument("--top", type=int, default=20, help="clusters shown in the summary table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")


def run(args: argparse.Namespace) -> int:
    """Exit code 0 when the whole input was read, 3 when it is damaged (truncated or corrupt: what came before
    is labelled), 130 on Ctrl-C (what was read is labelled), 2 for a setting or an input that cannot be used
    (also when the first lines all lack the field the settings name)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from streamclust.config import load_settings
    from streamclust.engine import Engine
    from streamclust.io.files.checkpoints import FileCheckpoints
    from streamclust.io.files.reader import InputLines, guess_format, max_line_bytes, open_input
    from streamclust.io.files.run import EXIT_INTERNAL_ERROR, FileOutputs, FileRun
    from streamclust.io.files.writer import JsonlWriter
    from streamclust.obs.logs import setup_logging

    settings = load_settings(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    console = Console(stderr=True, quiet=args.quiet)
    fmt = args.format or guess_format(args.input)
    rejects_path = args.rejects
    if rejects_path is None and args.labels is not None:
        rejects_path = args.labels.with_name(args.labels.stem + ".rejects.jsonl")
    state_dir = args.state_dir or settings.state_dir
    checkpoints = None
    if state_dir is not None:
        checkpoints = FileCheckpoints.in_directory(
            state_dir, settings, say=lambda text: print(text, file=sys.stderr)
        )
        engine = checkpoints.open_engine(settings)
    else:
        engine = Engine.from_settings(settings)
    labels = JsonlWriter(args.labels, stream=sys.stdout)  # the summary and progress go to standard error
    outputs = FileOutputs(labels, JsonlWriter(args.events), JsonlWriter(rejects_path))
    recorder = None
    if args.timeline is not None:
        from streamclust.obs.timeline import TimelineRecorder

        run_facts = {"command": "cluster", "input": str(args.input), "featurizer": settings.featurize.kind}
        recorder = TimelineRecorder(args.timeline, catalog=engine.catalog, run=run_facts)

    started = time.perf_counter()
    columns = [
        TextColumn("clustering"),
        BarColumn(),
        TextColumn("{task.fields[posts]} posts{task.fields[stage]}"),
        TimeElapsedColumn(),
    ]
    try:
        with (
            open_input(args.input) as (stream, progress),
            Progress(*columns, MofNCompleteColumn(), console=console, transient=True) as bar,
        ):
            warming_up = (
                f" (warming up: the first model is trained at {settings.encoder.warmup_posts:,} posts)"
            )
            task = bar.add_task(
                "read", total=progress.total_bytes, posts=0, stage="" if engine.is_warm else warming_up
            )

            def show(summary: FileRunSummary) -> None:
                stage = "" if engine.is_warm else warming_up
                bar.update(task, completed=progress.done_bytes, posts=summary.read, stage=stage)

            lines = InputLines(stream, max_line_bytes(settings.input))
            observers = [] if recorder is None else [recorder]
            file_run = FileRun(engine, outputs, checkpoints, on_batch=show, observers=observers)
            summary = file_run.run(lines, settings.input, fmt, BATCH_SIZE)
    finally:
        if recorder is not None:
            recorder.close()
        engine.close()
        outputs.close()
    elapsed = time.perf_counter() - started

    if summary.labelled:
        console.print(cluster_table(engine, args.top))
    rejected = summary.rejected
    console.print(
        f"{summary.read} posts labelled ({summary.outliers} outliers), {rejected} rejected"
        + (f" {dict(summary.reasons)}" if rejected else "")
        + f", events {dict(summary.event_kinds)}, {summary.read / max(elapsed, 1e-9):.0f} posts/s"
    )
    if rejected and rejects_path is not None:
        console.print(f"rejected lines and reasons: {rejects_path}")
    if args.timeline is not None:
        console.print(
            f"timeline: {args.timeline} (streamclust report --timeline {args.timeline} --out report.html)"
        )
    tell_how_it_ended(summary)
    if summary.exit_code == EXIT_INTERNAL_ERROR:
        print(f"internal error: {summary.read} posts read but {summary.labelled} labelled", file=sys.stderr)
    return summary.exit_code


def cluster_table(engine: Engine, top: int) -> Table:
    from rich.table import Table

    table = Table(title=f"{len(engine.clusters)} active clusters (largest {top})")
    for column in ("cluster", "size", "keywords"):
        table.add_column(column)
    for entry in sorted(engine.catalog(), key=lambda e: -e.size)[:top]:
        if entry.status == "active":
            table.add_row(str(entry.cluster_id), f"{entry.size:.0f}", ", ".join(entry.keywords))
    return table


def tell_how_it_ended(summary: FileRunSummary) -> None:
    """On standard error, whatever the console's quietness: an early end is never silent."""
    if summary.damage is not None:
        print(
            f"the input is damaged at line {summary.damaged_line} ({summary.damage}): the "
            f"{summary.read} posts before it are labelled, the rest could not be read (exit code 3). "
            "Check the file (gzip -t for a .gz) and run again on a good copy.",
            file=sys.stderr,
        )
    elif summary.mismatch is not None:
        print(summary.mismatch, file=sys.stderr)
    elif summary.interrupted:
        print(
            f"interrupted: the {summary.read} posts read so far are labelled, the rest of the input was not read",
            file=sys.stderr,
        )
