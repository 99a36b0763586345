"""The configuration reference as Markdown, generated from the pydantic models in ``config.py`` (their defaults,
allowed values and descriptions), so the README's reference can never drift from the code.

``streamclust config reference`` prints it; ``--write README.md`` replaces the block between the markers.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from streamclust.config import Settings
from streamclust.errors import ConfigError

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def type_name(annotation: Any) -> str:
    """A short, readable name of a field's type: ``int``, ``'a' | 'b'``, ``float | 'auto'``, ``path | none``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(type_name(argument) for argument in typing.get_args(annotation))
    if annotation is type(None):
        return "none"
    if annotation is SecretStr:
        return "secret"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def bounds(field: FieldInfo) -> str:
    """``≥ 1, ≤ 64`` from the field's numeric constraints."""
    words = []
    for constraint in field.metadata:
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(constraint, attribute, None)
            if value is not None:
                words.append(f"{symbol} {value:,}" if isinstance(value, int) else f"{symbol} {value}")
    return ", ".join(words)


def default_text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int):
        return f"`{value}`"
    return f"`{value}`"


def field_row(key: str, field: FieldInfo) -> str:
    allowed = type_name(field.annotation)
    limit = bounds(field)
    description = (field.description or "").replace("|", "\\|").replace("\n", " ")
    return f"| `{key}` | {default_text(field.default)} | {allowed}{', ' + limit if limit else ''} | {description} |"


def section_doc(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in doc.splitlines())


def reference_markdown() -> str:
    """One table of top-level keys, then one table per section, in the order of ``Settings``."""
    header = "| key | default | allowed | what it does |\n|---|---|---|---|"
    top = []
    sections = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows = [field_row(f"{name}.{key}", inner) for key, inner in annotation.model_fields.items()]
            intro = section_doc(annotation)
            sections.append(
                f"#### `{name}`\n\n" + (f"{intro}\n\n" if intro else "") + header + "\n" + "\n".join(rows)
            )
        else:
            top.append(field_row(name, field))
    parts = [
        "Every key, its built-in default and what it accepts; the environment variable of `section.key` is "
        "`STREAMCLUST_SECTION__KEY`.",
        "#### top level\n\n" + header + "\n" + "\n".join(top),
        *sections,
    ]
    return "\n\n".join(parts) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between START and END replaced by ``block``."""
    if START not in text or END not in text:
        raise ConfigError(
            f"the markers for the configuration reference are missing; add {START!r} and {END!r}"
        )
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n\n{block}\n{END}{after}"
