"""Unicode-aware tokenisation for short posts.

Normalises to NFC, lower-cases, replaces URLs, @mentions and numbers by placeholder tokens (``xxurl``,
``xxuser``, ``xxnum``), keeps hashtags (``#topic``) and splits on anything that is not a word character.

>>> tokenize("Check https://x.co/abc @Ann: 3 new #Cats, café!")
['check', 'xxurl', 'xxuser', 'xxnum', 'new', '#cats', 'café']
"""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"(?<!\w)@\w+")
_NUMBER = re.compile(r"(?<![\w#])\d+(?:[.,:/]\d+)*")
_TOKEN = re.compile(r"#?[^\W_]+(?:'[^\W_]+)?")

MAX_TOKENS = 96  # longer posts are cut: the head of a post carries its topic


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower()
    if "://" in text or "www." in text:  # the substring tests skip a regex pass that would find nothing
        text = _URL.sub(" xxurl ", text)
    if "@" in text:
        text = _MENTION.sub(" xxuser ", text)
    text = _NUMBER.sub(" xxnum ", text)
    return _TOKEN.findall(text)[:MAX_TOKENS]
