"""File mode: cluster a JSONL or CSV file (gzip accepted, or standard input) without any broker.

``run.py`` is the loop (``FileRun``: read a batch, label it, write labels, events and rejects, tell the
observers); ``reader.py`` turns the input into batches of posts and rejects (and stops a run whose first lines
all lack the field the settings name, ``io/missing_field.py``), ``writer.py`` writes the JSON lines out.
``checkpoints.py`` resumes and saves the model in a state directory, ``catalog.py`` reads the clusters back from
one (for ``streamclust inspect --state-dir``). It may import the core, ``state/``, ``io/decode.py``,
``io/missing_field.py`` and the observer contract (``streamclust/observer.py``); never Kafka, ``obs/`` or
``report/``.
"""
