"""Nested snapshots (dicts holding NumPy arrays and JSON values) <-> JSON plus a flat dict of arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

ARRAY_REF = "$array"


def split_arrays(tree: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """``tree`` with every array moved into ``arrays`` (under a path key) and replaced by a reference."""
    if isinstance(tree, np.ndarray):
        arrays[prefix] = tree.copy()
        return {ARRAY_REF: prefix}
    if isinstance(tree, dict):
        return {str(key): split_arrays(value, f"{prefix}/{key}", arrays) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [split_arrays(value, f"{prefix}/{i}", arrays) for i, value in enumerate(tree)]
    if isinstance(tree, np.generic):
        return tree.item()
    return tree


def join_arrays(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of ``split_arrays``."""
    if isinstance(tree, dict):
        if set(tree) == {ARRAY_REF}:
            return arrays[tree[ARRAY_REF]]
        return {key: join_arrays(value, arrays) for key, value in tree.items()}
    if isinstance(tree, list):
        return [join_arrays(value, arrays) for value in tree]
    return tree
