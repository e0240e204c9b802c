"""Shared fixtures: every test gets its own RAG_HOME; the converted model and the corpus index are built once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.settings import BUNDLED_CORPUS, DEFAULT_EMBED_MODEL, Settings
from vectorstore.embedding import Embedder
from vectorstore.store import Index, IngestReport

# Converting the bundled model takes ~15 s: keep it in a stable per-user folder, not in a test's tmp dir.
DEFAULT_CACHE_DIR = Path("~/.cache/rag-zh").expanduser()


def _cache_dir() -> Path:
    return Path(os.environ.get("RAG_CACHE_DIR") or DEFAULT_CACHE_DIR).expanduser()


@pytest.fixture(autouse=True)
def rag_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point RAG_HOME at this test's tmp dir; keep (or default) the shared model cache."""
    home = tmp_path / "rag-home"
    monkeypatch.setenv("RAG_HOME", str(home))
    if not os.environ.get("RAG_CACHE_DIR"):
        monkeypatch.setenv("RAG_CACHE_DIR", str(DEFAULT_CACHE_DIR))
    return home


@pytest.fixture
def settings(rag_env: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(DEFAULT_EMBED_MODEL, _cache_dir())


@pytest.fixture(scope="session")
def corpus_ingest(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Index, IngestReport]:
    """The bundled corpus ingested once per session, with the report of that first ingest."""
    home = tmp_path_factory.mktemp("corpus-home")
    index = Index(home, embedder, DEFAULT_EMBED_MODEL)
    return index, index.ingest([BUNDLED_CORPUS])


@pytest.fixture(scope="session")
def corpus_index(corpus_ingest: tuple[Index, IngestReport]) -> Index:
    """The bundled corpus, indexed; shared, so tests must not ingest into it or change its files."""
    return corpus_ingest[0]


@pytest.fixture
def store_copy(corpus_index: Index, tmp_path: Path) -> Path:
    """A copy of the session's indexed corpus, for tests whose commands may write to their store."""
    home = tmp_path / "home"
    shutil.copytree(corpus_index.home, home)
    return home
