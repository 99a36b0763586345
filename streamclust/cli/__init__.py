"""The ``streamclust`` command. Each subcommand lives in its own module with ``configure(parser)`` and
``run(args) -> int``; modules import their heavy dependencies inside ``run`` so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streamclust import __version__
from streamclust.errors import StreamclustError

# name -> (module, one-line help). Keep in the order a newcomer meets them.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "streamclust.cli.demo",
        "replay Banking77 through Kafka with a live view, then write an HTML report",
    ),
    "cluster": ("streamclust.cli.cluster", "cluster a JSONL or CSV file (or stdin) without any broker"),
    "eval": ("streamclust.cli.evaluate", "score online clustering on a labelled dataset against baselines"),
    "bench": ("streamclust.cli.bench", "measure throughput and memory (core engine, Kafka end to end)"),
    "run": ("streamclust.cli.run", "the Kafka worker: label every post of the input topic exactly once"),
    "replay": (
        "streamclust.cli.replay",
        "re-label the input topic with the current model into another topic",
    ),
    "produce": ("streamclust.cli.produce", "replay a JSONL or CSV file into the input topic at a given rate"),
    "tail": ("streamclust.cli.tail", "print committed labels, events, catalog entries or dead letters"),
    "inspect": ("streamclust.cli.inspect", "print the clusters from the catalog topic; --cluster ID for one"),
    "report": ("streamclust.cli.report", "write the HTML report of a run from its timeline"),
    "config": (
        "streamclust.cli.config",
        "print the configuration reference, or prepare (distil) the featurizer's model ahead of the first run",
    ),
    "broker": ("streamclust.cli.broker", "start, stop or check the local Apache Kafka broker"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamclust", description="Cluster a live text stream.")
    parser.add_argument("--version", action="version", version=f"streamclust {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args))
    except StreamclustError as error:
        print(f"streamclust {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"streamclust {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
