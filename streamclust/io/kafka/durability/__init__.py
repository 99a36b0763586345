"""A solo worker's model across restarts, on the compacted state topic.

``checkpointing.py`` is what the batch loop calls: restore the newest checkpoint at start and catch up
(``catch_up.py``), journal every batch learned (``journal.py``), and put a checkpoint or the journal into each
batch transaction (``checkpoints.py``: what a checkpoint holds and the offsets it was committed with).
``state_topic.py`` reads checkpoints back, the newest at start or each newer one as it appears (shared mode's
labelers follow the model with it). This package imports only the Kafka plumbing and ``state/``; never the
worker loop, shared mode or the tools.
"""
