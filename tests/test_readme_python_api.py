"""The README's Python API example runs as written: every ```python block is a doctest, run here in order."""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("STREAMCLUST_"):
            monkeypatch.delenv(name)  # Settings() reads the environment too


def python_blocks() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL))


@pytest.mark.timeout(300, func_only=True)
def test_the_python_api_example_in_the_readme_runs() -> None:
    test = doctest.DocTestParser().get_doctest(python_blocks(), {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)

    runner.run(test)

    assert runner.summarize(verbose=False).attempted >= 10, "the README lost its python example"
    assert runner.summarize(verbose=False).failed == 0, "the README's python example no longer runs as shown"
