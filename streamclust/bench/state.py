"""``streamclust bench state``: how big a checkpoint is and how long it takes to capture, encode, decode and
restore, for a model that has learned a whole dataset (Banking77 with configs/default.yaml by default).

The stream is processed once; then capture, encode, decode and restore are each timed ``--runs`` times and
their medians printed. The baseline, measured in the same process, is the median time the engine takes to
process one batch of ``--batch-size`` posts: the ratio says how many batches' worth of time one checkpoint costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/banking77.jsonl.gz"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--json", type=Path, default=Path("out/bench-state.json"))


def timed(action: Any, runs: int) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def bytes_by_part(state: Any) -> dict[str, int]:
    """Array and tensor bytes per part of the model (the first path segment of each name)."""
    sizes: Counter[str] = Counter()
    for name, array in state.arrays.items():
        sizes[name.split("/")[0]] += int(array.nbytes)
    for name, tensor in state.tensors.items():
        sizes[name.split("/")[0]] += int(tensor.numel() * tensor.element_size())
    sizes["meta (JSON)"] = len(json.dumps(state.meta))
    return dict(sizes.most_common())


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from streamclust.bench.texts import load_texts
    from streamclust.config import load_settings
    from streamclust.engine import Engine
    from streamclust.schema import Post
    from streamclust.state.capture import capture, load_state, restore
    from streamclust.state.codec import decode_state, encode_state

    console = Console(stderr=True)
    settings = load_settings(args.config)
    texts = load_texts(args.data)
    posts = [Post.model_construct(id=f"p{n}", text=text) for n, text in enumerate(texts)]
    console.print(f"clustering {len(posts)} posts of {args.data.name} with {args.config} ...")
    engine = Engine.from_settings(settings)
    batch_seconds = []
    for start in range(0, len(posts), args.batch_size):
        began = time.perf_counter()
        engine.process(posts[start : start + args.batch_size], now=float(start))
        if engine.is_warm and start >= settings.encoder.warmup_posts:
            batch_seconds.append(time.perf_counter() - began)
    engine.close()  # a retrain in flight finishes, so it is part of the checkpoint

    console.print(f"timing capture, encode, decode, restore ({args.runs} runs each) ...")
    capture_s, state = timed(lambda: capture(engine), args.runs)
    encode_s, blob = timed(lambda: encode_state(state), args.runs)
    decode_s, decoded = timed(lambda: decode_state(blob), args.runs)
    restore_s, restored = timed(lambda: restore(decoded, settings), args.runs)
    fresh = [Engine.from_settings(settings) for _ in range(args.runs)]
    load_s = []
    for target in fresh:
        began = time.perf_counter()
        load_state(target, decoded)
        load_s.append(time.perf_counter() - began)
    probe = posts[:: max(len(posts) // 1000, 1)]
    same_labels = bool(
        (
            engine.assign(probe, now=0.0).labels.cluster_ids
            == restored.assign(probe, now=0.0).labels.cluster_ids
        ).all()
    )

    median = statistics.median
    batch = median(batch_seconds)
    checkpoint = median(capture_s) + median(encode_s)
    per_post = batch / args.batch_size
    every = settings.state.checkpoint_every_posts
    summary = {
        "config": str(args.config),
        "data": str(args.data),
        "posts": len(posts),
        "model_version": state.model_version,
        "clusters": len(engine.clusters),
        "checkpoint_bytes": len(blob),
        "chunks_on_the_state_topic": -(-len(blob) // settings.state.chunk_bytes),
        "bytes_by_part": bytes_by_part(state),
        "runs": args.runs,
        "median_seconds": {
            "capture": median(capture_s),
            "encode": median(encode_s),
            "decode": median(decode_s),
            "restore_with_engine_build": median(restore_s),
            "load_into_built_engine": median(load_s),
        },
        "seconds": {"capture": capture_s, "encode": encode_s, "decode": decode_s, "restore": restore_s},
        "baseline_median_batch_seconds": batch,
        "batch_size": args.batch_size,
        "checkpoint_over_batch_ratio": checkpoint / batch,
        "overhead_at_checkpoint_every_posts": checkpoint / (per_post * every),
        "checkpoint_every_posts": every,
        "probe_labels_equal_after_restore": same_labels,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2))
    ms = {name: 1000 * value for name, value in summary["median_seconds"].items()}
    restore_ms, load_ms = ms["restore_with_engine_build"], ms["load_into_built_engine"]
    print(
        f"checkpoint of {len(posts)} posts ({len(engine.clusters)} clusters, model v{state.model_version}): "
        f"{len(blob) / 2**20:.1f} MiB ({summary['chunks_on_the_state_topic']} state-topic chunks); medians of "
        f"{args.runs}: capture {ms['capture']:.0f} ms, encode {ms['encode']:.0f} ms, decode {ms['decode']:.0f} ms, "
        f"restore {restore_ms:.0f} ms (load into a built engine {load_ms:.0f} ms); "
        f"capture+encode = {summary['checkpoint_over_batch_ratio']:.1f}x one {args.batch_size}-post batch "
        f"({1000 * batch:.0f} ms), {100 * summary['overhead_at_checkpoint_every_posts']:.2f}% overhead at one "
        f"checkpoint per {every} posts; probe labels equal after restore: {same_labels}; written to {args.json}"
    )
    return 0 if same_labels else 1
