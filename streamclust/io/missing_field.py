"""Input that does not match the settings, caught in its first lines instead of a million rejects later.

When the first ``SAMPLE_LINES`` records of a file are all rejected because the same field is missing (a CSV whose
text column is ``body``, read with ``input.text_field: text``), the input and the settings disagree: file mode
stops and says which fields the records have and which setting to change. A shorter file gets the same message
at its end. The Kafka worker feeds it the records it reads (format ``"kafka"``) and warns instead of stopping.

>>> from streamclust.config import InputSettings
>>> check = MissingFieldCheck(InputSettings(), "csv")
>>> for line, row in enumerate([b'{"id": "1", "body": "card declined"}', b'{"id": "2", "body": "refund"}'], 2):
...     check.see(DecodeFailure(row, "missing_text", "no value at 'text'", line))
>>> print(check.verdict(at_end=True))  # doctest: +NORMALIZE_WHITESPACE
the input does not match the settings: all 2 rows were rejected as missing_text (no value at input.text_field
'text'). The rows have the columns: id, body.
Set input.text_field to the one that holds the text: in the --config YAML (input: {text_field: body}) or as
STREAMCLUST_INPUT__TEXT_FIELD=body.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from streamclust.config import InputSettings
from streamclust.io.decode import DecodeFailure
from streamclust.observer import SAMPLE_LINES, SETTING_OF_REASON
from streamclust.schema import Post

UNIT_OF_FORMAT = {"csv": "rows", "jsonl": "lines", "kafka": "records"}
MAX_DEPTH = 3  # nested fields are listed as dotted paths down to this depth
MAX_FIELDS_SHOWN = 30


class MissingFieldCheck:
    """Watches the first ``SAMPLE_LINES`` records. ``mismatch`` is set, once that many were seen, when all were
    rejected for the same missing field, and ``setting`` names the setting to change (``input.text_field``);
    ``verdict(at_end=True)`` says the same of a shorter input."""

    def __init__(self, fields: InputSettings, fmt: str) -> None:
        self.fields = fields
        self.rows = UNIT_OF_FORMAT.get(fmt, "lines")
        self.seen = 0
        self.reasons: set[str] = set()
        self.found: dict[str, None] = {}  # the field paths of the rejected records, in the order met
        self.text_candidate: tuple[int, str] | None = None  # (length, path) of the longest string met
        self.mismatch: str | None = None

    @property
    def watching(self) -> bool:
        return self.seen < SAMPLE_LINES and len(self.reasons) <= 1

    @property
    def setting(self) -> str | None:
        """The setting the input does not match (``input.text_field``), once ``mismatch`` is set."""
        if self.mismatch is None:
            return None
        return f"input.{SETTING_OF_REASON[next(iter(self.reasons))]}"

    @property
    def fields_found(self) -> list[str]:
        """The field paths of the rejected records, in the order met (at most MAX_FIELDS_SHOWN)."""
        return list(self.found)[:MAX_FIELDS_SHOWN]

    def see(self, record: Post | DecodeFailure) -> None:
        if not self.watching:
            return
        self.seen += 1
        self.reasons.add(record.reason if isinstance(record, DecodeFailure) else "")
        if isinstance(record, DecodeFailure) and record.reason in SETTING_OF_REASON:
            self.remember_fields(record.raw)
        if self.seen == SAMPLE_LINES:
            self.mismatch = self.verdict()

    def remember_fields(self, raw: bytes) -> None:
        try:
            value = json.loads(raw)
        except ValueError:
            return
        if not isinstance(value, Mapping):
            return
        named = {self.fields.id_field, self.fields.timestamp_field, self.fields.source_field}
        for path, leaf in field_paths(value):
            self.found.setdefault(path, None)
            longest = self.text_candidate[0] if self.text_candidate is not None else -1
            if isinstance(leaf, str) and path not in named and len(leaf) > longest:
                self.text_candidate = (len(leaf), path)

    def verdict(self, at_end: bool = False) -> str | None:
        """The message for the user once ``SAMPLE_LINES`` records (or, ``at_end``, all of them) were seen."""
        if self.seen == 0 or len(self.reasons) != 1 or not (at_end or self.seen >= SAMPLE_LINES):
            return None
        reason = next(iter(self.reasons))
        if reason not in SETTING_OF_REASON:
            return None
        setting = SETTING_OF_REASON[reason]
        current = getattr(self.fields, setting)
        counted = f"the first {self.seen}" if self.seen >= SAMPLE_LINES else f"all {self.seen}"
        columns = "columns" if self.rows == "rows" else "fields"
        shown = self.fields_found
        suggestion = self.suggest(setting, shown)
        return (
            f"the input does not match the settings: {counted} {self.rows} were rejected as {reason} "
            f"(no value at input.{setting} '{current}'). "
            f"The {self.rows} have the {columns}: {', '.join(shown) or '(none)'}.\n"
            f"Set input.{setting} to the one that holds the {setting.removesuffix('_field')}: in the --config "
            f"YAML (input: {{{setting}: {suggestion}}}) or as STREAMCLUST_INPUT__{setting.upper()}={suggestion}."
        )

    def suggest(self, setting: str, found: list[str]) -> str:
        if setting == "text_field" and self.text_candidate is not None:
            return self.text_candidate[1]
        if setting == "id_field":
            named_id = [path for path in found if "id" in path.rpartition(".")[2].lower()]
            found = named_id or found
        close = difflib.get_close_matches(getattr(self.fields, setting), found, n=1, cutoff=0.6)
        return close[0] if close else (found[0] if found else "FIELD")


def field_paths(record: Mapping[str, Any], prefix: str = "", depth: int = 1) -> list[tuple[str, Any]]:
    """``(dotted path, value)`` of every field, nested objects followed down to MAX_DEPTH."""
    paths: list[tuple[str, Any]] = []
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth < MAX_DEPTH:
            paths.extend(field_paths(value, f"{path}.", depth + 1))
        else:
            paths.append((path, value))
    return paths
