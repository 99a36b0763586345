"""Nested snapshots (dicts holding NumPy arrays, torch tensors and JSON values) <-> JSON plus flat dicts of
arrays and tensors.

>>> import numpy as np
>>> arrays: dict = {}
>>> split_arrays({"counts": np.arange(2), "seen": 5}, "reservoir", arrays)
{'counts': {'$array': 'reservoir/counts'}, 'seen': 5}
>>> join_arrays(_, arrays)["counts"].tolist()
[0, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ARRAY_REF = "$array"
TENSOR_REF = "$tensor"


def split_arrays(
    tree: Any, prefix: str, arrays: dict[str, np.ndarray], tensors: dict[str, torch.Tensor] | None = None
) -> Any:
    """``tree`` with every array moved into ``arrays`` and every tensor into ``tensors`` (under a path key),
    each replaced by a reference."""
    if isinstance(tree, np.ndarray):
        arrays[prefix] = tree.copy()
        return {ARRAY_REF: prefix}
    if isinstance(tree, torch.Tensor):
        if tensors is None:
            raise TypeError(f"{prefix} is a tensor, and no place for tensors was given")
        tensors[prefix] = tree.detach().clone()
        return {TENSOR_REF: prefix}
    if isinstance(tree, dict):
        return {
            str(key): split_arrays(value, f"{prefix}/{key}", arrays, tensors) for key, value in tree.items()
        }
    if isinstance(tree, list | tuple):
        return [split_arrays(value, f"{prefix}/{i}", arrays, tensors) for i, value in enumerate(tree)]
    if isinstance(tree, np.generic):
        return tree.item()
    return tree


def join_arrays(
    tree: Any, arrays: dict[str, np.ndarray], tensors: dict[str, torch.Tensor] | None = None
) -> Any:
    """The inverse of ``split_arrays``."""
    if isinstance(tree, dict):
        if set(tree) == {ARRAY_REF}:
            return arrays[tree[ARRAY_REF]]
        if set(tree) == {TENSOR_REF}:
            return (tensors or {})[tree[TENSOR_REF]]
        return {key: join_arrays(value, arrays, tensors) for key, value in tree.items()}
    if isinstance(tree, list):
        return [join_arrays(value, arrays, tensors) for value in tree]
    return tree
