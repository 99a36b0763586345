"""How the engine's drift detector behaves: false alarms on stable streams, delay on shifting ones, and what
each retrain it starts does to the labels.

    .venv/bin/python benchmarks/drift.py [--data-dir ../shared/data] [--out out/drift.json]

Every shared stream runs through the engine (default settings, seed 0, batches of 256, as ``streamclust eval``
feeds it; retrains are swapped in at their fixed position, ``encoder.swap: at_position``, so that the figures do
not depend on the machine's speed) in three orders:

- *shuffled*: nothing changes after warm-up, so every alarm is a false alarm (reported per 10,000 posts);
- *as-is*: Banking77 is sorted by intent (77 complete topic changes), News-T brings its topics in parts;
- *emerging*: classes are introduced one at a time while the earlier ones keep flowing.

For the orders with changes, a *change* is the first post of a class that arrives after warm-up. A change is
*caught* when an alarm comes within ``--window`` posts after it (``delay``: posts from the change to that
alarm). One alarm may catch several changes that came close together (emerging orders bring a class every few
hundred posts), so ``changes_per_alarm`` is reported beside it. Each swap reports its label agreement (the share
of reservoir posts that keep their cluster across the swap; the target is at least 95%).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.evaluate.datasets import load_dataset
from streamclust.evaluate.orders import stream_order
from streamclust.schema import Post

DATASETS = ("mstream-news", "mstream-news-t", "banking77", "stackoverflow")
ORDERS = ("shuffled", "as-is", "emerging")
BATCH = 256


def run_stream(dataset: str, order: str, data_dir: Path, window: int) -> dict[str, Any]:
    settings = load_settings(None)
    # swaps at fixed positions: the figures then depend on the stream alone, not on how busy the machine is
    # and a drift starts a retrain (encoder.retrain_on_drift), to measure what such retrains do to the labels
    encoder = settings.encoder.model_copy(update={"swap": "at_position", "retrain_on_drift": True})
    settings = settings.model_copy(update={"encoder": encoder})
    posts = load_dataset(dataset, data_dir)
    rows = stream_order(order, posts.labels, settings.seed)
    labels = posts.labels[rows]
    engine = Engine.from_settings(settings)
    alarms: list[int] = []
    swaps: list[dict[str, Any]] = []
    try:
        for start in range(0, len(rows), BATCH):
            batch = [Post(id=posts.ids[row], text=posts.texts[row]) for row in rows[start : start + BATCH]]
            stats = engine.process(batch).stats
            end = start + len(batch)
            if stats.drift_detected:
                alarms.append(end)
            if stats.retrained and stats.label_agreement is not None:
                swaps.append({"at": end, "label_agreement": round(stats.label_agreement, 4)})
    finally:
        engine.close()
    warmup = settings.encoder.warmup_posts
    _, first = np.unique(labels, return_index=True)
    changes = np.sort(first[first >= warmup])
    after_warmup = max(len(rows) - warmup, 1)
    report: dict[str, Any] = {
        "dataset": dataset,
        "order": order,
        "posts": len(rows),
        "alarms": len(alarms),
        "alarms_per_10k_posts": round(len(alarms) * 10_000 / after_warmup, 2),
        "alarm_positions": alarms,
        "swaps": swaps,
        "min_label_agreement": min((swap["label_agreement"] for swap in swaps), default=None),
    }
    if order != "shuffled":
        alarm_array = np.array(alarms, dtype=np.int64)
        delays = []
        for change in changes.tolist():
            later = alarm_array[(alarm_array >= change) & (alarm_array < change + window)]
            if len(later):
                delays.append(int(later[0] - change))
        report["changes"] = len(changes)
        report["changes_per_alarm"] = round(len(changes) / len(alarms), 1) if alarms else None
        report["caught_share"] = round(len(delays) / len(changes), 3) if len(changes) else None
        report["median_delay"] = float(np.median(delays)) if delays else None
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--orders", default=",".join(ORDERS))
    parser.add_argument("--window", type=int, default=2_000, help="posts after a change an alarm may come")
    parser.add_argument("--out", type=Path, default=Path("out/drift.json"))
    args = parser.parse_args()
    reports = []
    for dataset in args.datasets.split(","):
        for order in args.orders.split(","):
            print(f"running {dataset} ({order})", file=sys.stderr, flush=True)
            report = run_stream(dataset, order, args.data_dir, args.window)
            reports.append(report)
            shown = {key: value for key, value in report.items() if key != "alarm_positions"}
            print(json.dumps(shown), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reports, indent=2) + "\n")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
