"""The embedding model and the hybrid search as standard LangChain components: LangChain's own standard suites
(`langchain-tests`), a LangChain vector store over the embeddings, and the README's snippet in someone else's chain."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from readme import snippet

from rag.langchain import E5Embeddings, IndexRetriever
from rag.settings import DEFAULT_EMBED_MODEL, Settings
from vectorstore.store import Index

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "二七区新增多少学位?"


class TestE5EmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[E5Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model": DEFAULT_EMBED_MODEL, "cache_dir": str(Settings.from_env().cache_dir)}


class TestIndexRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _corpus(self, corpus_index: Index) -> None:
        self.index = corpus_index  # the bundled corpus, indexed once per session in a temp dir

    @property
    def retriever_constructor(self) -> type[IndexRetriever]:
        return IndexRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index": self.index, "k": 5}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_the_embeddings_are_the_index_models_and_rank_in_a_langchain_vector_store(corpus_index: Index) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    embeddings = E5Embeddings()
    assert embeddings.embed_query(QUESTION) == corpus_index.embedder.embed_query(QUESTION)
    dense = [h.chunk.text for h in corpus_index.search(QUESTION, k=10, mode="dense")]
    store = InMemoryVectorStore.from_texts(sorted(dense), embeddings)
    assert store.similarity_search(QUESTION, k=1)[0].page_content == dense[0]


def test_the_retriever_reads_the_query_as_rag_search_does(corpus_index: Index, settings: Settings) -> None:
    from rag.pipeline import Pipeline

    pipeline = Pipeline(Settings(home=corpus_index.home, cache_dir=settings.cache_dir, embed_model=settings.embed_model))
    for question in (QUESTION, "郑州市政协向市委报告重要事项多少次?"):
        docs = IndexRetriever(index=corpus_index, k=5).invoke(question)
        assert [d.id for d in docs] == [h.chunk.id for h in pipeline.search(question, k=5)]
    assert "1.04万" in IndexRetriever(index=corpus_index, k=1).invoke(QUESTION)[0].page_content


def test_a_retriever_without_an_index_searches_rag_home(corpus_index: Index, rag_env: Path) -> None:
    shutil.copytree(corpus_index.home, rag_env)
    retriever = IndexRetriever(k=2, where={"district": "二七区"})
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 2 and "1.04万" in docs[0].page_content and docs[0].metadata["district"] == "二七区"
    assert len(retriever.invoke(QUESTION, k=4)) == 4
    with pytest.raises(ValueError, match="at least 1"):
        retriever.invoke(QUESTION, k=0)


async def test_ainvoke_takes_k_too(corpus_index: Index) -> None:
    docs = await IndexRetriever(index=corpus_index).ainvoke(QUESTION, k=3)
    assert len(docs) == 3 and "1.04万" in docs[0].page_content


def test_the_readme_snippet_plugs_the_retriever_into_a_chain(corpus_index: Index, rag_env: Path) -> None:
    """The README's LangChain snippet, run as written, with a stand-in for the reader's chat model."""
    from langchain_core.runnables import RunnableLambda

    shutil.copytree(corpus_index.home, rag_env)
    code = snippet("### LangChain")
    prompts: list[str] = []
    llm = RunnableLambda(lambda prompt: prompts.append(prompt.to_string()) or "新增优质学位1.04万个。")
    scope = {"llm": llm}
    exec(code, scope)  # noqa: S102 - the README's own code
    assert prompts and "1.04万" in prompts[0] and QUESTION in prompts[0]


def test_the_score_is_a_relevance_a_threshold_can_cut(corpus_index: Index) -> None:
    retriever = IndexRetriever(index=corpus_index, k=5)
    answered = retriever.invoke(QUESTION)
    off_topic = retriever.invoke("火星有几颗天然卫星?")
    scores = [d.metadata["score"] for d in answered + off_topic]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert [d.metadata["rank"] for d in answered] == [1, 2, 3, 4, 5]  # the search's order is kept
    best = max(answered, key=lambda d: d.metadata["score"])
    assert "1.04万" in best.page_content
    assert best.metadata["score"] > max(d.metadata["score"] for d in off_topic)
    cut = (best.metadata["score"] + max(d.metadata["score"] for d in off_topic)) / 2
    kept = IndexRetriever(index=corpus_index, k=5, score_threshold=cut)
    assert [d.id for d in kept.invoke(QUESTION)] == [d.id for d in answered if d.metadata["score"] >= cut]
    assert kept.invoke("火星有几颗天然卫星?") == []
    with pytest.raises(ValueError):
        IndexRetriever(index=corpus_index, score_threshold=1.5)
