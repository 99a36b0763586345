"""The benchmarks behind ``streamclust bench``: what the engine, the Kafka worker and its checkpoints cost.

``core.py`` times the engine in process (with ``stage_clock.py``, which times each pipeline stage from outside),
``kafka.py`` runs the worker end to end through a real broker (the runs themselves are in ``kafka_runs.py``),
``state.py`` and ``checkpoint.py`` measure checkpoints, ``texts.py`` gives them all their texts. A benchmark may
import anything in the package; nothing in the package imports a benchmark.
"""
