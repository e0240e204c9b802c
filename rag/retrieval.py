"""A LangChain retriever over the hybrid index, for LangChain apps: Documents carry the chunk's metadata and scores."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from vectorstore.store import Index
from vectorstore.types import Hit


def to_document(hit: Hit, rank: int) -> Document:
    meta = {**hit.chunk.metadata(), "id": hit.chunk.id, "score": hit.score, "rank": rank}
    return Document(page_content=hit.chunk.text, metadata=meta, id=hit.chunk.id)


class IndexRetriever(BaseRetriever):
    """Hybrid (dense + BM25) search with metadata filters, as a LangChain retriever."""

    index: Any  # vectorstore.store.Index (not a pydantic type)
    k: int = 8
    mode: str = "hybrid"
    where: dict | None = None
    keyword_query: str | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        index: Index = self.index
        hits = index.search(query, k=self.k, where=self.where, mode=self.mode, keyword_query=self.keyword_query)
        return [to_document(h, r) for r, h in enumerate(hits, 1)]
