"""The embedding model: the bundled multilingual-e5-small (converted once into the model cache) or any sentence-transformers model."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.embeddings import Embeddings

from vectorstore.e5_convert import MODEL_NAME, ConversionError, convert


class ModelError(RuntimeError):
    """The embedding model cannot be found or loaded; the message says how to fix it."""


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


class Embedder(Embeddings):
    """LangChain `Embeddings` over a sentence-transformers model, loaded on first use."""

    def __init__(self, name: str, cache_dir: Path) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self._model = None
        self._path: Path | str | None = None

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
                first = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
                raise ModelError(
                    f"cannot load embedding model {self.name!r}: {first[:200]}. Set RAG_EMBED_MODEL to a local "
                    f"sentence-transformers folder, or unset it to use the bundled {MODEL_NAME}") from exc
        return self._model

    @property
    def dim(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self.model.encode_document(list(texts), batch_size=32, normalize_embeddings=True,
                                          convert_to_numpy=True, show_progress_bar=False)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        vec = self.model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)
        return vec[0].tolist()
