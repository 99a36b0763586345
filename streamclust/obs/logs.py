"""Structured logging: one JSON object per line on stderr, quiet (WARNING) by default; extra fields under a
secret-looking name (``sasl_password``, ``token``) are written as ``**********``."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from streamclust.redact import redacted

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        entry.update(redacted(extras))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = redacted({k: v for k, v in vars(record).items() if k not in _STANDARD})
        extras = " ".join(f"{k}={v}" for k, v in fields.items())
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname.lower():7} {record.name}: {record.getMessage()}"
        return f"{line} {extras}".rstrip()


def setup_logging(level: str = "WARNING", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("streamclust")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
