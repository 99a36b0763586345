"""Tokenisation skips regex passes that cannot match; the tokens are those of every pass applied in turn."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.featurize.tokenize import _MENTION, _NUMBER, _TOKEN, _URL, MAX_TOKENS, tokenize


def every_pass(text: str) -> list[str]:
    text = _URL.sub(" xxurl ", unicodedata.normalize("NFC", text).lower())
    text = _MENTION.sub(" xxuser ", text)
    text = _NUMBER.sub(" xxnum ", text)
    return _TOKEN.findall(text)[:MAX_TOKENS]


PIECES = [
    "http",
    "s",
    "://",
    "www",
    ".",
    "@",
    "#",
    "ann",
    "Café",
    "3",
    ",",
    "5",
    " ",
    "\n",
    "WWW",
    "HTTPS",
    "x/y",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join) | st.text(max_size=60))
def test_tokens_equal_those_of_every_pass(text: str) -> None:
    assert tokenize(text) == every_pass(text)


def test_urls_mentions_and_numbers_become_placeholders() -> None:
    assert tokenize("See WWW.x.org and https://a.b/c, @Ann paid 3,50") == [
        "see",
        "xxurl",
        "and",
        "xxurl",
        "xxuser",
        "paid",
        "xxnum",
    ]
