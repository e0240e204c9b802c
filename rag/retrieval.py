"""A LangChain retriever over the hybrid index, for LangChain apps: Documents carry the chunk's metadata and scores."""

from __future__ import annotations

import threading
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field, PrivateAttr

from rag.answerer import ExtractiveAnswerer
from rag.chain import Chain
from vectorstore.store import Index
from vectorstore.types import Hit

_OPENING = threading.Lock()


def to_document(hit: Hit, rank: int, relevance: float) -> Document:
    meta = {**hit.chunk.metadata(), "id": hit.chunk.id, "score": round(relevance, 4), "rank": rank,
            "fused_score": hit.score}
    return Document(page_content=hit.chunk.text, metadata=meta, id=hit.chunk.id)


class IndexRetriever(BaseRetriever):
    """Hybrid (dense + BM25, fused by reciprocal rank) search with metadata filters, as a LangChain retriever.

    Each Document's `metadata["score"]` is a relevance in [0, 1], higher better: the fitted answer model's
    probability that the passage's best sentence answers the query (`ExtractiveAnswerer.relevance`), comparable
    across queries; `score_threshold` drops the documents below it (so fewer than k may come back). The documents
    keep the search's order (`rank`; `fused_score` is its reciprocal-rank fusion score).

    `IndexRetriever(k=4)` searches the index of RAG_HOME (opened on first use; an empty one gets the bundled
    corpus, as `rag search` does); `index=` takes an open `vectorstore.store.Index` instead.
    `invoke(query, k=N)` returns N documents for that call. The query is read as `rag search` reads it: a place
    it names that the index has articles about is a filter, its topic words are the keyword query
    (`understand=False`: the query's own text for both).
    """

    index: Any = None  # a vectorstore.store.Index (not a pydantic type); None: the one RAG_HOME holds
    k: int = Field(default=8, ge=1)
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    where: dict | None = None  # a metadata filter, e.g. {"district": "某区"} or {"body": "人大"}
    keyword_query: str | None = None  # the words BM25 looks for, when not the query's own
    understand: bool = True
    score_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    _opened: Index | None = PrivateAttr(default=None)

    def _index(self) -> Index:
        if self.index is not None:
            return self.index
        with _OPENING:
            if self._opened is None:
                from rag.pipeline import Pipeline

                pipeline = Pipeline.from_settings()
                pipeline.ensure_ingested()
                self._opened = pipeline.index
        return self._opened

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, **_: Any) -> list[Document]:
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ValueError(f"k={k!r}: the number of documents must be a whole number of at least 1")
        index = self._index()
        index.refresh()  # a long-lived retriever sees what another process ingested since
        chain = Chain(index)
        if self.understand:
            intent, hits = chain.search_read(query, k=k or self.k, mode=self.mode, where=self.where,
                                             keyword_query=self.keyword_query)
        else:
            intent = chain.locate(chain.resolve_history(query, ()))
            hits = index.search(query, k=k or self.k, where=self.where, mode=self.mode,
                                keyword_query=self.keyword_query)
        relevance = ExtractiveAnswerer(index).relevance(intent, hits)
        floor = self.score_threshold
        return [to_document(h, r, p) for r, (h, p) in enumerate(zip(hits, relevance, strict=True), 1)
                if floor is None or p >= floor]

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       k: int | None = None, **_: Any) -> list[Document]:
        return await run_in_executor(None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(),
                                     k=k)
