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
DEFAULT_LLM_TIMEOUT_S = 30.0  # a local model on a CPU is slow; past this the extractive answer is shown


def checked_url(name: str, url: str, fix: str) -> str:
    """An http(s) URL with a host and, if any, a valid port; else one line naming the variable, the URL masked
    (its credentials never printed), and the fix."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # an invalid port raises here
    except ValueError:  # "http://[::1:8000": an unclosed IPv6 bracket, a port that is no number
        ok = False
    if not ok:
        raise RagError(f"{name}={mask_url(url)!r} is not a valid http(s) URL; {fix}")
    return url


@dataclass(frozen=True)
class Settings:
    home: Path  # RAG_HOME: the Chroma store and the keyword index
    cache_dir: Path  # RAG_CACHE_DIR: the converted embedding model, shared by every store
    embed_model: str  # RAG_EMBED_MODEL: the bundled e5-small, or a sentence-transformers name/path
    chroma_url: str | None = None  # RAG_CHROMA_URL: a Chroma server instead of the embedded store
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = DEFAULT_LLM_TIMEOUT_S  # RAG_LLM_TIMEOUT: seconds to wait for the chat model
    api_key: str | None = field(default=None, repr=False)  # RAG_API_KEY: the bearer token `rag serve` asks its clients for

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = env.get("RAG_HOME") or platformdirs.user_data_dir("rag-zh")
        cache = env.get("RAG_CACHE_DIR") or platformdirs.user_cache_dir("rag-zh")
        url = env.get("RAG_CHROMA_URL") or None
        llm_url = env.get("RAG_LLM_BASE_URL") or None
        if llm_url:
            checked_url("RAG_LLM_BASE_URL", llm_url, "use e.g. http://localhost:11434/v1")
        if llm_url and not env.get("RAG_LLM_MODEL"):
            raise RagError("RAG_LLM_BASE_URL is set but RAG_LLM_MODEL is not; name the model, e.g. RAG_LLM_MODEL=qwen2.5:7b")
        if url:
            checked_url("RAG_CHROMA_URL", url, "use http://host:port or unset it")
        return cls(
            home=Path(home).expanduser(),
            cache_dir=Path(cache).expanduser(),
            embed_model=env.get("RAG_EMBED_MODEL") or DEFAULT_EMBED_MODEL,
            chroma_url=url,
            llm_base_url=llm_url,
            llm_model=env.get("RAG_LLM_MODEL") or None,
            llm_api_key=env.get("RAG_LLM_API_KEY") or None,
            llm_timeout=_seconds(env.get("RAG_LLM_TIMEOUT"), "RAG_LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT_S),
            api_key=env.get("RAG_API_KEY") or None,
        )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def _seconds(raw: str | None, name: str, default: float) -> float:
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise RagError(f"{name}={raw!r} is not a number of seconds between 0 and 3600")
    return value
