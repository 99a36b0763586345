"""Secrets never printed: values under a secret-looking name are shown as ``**********``.

A name is secret when it contains ``passw`` (or ``pasw``), ``secret``, ``token``, ``credential`` or ``api_key``,
whatever its case (``sasl_password``, ``ssl_password``, ``sasl_plain_password``, ``SECRET_KEY``, ``oauth_token``).

>>> redacted({"sasl_username": "ann", "sasl_password": "hunter2", "nested": [{"token": "t"}]})
{'sasl_username': 'ann', 'sasl_password': '**********', 'nested': [{'token': '**********'}]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

MASK = "**********"
SECRET_NAME = re.compile(r"pass?w|secret|token|credential|api_?key", re.IGNORECASE)
MAX_DEPTH = 20


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and SECRET_NAME.search(name) is not None


def redacted(value: Any, depth: int = 0) -> Any:
    """``value`` with every secret replaced by MASK: values under secret names, and SecretStr/SecretBytes."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if depth >= MAX_DEPTH:
        return "..."
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_name(key) else redacted(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redacted(item, depth + 1) for item in value)
    return value
