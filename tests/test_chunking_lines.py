"""Printed lines: a short line holding a figure (hotline, address, date, price) inside an article is chunk text."""

from __future__ import annotations

import re

import pytest

from vectorstore.chunking import chunk_document, is_heading, is_junk, is_printed_line, split_blocks
from vectorstore.types import Chunk

TITLE = "城南社区文化节下月开幕"
OPENING = "本报讯 记者从城南区文化馆获悉，第三届城南社区文化节将于下月开幕，届时将举办演出、展览等活动十余场。"
ASK = "市民如有疑问，可拨打咨询热线。"
FACTS = [
    "咨询热线：0371-67891234",
    "活动地址：金水路66号市民广场",
    "报名截止时间：2024年3月15日",
    "门票价格：成人票80元，儿童票40元",
]
CLOSING = "据介绍，本届文化节共设展演、非遗、美食三大板块，预计吸引市民游客5万人次。"


def page(*blocks: str, title: str = TITLE) -> str:
    """A plain-text page: a title line, then blank-line separated blocks."""
    return "\n\n".join((title, *blocks)) + "\n"


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_verbatim(chunks: list[Chunk], source: str) -> None:
    """A quote must be findable: each chunk's text is the file's text at its span, whitespace aside."""
    for c in chunks:
        assert flat(source[c.start : c.end]) == flat(c.text), c.text


# -- the line itself -------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    *[(fact, True) for fact in FACTS],
    ("联系电话 0371-67891234", True),
    ("0371-67891234", True),
    ("3月15日", True),
    ("金水路66号", True),
    ("成人票80元", True),
    # Headings, sentences and the head of a quotation cut by a column are not printed lines.
    ("聚焦民生实事,在服务群众上交出新答卷", False),
    ("服务民生改善 提案办结率100%", False),
    ("2021", False),
    ("2017 社区工作亮点", False),
    ("# 活动安排", False),
    ("● 活动安排：三大板块", False),
    (ASK, False),
    (OPENING, False),
    ("他表示：“我们将继续加大", False),
])
def test_is_printed_line(line: str, expected: bool) -> None:
    assert is_printed_line(line) is expected


# -- kept inside an article ------------------------------------------------

@pytest.mark.parametrize("layout", ["lines", "blocks"])
def test_printed_lines_between_paragraphs_are_chunks(layout: str) -> None:
    """Each printed line is a chunk of its own, verbatim, and the paragraphs around it stay as they were."""
    notice = ["\n".join([ASK, *FACTS])] if layout == "lines" else [ASK, *FACTS]
    source = page(OPENING, *notice, CLOSING)
    chunks = chunk_document(source, "x.txt")
    assert texts(chunks) == [OPENING, ASK, *FACTS, CLOSING]
    assert_verbatim(chunks, source)
    for c, line in zip(chunks[2:6], FACTS, strict=True):
        assert source[c.start : c.end] == line
        assert c.title == TITLE


def test_printed_lines_in_a_markdown_article_under_a_section() -> None:
    source = "# " + page(OPENING, "## 活动安排", "\n".join([ASK, *FACTS]), CLOSING)
    chunks = chunk_document(source, "x.md")
    assert texts(chunks) == [OPENING, ASK, *FACTS, CLOSING]
    assert {c.section for c in chunks[1:]} == {"活动安排"}
    assert_verbatim(chunks, source)


def test_figure_lines_without_a_label_are_kept() -> None:
    """A line that is mostly a figure (a phone number, a date, an address) reads as text, not as a heading."""
    lines = ["0371-67891234", "3月15日", "金水路66号"]
    source = page(OPENING, "\n".join([ASK, *lines]), CLOSING)
    assert texts(chunk_document(source, "x.txt")) == [OPENING, ASK, *lines, CLOSING]


def test_a_sentence_giving_a_hotline_is_kept() -> None:
    sentence = "市民如有疑问，可拨打咨询热线0371-67891234，工作人员将在工作日内答复。"
    assert is_junk(sentence)  # alone, a hotline line is junk: only its place in an article makes it text
    source = page(OPENING, sentence, CLOSING)
    assert texts(chunk_document(source, "x.txt")) == [OPENING, sentence, CLOSING]


def test_printed_lines_are_not_joined_to_the_next_paragraph() -> None:
    """A printed line ends without a full stop, yet it is no column break: the next paragraph is not its tail."""
    tail = "展演板块包括戏曲、舞蹈等节目，均免费向市民开放。"
    source = page(OPENING, "\n".join([ASK, *FACTS]), tail)
    assert texts(chunk_document(source, "x.txt")) == [OPENING, ASK, *FACTS, tail]


# -- junk and headings as before -------------------------------------------

def test_an_advertisement_hotline_after_the_last_paragraph_is_dropped() -> None:
    for advert in ("订购热线：0371-66668888", "宽带套餐 限时优惠\n手机用户 首选品牌\n订购热线：0371-66668888"):
        chunks = chunk_document(page(OPENING, CLOSING, advert), "x.txt")
        assert texts(chunks) == [OPENING, CLOSING]


def test_a_hotline_above_the_first_paragraph_is_the_pages() -> None:
    source = "\n\n".join(["新闻热线：0371-61234567", TITLE, OPENING, CLOSING]) + "\n"
    assert texts(chunk_document(source, "x.txt")) == [OPENING, CLOSING]
    assert split_blocks(source)[0].kind == "junk"


@pytest.mark.parametrize("furniture", [
    "责任编辑 王小明",
    "编辑：李四",
    "2024年3月15日 星期五 第5版",
    "记者 赵六 摄",
])
def test_page_furniture_between_paragraphs_stays_junk(furniture: str) -> None:
    source = page(OPENING, furniture, CLOSING)
    assert texts(chunk_document(source, "x.txt")) == [OPENING, CLOSING]


@pytest.mark.parametrize("heading", ["聚焦民生实事,在服务群众上交出新答卷", "活动亮点纷呈", "2021"])
def test_a_heading_between_paragraphs_stays_a_heading(heading: str) -> None:
    assert is_heading(heading)
    chunks = chunk_document(page(OPENING, heading, CLOSING), "x.txt")
    assert texts(chunks) == [OPENING, CLOSING]
    assert chunks[1].section == heading


def test_a_markdown_heading_stays_a_heading() -> None:
    chunks = chunk_document(f"# {TITLE}\n\n{OPENING}\n\n# 标题\n\n{CLOSING}\n", "x.md")
    assert texts(chunks) == [OPENING, CLOSING]
    assert [c.title for c in chunks] == [TITLE, "标题"]
