"""``streamclust run --config FILE``: the Kafka worker (outputs and offsets in one transaction per batch)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

ENGINES = ("default", "first-word")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="a YAML preset (see configs/); STREAMCLUST_* env vars override"
    )
    parser.add_argument(
        "--bootstrap", help="the Kafka broker(s), host:port (overrides kafka.bootstrap_servers)"
    )
    parser.add_argument(
        "--instance-id",
        help="unique name of this worker (suffixes kafka.transactional_id); "
        "give each worker of a group its own",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="default",
        help="'first-word' is the instant test double from streamclust.testing (for plumbing checks)",
    )
    parser.add_argument(
        "--idle-flush-seconds",
        type=float,
        default=30.0,
        help="label posts still held by the warm-up after the input has been idle this long",
    )
    parser.add_argument("--max-seconds", type=float, help="stop after this long (for demos and benchmarks)")
    parser.add_argument(
        "--log-format",
        choices=("plain", "json"),
        help="'plain' lines for people or 'json' for log collectors (default: logging.format, whose 'auto' "
        "is plain on a terminal and json otherwise)",
    )
    parser.add_argument(
        "--timeline",
        type=Path,
        help="write the run's timeline (JSON lines) to this file, for `streamclust report`",
    )
    parser.add_argument(
        "--fresh-model",
        action="store_true",
        help="ignore the group's checkpoint on the state topic and warm up a new model (cluster ids start "
        "afresh); its first checkpoint replaces the old one",
    )


def build_engine(name: str, settings: Any) -> Any:
    if name == "first-word":
        from streamclust.testing import FirstWordEngine

        return FirstWordEngine(warmup_posts=settings.encoder.warmup_posts)
    from streamclust.engine import Engine

    return Engine.from_settings(settings)


def shared_worker(args: argparse.Namespace, settings: Any, observers: list[Any], metrics: Any) -> Any:
    """Shared mode: label with the published model, and train while elected (docs/architecture.md)."""
    from streamclust.errors import ConfigError
    from streamclust.io.kafka.shared_mode.shared_worker import SharedWorker

    if args.engine != "default":
        raise ConfigError(
            f"--engine {args.engine} cannot run in scale.mode shared (its model cannot be published); "
            "use the default engine or scale.mode solo"
        )
    if args.fresh_model:
        raise ConfigError(
            "--fresh-model applies to scale.mode solo; a shared deployment follows the newest model of its group. "
            "To start shared mode afresh, give it a new kafka.group_id"
        )
    if args.instance_id is None:
        raise ConfigError("scale.mode shared needs --instance-id: give each worker of the group its own name")
    return SharedWorker(
        settings,
        engine_factory=lambda: build_engine("default", settings),
        instance_id=args.instance_id,
        observers=observers,
        trainer_observers=[] if metrics is None else [metrics],
    )


def timeline_recorder(path: Path, worker: Any, args: argparse.Namespace, settings: Any) -> Any:
    from streamclust.obs.timeline import TimelineRecorder

    run = {
        "command": "run",
        "input_topic": settings.kafka.input_topic,
        "group_id": settings.kafka.group_id,
        "featurizer": settings.featurize.kind,
    }
    if args.instance_id is not None:  # the report lists these facts: no "instance_id: None"
        run["instance_id"] = args.instance_id

    def catalog() -> Any:
        # shared mode: the copy of the trainer's catalog; solo: the engine's own (the worker may swap engines)
        return worker.clusters() if settings.scale.mode == "shared" else worker.engine.catalog()

    return TimelineRecorder(path, catalog=catalog, run=run)


def run(args: argparse.Namespace) -> int:
    stop_requested = threading.Event()  # a SIGTERM during start-up still means "stop cleanly"
    worker: Any = None

    def stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()
        if worker is not None:
            worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    from streamclust.config import load_settings
    from streamclust.io.kafka import KafkaWorker
    from streamclust.obs.logs import setup_logging
    from streamclust.obs.progress_log import ProgressLog

    overrides = {"kafka": {"bootstrap_servers": args.bootstrap}} if args.bootstrap else {}
    settings = load_settings(args.config, **overrides)
    setup_logging(settings.logging.level, args.log_format or settings.logging.format)
    metrics = None
    if settings.http.enabled:
        from streamclust.obs.metrics import WorkerMetrics

        metrics = WorkerMetrics()
    observers: list[Any] = [ProgressLog()] + ([] if metrics is None else [metrics])
    if settings.scale.mode == "shared":
        worker = shared_worker(args, settings, observers, metrics)
    else:
        worker = KafkaWorker(
            settings,
            build_engine(args.engine, settings),
            engine_factory=lambda: build_engine(args.engine, settings),
            observers=observers,
            instance_id=args.instance_id,
            idle_flush_seconds=args.idle_flush_seconds,
            fresh_model=args.fresh_model,
        )
    if stop_requested.is_set():
        worker.stop()
    recorder = None
    if args.timeline is not None:
        recorder = timeline_recorder(args.timeline, worker, args, settings)
        worker.observers.append(recorder)

    server = None
    if metrics is not None:
        from streamclust.obs.http import HttpServer

        metrics.watch_readiness(worker.is_ready)
        server = HttpServer(settings.http, status=worker, registry=metrics.registry)
        server.start()
    try:
        worker.run(max_seconds=args.max_seconds)
    finally:
        if server is not None:
            server.stop()
        if recorder is not None:
            recorder.close()
    return 0
