"""Kafka in and out. In the package only this adapter (and the Kafka benchmarks) imports kafka-python.

The plumbing every role uses sits at the top:

- ``clients.py``: client settings from ``KafkaSettings``, connecting with back-off, lag, the broker watch;
- ``topics.py``: the topics streamclust reads and writes, created when missing;
- ``records.py``: what goes on them as (key, value) bytes: labels, events, catalog entries, dead letters;
- ``isolation.py``: one bad record never stops a worker (guarded decoding and engine calls).

Each role is a subpackage:

- ``worker/``: the exactly-once batch loop every worker runs (solo, or a shared-mode labeler), and the committer
  process that runs its transactions;
- ``durability/``: a solo model across restarts: checkpoints and the journal on the state topic, reading them back,
  catching up;
- ``shared_mode/``: ``scale.mode: shared``: labelers that follow the published model, the elected trainer that
  learns and publishes it, the election;
- ``tools/``: what people run against a deployment: replay, produce, tail, the catalog reader.

Imports run one way: the plumbing imports no subpackage, ``durability/`` only the plumbing, ``worker/`` the
plumbing and ``durability/``, ``tools/`` the same, ``shared_mode/`` all of them. Nothing here imports ``obs/``,
``report/``, ``bench/`` or ``cli/`` (``tests/test_package_layers.py`` keeps these rules). ``KafkaWorker`` is
imported on first use, so that the committer process (``worker/committer.py``) starts without the engine's
libraries.
"""

from typing import TYPE_CHECKING, Any

from streamclust.io.kafka.topics import ensure_topics, worker_topics

if TYPE_CHECKING:
    from streamclust.io.kafka.worker.batch_loop import KafkaWorker

__all__ = ["KafkaWorker", "ensure_topics", "worker_topics"]


def __getattr__(name: str) -> Any:
    if name == "KafkaWorker":
        from streamclust.io.kafka.worker.batch_loop import KafkaWorker

        return KafkaWorker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
