"""Sentences of a paragraph, and each sentence's own vector (the answerer's sentence-level similarity).

Retrieval finds paragraphs; which sentence of them answers is the answerer's choice (rag.extract). One feature of
that choice is the cosine between the question and the sentence embedded on its own: it matches paraphrases that
share few words with the question ("种子有什么特点?" -> "种子宽卵形，…"). Measured on the untouched split of
the public sets (evals/fit.py), it lifts the right sentence from 0.77 to 0.81 (CMRC) and near-miss refusals
from 0.68 to 0.71 (CMRC) and 0.75 to 0.81 (DRCD).

Embedding 40 candidate sentences at question time costs ~0.6 s on two cores, so ingest embeds every sentence
once and keeps the vectors in a small SQLite file beside the catalog, keyed by a hash of the sentence text:
content-addressed, so an entry is never stale, only possibly missing (a store from an earlier version, chunks
another client added to a Chroma server); a missing one is embedded when a question first needs it and kept.
Vectors are stored as int8 (unit vectors times 127): 384 bytes a sentence, cosine 0.994-0.9998 with float32.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_SENTENCE = re.compile(r"[^。!?;！？；]+(?:[。!?;！？；]+[”」』\"]?|$)")
SCALE = 127.0
# Sentence vectors a process keeps in memory (about 1.5 KB each as float32).
MEMORY = 20_000
# At question time a write waits at most this long for an ingest that holds the file (then the vectors are
# only kept in memory).
WRITE_WAIT_S = 0.2
EMBED_BATCH = 64


def sentences(text: str) -> list[str]:
    """The text's sentences (ending at 。!?; or the text's end, a closing quote kept with its sentence)."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def key(sentence: str) -> bytes:
    return hashlib.blake2b(sentence.encode("utf-8"), digest_size=16).digest()


def _quantized(m: np.ndarray) -> np.ndarray:
    """Unit vectors as stored: int8, times SCALE."""
    return np.round(m * SCALE).clip(-127, 127).astype(np.int8)


class SentenceVectors:
    """Unit vectors of sentences, embedded as passages by the store's model; one SQLite file per store and model."""

    def __init__(self, path: Path, embedder) -> None:
        self.path = path
        self.embedder = embedder
        self._local = threading.local()
        self._memory: dict[bytes, np.ndarray] = {}
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS vectors(key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")
                db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            except sqlite3.DatabaseError:
                db.close()
                # derived data: a damaged file is started over (its vectors are embedded again as needed)
                for suffix in ("", "-wal", "-shm"):
                    Path(str(self.path) + suffix).unlink(missing_ok=True)
                return self._db()
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- reading -------------------------------------------------------------
    def _rows(self, columns: str, keys: Sequence[bytes]) -> list[tuple]:
        """`columns` of the stored rows whose key is one of `keys` ([] when the file cannot be read: the vectors are
        embedded again)."""
        out: list[tuple] = []
        try:
            db = self._db()
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                out += db.execute(f"SELECT {columns} FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)  # noqa: S608
        except sqlite3.DatabaseError:
            return []
        return out

    def _stored(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        return {k: np.frombuffer(blob, dtype=np.int8).astype(np.float32) / SCALE for k, blob in self._rows("key, vec", keys)}

    def _have(self, keys: Sequence[bytes]) -> set[bytes]:
        """Which of the keys are stored (their vectors not read)."""
        return {k for (k,) in self._rows("key", keys)}

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' vectors (len(texts) x dim, float32), embedding and keeping the ones not stored yet."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [key(t) for t in texts]
        with self._lock:
            found = {k: self._memory[k] for k in keys if k in self._memory}
        wanted = [k for k in dict.fromkeys(keys) if k not in found]
        if wanted:
            found.update(self._stored(wanted))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            expect = getattr(self.embedder, "expect", None)
            if expect:  # a few sentences go through the fast engine, without loading torch into a question
                expect(len(missing))
            vecs = self._embed(list(missing.values()))
            found.update(zip(missing, vecs, strict=True))
            self._put(list(zip(missing, vecs, strict=True)), wait_s=WRITE_WAIT_S)
        with self._lock:
            if len(self._memory) > MEMORY:
                self._memory.clear()
            self._memory.update((k, found[k]) for k in keys)
        return np.stack([found[k] for k in keys])

    # -- writing -------------------------------------------------------------
    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), EMBED_BATCH):
            m = np.asarray(self.embedder.embed_documents(texts[start : start + EMBED_BATCH]), dtype=np.float32)
            m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
            # as stored: the same vector whether it was just embedded or read back
            out += list(_quantized(m).astype(np.float32) / SCALE)
        return out

    def _put(self, items: list[tuple[bytes, np.ndarray]], wait_s: float = 60.0) -> None:
        rows = [(k, _quantized(v).tobytes()) for k, v in items]
        try:
            db = self._db()
            db.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
            try:
                db.executemany("INSERT OR IGNORE INTO vectors VALUES(?, ?)", rows)
            finally:
                db.execute("PRAGMA busy_timeout = 60000")
        except sqlite3.OperationalError:
            pass  # busy (an ingest writes) or read-only: kept in memory, stored by a later question or ingest

    def put(self, texts: Sequence[str], vectors) -> None:
        """Store vectors computed elsewhere (unit vectors, one per text)."""
        self._put([(key(t), np.asarray(v, dtype=np.float32)) for t, v in zip(texts, vectors, strict=True)])

    def add(self, paragraphs: Iterable[str], progress=None) -> int:
        """Embed and store every sentence of the paragraphs that is not stored yet (ingest); how many were new."""
        texts = list(dict.fromkeys(s for p in paragraphs for s in sentences(p)))
        keys = [key(t) for t in texts]
        have = self._have(keys)
        todo = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in have]
        for start in range(0, len(todo), 512):
            part = todo[start : start + 512]
            if progress:
                progress(start + len(part), len(todo), "embedding sentences")
            self._put(list(zip([k for k, _ in part], self._embed([t for _, t in part]), strict=True)))
        return len(todo)

    def filled(self) -> str:
        """The store generation whose every sentence was stored ("" when not known)."""
        try:
            row = self._db().execute("SELECT value FROM meta WHERE key = 'filled'").fetchone()
        except sqlite3.DatabaseError:
            return ""
        return row[0] if row else ""

    def mark_filled(self, generation: str) -> None:
        self._db().execute("INSERT OR REPLACE INTO meta VALUES('filled', ?)", (generation,))

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM vectors").fetchone()[0])


__all__ = ["SentenceVectors", "key", "sentences"]
