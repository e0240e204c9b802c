"""Property-based: arbitrary Unicode (surrogates, controls, mixed scripts, broken layout) through the text
pipeline raises nothing, and every chunk stays verbatim text of its source, whitespace aside."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.query import understand
from rag.settings import BUNDLED_CORPUS
from rag.window import clauses
from vectorstore.chunking import chunk_document
from vectorstore.keyword import tokenize
from vectorstore.reading import UnreadableFile, decode
from vectorstore.script import simplified
from vectorstore.sentences import sentences

# Newspaper-like material to mix in: CJK, full-width punctuation, numbers with units, bylines, headings.
PIECES = ["青石县", "人大常委会", "政协", "新增", "学位", "1.04万个", "2020年", "记者 李明", "本报讯", "(", ")", "“", "”",
          "《", "》", "。", ",", "、", ";", ":", "?", "!", "——", "……", "第十六届", "3所", "## ", "\u3000", "  ", "\t",
          "通讯员", "万元", "%", "一", "持", "续跟踪督导"]
ANY = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)  # surrogates and controls too
NEWSY = st.lists(st.one_of(st.sampled_from(PIECES), ANY), max_size=25).map("".join)
LINES = st.lists(st.one_of(NEWSY, ANY, st.just("")), max_size=30).map("\n".join)
CORPUS = [p.read_text(encoding="utf-8") for p in sorted(BUNDLED_CORPUS.glob("*.txt"))]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pieces(text: str, breaks: str) -> list[str]:
    """The chunk's text cut at its recorded joins (a column's tail printed above its head)."""
    cuts = [0, *sorted(int(b) for b in breaks.split(",") if b), len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_chunking_raises_nothing_and_chunks_are_verbatim(text: str) -> None:
    source = flat(text)
    for c in chunk_document(text, "x.txt", "/x.txt", "h"):
        assert c.text.strip()
        assert 0 <= c.start <= c.end <= len(text)
        for piece in pieces(c.text, c.breaks):
            assert flat(piece) in source, (piece, c.text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_decoding_any_bytes_gives_text_or_a_reason(data: bytes) -> None:
    try:
        text, encoding = decode(data)
    except UnreadableFile as exc:
        assert str(exc)
    else:
        assert isinstance(text, str) and encoding in ("utf-8", "utf-16", "gb18030")
        text.encode("utf-8")  # whatever was decoded can be written back out


@settings(max_examples=300, deadline=None)
@given(st.one_of(NEWSY, ANY))
def test_sentences_clauses_and_tokens_of_any_text(text: str) -> None:
    for s in sentences(text):
        assert s in text
        assert "".join(clauses(s)) == s
    for token in tokenize(text):
        assert token.strip()


@pytest.mark.parametrize("known", [(), ("青石县", "二七区")])
@settings(max_examples=200, deadline=None)
@given(question=st.one_of(NEWSY, ANY))
def test_understanding_any_question_raises_nothing(question: str, known: tuple[str, ...]) -> None:
    intent = understand(question, known)
    assert intent.text == simplified(question.strip())  # read as Simplified (vectorstore.script)



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS), st.lists(st.tuples(st.floats(0, 1), st.one_of(ANY, st.sampled_from(["\n", "\n\n", "\r\n", "\u2028", "\x00", "\ud800"]))),
                                         max_size=12))
def test_a_damaged_real_page_still_chunks_verbatim(page: str, damage: list[tuple[float, str]]) -> None:
    """A real page with junk spliced in anywhere (scan noise, stray line breaks, controls, surrogates)."""
    text = page
    for where, junk in damage:
        at = int(where * len(text))
        text = text[:at] + junk + text[at:]
    chunks = chunk_document(text, "x.txt", "/x.txt", "h")
    assert len(chunks) >= 5  # the page is still read as an article
    source = flat(text)
    for c in chunks:
        for piece in pieces(c.text, c.breaks):
            assert flat(piece) in source, (piece, c.text)
