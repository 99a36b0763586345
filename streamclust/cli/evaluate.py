"""``streamclust eval DATASET``: stream a labelled dataset through the engine and score its online labels."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

DEFAULT_BASELINES = "leader,dbstream,kmeans"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset",
        metavar="DATASET",
        help="banking77, stackoverflow, or a JSONL(.gz) file with id, text, label",
    )
    parser.add_argument("--order", choices=("as-is", "shuffled", "emerging"), default="as-is")
    parser.add_argument(
        "--seed", type=int, default=None, help="seeds the order, the engine and the baselines"
    )
    parser.add_argument("--config", type=Path, default=None, help="a YAML preset (see configs/)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure and the settings here")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("../shared/data"), help="where banking77 and stackoverflow are"
    )
    parser.add_argument("--limit", type=int, default=None, help="a seeded random subset of this many posts")
    parser.add_argument("--batch-size", type=int, default=256, help="posts per engine call")
    parser.add_argument(
        "--baselines",
        default=DEFAULT_BASELINES,
        help=f"comma-separated from leader, dbstream, kmeans; or none (default {DEFAULT_BASELINES})",
    )


def parse_baselines(value: str) -> list[str]:
    from streamclust.errors import ConfigError
    from streamclust.evaluate.harness import BASELINES

    if value.strip() == "none":
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ConfigError(
            f"--baselines {value!r}: unknown {', '.join(unknown)}; use {', '.join(BASELINES)} or none"
        )
    return names


def run(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from streamclust.config import load_settings
    from streamclust.errors import ConfigError
    from streamclust.evaluate.datasets import load_dataset, subsample
    from streamclust.evaluate.harness import evaluate
    from streamclust.evaluate.orders import stream_order
    from streamclust.evaluate.tables import emergence_table, evaluation_to_dict, scores_table

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: give a positive number of posts")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size {args.batch_size}: give a positive number of posts")
    baselines = parse_baselines(args.baselines)
    overrides = {} if args.seed is None else {"seed": args.seed}
    settings = load_settings(args.config, **overrides)
    dataset = subsample(load_dataset(args.dataset, args.data_dir), args.limit, settings.seed)
    stream = dataset.take(stream_order(args.order, dataset.labels, settings.seed))

    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:

        def track(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda done: progress.advance(task, done)

        evaluation = evaluate(
            stream, args.order, settings, batch_size=args.batch_size, baselines=baselines, track=track
        )

    output = Console()
    if not output.is_terminal:  # piped or redirected: room for every column rather than 80
        output = Console(width=140)
    output.print(scores_table(evaluation))
    for result in evaluation.results:
        table = emergence_table(result)
        if table is not None:
            output.print(table)
    if evaluation.unlabelled or evaluation.labelled_again:
        console.print(
            f"[red]warning:[/red] {evaluation.unlabelled} posts got no label and "
            f"{evaluation.labelled_again} label records repeated a post (both should be 0)"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(evaluation_to_dict(evaluation), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {args.json}")
    return 0
