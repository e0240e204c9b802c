"""How much of a question a text holds: word weights (idf), whole words against the parts jieba's search mode adds,
and the content characters of a word no paragraph holds."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

UNSEEN_WEIGHT = 3.0  # idf of a word no paragraph holds, before the index says otherwise


def word_weight(token: str, idf: dict[str, float]) -> float:
    return idf.get(token, UNSEEN_WEIGHT if len(token) > 1 else 1.0)


@functools.lru_cache(maxsize=256)
def whole_words(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens that are no part of a longer one (asked for every candidate sentence of a question)."""
    return tuple(t for t in dict.fromkeys(tokens) if t and not any(t != o and t in o for o in tokens))


# Characters that carry no content on their own (particles, directions, modal verbs, prepositions, pronouns).
FUNCTION_CHARS = frozenset("了的得地着过下上来去在是有个和与及把被就都也还又很最多少些么吗呢吧啊这那其此该能会要可将让给对从向")


def content_chars(words: Iterable[str]) -> list[str]:
    """The content characters of question words no paragraph holds: mostly a cut jieba made in colloquial speech
    ("雪下了多少毫米" -> 雪下 -> 雪), so a sentence holding them is credited with part of the word (coverage)."""
    return list(dict.fromkeys(c for w in words if len(w) > 1 and re.fullmatch(r"[\u4e00-\u9fff]+", w)
                              for c in w if c not in FUNCTION_CHARS))


def coverage(tokens: Sequence[str], text: str, idf: dict[str, float]) -> float:
    """Share of the question's word weight the text holds, counting each whole word once.

    jieba's search mode adds the parts of a long word ("理工学院" -> 理工, 学院, 工学院); a whole word the text lacks
    is credited with the share of its characters that its parts found ("诈骗案" by 诈骗: 2/3), so parts neither
    swamp the score nor go unseen.
    """
    whole = whole_words(tuple(tokens))
    if not whole:
        return 0.0
    total = got = 0.0
    for w in whole:
        weight = word_weight(w, idf)
        total += weight
        if w in text:
            got += weight
        else:
            parts = [t for t in tokens if t != w and t in w and t in text]
            got += weight * max((len(t) / len(w) for t in parts), default=0.0)
    return got / total if total else 0.0
