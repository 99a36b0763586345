"""The examples in the state modules' docstrings run as written."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from streamclust.state import codec, records, schedule


@pytest.mark.parametrize("module", [codec, records, schedule], ids=lambda module: module.__name__)
def test_the_docstring_examples_run(module: ModuleType) -> None:
    outcome = doctest.testmod(module, verbose=False)
    assert outcome.attempted > 0 and outcome.failed == 0
