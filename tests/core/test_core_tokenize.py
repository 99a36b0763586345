"""Tokenisation: lower-cased words, placeholders for URLs, mentions and numbers, hashtags kept."""

from __future__ import annotations

import doctest

import pytest

import streamclust.featurize.tokenize
from streamclust.featurize.tokenize import MAX_TOKENS, tokenize


def test_the_module_example_runs() -> None:
    assert doctest.testmod(streamclust.featurize.tokenize).failed == 0


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("See https://example.com/a?b=1 and www.test.org/x now", ["see", "xxurl", "and", "xxurl", "now"]),
        ("@Ann_B and @bob: hi", ["xxuser", "and", "xxuser", "hi"]),
        (
            "3 cats, 3.5 kg at 10:30 for 1,000",
            ["xxnum", "cats", "xxnum", "kg", "at", "xxnum", "for", "xxnum"],
        ),
        ("#Cats and #python3 rock", ["#cats", "and", "#python3", "rock"]),
        ("Café STRASSE Straße", ["café", "strasse", "straße"]),
        ("Ελληνικά Москва 東京タワー", ["ελληνικά", "москва", "東京タワー"]),
        ("don't stop_me—now…", ["don't", "stop", "me", "now"]),
        ("a@b.com", ["a", "b", "com"]),  # an e-mail address is not a mention
        ("", []),
        ("  ?!  ", []),
    ],
)
def test_tokens(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_two_posts_that_differ_only_in_urls_mentions_and_numbers_get_the_same_tokens() -> None:
    first = tokenize("@alice paid 25 EUR at https://shop.example/1 twice")
    second = tokenize("@bob paid 1,250.50 EUR at http://other.example/cart?x=2 twice")
    assert first == second


def test_long_posts_are_cut_to_their_head() -> None:
    tokens = tokenize(" ".join(f"word{i}" for i in range(MAX_TOKENS + 50)))
    assert len(tokens) == MAX_TOKENS
    assert tokens[0] == "word0" and tokens[-1] == f"word{MAX_TOKENS - 1}"
