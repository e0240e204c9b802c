"""The index: chunks in Chroma plus a BM25 keyword index derived from them; hybrid search.

Chroma is used through its own client: LangChain's `Chroma` wrapper (`Index.vectorstore`, for LangChain apps)
imports langchain_core's runnables and langsmith, ~0.45 s that a one-shot question cannot afford.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from vectorstore.chunking import CHUNKER, chunk_document
from vectorstore.errors import StoreError, first_line, mask_url, scrub
from vectorstore.keyword import KeywordIndex, tokenize
from vectorstore.reading import UnreadableFile, discover, read_source
from vectorstore.types import Chunk, Hit

RRF_K = 60
ADD_BATCH = 64
# Hits of one document before the other documents' hits come first (measured: 4 changes no eval figure, 3 costs
# one wide-set answer).
PER_DOCUMENT = 4
# Rows per `get`: Chroma 1.5 refuses a read of more than 32,766 rows at once ("too many SQL variables").
READ_PAGE = 5000
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


def _chunk_from(id: str, text: str, meta: dict) -> Chunk:
    known = {f.name for f in fields(Chunk)}
    return Chunk(id=id, text=text, **{k: v for k, v in meta.items() if k in known})


def _collection_name(model: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in Path(model).name.lower())[:40].strip("-")
    return f"chunks-{slug}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


class Index:
    """Chroma is the source of truth; the keyword index is rebuilt from it whenever they differ."""

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
        self._snapshot: Snapshot | None = None

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
                else:
                    (self.home / "chroma").mkdir(parents=True, exist_ok=True)
                    client = chromadb.PersistentClient(path=str(self.home / "chroma"), settings=chroma_settings)
                self._client = client
                self._collection = client.get_or_create_collection(
                    self.collection_name, embedding_function=None, metadata={"hnsw:space": "cosine"})
            except Exception as exc:
                why = scrub(first_line(exc), self.chroma_url)
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

    def _bump_generation(self) -> None:
        import uuid

        with self._generation_lock:  # a question's refresh() never sees the new value before we own it
            self._generation = uuid.uuid4().hex
            self._state().modify(metadata={"generation": self._generation})

    def refresh(self, every_s: float = 1.0) -> bool:
        """Catch up with changes another process made (`rag ingest` beside a running UI): at most every
        `every_s` seconds, compare the store's generation with ours; if it moved, reopen and reload.

        An embedded Chroma keeps its vector index in memory and does not see vectors another process added
        (and then fails on their ids), so it is reopened; a Chroma server is always current.
        """
        now = time.monotonic()
        if self._collection is None or now - self._checked < every_s:
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
        self._snapshot = None
        self._generation = None
        return True

    def snapshot(self) -> Snapshot:
        """The chunks as last read (read now if not yet). One object per state of the store, replaced whole: a
        question reads one snapshot while an ingest builds the next beside it."""
        snap = self._snapshot
        if snap is None:
            if self._generation is None:
                self._generation = self.generation()  # read before the chunks: a change meanwhile shows next time
            chunks: dict[str, Chunk] = {}
            offset = 0
            while True:
                got = self.collection.get(include=["documents", "metadatas"], limit=READ_PAGE, offset=offset)
                chunks.update((i, _chunk_from(i, d, m or {}))
                              for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True))
                if len(got["ids"]) < READ_PAGE:
                    break
                offset += READ_PAGE
            snap = self._snapshot = Snapshot(chunks)
        return snap

    def _load(self) -> dict[str, Chunk]:
        return self.snapshot().chunks

    def document_frequency(self, text: str) -> int:
        """How many chunks hold the text (in their paragraph or title)."""
        return sum(1 for c in self._load().values() if text in c.text or text in c.title)

    def article_text(self, source: str) -> str:
        """The title and every paragraph of one article, in order (built on first ask, once per change)."""
        return self.snapshot().articles().get(source, "")

    def place_names(self) -> frozenset[str]:
        """Every place the index's chunks are about or name."""
        return self.snapshot().named

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency (substring occurrence in chunk texts), cached per token."""
        snap = self.snapshot()
        n = max(len(snap.chunks), 1)
        for t in set(tokens) - set(snap.idf):
            if t:
                df = sum(1 for c in snap.chunks.values() if t in c.text)
                snap.idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return snap.idf

    @property
    def chunks(self) -> list[Chunk]:
        snap = self.snapshot()
        return [snap.chunks[i] for i in snap.order]

    def count(self) -> int:
        return len(self._load())

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index of the current snapshot: from disk if it matches, rebuilt and saved otherwise."""
        return self._keyword_of(self.snapshot())

    def _keyword_of(self, snap: Snapshot) -> KeywordIndex:
        with snap.lock:
            if snap.keyword is None:
                folder = self.home / "keyword"
                meta = folder / "index.json"
                fp = snap.fingerprint()
                if meta.is_file():
                    try:
                        saved = json.loads(meta.read_text())
                        if isinstance(saved, dict) and saved.get("fingerprint") == fp and saved.get("ids") == snap.order:
                            snap.keyword = KeywordIndex.load(folder / "bm25", snap.order)
                            return snap.keyword
                    except (OSError, ValueError):
                        pass  # unreadable or stale: rebuild below
                keyword = KeywordIndex(snap.order, [tokenize(_keyword_text(snap.chunks[i])) for i in snap.order])
                self._save_keyword(keyword, snap.order, fp)
                snap.keyword = keyword
            return snap.keyword

    def _save_keyword(self, keyword: KeywordIndex, order: list[str], fp: str) -> None:
        """Write to a temp folder and swap it in, so a crash leaves the old index or the new one."""
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".keyword.", dir=self.home))
        try:
            if order:
                keyword.save(tmp / "bm25")
            (tmp / "index.json").write_text(json.dumps({"fingerprint": fp, "ids": order}))
            final = self.home / "keyword"
            old = self.home / ".keyword.old"
            shutil.rmtree(old, ignore_errors=True)
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

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
        current = dict(self._load())
        by_path: dict[str, set[str]] = {}
        for cid, c in current.items():
            by_path.setdefault(c.path, set()).add(cid)

        new_chunks: list[Chunk] = []
        delete: set[str] = set()
        updates: list[Chunk] = []
        unchanged = 0
        seen_paths: set[str] = set()
        for n, f in enumerate(files, 1):
            if progress:
                progress(n, len(files), f"reading {f.name}")
            try:
                src = read_source(f)
            except UnreadableFile as exc:
                skipped.append((str(f), str(exc)))
                continue
            seen_paths.add(str(f))
            old_ids = by_path.get(str(f), set())
            if old_ids and all(current[i].file_hash == src.sha256 and current[i].chunker == CHUNKER
                               and current[i].file_chunks == len(old_ids) for i in old_ids):
                unchanged += len(old_ids)  # same text, same chunker, all its chunks stored: nothing to do
                continue
            origin = origin_of(f) if origin_of else "file"
            first = min((current[i].ingested for i in old_ids if current[i].ingested), default=now)
            chunks = [replace(c, origin=origin, ingested=first) for c in chunk_document(src.text, f.name, str(f), src.sha256)]
            if not chunks:
                skipped.append((str(f), "no article paragraphs found"))
            new_ids = {c.id for c in chunks}
            delete |= old_ids - new_ids
            for c in chunks:
                if c.id in old_ids:
                    unchanged += 1
                    if current[c.id].metadata() != c.metadata():
                        updates.append(c)
                else:
                    new_chunks.append(c)
        # Files gone from an ingested folder.
        for folder in (p for p in paths if p.is_dir()):
            prefix = str(folder) + os.sep
            for path, ids in by_path.items():
                if path.startswith(prefix) and path not in seen_paths and not Path(path).exists():
                    delete |= ids

        collection = self.collection
        if delete:
            collection.delete(ids=sorted(delete))
            for cid in delete:
                current.pop(cid, None)
        for c in updates:
            collection.update(ids=[c.id], metadatas=[c.metadata()])
            current[c.id] = c
        for start in range(0, len(new_chunks), ADD_BATCH):
            batch = new_chunks[start : start + ADD_BATCH]
            if progress:
                progress(start + len(batch), len(new_chunks), "embedding")
            texts = [c.text for c in batch]
            collection.upsert(ids=[c.id for c in batch], embeddings=self.embedder.embed_documents(texts),
                              documents=texts, metadatas=[c.metadata() for c in batch])
            for c in batch:
                current[c.id] = c
        snap = Snapshot(current)
        changed = bool(new_chunks or delete or updates)
        if changed or not (self.home / "keyword" / "index.json").is_file():
            self._keyword_of(snap)  # rebuilt and saved now, before questions see the new chunks
        if changed:
            self._bump_generation()
        self._snapshot = snap
        return IngestReport(added=len(new_chunks), unchanged=unchanged, removed=len(delete), updated=len(updates),
                            chunks=len(current), files=len(seen_paths), skipped=skipped)

    # -- search ----------------------------------------------------------
    @staticmethod
    def _mask(snap: Snapshot, where: dict[str, str | list[str]] | None) -> np.ndarray | None:
        if not where:
            return None
        ok = np.ones(len(snap.order), dtype=bool)
        for key, want in where.items():
            allowed = {want} if isinstance(want, str) else set(want)
            ok &= np.array([getattr(snap.chunks[i], key) in allowed for i in snap.order], dtype=bool)
        return ok

    def dense(self, query: str, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        if not self._load():
            return []
        flt = None
        if where:
            clauses = [{key: {"$in": [v] if isinstance(v, str) else list(v)}} for key, v in where.items()]
            flt = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        vec = self.embedder.embed_query(query)
        found = self.collection.query(query_embeddings=[vec], n_results=k, where=flt, include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(found["ids"][0], found["distances"][0], strict=True)]

    def sparse(self, query: str, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        snap = self.snapshot()  # the keyword index, the mask and the ids of one and the same state
        if not snap.chunks:
            return []
        # Every chunk that passes the filter carries its value ("西工区") in its keyword text; scoring that
        # word again would rank all of them alike and drown the words that tell them apart.
        values = [v for want in (where or {}).values() for v in ([want] if isinstance(want, str) else want)]
        drop = frozenset(t for v in values for t in tokenize(str(v)))
        scores = self._keyword_of(snap).scores(query, self._mask(snap, where), drop)
        top = np.argsort(-scores)[:k]
        return [(snap.order[i], float(scores[i])) for i in top if scores[i] > 0]

    def search(self, query: str, k: int = 5, where: dict | None = None, mode: str = "hybrid",
               keyword_query: str | None = None, candidates: int = 30) -> list[Hit]:
        """Dense and BM25 results fused by reciprocal rank; `mode` dense or bm25 for one of them alone."""
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown search mode {mode!r}; use hybrid, dense or bm25")
        chunks = self._load()
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
        docs: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            docs.setdefault(c.path or c.source, []).append(c)
        out = []
        for path, cs in sorted(docs.items(), key=lambda kv: kv[1][0].source):
            titles = list(dict.fromkeys(c.title for c in cs if c.title))
            bodies = sorted({c.body for c in cs if c.body})
            out.append(DocumentInfo(cs[0].source, path, " / ".join(titles), cs[0].district, "、".join(bodies), len(cs)))
        return out

    def districts(self) -> list[str]:
        return sorted(self.snapshot().places)

    def bodies(self, district: str) -> set[str]:
        """The bodies (人大 / 政协) whose work the index reports for a district."""
        return set(self.snapshot().places.get(district, ()))


class Snapshot:
    """The store's chunks at one moment and the tables derived from them, built once per change."""

    def __init__(self, chunks: dict[str, Chunk]) -> None:
        self.chunks = chunks
        self.order = sorted(chunks, key=lambda i: (chunks[i].source, chunks[i].start, i))
        self.keyword: KeywordIndex | None = None  # built or loaded on first need (Index._keyword_of)
        self.lock = threading.Lock()  # one thread builds the keyword index; the others wait for it
        self.idf: dict[str, float] = {}
        self._articles: dict[str, str] | None = None
        # district -> bodies reported there, and every place named; asked on every question.
        self.places: dict[str, set[str]] = {}
        named: set[str] = set()
        for c in chunks.values():
            if c.district:
                self.places.setdefault(c.district, set()).update({c.body} if c.body else set())
                named.add(c.district)
            named.update(p for p in c.places.split(",") if p)
        self.named = frozenset(named)

    def articles(self) -> dict[str, str]:
        """Source -> its title and every paragraph, in order (one pass builds them all, on first need)."""
        if self._articles is None:
            grouped: dict[str, list[str]] = {}
            for i in self.order:
                c = self.chunks[i]
                grouped.setdefault(c.source, [c.title] if c.title else []).append(c.text)
            self._articles = {src: "\n".join(texts) for src, texts in grouped.items()}
        return self._articles

    def fingerprint(self) -> str:
        """Ids in order and the text BM25 sees for each: a metadata-only update (new section) changes it too."""
        h = hashlib.sha1()
        for i in self.order:
            h.update(f"{i}\0{_keyword_text(self.chunks[i])}\n".encode())
        return h.hexdigest()


_NOT_TEXT = re.compile(r"\s+")  # after NFKC; \s takes the ideographic space too


def _same_text(text: str) -> str:
    """What makes two paragraphs the same text: their characters, whitespace and width aside."""
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text))


def _keyword_text(c: Chunk) -> str:
    """What BM25 sees: the paragraph plus its labels, so "西工区" finds a paragraph that says only "区"."""
    return " ".join(x for x in (c.district, c.body, c.section, c.text) if x)


def _langchain_embeddings(embedder):
    """LangChain's `Embeddings` for the store's model (tests pass one directly)."""
    as_langchain = getattr(embedder, "as_langchain", None)
    return as_langchain() if as_langchain else embedder
