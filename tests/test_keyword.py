"""Keyword search: tokens that keep numbers and place names whole; the catalog's BM25 and substring counts on hand-built chunks."""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from vectorstore import catalog as catalog_module
from vectorstore.catalog import Catalog, keyword_text
from vectorstore.keyword import STOPWORDS, tokenize
from vectorstore.types import Chunk


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
    "erqi-seats": ("二七区", "人大", "持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。"),
    "erqi-stations": ("二七区", "人大", "对131个人大代表联络站进行硬件改造、功能提升,并择优挑选出18个进行重点打造。"),
    "huiji-stations": ("惠济区", "人大", "全区25个代表联络站全部建在离群众最近最便利的地方,成为密切联系和服务群众的主阵地。"),
    "huiji-proposals": ("惠济区", "政协", "区政协三届四次会议以来,共收到提案135件,立案125件,提案办结率、答复率均为100%。"),
    "city-donations": ("郑州市", "政协", "市政协委员直接捐款700多万元,捐物价值800多万元,动员社会各界力量捐赠合计价值2亿多元。"),
    "zhongyuan-preschool": ("中原区", "人大", "听取审议中原区学前教育工作情况报告,针对学前教育发展不够均衡等问题提出整改建议。"),
}


def chunk(cid: str, district: str, body: str, text: str, title: str = "") -> Chunk:
    return Chunk(id=cid, text=text, source=f"{cid}.txt", path=f"/news/{cid}.txt", paragraph=1, start=0, end=len(text),
                 district=district, body=body, title=title)


def new_catalog(folder: Path, chunks: list[Chunk]) -> Catalog:
    catalog = Catalog(folder / "catalog.sqlite", "test")
    catalog.apply(remove=[], add=chunks, generation="g1")
    return catalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return new_catalog(tmp_path_factory.mktemp("catalog"), [chunk(cid, *v) for cid, v in CHUNKS.items()])


def ranked(catalog: Catalog, query: str, where: dict | None = None) -> list[str]:
    return [cid for cid, _ in catalog.bm25(tokenize(query), 10, where)]


def reference_bm25(chunks: list[Chunk], query: str) -> dict[str, float]:
    """BM25 as written in the textbook (Lucene's idf, k1 1.5, b 0.75), over every chunk: what the catalog must give."""
    docs = {c.id: tokenize(keyword_text(c)) or [""] for c in chunks}
    avg = sum(map(len, docs.values())) / len(docs)
    scores = {}
    for cid, tokens in docs.items():
        score = 0.0
        for t in tokenize(query):
            df = sum(1 for d in docs.values() if t in d)
            tf = tokens.count(t)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(tokens) / avg))
        if score > 0:
            scores[cid] = score
    return scores


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
def test_bm25_ranks_the_right_chunk_first(catalog: Catalog, query: str, best: str) -> None:
    assert ranked(catalog, query)[0] == best


@pytest.mark.parametrize("query", ["二七区新增多少学位", "代表联络站 人大", "提案 政协 提案", "中原区学前教育工作"])
def test_bm25_scores_are_the_textbook_formula(catalog: Catalog, query: str) -> None:
    want = reference_bm25([chunk(cid, *v) for cid, v in CHUNKS.items()], query)
    got = dict(catalog.bm25(tokenize(query), 10))
    assert got.keys() == want.keys()
    for cid, score in want.items():
        assert got[cid] == pytest.approx(score, rel=1e-5)


def test_numbers_match_whole(catalog: Catalog) -> None:
    # "800多万" is a different amount from "700多万": the 700 chunk must not win on a shared "万".
    assert ranked(catalog, "捐物价值800多万元")[0] == "city-donations"
    assert ranked(catalog, "25个") == ["huiji-stations"]


