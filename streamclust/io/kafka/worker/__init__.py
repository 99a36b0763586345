"""The exactly-once batch loop every worker runs, solo or as a shared-mode labeler.

``batch_loop.py`` (``KafkaWorker``) polls a batch, decodes it, runs the engine and hands the batch's labels,
events, catalog updates, dead letters and input offsets to the committer as one transaction;
``uncommitted.py`` holds what was read and produced since the last commit; ``committer.py`` is the process that
runs the transactions (it imports kafka-python and the plumbing only, so it starts fast). The loop may import
the plumbing (``clients``, ``topics``, ``records``, ``isolation``) and ``durability/``; nothing here imports
``shared_mode/`` or ``tools/``.
"""
