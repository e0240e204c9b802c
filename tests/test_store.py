"""The index on a real Chroma store with the real model: incremental ingest, skipped files, crash recovery, search."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

import vectorstore.store as store
from rag.settings import BUNDLED_CORPUS, DEFAULT_EMBED_MODEL
from vectorstore import catalog
from vectorstore.catalog import Catalog, meta_key
from vectorstore.chunking import chunk_document
from vectorstore.embedding import Embedder
from vectorstore.reading import read_source
from vectorstore.sentences import sentences
from vectorstore.store import Index

pytestmark = pytest.mark.slow

ERQI = "001_187c4b3ab0ed4735.txt"
ZHONGYUAN = "002_66608173c0941186.txt"
CORPUS_FILES = sorted(p.name for p in BUNDLED_CORPUS.glob("*.txt"))
QUERIES = ["二七区新增多少学位", "惠济区有多少个代表联络站", "市政协委员捐款多少", "中原区学前教育", "上街区政协提案"]


class ReusingEmbedder(Embeddings):
    """The real model, but a text already embedded is not embedded again.

    Seeded with the vectors the session's corpus index stored, so a copy of the corpus in a test's own
    store costs no model time; only new text (an appended paragraph) goes through the model.
    """

    def __init__(self, model: Embedder, known: dict[str, list[float]]) -> None:
        self.model = model
        self.known = known
        self.embedded: list[str] = []  # texts that went through the model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.embedded += missing
            self.known.update(zip(missing, self.model.embed_documents(missing), strict=True))
        return [self.known[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


@pytest.fixture(scope="module")
def known_vectors(corpus_index: Index) -> dict[str, list[float]]:
    got = corpus_index.vectorstore.get(include=["documents", "embeddings"])
    known = {doc: [float(x) for x in vec] for doc, vec in zip(got["documents"], got["embeddings"], strict=True)}
    # and each sentence's own vector, which ingest stores too (vectorstore.sentences)
    said = sorted({s for doc in got["documents"] for s in sentences(doc)} - set(known))  # a paragraph's own first
    known.update(zip(said, corpus_index.sentence_vectors.get(said).tolist(), strict=True))
    return known


@pytest.fixture
def reusing(embedder: Embedder, known_vectors: dict[str, list[float]]) -> ReusingEmbedder:
    return ReusingEmbedder(embedder, dict(known_vectors))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, folder)
    return folder


def new_index(home: Path, embedder: Embeddings) -> Index:
    return Index(home, embedder, DEFAULT_EMBED_MODEL)


def expected_chunks(folder: Path, names: list[str] | None = None) -> int:
    total = 0
    for name in names or CORPUS_FILES:
        src = read_source(folder / name)
        total += len(chunk_document(src.text, name, str(folder / name), src.sha256))
    return total


def hit_rows(index: Index, query: str, mode: str, **kw) -> list[tuple]:
    return [(h.chunk.id, h.chunk.text, round(h.score, 6), h.dense_rank, h.keyword_rank)
            for h in index.search(query, k=8, mode=mode, **kw)]


def catalog_matches_chroma(index: Index) -> None:
    """The catalog holds exactly Chroma's chunks (text and metadata), and its keyword statistics add up."""
    got = index.collection.get(include=["documents", "metadatas"])
    in_chroma = {i: (d, meta_key(m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}
    assert {c.id: (c.text, meta_key(c.metadata())) for c in index.chunks} == in_chroma
    db = sqlite3.connect(index.catalog.path)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    assert int(meta["chunks"]) == len(in_chroma) == db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert int(meta["tokens"]) == (db.execute("SELECT sum(length) FROM chunks").fetchone()[0] or 0)
    assert not [k for k in meta if k.startswith("dirty:")]
    rows = dict(db.execute("SELECT rowid, terms FROM chunks"))
    df: Counter[int] = Counter()
    for term, block, data in db.execute("SELECT term, block, data FROM postings"):
        postings = np.frombuffer(data, dtype=catalog._POSTING)
        assert 0 < len(postings) <= catalog.BLOCK
        df[term] += len(postings)
        for chunk in postings["chunk"]:  # each posting is where its chunk says it is
            assert f"{term}:{block}" in rows[int(chunk)].split()
    assert dict(db.execute("SELECT id, df FROM terms WHERE df > 0")) == dict(df)
    db.close()


# -- ingest ------------------------------------------------------------------

def test_first_ingest_adds_every_chunk(corpus_ingest: tuple[Index, store.IngestReport]) -> None:
    index, report = corpus_ingest
    expected = expected_chunks(BUNDLED_CORPUS)
    assert expected > 100
    assert (report.added, report.unchanged, report.removed, report.updated) == (expected, 0, 0, 0)
    assert (report.chunks, report.files, report.skipped) == (expected, len(CORPUS_FILES), [])
    assert index.count() == expected
    assert len({c.id for c in index.chunks}) == expected
    catalog_matches_chroma(index)


def test_ingest_again_adds_nothing(corpus_index: Index, embedder: Embedder) -> None:
    reopened = new_index(corpus_index.home, embedder)  # a later run of the CLI: nothing cached in memory
    report = reopened.ingest([BUNDLED_CORPUS])
    assert (report.added, report.removed, report.updated) == (0, 0, 0)
    assert report.unchanged == report.chunks == corpus_index.count()


def test_documents_and_districts(corpus_index: Index) -> None:
    docs = corpus_index.documents()
    assert [d.source for d in docs] == CORPUS_FILES
    assert sum(d.chunks for d in docs) == corpus_index.count()
    assert {d.district for d in docs} == {"惠济区", "二七区", "中原区", "上街区", "郑州市"}
    assert set(corpus_index.districts()) == {"惠济区", "二七区", "中原区", "上街区", "郑州市"}


def test_appending_a_paragraph_adds_one_chunk(tmp_path: Path, corpus_copy: Path, reusing: ReusingEmbedder) -> None:
    index = new_index(tmp_path / "home", reusing)
    first = index.ingest([corpus_copy])
    assert first.added == expected_chunks(corpus_copy)
    assert reusing.embedded == []  # every text was known from the session's corpus index

    paragraph = "2021年,区人大常委会还将组织代表视察全区养老服务设施建设,督促区政府新建社区养老服务中心12个。"
    with (corpus_copy / ERQI).open("a", encoding="utf-8") as f:
        f.write("\n\n" + paragraph + "\n")
    second = index.ingest([corpus_copy])
    assert (second.added, second.removed) == (1, 0)
    assert second.unchanged == first.added
    assert second.chunks == first.added + 1
    assert reusing.embedded == [paragraph]
    assert new_index(tmp_path / "home", reusing).count() == first.added + 1

    for mode in ("hybrid", "dense", "bm25"):
        top = index.search("二七区新建多少个社区养老服务中心", k=3, mode=mode)
        assert top[0].chunk.text == paragraph, mode
    assert top[0].chunk.district == "二七区" and top[0].chunk.source == ERQI
    catalog_matches_chroma(index)


def test_deleted_file_is_removed(tmp_path: Path, corpus_copy: Path, reusing: ReusingEmbedder) -> None:
    index = new_index(tmp_path / "home", reusing)
    total = index.ingest([corpus_copy]).added
    gone = expected_chunks(corpus_copy, [ZHONGYUAN])
    assert any(h.chunk.source == ZHONGYUAN for h in index.search("中原区学前教育", k=5))

    (corpus_copy / ZHONGYUAN).unlink()
    report = index.ingest([corpus_copy])
    assert (report.added, report.removed, report.chunks) == (0, gone, total - gone)
    for fresh in (index, new_index(tmp_path / "home", reusing)):
        assert ZHONGYUAN not in {c.source for c in fresh.chunks}
        assert "中原区" not in fresh.districts()
        for mode in ("hybrid", "dense", "bm25"):
            assert not [h for h in fresh.search("中原区学前教育", k=20, mode=mode) if h.chunk.source == ZHONGYUAN]
        catalog_matches_chroma(fresh)


def test_ingesting_one_file_leaves_the_others(tmp_path: Path, corpus_copy: Path, reusing: ReusingEmbedder) -> None:
    index = new_index(tmp_path / "home", reusing)
    total = index.ingest([corpus_copy]).added
    (corpus_copy / ZHONGYUAN).unlink()
    report = index.ingest([corpus_copy / ERQI])  # a file, not the folder: nothing else is judged gone
    assert (report.added, report.removed, report.chunks) == (0, 0, total)


def test_skipped_files_come_back_with_reasons(tmp_path: Path, reusing: ReusingEmbedder) -> None:
    folder = tmp_path / "mixed"
    (folder / ".hidden").mkdir(parents=True)
    shutil.copy(BUNDLED_CORPUS / ERQI, folder / ERQI)
    (folder / "gbk.txt").write_bytes(read_source(BUNDLED_CORPUS / ZHONGYUAN).text.encode("gb18030"))
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # a PDF header and nothing more
    (folder / "sheet.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "advert.md").write_text("全国9.5亿用户的共同选择\n\n- 千兆宽带 网速就是快\n\n热线 短信 10086\n", encoding="utf-8")
    (folder / ".hidden" / "draft.txt").write_text("草稿,不入库。", encoding="utf-8")

    index = new_index(tmp_path / "home", reusing)
    report = index.ingest([folder, tmp_path / "missing.txt"])
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert set(reasons) == {"scan.pdf", "sheet.xls", "photo.txt", "empty.txt", "advert.md", "missing.txt"}
    assert "not a readable PDF" in reasons["scan.pdf"]
    assert "unsupported file type .xls; supported: .txt, .md, .pdf" in reasons["sheet.xls"]
    assert "binary" in reasons["photo.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "no article paragraphs" in reasons["advert.md"]
    assert "no such file" in reasons["missing.txt"]

    # Only whole, readable files are in the store: the UTF-8 file and the GB18030 one, nothing of the rest.
    good = expected_chunks(BUNDLED_CORPUS, [ERQI, ZHONGYUAN])
    assert (report.added, report.chunks, report.files) == (good, good, 3)
    assert {Path(c.path).name for c in index.chunks} == {ERQI, "gbk.txt"}
    assert reusing.embedded == []  # the GB18030 file decoded to exactly the corpus text
    catalog_matches_chroma(index)


# -- crash consistency --------------------------------------------------------

class SimulatedCrash(RuntimeError):
    pass


@pytest.mark.parametrize("aftermath", ["chroma-written", "catalog-written", "catalog-deleted", "catalog-garbage",
                                       "catalog-truncated"])
def test_killed_ingest_recovers(aftermath: str, tmp_path: Path, reusing: ReusingEmbedder, corpus_index: Index,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after Chroma took the last file but before the catalog did, or after the catalog but before the
    store's generation mark moved, or with the catalog lost or damaged: the next process answers as a clean ingest."""
    home = tmp_path / "home"
    files = [BUNDLED_CORPUS / name for name in CORPUS_FILES]
    new_index(home, reusing).ingest(files[:-1])

    def crash(*args, **kwargs) -> None:
        raise SimulatedCrash("killed")

    with monkeypatch.context() as m:
        if aftermath == "catalog-written":
            m.setattr(Index, "_set_generation", crash)
        else:
            m.setattr(Catalog, "apply", crash)
        with pytest.raises(SimulatedCrash):
            new_index(home, reusing).ingest([BUNDLED_CORPUS])

    path = new_index(home, reusing).catalog.path
    if aftermath == "catalog-deleted":
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    elif aftermath == "catalog-garbage":
        path.write_bytes(b"not a database" * 100)
        for leftover in path.parent.glob(path.name + "-*"):
            leftover.unlink()
    elif aftermath == "catalog-truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    reopened = new_index(home, reusing)
    assert reopened.count() == corpus_index.count()
    for query in QUERIES:
        for mode in ("bm25", "hybrid"):
            assert hit_rows(reopened, query, mode) == hit_rows(corpus_index, query, mode), (query, mode)
    catalog_matches_chroma(reopened)
    report = new_index(home, reusing).ingest([BUNDLED_CORPUS])
    assert (report.added, report.removed, report.updated) == (0, 0, 0)


def test_crash_during_embedding_converges_on_rerun(tmp_path: Path, reusing: ReusingEmbedder, corpus_index: Index,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class DiesOnThirdBatch(Embeddings):
        calls = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            DiesOnThirdBatch.calls += 1
            if DiesOnThirdBatch.calls == 3:
                raise SimulatedCrash("killed while embedding")
            return reusing.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return reusing.embed_query(text)

    home = tmp_path / "home"
    monkeypatch.setattr(store, "ADD_BATCH", 16)
    with pytest.raises(SimulatedCrash):
        new_index(home, DiesOnThirdBatch()).ingest([BUNDLED_CORPUS])
    assert new_index(home, reusing).count() == 32  # two batches made it into Chroma

    report = new_index(home, reusing).ingest([BUNDLED_CORPUS])
    assert (report.added, report.unchanged) == (corpus_index.count() - 32, 32)
    reopened = new_index(home, reusing)
    for query in QUERIES:
        assert hit_rows(reopened, query, "hybrid") == hit_rows(corpus_index, query, "hybrid"), query
    catalog_matches_chroma(reopened)


def test_metadata_only_update_refreshes_the_catalog(tmp_path: Path, reusing: ReusingEmbedder) -> None:
    """A new heading changes a paragraph's section but not its text: BM25, which indexes the section, must follow."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(BUNDLED_CORPUS / ERQI, folder / ERQI)
    index = new_index(tmp_path / "home", reusing)
    index.ingest([folder])
    before = index.search("校园安全专项视察", k=3, mode="bm25")
    assert not any(h.chunk.text.startswith("审查批准区政府") for h in before)

    text = (folder / ERQI).read_text(encoding="utf-8")
    (folder / ERQI).write_text(text.replace("审查批准区政府", "### 校园安全专项视察\n\n审查批准区政府"), encoding="utf-8")
    report = index.ingest([folder])
    assert report.added == report.removed == 0 and report.updated > 0
    for fresh in (index, new_index(tmp_path / "home", reusing)):
        hits = fresh.search("校园安全专项视察", k=3, mode="bm25")
        assert hits and hits[0].chunk.section == "校园安全专项视察"
        assert hits[0].chunk.text.startswith("审查批准区政府")


def test_a_changed_sidecar_alone_updates_its_article(tmp_path: Path, reusing: ReusingEmbedder) -> None:
    """The sidecar counts in the file's hash: adding, changing or breaking it re-labels the article's chunks,
    nothing is embedded again, and the sidecar itself is never an article."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(BUNDLED_CORPUS / ERQI, folder / ERQI)
    sidecar = folder / "001_187c4b3ab0ed4735.meta.json"
    index = new_index(tmp_path / "home", reusing)
    first = index.ingest([folder])
    assert {c.outlet for c in index.chunks} == {""}

    sidecar.write_text(json.dumps({"outlet": "郑州日报", "date": "2021-02-05"}), encoding="utf-8")
    report = index.ingest([folder])
    assert (report.added, report.removed, report.updated, report.skipped) == (0, 0, first.added, [])
    for fresh in (index, new_index(tmp_path / "home", reusing)):
        assert {(c.outlet, c.date) for c in fresh.chunks} == {("郑州日报", "2021-02-05")}

    sidecar.write_text('{"outlet": "郑州日报", "date": "2021-02-05",}', encoding="utf-8")
    report = index.ingest([folder])
    assert report.skipped == [(str(folder / ERQI), f"{sidecar.name}: not valid JSON (line 1, column 41: "
                               "Expecting property name enclosed in double quotes); fix it or remove it")]
    assert index.count() == first.added  # the article is kept as it was, not removed

    sidecar.unlink()
    report = index.ingest([folder])
    assert (report.added, report.removed, report.updated) == (0, 0, first.added)
    assert {c.outlet for c in index.chunks} == {""}
    assert reusing.embedded == []


# -- search ------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("where", [
    {"district": "二七区"},
    {"district": ["惠济区", "中原区"]},
    {"body": "政协", "district": "惠济区"},
])
def test_where_filter(corpus_index: Index, mode: str, where: dict[str, str | list[str]]) -> None:
    hits = corpus_index.search("学前教育和新增学位 代表联络站 提案", k=10, where=where, mode=mode)
    assert len(hits) >= 3
    for key, want in where.items():
        assert {getattr(h.chunk, key) for h in hits} <= ({want} if isinstance(want, str) else set(want))


def test_hybrid_search_finds_the_number(corpus_index: Index) -> None:
    hits = corpus_index.search("二七区新增多少学位", k=3, where={"district": "二七区"})
    assert any("1.04万" in h.chunk.text for h in hits), [h.chunk.text[:30] for h in hits]


def test_hybrid_search_with_topic_keywords_finds_the_number(corpus_index: Index) -> None:
    """As rag asks it: the district as a filter, the topic words (not the district) for BM25."""
    hits = corpus_index.search("二七区新增多少学位", k=3, where={"district": "二七区"}, keyword_query="新增 学位")
    assert "1.04万" in hits[0].chunk.text
    assert hits[0].dense_rank is not None and hits[0].keyword_rank == 1
    # Unfiltered, five paragraphs of that article sit within 0.005 of each other by meaning: BM25 ranks it first,
    # and it comes 3rd or 4th by fusion depending on a near-tie (0.8740 against 0.8739) between two others.
    unfiltered = corpus_index.search("二七区新增了多少优质学位", k=5)
    assert any("1.04万" in h.chunk.text for h in unfiltered)


def test_rrf_ties_go_to_the_better_dense_rank(corpus_index: Index) -> None:
    """Dense #1 + BM25 #2 ties with dense #2 + BM25 #1; the order must not depend on the process's hash seed."""
    hits = corpus_index.search("二七区对多少个人大代表联络站进行了硬件改造和功能提升?", k=4, where={"district": ["二七区"]},
                               keyword_query="代表 联络 联络站 代表联络站 进行 硬件 改造 功能 提升")
    assert hits[0].score == hits[1].score
    assert (hits[0].dense_rank, hits[0].keyword_rank) == (1, 2)
    assert "对131个人大代表联络站进行硬件改造" in hits[0].chunk.text
    for query in QUERIES:
        ranked = corpus_index.search(query, k=10)
        for a, b in zip(ranked, ranked[1:], strict=False):
            if a.score == b.score:
                assert a.dense_rank is not None and (b.dense_rank is None or a.dense_rank < b.dense_rank)


def test_search_rejects_an_unknown_mode(corpus_index: Index) -> None:
    with pytest.raises(ValueError, match="hybrid, dense or bm25"):
        corpus_index.search("二七区", mode="fuzzy")


def test_empty_store_searches_to_nothing(tmp_path: Path, embedder: Embedder) -> None:
    index = new_index(tmp_path / "home", embedder)
    assert index.count() == 0
    assert index.search("二七区新增多少学位") == []


def test_a_reprinted_paragraph_is_one_hit_that_lists_its_other_sources(tmp_path: Path, reusing: ReusingEmbedder) -> None:
    """The same report in two papers: its paragraphs must not take two places each in the top results."""
    folder = tmp_path / "papers"
    folder.mkdir()
    original = (BUNDLED_CORPUS / ERQI).read_text(encoding="utf-8")
    (folder / ERQI).write_text(original, encoding="utf-8")
    (folder / "reprint.txt").write_text("转载 " + original.replace("\n\n", "\n\n\u3000", 3), encoding="utf-8")
    index = new_index(tmp_path / "home", reusing)
    index.ingest([folder])
    hits = index.search("二七区新增多少学位", k=5)
    texts = [h.chunk.text for h in hits]
    assert len(set(texts)) == len(texts) == 5  # no paragraph twice
    top = next(h for h in hits if "1.04万" in h.chunk.text)
    assert {top.chunk.source, *(d.source for d in top.duplicates)} == {ERQI, "reprint.txt"}
    assert reusing.embedded == []  # the reprint's paragraphs reused the corpus vectors

    from rag.chain import Chain

    answer = Chain(index).invoke({"question": "二七区新增多少学位?"})
    assert "1.04万" in answer.answer
    (cited,) = answer.citations
    assert {cited.source, *(a["source"] for a in cited.also)} == {ERQI, "reprint.txt"}
    assert answer.to_json()["citations"][0]["also"][0]["paragraph"] > 0



def test_one_long_article_does_not_fill_every_place(corpus_index: Index) -> None:
    from collections import Counter

    from vectorstore.store import PER_DOCUMENT

    # Unlimited, 7 of these 8 places went to one report.
    hits = corpus_index.search("郑州市政协 常务委员会 协商 提案", k=8)
    per_source = Counter(h.chunk.source for h in hits)
    assert len(hits) == 8 and len(per_source) >= 2 and max(per_source.values()) == PER_DOCUMENT
    # Inside one article (a district filter) the places are still all filled, from that article.
    only = corpus_index.search("人大常委会工作报告 常委会会议 审议", k=8, where={"district": "二七区"})
    assert len(only) == 8 and {h.chunk.source for h in only} == {ERQI}


@pytest.mark.parametrize("where", [{"district": "二七区"}, {"district": ["惠济区", "中原区"], "body": "人大"}])
def test_a_narrow_filter_is_searched_exactly(corpus_index: Index, where: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Few chunks left by the filter: their vectors are compared with the query directly, giving what Chroma's
    filtered search gives where that works (this store), and something where it comes back short (big stores)."""
    query = "新增了多少学位和代表联络站"
    exact = corpus_index.dense(query, 8, where)
    monkeypatch.setattr(store, "EXACT_BELOW", 0)
    by_chroma = corpus_index.dense(query, 8, where)
    assert [cid for cid, _ in exact] == [cid for cid, _ in by_chroma]
    assert [s for _, s in exact] == pytest.approx([s for _, s in by_chroma], abs=1e-4)

    real_collection = corpus_index.collection

    class ShortChroma:  # chroma-core/chroma#5367: a filtered query that finds nothing although chunks match
        def query(self, **kwargs):
            return {"ids": [[]], "distances": [[]]}

        def __getattr__(self, name):
            return getattr(real_collection, name)

    monkeypatch.setattr(corpus_index, "_collection", ShortChroma())
    assert corpus_index.dense(query, 8, where) == exact


def test_chunks_written_into_chroma_by_other_means_are_caught_up(tmp_path: Path, reusing: ReusingEmbedder) -> None:
    """Chunks upserted straight into the collection (no generation mark moved): the count differs, so the next
    process reads ids and metadata, fetches only the new texts, and finds them by keyword and by meaning."""
    home = tmp_path / "home"
    index = new_index(home, reusing)
    index.ingest([BUNDLED_CORPUS / ERQI])
    before = index.count()
    text = "据统计,全区新建口袋公园36个,新增绿地面积12.5万平方米。"
    extra = replace(index.chunks[0], id="outside-1", text=text, source="outside.txt", path="/elsewhere/outside.txt")
    index.collection.upsert(ids=[extra.id], embeddings=reusing.embed_documents([text]), documents=[text],
                            metadatas=[extra.metadata()])
    fresh = new_index(home, reusing)
    assert fresh.count() == before + 1
    assert fresh.search("口袋公园", k=1, mode="bm25")[0].chunk.id == "outside-1"
    assert fresh.search("新建了多少口袋公园", k=1, mode="dense")[0].chunk.id == "outside-1"
    catalog_matches_chroma(fresh)
