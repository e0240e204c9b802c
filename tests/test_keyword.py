"""Keyword search: tokens that keep numbers and place names whole, and BM25 ranking on hand-built chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore.keyword import STOPWORDS, KeywordIndex, tokenize


@pytest.mark.parametrize(("text", "kept"), [
    ("二七区新增优质学位1.04万个", ["1.04万", "二七区", "学位"]),
    ("市政协委员直接捐款700多万元", ["700多万", "政协委员"]),
    ("动员社会各界力量捐赠合计价值2亿多元", ["2亿多"]),
    ("共收到提案135件,立案125件", ["135", "125", "提案"]),
    ("解读二七区人大常委会工作报告", ["二七区", "人大常委会", "报告"]),
    ("中原区人大常委会主任李长义", ["常委会"]),
    ("全区25个代表联络站", ["代表联络站", "25"]),
])
def test_tokenize_keeps_terms_whole(text: str, kept: list[str]) -> None:
    tokens = tokenize(text)
    for term in kept:
        assert term in tokens, f"{term!r} not in {tokens}"


def test_tokenize_also_gives_the_bare_number() -> None:
    tokens = tokenize("新增优质学位1.04万个,捐款700多万元")
    assert {"1.04万", "1.04", "700多万", "700"} <= set(tokens)
    assert "1" not in tokens and "04" not in tokens


@pytest.mark.parametrize("text", ["二七区新增多少学位?", "请问 惠济区 有哪些 代表联络站 呢", "2020年,区政协……"])
def test_tokenize_drops_stopwords_and_punctuation(text: str) -> None:
    tokens = tokenize(text)
    assert tokens
    assert not set(tokens) & STOPWORDS
    assert all(any(ch.isalnum() for ch in t) for t in tokens)


@pytest.mark.parametrize("text", ["", "   ", "。,!?", "的了是吗"])
def test_tokenize_nothing_to_search(text: str) -> None:
    assert tokenize(text) == []


CHUNKS = {
    "erqi-seats": "二七区 人大 持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。",
    "erqi-stations": "二七区 人大 对131个人大代表联络站进行硬件改造、功能提升,并择优挑选出18个进行重点打造。",
    "huiji-stations": "惠济区 人大 全区25个代表联络站全部建在离群众最近最便利的地方,成为密切联系和服务群众的主阵地。",
    "huiji-proposals": "惠济区 政协 区政协三届四次会议以来,共收到提案135件,立案125件,提案办结率、答复率均为100%。",
    "city-donations": "郑州市 政协 市政协委员直接捐款700多万元,捐物价值800多万元,动员社会各界力量捐赠合计价值2亿多元。",
    "zhongyuan-preschool": "中原区 人大 听取审议中原区学前教育工作情况报告,针对学前教育发展不够均衡等问题提出整改建议。",
}


@pytest.fixture(scope="module")
def keyword_index() -> KeywordIndex:
    return KeywordIndex(list(CHUNKS), [tokenize(t) for t in CHUNKS.values()])


def ranked(index: KeywordIndex, query: str, mask: np.ndarray | None = None) -> list[str]:
    scores = index.scores(query, mask)
    return [index.ids[i] for i in np.argsort(-scores, kind="stable") if scores[i] > 0]


@pytest.mark.parametrize(("query", "best"), [
    ("二七区新增多少学位", "erqi-seats"),
    ("1.04万个学位", "erqi-seats"),
    ("二七区改造了多少个人大代表联络站", "erqi-stations"),
    ("惠济区有多少个代表联络站", "huiji-stations"),
    ("惠济区政协收到多少件提案", "huiji-proposals"),
    ("提案办结率", "huiji-proposals"),
    ("市政协委员捐款多少", "city-donations"),
    ("700多万", "city-donations"),
    ("中原区学前教育", "zhongyuan-preschool"),
])
def test_keyword_index_ranks_the_right_chunk_first(keyword_index: KeywordIndex, query: str, best: str) -> None:
    assert ranked(keyword_index, query)[0] == best


def test_numbers_match_whole(keyword_index: KeywordIndex) -> None:
    # "800多万" is a different amount from "700多万": the 700 chunk must not win on a shared "万".
    assert ranked(keyword_index, "捐物价值800多万元")[0] == "city-donations"
    assert ranked(keyword_index, "25个") == ["huiji-stations"]


def test_mask_leaves_only_allowed_chunks(keyword_index: KeywordIndex) -> None:
    mask = np.array([cid.startswith("huiji") for cid in keyword_index.ids])
    got = ranked(keyword_index, "代表联络站", mask)
    assert got == ["huiji-stations"]
    assert np.all(keyword_index.scores("代表联络站", mask)[~mask] == 0)


def test_query_with_no_tokens_scores_zero(keyword_index: KeywordIndex) -> None:
    scores = keyword_index.scores("多少?")
    assert scores.shape == (len(CHUNKS),) and not scores.any()


def test_empty_index() -> None:
    index = KeywordIndex([], [])
    assert index.scores("二七区").shape == (0,)


def test_save_and_load_give_the_same_scores(keyword_index: KeywordIndex, tmp_path: Path) -> None:
    keyword_index.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25", keyword_index.ids)
    for query in ("二七区新增多少学位", "提案办结率", "代表联络站"):
        np.testing.assert_allclose(loaded.scores(query), keyword_index.scores(query))
