"""``scale.mode: shared``: any number of workers label with one model, which one elected worker learns and
publishes.

``shared_worker.py`` is one such worker process: a labeler in the main thread (``labeler.py``, the batch loop
over ``followed_model.py``, the newest published model applied read-only) and the trainer role beside it
(``trainer_role.py``: a thread that takes part in the election, ``election.py``, and runs ``trainer.py`` while
elected). It may import the plumbing, ``worker/`` and ``durability/``; nothing outside it imports it but the CLI.
"""
