"""The index: chunks in Chroma plus a BM25 keyword index derived from them; hybrid search.

Chroma is used through its own client: LangChain's `Chroma` wrapper (`Index.vectorstore`, for LangChain apps)
imports langchain_core's runnables and langsmith, ~0.45 s that a one-shot question cannot afford.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from vectorstore.chunking import CHUNKER, chunk_document
from vectorstore.keyword import KeywordIndex, tokenize
from vectorstore.reading import UnreadableFile, discover, read_source
from vectorstore.types import Chunk, Hit

RRF_K = 60
ADD_BATCH = 64
# Rows per `get`: Chroma 1.5 refuses a read of more than 32,766 rows at once ("too many SQL variables").
READ_PAGE = 5000
Progress = Callable[[int, int, str], None]


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


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
        self._chunks: dict[str, Chunk] | None = None
        self._order: list[str] = []
        self._keyword: KeywordIndex | None = None

    # -- opening ---------------------------------------------------------
    @property
    def location(self) -> str:
        return self.chroma_url or str(self.home / "chroma")

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
                raise StoreError(f"cannot open the Chroma store at {self.location}: {exc}") from exc
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

    def _load(self) -> dict[str, Chunk]:
        if self._chunks is None:
            chunks: dict[str, Chunk] = {}
            offset = 0
            while True:
                got = self.collection.get(include=["documents", "metadatas"], limit=READ_PAGE, offset=offset)
                chunks.update((i, _chunk_from(i, d, m or {}))
                              for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True))
                if len(got["ids"]) < READ_PAGE:
                    break
                offset += READ_PAGE
            self._set_chunks(chunks)
        return self._chunks

    def _set_chunks(self, chunks: dict[str, Chunk]) -> None:
        self._chunks = chunks
        self._order = sorted(chunks, key=lambda i: (chunks[i].source, chunks[i].start, i))
        self._keyword = None
        self._idf: dict[str, float] = {}
        # district -> bodies reported there, and every place named; asked on every question, so derived once per change.
        self._places: dict[str, set[str]] = {}
        named: set[str] = set()
        self._articles: dict[str, str] = {}
        for c in chunks.values():
            if c.district:
                self._places.setdefault(c.district, set()).update({c.body} if c.body else set())
                named.add(c.district)
            named.update(p for p in c.places.split(",") if p)
        self._named = frozenset(named)

    def document_frequency(self, text: str) -> int:
        """How many chunks hold the text (in their paragraph or title)."""
        return sum(1 for c in self._load().values() if text in c.text or text in c.title)

    def article_text(self, source: str) -> str:
        """The title and every paragraph of one article, in order (built on first ask, once per change)."""
        chunks = self.chunks  # loads, and resets the articles on a change
        if not self._articles:  # one pass builds every article
            grouped: dict[str, list[str]] = {}
            for c in chunks:
                grouped.setdefault(c.source, [c.title] if c.title else []).append(c.text)
            self._articles = {src: "\n".join(texts) for src, texts in grouped.items()}
        return self._articles.get(source, "")

    def place_names(self) -> frozenset[str]:
        """Every place the index's chunks are about or name."""
        self._load()
        return self._named

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency (substring occurrence in chunk texts), cached per token."""
        chunks = self._load()
        n = max(len(chunks), 1)
        for t in set(tokens) - set(self._idf):
            if t:
                df = sum(1 for c in chunks.values() if t in c.text)
                self._idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf

    @property
    def chunks(self) -> list[Chunk]:
        c = self._load()
        return [c[i] for i in self._order]

    def count(self) -> int:
        return len(self._load())

    def _fingerprint(self) -> str:
        """Ids in order and the text BM25 sees for each: a metadata-only update (new section) changes it too."""
        chunks = self._load()
        h = hashlib.sha1()
        for i in self._order:
            h.update(f"{i}\0{_keyword_text(chunks[i])}\n".encode())
        return h.hexdigest()

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index on disk if it matches Chroma's contents; rebuilt and saved otherwise."""
        if self._keyword is None:
            chunks = self._load()
            folder = self.home / "keyword"
            meta = folder / "index.json"
            fp = self._fingerprint()
            if meta.is_file():
                try:
                    saved = json.loads(meta.read_text())
                    if isinstance(saved, dict) and saved.get("fingerprint") == fp and saved.get("ids") == self._order:
                        self._keyword = KeywordIndex.load(folder / "bm25", self._order)
                        return self._keyword
                except (OSError, ValueError):
                    pass  # unreadable or stale: rebuild below
            self._keyword = KeywordIndex(self._order, [tokenize(_keyword_text(chunks[i])) for i in self._order])
            self._save_keyword(fp)
        return self._keyword

    def _save_keyword(self, fp: str) -> None:
        """Write to a temp folder and swap it in, so a crash leaves the old index or the new one."""
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".keyword.", dir=self.home))
        try:
            if self._order:
                self._keyword.save(tmp / "bm25")
            (tmp / "index.json").write_text(json.dumps({"fingerprint": fp, "ids": self._order}))
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
    def ingest(self, paths: Iterable[Path], progress: Progress | None = None) -> IngestReport:
        """Index files and folders incrementally; a re-run after a crash converges to a clean ingest."""
        paths = [Path(p).expanduser().resolve() for p in paths]
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
            chunks = chunk_document(src.text, f.name, str(f), src.sha256)
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
        self._set_chunks(current)
        if new_chunks or delete or updates or not (self.home / "keyword" / "index.json").is_file():
            _ = self.keyword  # rebuild and save now, not on the first search
        return IngestReport(added=len(new_chunks), unchanged=unchanged, removed=len(delete), updated=len(updates),
                            chunks=len(current), files=len(seen_paths), skipped=skipped)

    # -- search ----------------------------------------------------------
    def _mask(self, where: dict[str, str | list[str]] | None) -> np.ndarray | None:
        if not where:
            return None
        chunks = self._load()
        ok = np.ones(len(self._order), dtype=bool)
        for key, want in where.items():
            allowed = {want} if isinstance(want, str) else set(want)
            ok &= np.array([getattr(chunks[i], key) in allowed for i in self._order], dtype=bool)
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
        if not self._load():
            return []
        # Every chunk that passes the filter carries its value ("西工区") in its keyword text; scoring that
        # word again would rank all of them alike and drown the words that tell them apart.
        values = [v for want in (where or {}).values() for v in ([want] if isinstance(want, str) else want)]
        drop = frozenset(t for v in values for t in tokenize(str(v)))
        scores = self.keyword.scores(query, self._mask(where), drop)
        top = np.argsort(-scores)[:k]
        return [(self._order[i], float(scores[i])) for i in top if scores[i] > 0]

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
        ranked = sorted(fused, key=lambda c: -fused[c])[:k]
        return [Hit(chunk=chunks[c], score=fused[c], dense_rank=d_rank.get(c), keyword_rank=s_rank.get(c),
                    extra={"dense": d_score.get(c, 0.0), "bm25": s_score.get(c, 0.0)}) for c in ranked if c in chunks]

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
        self._load()
        return sorted(self._places)

    def bodies(self, district: str) -> set[str]:
        """The bodies (人大 / 政协) whose work the index reports for a district."""
        self._load()
        return set(self._places.get(district, ()))


def _keyword_text(c: Chunk) -> str:
    """What BM25 sees: the paragraph plus its labels, so "西工区" finds a paragraph that says only "区"."""
    return " ".join(x for x in (c.district, c.body, c.section, c.text) if x)


def _langchain_embeddings(embedder):
    """LangChain's `Embeddings` for the store's model (tests pass one directly)."""
    as_langchain = getattr(embedder, "as_langchain", None)
    return as_langchain() if as_langchain else embedder