def test_where_leaves_only_allowed_chunks(catalog: Catalog) -> None:
    assert ranked(catalog, "代表联络站", {"district": ["惠济区"]}) == ["huiji-stations"]
    assert ranked(catalog, "代表联络站", {"district": "惠济区", "body": "政协"}) == []
    assert set(ranked(catalog, "人大", {"body": "人大"})) <= {c for c, v in CHUNKS.items() if v[1] == "人大"}


def test_query_with_no_tokens_finds_nothing(catalog: Catalog) -> None:
    assert catalog.bm25(tokenize("多少?"), 10) == []


def test_empty_catalog(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite", "test")
    assert (catalog.count(), catalog.bm25(["二七区"], 5), catalog.holding("二七"), catalog.named()) == (0, [], 0, frozenset())


@pytest.mark.parametrize("block", [2, catalog_module.BLOCK])
def test_incremental_changes_equal_a_fresh_build(block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding, replacing and removing chunks one change at a time ends where building the final set at once does
    (with posting blocks of 2, every change splits, fills and empties blocks)."""
    monkeypatch.setattr(catalog_module, "BLOCK", block)
    chunks = [chunk(cid, *v) for cid, v in CHUNKS.items()]
    stepwise = new_catalog(tmp_path / "a", chunks[:3])
    stepwise.apply(remove=[], add=chunks[3:], generation="g2")
    changed = replace(chunks[0], text=chunks[0].text.replace("1.04万", "2.08万"), district="中原区")
    stepwise.apply(remove=[chunks[1].id], add=[changed], generation="g3")
    final = [changed, *chunks[2:]]
    fresh = new_catalog(tmp_path / "b", final)
    for query in ("二七区新增多少学位", "2.08万", "1.04万", "代表联络站", "中原区学前教育", "提案"):
        assert stepwise.bm25(tokenize(query), 10) == fresh.bm25(tokenize(query), 10), query
    assert stepwise.places() == fresh.places() and "二七区" not in stepwise.places()
    assert stepwise.named() == fresh.named()
    assert (stepwise.count(), stepwise.generation()) == (len(final), "g3")


def test_holding_counts_substrings_in_text_and_titles(tmp_path: Path) -> None:
    """`holding` is the number of chunks whose text (and, if asked, title) contains the string, of any length."""
    rng = random.Random(7)
    alphabet = "代表联络站人大政协学位新增区市1.万 "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(60)]
    titles = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(60)]
    chunks = [chunk(f"c{i}", "", "", t, title=h) for i, (t, h) in enumerate(zip(texts, titles, strict=True))]
    catalog = new_catalog(tmp_path, chunks)
    catalog.apply(remove=["c0", "c1", "c2"], add=[], generation="g2")
    kept = chunks[3:]
    probes = {"代", "表", "代表", "联络站", "人大代表", "1.", "万 ", " ", "市区市", "不在", "学位新增区市1"}
    probes |= {t[i:i + n] for t in texts[3:13] for n in (1, 2, 3, 5) for i in range(0, max(len(t) - n, 0), 4)}
    for s in probes:
        assert catalog.holding(s) == sum(1 for c in kept if s in c.text), s
        assert catalog.holding(s, titles=True) == sum(1 for c in kept if s in c.text or s in c.title), s


def test_a_catalog_of_another_version_is_rebuilt(tmp_path: Path) -> None:
    """A catalog written by another schema or tokenizer (its tables may differ) is dropped, not misread."""
    path = tmp_path / "c.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                     "INSERT INTO meta VALUES('built_with', 'old'), ('generation', 'g0'), ('chunks', '5');"
                     "CREATE TABLE postings(term INTEGER, chunk INTEGER, tf INTEGER);"
                     "CREATE VIRTUAL TABLE grams USING fts5(x);")
    db.close()
    catalog = Catalog(path, "test")
    assert (catalog.count(), catalog.generation()) == (0, "")
    catalog.apply(remove=[], add=[chunk(cid, *v) for cid, v in CHUNKS.items()], generation="g1")
    assert ranked(catalog, "提案办结率")[0] == "huiji-proposals"
