"""Every sentence's own vector: stored at ingest, read back as stored, embedded once, never a wrong one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.settings import DEFAULT_EMBED_MODEL
from vectorstore.sentences import SentenceVectors, sentences
from vectorstore.store import Index

pytestmark = pytest.mark.slow


class Counting:
    """The real model; counts the texts it embeds."""

    def __init__(self, model) -> None:
        self.model = model
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


PARAGRAPH = "青禾县今年新修农村道路120公里。全县还新建了3座桥!“这条路修到了家门口。”"


def test_sentences_end_at_their_marks_and_keep_a_closing_quote():
    assert sentences(PARAGRAPH) == ["青禾县今年新修农村道路120公里。", "全县还新建了3座桥!", "“这条路修到了家门口。”"]
    assert sentences("没有句号的标题") == ["没有句号的标题"]


def test_vectors_are_embedded_once_and_read_back_as_stored(tmp_path, embedder):
    model = Counting(embedder)
    store = SentenceVectors(tmp_path / "s.sqlite", model)
    assert store.add([PARAGRAPH]) == 3
    assert store.add([PARAGRAPH]) == 0 and len(model.embedded) == 3  # stored: not embedded again
    got = store.get(sentences(PARAGRAPH))
    fresh = np.asarray(embedder.embed_documents(sentences(PARAGRAPH)))
    # int8 storage: the cosine with the float vector stays within a hundredth of 1
    assert got.shape == (3, 384) and (np.sum(got * fresh, axis=1) > 0.99).all()
    again = SentenceVectors(tmp_path / "s.sqlite", Counting(embedder))
    assert np.array_equal(again.get(sentences(PARAGRAPH)), got) and not again.embedder.embedded


def test_a_missing_sentence_is_embedded_when_asked_and_kept(tmp_path, embedder):
    model = Counting(embedder)
    store = SentenceVectors(tmp_path / "s.sqlite", model)
    store.get(["新建了3座桥。"])
    assert model.embedded == ["新建了3座桥。"] and store.count() == 1


def test_a_damaged_file_starts_over(tmp_path, embedder):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    store = SentenceVectors(path, Counting(embedder))
    assert store.get(["全县还新建了3座桥。"]).shape == (1, 384) and store.count() == 1


def test_ingest_stores_every_sentence_and_a_question_embeds_none(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("青禾县修路\n\n" + PARAGRAPH + "\n\n全县今年植树5万株,新增绿地12公顷。\n", encoding="utf-8")
    model = Counting(embedder)
    index = Index(tmp_path / "home", model, DEFAULT_EMBED_MODEL)
    index.ingest([folder])
    wanted = {s for c in index.chunks for s in sentences(c.text)}
    assert wanted <= set(model.embedded)
    model.embedded.clear()
    index.sentence_vectors.get(sorted(wanted))
    assert model.embedded == []


def test_a_store_from_before_sentence_vectors_is_filled_by_the_next_ingest(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("青禾县修路\n\n" + PARAGRAPH + "\n", encoding="utf-8")
    index = Index(tmp_path / "home", Counting(embedder), DEFAULT_EMBED_MODEL)
    index.ingest([folder])
    index.sentence_vectors.close()
    for suffix in ("", "-wal", "-shm"):  # as an earlier version left the store: no sentence vectors at all
        Path(str(index.sentence_vectors.path) + suffix).unlink(missing_ok=True)
    model = Counting(embedder)
    later = Index(tmp_path / "home", model, DEFAULT_EMBED_MODEL)
    report = later.ingest([folder])
    assert report.added == 0 and set(sentences(PARAGRAPH)) <= set(model.embedded)
    assert later.sentence_vectors.count() >= 3
