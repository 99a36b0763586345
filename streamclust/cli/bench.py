"""``streamclust bench core|kafka|state|checkpoint``: benchmarks that print their numbers and write them to a JSON
file. Each lives in ``streamclust/bench/`` with its own ``configure(parser)`` and ``run(args)``."""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS: dict[str, tuple[str, str]] = {
    "core": ("streamclust.bench.core", "the in-process engine: posts/s and peak memory"),
    "kafka": ("streamclust.bench.kafka", "end to end through a real Kafka broker with transactions"),
    "state": ("streamclust.bench.state", "checkpoint size and capture/encode/decode/restore times"),
    "checkpoint": ("streamclust.bench.checkpoint", "what one checkpoint to the state topic costs"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    subparsers = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, (module_name, help_text) in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(_benchmark=module)


def run(args: argparse.Namespace) -> int:
    return int(args._benchmark.run(args))
