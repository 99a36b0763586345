"""Regenerate the quality table of docs/quality.md: every dataset in every order through ``streamclust eval``.

    .venv/bin/python benchmarks/quality.py run [--config FILE] [--out out/quality] [--data-dir ../shared/data]
    .venv/bin/python benchmarks/quality.py table out/quality/*.json     # the Markdown table, on stdout

``run`` calls the ``streamclust eval`` command once per dataset and order (one process each, so the figures
are exactly what a user gets) and writes one JSON report per run; ``table`` turns reports into Markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DATASETS = ("mstream-news", "mstream-news-t", "banking77", "stackoverflow")
ORDERS = ("as-is", "shuffled", "emerging")
# Offline reference figures from ../shared/data/REFERENCE.md (NMI, all posts at once, told the true k).
REFERENCES = {
    "banking77": {
        "TF-IDF MiniBatchKMeans(k)": 0.430,
        "static KMeans(k)": 0.651,
        "MiniLM encoder KMeans(k)": 0.777,
    },
    "stackoverflow": {"TF-IDF MiniBatchKMeans(k)": 0.463, "static KMeans(k)": 0.688},
}
HEADER = (
    "| dataset | order | features | method | NMI | NMI after events | ARI | homog. | compl. | purity "
    "| clusters | outliers | posts/s | classes detected | median delay | spurious | after warm-up: detected, delay |"
)


def run(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    streamclust = Path(sys.executable).with_name("streamclust")
    for dataset in args.datasets.split(","):
        for order in args.orders.split(","):
            report = args.out / f"{dataset}-{order}.json"
            command = [str(streamclust), "eval", dataset, "--order", order, "--seed", str(args.seed)]
            command += ["--data-dir", str(args.data_dir), "--json", str(report)]
            if args.config is not None:
                command += ["--config", str(args.config)]
            if args.baselines is not None:
                command += ["--baselines", args.baselines]
            print("$", " ".join(command), file=sys.stderr, flush=True)
            subprocess.run(command, check=True)


def figure(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def method_row(report: dict[str, Any], result: dict[str, Any]) -> str:
    online, after, emergence = result["online"], result["after_events"], result["emergence"]
    cells = [
        report["dataset"],
        report["order"],
        report["settings"]["featurize"]["kind"],
        result["name"],
        figure(online["nmi"]),
        figure(after["nmi"]) if after else "",
        figure(online["ari"]),
        figure(online["homogeneity"]),
        figure(online["completeness"]),
        figure(online["purity"]),
        str(online["n_clusters"]),
        f"{online['outlier_share']:.1%}",
        f"{result['posts_per_second']:,.0f}",
        f"{emergence['detected_share']:.0%}" if emergence else "",
        figure(emergence["median_delay"], 0) if emergence else "",
        f"{emergence['spurious_share']:.0%}" if emergence else "",
        late_detection(emergence) if emergence else "",
    ]
    return "| " + " | ".join(cells) + " |"


def late_detection(emergence: dict[str, Any]) -> str:
    """Classes first seen after warm-up: how many were detected, and their median delay."""
    if "late_classes" not in emergence:
        return ""
    detected = round(emergence["late_detected_share"] * emergence["late_classes"])
    return f"{detected}/{emergence['late_classes']}, {figure(emergence['late_median_delay'], 0)}"


def table(args: argparse.Namespace) -> None:
    reports = [json.loads(Path(path).read_text()) for path in args.reports]
    rank = {
        (dataset, order): i for i, (dataset, order) in enumerate((d, o) for d in DATASETS for o in ORDERS)
    }
    reports.sort(key=lambda report: rank.get((report["dataset"], report["order"]), len(rank)))
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for report in reports:
        for result in report["results"]:
            print(method_row(report, result))
    for dataset in dict.fromkeys(report["dataset"] for report in reports):
        for name, nmi in REFERENCES.get(dataset, {}).items():
            print(f"| {dataset} | offline | | {name} (REFERENCE.md) | {nmi:.3f} |" + " |" * 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="run streamclust eval for every dataset and order")
    runner.add_argument("--config", type=Path, default=None)
    runner.add_argument("--out", type=Path, default=Path("out/quality"))
    runner.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    runner.add_argument("--datasets", default=",".join(DATASETS))
    runner.add_argument("--orders", default=",".join(ORDERS))
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument("--baselines", default=None, help="passed on to streamclust eval (default: all)")
    runner.set_defaults(action=run)
    tabler = commands.add_parser("table", help="print the Markdown table of JSON reports")
    tabler.add_argument("reports", nargs="+", type=Path)
    tabler.set_defaults(action=table)
    args = parser.parse_args()
    args.action(args)


if __name__ == "__main__":
    main()
