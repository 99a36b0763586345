"""Tokenisation skips regex passes that cannot match; the tokens are those of every pass applied in turn."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.featurize.tokenize import _URL, MAX_TOKENS, SEPARATOR, tokenize, tokenize_all

# The plain spellings of the mention, number and token patterns, which ``tokenize`` spells for speed.
MENTION = re.compile(r"(?<!\w)@\w+")
NUMBER = re.compile(r"(?<![\w#])\d+(?:[.,:/]\d+)*")
TOKEN = re.compile(r"#?[^\W_]+(?:'[^\W_]+)?")


def every_pass(text: str) -> list[str]:
    text = _URL.sub(" xxurl ", unicodedata.normalize("NFC", text).lower())
    text = MENTION.sub(" xxuser ", text)
    text = NUMBER.sub(" xxnum ", text)
    return TOKEN.findall(text)[:MAX_TOKENS]


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
    "_",
    "'",
    "a1",
    "#5",
    "١",
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


def test_numbers_glued_to_words_or_hashtags_stay_part_of_them() -> None:
    # "_" is a word character, so "_9" is no number either, but "_" is no part of a token
    assert tokenize("ab12 #7 12ab 3.5/2 _9 don't") == ["ab12", "#7", "xxnum", "ab", "xxnum", "9", "don't"]


TEXTS = st.lists(st.sampled_from([*PIECES, SEPARATOR]), max_size=25).map("".join) | st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, max_size=6))
def test_a_batch_gets_the_tokens_of_each_text_in_turn(texts: list[str]) -> None:
    tokens, lengths = tokenize_all(texts)
    assert tokens == [token for text in texts for token in tokenize(text)]
    assert lengths.tolist() == [len(tokenize(text)) for text in texts]


def test_a_batch_cuts_each_long_text_on_its_own() -> None:
    long = " ".join(f"w{i}" for i in range(MAX_TOKENS + 5))
    tokens, lengths = tokenize_all([long, "@ann 5 cats", "", long])
    assert lengths.tolist() == [MAX_TOKENS, 3, 0, MAX_TOKENS]
    assert tokens[MAX_TOKENS : MAX_TOKENS + 3] == ["xxuser", "xxnum", "cats"]
