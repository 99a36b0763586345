"""One bad record never stops the worker: whatever goes wrong with one record makes that record a dead letter.

Two guards, used the same way by the worker and by the catch-up after a restore (so both learn the same posts):

- ``decode_record`` wraps the decoder: any exception while decoding or validating one record (a 100,000-deep
  JSON value, a 5,000-digit integer, ...) becomes ``("undecodable", "<exception class>: <message>")``, and a
  post the worker could not write (an id or text that is not valid Unicode, an id too long for its label
  record) is refused here, before the engine sees it. ``decode_polled`` decodes a poll's records with it, the
  one way the worker, the trainer, the catch-up and the replay read posts.
- ``process_guarded`` runs ``engine.process`` (or ``flush``); when that raises, it looks for the posts the
  engine cannot take on their own (each text through the featurizer with ``learn=False``, which changes
  nothing), drops them (they become ``engine_error`` dead letters) and processes the rest once. When no single
  post is the cause it raises ``ModelError``, so the worker stops with that message instead of looping.

What this assumes of the engine after a failed call: the failure came from featurizing, which is the first
step of ``Engine.label`` and ``Engine.warm_up``. Then the engine has learned nothing from the batch (document
frequencies are counted after every text is hashed), except that the hashing featurizer may have remembered
the tokens of the texts hashed before the failing one (they only name hashed columns in cluster keywords). A
failed warm-up has taken the held posts out of the engine (it holds none): they are given back with the rest.
An engine that still holds posts after a failure is in a state this cannot vouch for, so that is a
``ModelError`` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamclust.config import InputSettings
from streamclust.errors import ModelError
from streamclust.io.decode import DecodeFailure, decode_each, decode_json
from streamclust.io.kafka.records import value_of
from streamclust.result import BatchResult, ClusterEngine
from streamclust.schema import Post

# A label record carries its post id twice (key and value): longer ids could not be written.
MAX_ID_BYTES = 16_384
DETAIL_CHARS = 200


def describe(error: BaseException, limit: int = DETAIL_CHARS) -> str:
    """``"<exception class>: <message>"``, cut to ``limit`` characters."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def unwritable(post: Post) -> tuple[str, str] | None:
    """Why the worker could not write this post's label (or featurize its text), or None."""
    try:
        id_bytes = len(post.id.encode("utf-8"))
        post.text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate, from a JSON escape such as \ud800
        return "undecodable", describe(error)
    if id_bytes > MAX_ID_BYTES:
        return "id_too_large", f"the id has {id_bytes} bytes, the limit is {MAX_ID_BYTES}"
    return None


def decode_record(raw: bytes, fields: InputSettings) -> Post | tuple[str, str]:
    """A post the worker can label, or ``(reason, detail)``; never raises on what ``raw`` holds."""
    try:
        outcome = decode_json(raw, fields)
    except Exception as error:  # whatever one record does to the decoder is that record's fault
        return "undecodable", describe(error)
    if isinstance(outcome, Post):
        return unwritable(outcome) or outcome
    return outcome


def decode_polled(
    records: Iterable[Any], fields: InputSettings
) -> tuple[list[tuple[Post, Any]], list[DecodeFailure]]:
    """The posts among polled records, each with its record, and a failure for each other record (its
    ``position`` is the record), in the order polled; decoded by ``decode_record``."""
    return decode_each(((value_of(record), record) for record in records), fields, decode=decode_record)


@dataclass(frozen=True)
class Guarded:
    """What a guarded engine call gave: its result, and the posts left out, by index into ``held + posts``."""

    result: BatchResult
    culprits: dict[int, str] = field(default_factory=dict)  # index -> why the engine cannot take the post


def featurizer_of(engine: Any) -> Any | None:
    """The engine's featurizer (a shared-mode labeler's ``FollowedModel`` gives that of the model it follows), or
    None for an engine without one (the test doubles): then no single post can be found to blame."""
    return getattr(engine, "featurizer", None)


def find_culprits(engine: Any, posts: Sequence[Post]) -> dict[int, str]:
    """The posts whose text the engine's featurizer cannot take alone (``learn=False``: nothing changes)."""
    featurizer = featurizer_of(engine)
    if featurizer is None:
        return {}
    try:
        featurizer.transform([post.text for post in posts], learn=False)
        return {}  # the batch featurizes: no single text is the cause
    except Exception:  # look for the text that fails
        pass
    culprits: dict[int, str] = {}
    for index, post in enumerate(posts):
        try:
            featurizer.transform([post.text], learn=False)
        except Exception as error:  # this post is one
            culprits[index] = describe(error)
    return culprits


def process_guarded(
    engine: ClusterEngine,
    posts: Sequence[Post],
    now: float | None,
    held: Sequence[Post] = (),
    *,
    flush: bool = False,
) -> Guarded:
    """``engine.process(posts, now)`` (``flush``: ``engine.flush(now)``), leaving out the posts it cannot take.

    ``held`` are the posts the engine holds (warm-up) from earlier calls, in order; culprit indices count them
    first. Raises ModelError when the engine fails and no single post is the cause.
    """
    try:
        result = engine.flush(now) if flush else engine.process(posts, now)
    except Exception as error:  # handled below: find the post, or stop with what to do
        failure = error
    else:
        return Guarded(result)
    candidates = [*held, *posts]
    culprits = find_culprits(engine, candidates)
    if not culprits:
        raise ModelError(
            f"the engine failed on a batch of {len(candidates)} posts ({describe(failure)}) and no single post "
            "in it is the cause; nothing of the batch was committed, so a restart reads it again. Read the log "
            "for the traceback, and report it if it repeats"
        ) from failure
    if engine.pending_post_ids:
        raise ModelError(
            f"the engine failed on a post ({culprits[min(culprits)]}) and still holds posts afterwards, a "
            "state the worker cannot resume from; nothing of the batch was committed. Restart the worker: it "
            "reads the batch again"
        ) from failure
    kept = [post for index, post in enumerate(candidates) if index not in culprits]
    try:
        result = engine.process(kept, now)
        if flush:
            result = engine.flush(now)
    except Exception as error:
        raise ModelError(
            f"the engine failed again ({describe(error)}) after {len(culprits)} posts it could not take were "
            "left out; nothing of the batch was committed. Read the log for the traceback"
        ) from error
    return Guarded(result, culprits)
