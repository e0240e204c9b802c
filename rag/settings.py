"""The one place that reads the environment: every path, model and endpoint the project uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from rag.errors import RagError
from vectorstore.errors import mask_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = PROJECT_ROOT / "data" / "corpus"
DEFAULT_EMBED_MODEL = "multilingual-e5-small"


@dataclass(frozen=True)
class Settings:
    home: Path  # RAG_HOME: the Chroma store and the keyword index
    cache_dir: Path  # RAG_CACHE_DIR: the converted embedding model, shared by every store
    embed_model: str  # RAG_EMBED_MODEL: the bundled e5-small, or a sentence-transformers name/path
    chroma_url: str | None = None  # RAG_CHROMA_URL: a Chroma server instead of the embedded store
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    api_key: str | None = field(default=None, repr=False)  # RAG_API_KEY: the bearer token `rag serve` asks its clients for

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = env.get("RAG_HOME") or platformdirs.user_data_dir("rag-zh")
        cache = env.get("RAG_CACHE_DIR") or platformdirs.user_cache_dir("rag-zh")
        url = env.get("RAG_CHROMA_URL") or None
        if url and not url.startswith(("http://", "https://")):
            raise RagError(f"RAG_CHROMA_URL={mask_url(url)!r} is not a URL; use http://host:port or unset it")
        return cls(
            home=Path(home).expanduser(),
            cache_dir=Path(cache).expanduser(),
            embed_model=env.get("RAG_EMBED_MODEL") or DEFAULT_EMBED_MODEL,
            chroma_url=url,
            llm_base_url=env.get("RAG_LLM_BASE_URL") or None,
            llm_model=env.get("RAG_LLM_MODEL") or None,
            llm_api_key=env.get("RAG_LLM_API_KEY") or None,
            api_key=env.get("RAG_API_KEY") or None,
        )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)
