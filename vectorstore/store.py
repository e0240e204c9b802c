"""The index: vectors in Chroma, and a catalog beside it (vectorstore.catalog) for text, keywords and places;
hybrid search.

Chroma is used through its own client: LangChain's `Chroma` wrapper (`Index.vectorstore`, for LangChain apps)
imports langchain_core's runnables and langsmith, ~0.45 s that a one-shot question cannot afford.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vectorstore.catalog import Catalog, chunk_from, damaged, meta_key
from vectorstore.chunking import CHUNKER, chunk_document
from vectorstore.errors import StoreError, first_line, mask_url, scrub
from vectorstore.keyword import tokenize
from vectorstore.reading import UnreadableFile, discover, fingerprint, read_source
from vectorstore.sentences import SentenceVectors, sentences
from vectorstore.types import Chunk, Hit

RRF_K = 60
ADD_BATCH = 64
# Hits of one document before the other documents' hits come first (measured: 4 changes no eval figure, 3 costs
# one wide-set answer).
PER_DOCUMENT = 4
# Rows per `get`: Chroma 1.5 refuses a read of more than 32,766 rows at once ("too many SQL variables").
READ_PAGE = 5000
# Chunks whose vectors are checked when a process first opens the store (Index.verify); `rag doctor` checks all.
VERIFY_SAMPLE = 3
# Chunks `rag doctor` searches with their own vectors, which must find them.
VERIFY_PROBES = 50
# A search filter that leaves at most this many chunks is searched exactly (see Index.dense); ~3 ms at 2,000.
EXACT_BELOW = 2000
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class IngestReport:
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    updated: int = 0
    chunks: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"added": self.added, "unchanged": self.unchanged, "removed": self.removed,
                "updated": self.updated, "chunks": self.chunks, "files": self.files,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    path: str
    title: str
    district: str
    body: str
    chunks: int
    outlet: str = ""
    date: str = ""
    reporter: str = ""
    origin: str = ""  # "bundled", "file" or "upload"
    ingested: str = ""  # when it was first indexed (UTC, ISO 8601)

    def to_json(self) -> dict:
        return {"source": self.source, "title": self.title, "outlet": self.outlet, "date": self.date,
                "reporter": self.reporter, "chunks": self.chunks, "ingested": self.ingested, "origin": self.origin,
                "path": self.path}


def _collection_name(model: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in Path(model).name.lower())[:40].strip("-")
    return f"chunks-{slug}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


class Index:
    """Chroma is the source of truth; the catalog follows it (kept in step by ingest, caught up when it differs)."""

    def __init__(self, home: Path, embedder, model_name: str, chroma_url: str | None = None) -> None:
        self.home = home
        self.embedder = embedder
        self.model_name = model_name
        self.chroma_url = chroma_url
        self._client = None
        self._collection = None
        self._vs = None
        self._generation: str | None = None  # the store's change marker when this process last read it
        self._generation_lock = threading.Lock()
        self._checked = 0.0
        self._step_lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._sentences: SentenceVectors | None = None
        self._cache: dict = {}  # values derived from the catalog, for the current generation
        self._queries: dict[str, list[float]] = {}  # the last questions' vectors (search, then the answerer)
        self._frozen = 0  # inside snapshot(): no reopening

    # -- opening ---------------------------------------------------------
    @property
    def location(self) -> str:
        """Where the store is, fit to print (a server URL's credentials masked)."""
        return mask_url(self.chroma_url) if self.chroma_url else str(self.home / "chroma")

    @property
    def collection_name(self) -> str:
        return _collection_name(self.model_name)

    @property
    def kind(self) -> str:
        return "chroma-server" if self.chroma_url else "chroma-embedded"

    @property
    def collection(self):
        """The Chroma collection (opened on first use); vectors are always ours, never Chroma's default model."""
        if self._collection is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            try:
                if self.chroma_url:
                    from urllib.parse import urlparse

                    u = urlparse(self.chroma_url)
                    client = chromadb.HttpClient(host=u.hostname or "localhost", port=u.port or 8000,
                                                 ssl=u.scheme == "https", settings=chroma_settings)
                    self._client = client
                    self._collection = client.get_or_create_collection(
                        self.collection_name, embedding_function=None, metadata={"hnsw:space": "cosine"})
                else:
                    (self.home / "chroma").mkdir(parents=True, exist_ok=True)
                    # a damaged database makes chromadb's Rust core panic, and Rust prints the panic and its
                    # backtrace to the process's stderr: the user gets our one line instead
                    with _stderr_muted():
                        client = chromadb.PersistentClient(path=str(self.home / "chroma"), settings=chroma_settings)
                        self._client = client
                        self._collection = client.get_or_create_collection(
                            self.collection_name, embedding_function=None, metadata={"hnsw:space": "cosine"})
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # chromadb's Rust core panics (a BaseException) on a damaged database
                why = scrub(first_line(exc), self.chroma_url)
                if not self.chroma_url and re.search(r"malformed|not a database|file is encrypted|SqliteError", why):
                    raise StoreError(
                        f"the Chroma database {self.home / 'chroma' / 'chroma.sqlite3'} is damaged ({why[:120]}); "
                        "restore the folder from a backup, or move it away and run `rag ingest` on your sources "
                        "to index them again") from exc
                raise StoreError(f"cannot open the Chroma store at {self.location}: {why}") from exc
        return self._collection

    @property
    def vectorstore(self):
        """The same collection as LangChain's `Chroma` vector store, for LangChain apps."""
        if self._vs is None:
            from langchain_chroma import Chroma

            collection = self.collection
            self._vs = Chroma(client=self._client, collection_name=collection.name,
                              embedding_function=_langchain_embeddings(self.embedder), collection_metadata={"hnsw:space": "cosine"})
        return self._vs

    # -- changes by other processes ---------------------------------------
    def _state(self):
        """A companion collection whose metadata holds the store's generation: a new value on every change."""
        _ = self.collection
        return self._client.get_or_create_collection(f"{self.collection_name}-state", embedding_function=None)

    def generation(self) -> str:
        return str((self._state().metadata or {}).get("generation", ""))

    def _set_generation(self, value: str) -> None:
        with self._generation_lock:  # a question's refresh() never sees the new value before we own it
            self._state().modify(metadata={"generation": value})
            self._generation = value
            self._cache = {}

    def refresh(self, every_s: float = 1.0) -> bool:
        """Catch up with changes another process made (`rag ingest` beside a running UI): at most every
        `every_s` seconds, compare the store's generation with ours; if it moved, reopen and reload.

        An embedded Chroma keeps its vector index in memory and does not see vectors another process added
        (and then fails on their ids), so it is reopened; a Chroma server is always current.
        """
        now = time.monotonic()
        if self._collection is None or now - self._checked < every_s or self._frozen:
            return False
        self._checked = now
        with self._generation_lock:
            try:
                current = self.generation()
            except Exception as exc:
                raise StoreError(f"cannot read the Chroma store at {self.location}: {scrub(first_line(exc), self.chroma_url)}") from exc
            if self._generation is None:
                self._generation = current
                return False
            if current == self._generation:
                return False
        if not self.chroma_url:
            from chromadb.api.client import SharedSystemClient

            # chromadb caches one system per path per process; drop ours so the next open reads the disk again.
            SharedSystemClient._identifier_to_system.pop(str(self.home / "chroma"), None)
            self._client = self._collection = self._vs = None
        self._generation = None
        return True

    @property
    def catalog(self) -> Catalog:
        """The SQLite catalog beside Chroma (one per store and model; a server's clients each keep their own)."""
        if self._catalog is None:
            name = self.collection_name
            if self.chroma_url:
                name += "-" + hashlib.sha1(mask_url(self.chroma_url).encode()).hexdigest()[:8]
            shutil.rmtree(self.home / "keyword", ignore_errors=True)  # the bm25s index of earlier versions
            self._catalog = Catalog(self.home / "catalog" / f"{name}.sqlite", CHUNKER)
        return self._catalog

    @property
    def sentence_vectors(self) -> SentenceVectors:
        """Every indexed sentence's own vector (vectorstore.sentences), in a file beside the catalog."""
        if self._sentences is None:
            path = self.catalog.path
            self._sentences = SentenceVectors(path.with_name(path.stem + ".sentences.sqlite"), self.embedder)
        return self._sentences

    def query_vector(self, text: str) -> list[float]:
        """The question's vector, embedded once for the search and the answerer alike."""
        vec = self._queries.get(text)
        if vec is None:
            vec = self.embedder.embed_query(text)
            if len(self._queries) >= 64:
                self._queries.clear()
            self._queries[text] = vec
        return vec

    def _in_step(self) -> Catalog:
        """The catalog, checked against Chroma once per store generation and caught up if it differs; and Chroma
        checked to hold the vectors of a sample of the catalog's chunks (`verify`)."""
        if self._generation is not None:
            return self.catalog
        with self._step_lock:
            if self._generation is None:
                cat = self.catalog
                self.generation()  # Chroma first: a store that cannot open says so before the catalog is read
                if cat.repairing():  # catching up now would drop the text the repair re-embeds from
                    raise StoreError(f"a repair of the store at {self.location} was interrupted; run `rag ingest "
                                     "--repair` to finish it")
                current = self._keep_up()
                problem = self.verify(sample=VERIFY_SAMPLE)
                if problem:
                    raise StoreError(f"the store at {self.location} is damaged: {problem}; run `rag ingest --repair` "
                                     "to re-embed every passage from the catalog's text")
                self._cache = {}
                self._generation = current
        return self.catalog

    @contextlib.contextmanager
    def snapshot(self):
        """Reads meanwhile (in this thread) answer from the store as it is now, whatever another process ingests:
        the catalog in one read transaction, Chroma not reopened. One `rag ask --batch` is one version."""
        cat = self._in_step()
        self._frozen += 1
        try:
            with cat.snapshot():
                yield self
        finally:
            self._frozen -= 1

    def _keep_up(self) -> str:
        """Catch the catalog up with Chroma if it is behind (or damaged); the store's current generation."""
        cat = self.catalog
        current = self.generation()
        try:
            behind = cat.generation() != current or not cat.clean() or cat.count() != self.collection.count()
        except sqlite3.DatabaseError as exc:
            if not damaged(exc):
                raise StoreError(f"cannot read the catalog {cat.path}: {first_line(exc)}") from exc
            cat.discard()
            behind = True
        if behind:
            self._catch_up(current)
        return current

    def verify(self, sample: int | None = None) -> str:
        """What is wrong with the vector store, or "": every catalog chunk (or a spread `sample` of them) has its
        vector in Chroma, and a search with that vector finds the chunk. A deleted or damaged index folder fails
        here instead of answering from what is left of it."""
        cat = self.catalog
        ids = cat.sample_ids(sample) if sample else cat.ids()
        if not ids:
            return ""
        missing, vectors = 0, {}
        for start in range(0, len(ids), READ_PAGE):
            part = ids[start : start + READ_PAGE]
            try:
                got = self.collection.get(ids=part, include=["embeddings"])
            except Exception as exc:  # Chroma raises its own errors for a lost segment ("Error finding id")
                return f"its vector index cannot read the vectors of its passages ({scrub(first_line(exc), self.chroma_url)})"
            found = dict(zip(got["ids"], got["embeddings"] if got["embeddings"] is not None else [], strict=False))
            missing += sum(1 for i in part if i not in found)
            vectors.update(found)
        if missing:
            return f"{missing} of {len(ids)} passages checked have no vector in the vector index"
        if sample:  # on open: reading the vectors is the check (a search with them costs a cold question ~0.1 s)
            return ""
        probe = ids[:: max(1, len(ids) // VERIFY_PROBES)][:VERIFY_PROBES]
        lost = 0
        for cid in probe:
            try:
                got = self.collection.query(query_embeddings=[list(vectors[cid])], n_results=1, include=["distances"])
            except Exception as exc:
                return f"its vector index cannot be searched ({scrub(first_line(exc), self.chroma_url)})"
            if not got["distances"][0] or got["distances"][0][0] > 1e-3:
                lost += 1
        if lost:
            return f"a search with {lost} of {len(probe)} passages' own vectors does not find them"
        return ""

    def repair(self, progress: Progress | None = None) -> int:
        """Rebuild the vector store from the catalog's text: a new collection, every chunk embedded again. A kill
        midway leaves the catalog marked, untouched, and the next `rag ingest --repair` starts over."""
        cat = self.catalog
        with self._step_lock:
            if not cat.repairing():
                self._keep_up()  # the catalog holds every chunk Chroma lists (their text is in Chroma's own tables)
            chunks = list(cat.all())
            cat.set_repairing(True)
        try:
            _ = self.collection
            self._client.delete_collection(self.collection_name)
        except Exception:  # noqa: BLE001 - a collection too damaged to delete is replaced all the same
            pass
        self._collection = self._vs = None
        self._embed_into_chroma(chunks, progress)
        generation = uuid.uuid4().hex
        cat.apply(remove=(), add=(), generation=generation, clear_marks=True)
        self._set_generation(generation)
        cat.set_repairing(False)
        self._generation = None  # checked again on next use
        return len(chunks)

    def _catch_up(self, generation: str) -> None:
        """Make the catalog what Chroma holds: read every id and metadata (paged), fetch the texts of the chunks
        that are new or changed, drop the ones gone. Runs after another client's change (server), a killed
        ingest, or chunks written into Chroma by other means."""
        cat = self.catalog
        known = cat.metas()
        stale: list[str] = []
        seen: set[str] = set()
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=READ_PAGE, offset=offset)
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                seen.add(cid)
                if known.get(cid) != meta_key(meta or {}):
                    stale.append(cid)
            if len(got["ids"]) < READ_PAGE:
                break
            offset += READ_PAGE
        fresh: list[Chunk] = []
        for start in range(0, len(stale), READ_PAGE):
            got = self.collection.get(ids=stale[start : start + READ_PAGE], include=["documents", "metadatas"])
            fresh += [chunk_from(i, d, m or {}) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        cat.apply(remove=set(known) - seen, add=fresh, generation=generation, clear_marks=True)

    def _cached(self, key, make):
        """A value derived from the catalog, kept until the store changes."""
        self._in_step()
        cache = self._cache
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def warm(self) -> None:
        """Open the store and the catalog and load the tokenizer, so that the first question pays for neither."""
        self._in_step()
        tokenize("预热")

    def document_frequency(self, text: str) -> int:
        """How many chunks hold the text (in their paragraph or title)."""
        return self._in_step().holding(text, titles=True)

    def article_text(self, source: str) -> str:
        """The title and every paragraph of one article, in order."""
        return self._cached(("article", source), lambda: self.catalog.article_text(source))

    def place_names(self) -> frozenset[str]:
        """Every place the index's chunks are about or name."""
        return self._cached("named", lambda: self.catalog.named() | frozenset(self.catalog.places()))

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency (substring occurrence in chunk texts), cached per token."""
        cat = self._in_step()
        idf = self._cached("idf", dict)
        n = max(cat.count(), 1)
        for t in set(tokens):
            if t and t not in idf:
                df = cat.holding(t)
                idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk in reading order: for listings and tests (a question never reads them all)."""
        return list(self._in_step().all())

    def count(self) -> int:
        return self._in_step().count()

    # -- ingest ----------------------------------------------------------
    def ingest(self, paths: Iterable[Path], progress: Progress | None = None,
               origin_of: Callable[[Path], str] | None = None) -> IngestReport:
        """Index files and folders incrementally; a re-run after a crash converges to a clean ingest.

        `origin_of(file)` labels where each file came from (default "file"); it is kept with every chunk.
        """
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        paths = [Path(os.path.realpath(Path(p).expanduser())) for p in paths]  # realpath: no error on a loop
        files, skipped_paths = discover(paths)
        skipped = [(str(p), r) for p, r in skipped_paths]
        cat = self._in_step()

        new_chunks: list[Chunk] = []
        delete: set[str] = set()
        updates: list[Chunk] = []
        unchanged = 0
        seen_paths: set[str] = set()
        for n, f in enumerate(files, 1):
            if progress:
                progress(n, len(files), f"reading {f.name}")
            old = cat.of_path(str(f))
            digest = fingerprint(f) if old else None
            if old and digest and all(c.file_hash == digest and c.chunker == CHUNKER and c.file_chunks == len(old)
                                      for c in old.values()):
                # same bytes, same chunker, all its chunks stored: nothing to do (a scan is not read by OCR again)
                seen_paths.add(str(f))
                unchanged += len(old)
                continue
            try:
                src = read_source(f)
            except UnreadableFile as exc:
                skipped.append((str(f), str(exc)))
                continue
            seen_paths.add(str(f))
            origin = origin_of(f) if origin_of else "file"
            first = min((c.ingested for c in old.values() if c.ingested), default=now)
            chunks = [replace(c, origin=origin, ingested=first, file_page=src.page_at(c.start))
                      for c in chunk_document(src.text, f.name, str(f), src.sha256, src.meta)]
            if not chunks:
                skipped.append((str(f), "no article paragraphs found"))
            delete |= set(old) - {c.id for c in chunks}
            for c in chunks:
                if c.id in old:
                    unchanged += 1
                    if old[c.id].metadata() != c.metadata():
                        updates.append(c)
                else:
                    new_chunks.append(c)
        # Files gone from an ingested folder.
        for folder in (p for p in paths if p.is_dir()):
            for path in cat.paths_under(str(folder) + os.sep):
                if path not in seen_paths and not Path(path).exists():
                    delete |= set(cat.of_path(path))

        if new_chunks or delete or updates:
            # Chroma first, then the catalog with the new generation in one transaction, then the store's mark:
            # a process killed before the end leaves its dirty mark (or a generation that differs), and the
            # next one to open the store catches the catalog up with Chroma.
            mark = cat.begin_change()
            collection = self.collection
            if delete:
                collection.delete(ids=sorted(delete))
            for c in updates:
                collection.update(ids=[c.id], metadatas=[c.metadata()])
            self._embed_into_chroma(new_chunks, progress)
            if progress:
                progress(len(new_chunks), len(new_chunks), "indexing")
            generation = uuid.uuid4().hex
            cat.apply(remove=delete, add=[*updates, *new_chunks], generation=generation, mark=mark)
            self._set_generation(generation)
        self._fill_sentences(new_chunks, progress)
        return IngestReport(added=len(new_chunks), unchanged=unchanged, removed=len(delete), updated=len(updates),
                            chunks=cat.count(), files=len(seen_paths), skipped=skipped)

    def _embed_into_chroma(self, chunks: list[Chunk], progress: Progress | None = None) -> None:
        """Embed the chunks' text and write them into Chroma, a batch at a time."""
        expect = getattr(self.embedder, "expect", None)
        if expect:
            expect(len(chunks))
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start : start + ADD_BATCH]
            if progress:
                progress(start + len(batch), len(chunks), "embedding")
            texts = [c.text for c in batch]
            vectors = self.embedder.embed_documents(texts)
            self.collection.upsert(ids=[c.id for c in batch], embeddings=vectors,
                                   documents=texts, metadatas=[c.metadata() for c in batch])
            # A paragraph of one sentence is its own sentence vector (same text, same prompt): not embedded twice.
            whole = [i for i, t in enumerate(texts) if sentences(t) == [t]]
            if whole:
                self.sentence_vectors.put([texts[i] for i in whole], [vectors[i] for i in whole])

    def _fill_sentences(self, new_chunks: list[Chunk], progress: Progress | None = None) -> None:
        """Embed the sentences of the new chunks; once per store generation, those of every chunk (a store
        from before sentence vectors, chunks another client added): after this no question embeds a sentence."""
        vectors = self.sentence_vectors
        generation, filled = self.generation(), vectors.filled()
        if filled == generation:
            return
        if new_chunks and filled:
            vectors.add((c.text for c in new_chunks), progress)
        else:
            vectors.add((c.text for c in self._in_step().all()), progress)
        vectors.mark_filled(generation)

    def add_embedded(self, chunks: list[Chunk], vectors) -> None:
        """Add chunks whose vectors are already computed (an import from another store, the scale benchmark),
        with the same guarantees as ingest: Chroma, then the catalog, then the store's generation mark."""
        cat = self._in_step()
        mark = cat.begin_change()
        for start in range(0, len(chunks), READ_PAGE):
            part = chunks[start : start + READ_PAGE]
            self.collection.upsert(ids=[c.id for c in part], embeddings=vectors[start : start + READ_PAGE],
                                   documents=[c.text for c in part], metadatas=[c.metadata() for c in part])
        generation = uuid.uuid4().hex
        cat.apply(remove=(), add=chunks, generation=generation, mark=mark)
        self._set_generation(generation)

    # -- search ----------------------------------------------------------
    def dense(self, query: str, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """The k chunks nearest the query by cosine, among those that match `where`.

        A filter that leaves few chunks (a district in a big store) is answered exactly, from their vectors:
        Chroma's filtered HNSW search can then come back empty although chunks match (measured at 100k chunks:
        nothing for a district of 19; chroma-core/chroma#5367), and the exact way is faster there too. A wider
        filter goes to Chroma, and to the exact way if Chroma returns fewer than it should.
        """
        if not self.count():
            return []
        vec = self.query_vector(query)
        if where:
            few = self._in_step().ids_matching(where, limit=EXACT_BELOW + 1)  # a wide filter is not read whole
            if len(few) <= EXACT_BELOW:
                return self._exact(vec, few, k)
        flt = None
        if where:
            clauses = [{key: {"$in": [v] if isinstance(v, str) else list(v)}} for key, v in where.items()]
            flt = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        found = self.collection.query(query_embeddings=[vec], n_results=k, where=flt, include=["distances"])
        hits = [(cid, 1.0 - float(dist)) for cid, dist in zip(found["ids"][0], found["distances"][0], strict=True)]
        if where and len(hits) < k:  # more than k chunks match (the filter left over EXACT_BELOW): Chroma came back short
            return self._exact(vec, self.catalog.ids_matching(where), k)
        return hits

    def _exact(self, vec: list[float], ids: list[str], k: int) -> list[tuple[str, float]]:
        """Cosine of the query against every one of `ids` (their vectors read in pages); the k best."""
        q = np.asarray(vec, dtype=np.float32)
        q /= np.linalg.norm(q) or 1.0
        scored: list[tuple[str, float]] = []
        for start in range(0, len(ids), READ_PAGE):
            got = self.collection.get(ids=ids[start : start + READ_PAGE], include=["embeddings"])
            if not len(got["ids"]):
                continue
            m = np.asarray(got["embeddings"], dtype=np.float32)
            sims = m @ q / np.maximum(np.linalg.norm(m, axis=1), 1e-12)
            scored += zip(got["ids"], sims.tolist(), strict=True)
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:k]

    def sparse(self, query: str, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        # Every chunk that passes the filter carries its value ("西工区") in its keyword text; scoring that
        # word again would rank all of them alike and drown the words that tell them apart.
        values = [v for want in (where or {}).values() for v in ([want] if isinstance(want, str) else want)]
        drop = frozenset(t for v in values for t in tokenize(str(v)))
        return self._in_step().bm25([t for t in tokenize(query) if t not in drop], k, where)

    def search(self, query: str, k: int = 5, where: dict | None = None, mode: str = "hybrid",
               keyword_query: str | None = None, candidates: int = 30) -> list[Hit]:
        """Dense and BM25 results fused by reciprocal rank; `mode` dense or bm25 for one of them alone."""
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown search mode {mode!r}; use hybrid, dense or bm25")
        dense = self.dense(query, max(k, candidates), where) if mode != "bm25" else []
        sparse = self.sparse(keyword_query or query, max(k, candidates), where) if mode != "dense" else []
        fused: dict[str, float] = {}
        d_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
        s_rank = {cid: r for r, (cid, _) in enumerate(sparse, 1)}
        d_score = dict(dense)
        s_score = dict(sparse)
        for cid in dict.fromkeys([*d_rank, *s_rank]):  # dense order, then keyword-only hits
            fused[cid] = sum(1.0 / (RRF_K + r[cid]) for r in (d_rank, s_rank) if cid in r)
        # Ties (dense #1 + BM25 #2 against dense #2 + BM25 #1) are common: the stable sort gives them to the
        # better dense rank, the same every run, instead of to a set's hash order.
        # A paragraph printed word for word in several articles is one hit (the best ranked) listing the others,
        # so that reprints do not crowd out the other paragraphs.
        chunks = self._in_step().get(fused)
        kept: dict[str, list[str]] = {}
        for cid in sorted(fused, key=lambda c: -fused[c]):
            if cid in chunks:
                kept.setdefault(_same_text(chunks[cid].text), []).append(cid)
        # One long article does not fill every place either: past PER_DOCUMENT hits of one document, the rest
        # of its hits wait until the other documents' hits are in (so a search inside one article still fills k).
        first, later, per_doc = [], [], {}
        for ids in kept.values():
            doc = chunks[ids[0]].path or chunks[ids[0]].source
            per_doc[doc] = per_doc.get(doc, 0) + 1
            (first if per_doc[doc] <= PER_DOCUMENT else later).append(ids)
        ranked = (first + later)[:k]
        return [Hit(chunk=chunks[ids[0]], score=fused[ids[0]], dense_rank=d_rank.get(ids[0]),
                    keyword_rank=s_rank.get(ids[0]),
                    extra={"dense": d_score.get(ids[0], 0.0), "bm25": s_score.get(ids[0], 0.0)},
                    duplicates=tuple(chunks[c] for c in ids[1:])) for ids in ranked]

    # -- listing ---------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(d["source"], d["path"], " / ".join(d["titles"]), d["district"], "、".join(d["bodies"]),
                             d["chunks"], d["outlet"], d["date"], d["reporter"], d["origin"], d["ingested"])
                for d in self._in_step().documents()]

    def remove(self, names: Iterable[str]) -> tuple[list[str], int]:
        """Take documents out of every index: each name is a source (file name, every file of that name) or a
        path as stored. Returns the removed files' paths and how many chunks went; a name that matches no
        document raises StoreError before anything is removed."""
        cat = self._in_step()
        paths: list[str] = []
        for name in names:
            found = cat.paths_named(name) or cat.paths_named(os.path.realpath(Path(name).expanduser()))
            if not found:
                raise StoreError(f"{name!r} is not in the store; `rag docs` lists what is")
            paths += [p for p in found if p not in paths]
        ids = sorted({cid for p in paths for cid in cat.of_path(p)})
        if ids:
            mark = cat.begin_change()
            for start in range(0, len(ids), READ_PAGE):
                self.collection.delete(ids=ids[start : start + READ_PAGE])
            generation = uuid.uuid4().hex
            cat.apply(remove=ids, add=[], generation=generation, mark=mark)
            self._set_generation(generation)
        return paths, len(ids)

    def document_count(self) -> int:
        return self._in_step().document_count()

    def districts(self) -> list[str]:
        return sorted(self._places())

    def bodies(self, district: str) -> set[str]:
        """The bodies (人大 / 政协) whose work the index reports for a district."""
        return set(self._places().get(district, ()))

    def _places(self) -> dict[str, set[str]]:
        return self._cached("places", lambda: self.catalog.places())


_NOT_TEXT = re.compile(r"\s+")  # after NFKC; \s takes the ideographic space too


@contextlib.contextmanager
def _stderr_muted():
    """File descriptor 2 sent to /dev/null meanwhile (what a library's native code writes there included)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedding app): nothing to mute
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _same_text(text: str) -> str:
    """What makes two paragraphs the same text: their characters, whitespace and width aside."""
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text))


def _langchain_embeddings(embedder):
    """LangChain's `Embeddings` for the store's model (tests pass one directly)."""
    from vectorstore.embedding import Embedder
    from vectorstore.langchain_embeddings import EmbedderEmbeddings

    return EmbedderEmbeddings(embedder) if isinstance(embedder, Embedder) else embedder
