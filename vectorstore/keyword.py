"""Chinese keyword search tokens: jieba words (institutional terms kept whole), numbers whole (BM25 in vectorstore.catalog)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

# Institutional terms of Chinese public life that jieba would otherwise cut apart (language, not corpus wording).
USER_TERMS = (
    "人大常委会", "常委会", "常委会会议", "人大代表", "代表联络站", "人大代表联络站", "政协委员", "政协常委会", "市政协",
    "区政协", "县政协", "区人大", "县人大", "市人大", "社情民意", "执法检查", "专题询问", "视察调研", "提案", "立案",
    "办结率", "代表建议", "票决制", "营商环境", "老旧小区", "安置房", "学前教育", "常态化", "乡村振兴", "文史资料",
)
STOPWORDS = frozenset(
    ["的", "了", "是", "在", "有", "和", "与", "及", "或", "吗", "呢", "吧", "啊", "么", "什么", "多少", "哪些", "哪个", "哪", "几", "谁", "怎么", "怎样", "如何", "为什么", "一共", "共", "分别", "各", "其中", "那", "这", "那么", "请问", "请", "问", "个", "次", "年", "月", "日", "都", "也", "还", "就", "把", "被", "对", "为", "将", "让", "给", "从", "向", "等", "之", "以", "于", "而", "并", "上", "下", "中"]
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:多|余)?(?:万|亿)?(?:多|余)?")
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]")


_LEXICON_CACHE: Path | None = None


def use_lexicon_cache(folder: Path | None) -> None:
    """Where the fast-opening copy of jieba's dictionary lives (vectorstore.lexicon); None: jieba's own loading.

    Takes effect for a segmenter not yet built (the first call of `segmenter()` builds it).
    """
    global _LEXICON_CACHE
    _LEXICON_CACHE = Path(folder) if folder else None


@functools.lru_cache(maxsize=1)
def segmenter():
    """A private jieba tokenizer with the project's terms (the global one stays untouched)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    if _LEXICON_CACHE is not None:
        from vectorstore.lexicon import tokenizer

        tok = tokenizer(_LEXICON_CACHE)
    else:
        tok = jieba.Tokenizer()
    for term in USER_TERMS:
        tok.add_word(term, freq=200000)
    return tok


def tokenize(text: str) -> list[str]:
    """Search tokens: numbers whole ("1.04万"), jieba search-mode words, no stopwords or punctuation; Traditional
    text gives the tokens of its Simplified twin (vectorstore.script), so either script finds either."""
    from vectorstore.script import simplified

    text = simplified(text)
    tokens: list[str] = []
    pos = 0
    for m in _NUMBER.finditer(text):
        tokens += _words(text[pos : m.start()])
        number = m.group(0)
        tokens.append(number)
        bare = re.match(r"\d+(?:\.\d+)?", number).group(0)
        if bare != number:
            tokens.append(bare)
        pos = m.end()
    tokens += _words(text[pos:])
    return tokens


def _words(text: str) -> list[str]:
    if not text.strip():
        return []
    return [w for w in segmenter().lcut_for_search(text) if w.strip() and w not in STOPWORDS and _WORDISH.search(w)]
