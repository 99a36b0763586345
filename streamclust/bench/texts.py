"""The texts a benchmark streams: every ``text`` of a JSONL dataset (gzip accepted), or synthetic short texts when
the Kafka benchmarks run without one.

>>> texts = load_texts(None, synthetic=3)
>>> len(texts), all(text.split() for text in texts)
(3, True)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from streamclust.errors import InputError


def load_texts(path: Path | None, synthetic: int | None = None, seed: int = 0) -> list[str]:
    """The ``text`` of every line of the JSONL(.gz) file at ``path``.

    Without that file: ``synthetic`` short texts over 40 made-up topics when a count is given, else an InputError
    that says to pass ``--data``."""
    from streamclust.io.files.reader import open_input

    if path is not None and path.exists():
        with open_input(str(path)) as (stream, _):
            return [json.loads(line)["text"] for line in stream if line.strip()]
    if synthetic is None:
        raise InputError(f"benchmark data {path} not found; pass --data with a JSONL file of posts")
    rng = random.Random(seed)
    topics = [[f"t{topic}w{word}" for word in range(30)] for topic in range(40)]
    return [" ".join(rng.choices(rng.choice(topics), k=rng.randint(5, 15))) for _ in range(synthetic)]
