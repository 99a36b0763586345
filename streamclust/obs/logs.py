"""Logging to standard error: plain lines for a person at a terminal, one JSON object per line for a log
collector. ``logging.format: auto`` (the default) picks plain when stderr is a terminal, JSON otherwise.

Extra fields under a secret-looking name (``sasl_password``, ``token``) are written as ``**********``.
A progress line (``say``, defined beside the observer contract in ``streamclust/observer.py``) puts its numbers
in words in the message and, for machines, under ``numbers``: JSON lines carry them as fields of their own,
plain lines leave them out (the message already says them).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from streamclust.observer import NUMBERS, say
from streamclust.redact import redacted

__all__ = ["JsonFormatter", "PlainFormatter", "chosen_format", "say", "setup_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extras = _extras(record)
        extras.update(extras.pop(NUMBERS, None) or {})
        entry.update(redacted(extras))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """``12:00:01 warming up: 812 of 2,000 posts``; warnings and errors say so; other fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        extras = _extras(record)
        extras.pop(NUMBERS, None)
        fields = " ".join(f"{key}={value}" for key, value in redacted(extras).items())
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        line = f"{stamp} {level}{record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def chosen_format(fmt: str, stream: IO[str]) -> str:
    """``plain`` or ``json``: ``auto`` is plain on a terminal and JSON otherwise.

    >>> import io
    >>> chosen_format("auto", io.StringIO()), chosen_format("plain", io.StringIO())
    ('json', 'plain')
    """
    if fmt != "auto":
        return fmt
    return "plain" if stream.isatty() else "json"


def setup_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Send the ``streamclust`` loggers to stderr at ``level``, as ``plain``, ``json`` or ``auto`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    chosen = chosen_format(fmt, sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else PlainFormatter())
    root = logging.getLogger("streamclust")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
