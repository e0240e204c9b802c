"""The catalog: every chunk's text and metadata in SQLite beside Chroma, and the indexes a question reads.

Chroma holds the vectors and stays the source of truth; the catalog is derived from it and kept in step by
ingest, one transaction per change, so that nothing a question needs is read or computed for the whole store:

- `postings`/`terms`: BM25 over jieba tokens, scored as bm25s' Lucene variant (k1 1.5, b 0.75); adding or
  removing a chunk touches only the posting blocks of its own terms.
- `grams` (FTS5): every character and character pair of each paragraph and title, for "how many paragraphs
  hold this string" (a substring count, which the answerer's word weights use) without scanning any text.
- `places`/`named`: the districts, the bodies reported in each, every place named, with counts so that a
  removal takes its names away.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np

from vectorstore.keyword import tokenize
from vectorstore.script import simplified
from vectorstore.types import Chunk

K1 = 1.5
B = 0.75
SCHEMA = 2
# A term's postings are stored in blocks of this many (chunk rowid, tf, length) records: a common term is read
# in a few hundred rows instead of one per chunk, and a change rewrites only the blocks it touches.
BLOCK = 512
_POSTING = np.dtype([("chunk", "<i8"), ("tf", "<i4"), ("length", "<i4")])
# Columns of `chunks` a search filter can name; any other key is read from the metadata JSON.
_COLUMNS = {"source", "path", "district", "body", "title"}

_DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, path TEXT NOT NULL,
    start INTEGER NOT NULL, district TEXT NOT NULL, body TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    meta TEXT NOT NULL, length INTEGER NOT NULL, terms TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source, start, id);
CREATE INDEX IF NOT EXISTS chunks_district ON chunks(district);
CREATE TABLE IF NOT EXISTS terms(id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS postings(term INTEGER NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY(term, block)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS places(district TEXT NOT NULL, body TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(district, body)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS named(place TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS grams USING fts5(tb, hb, tu, hu, content='', tokenize='ascii');
CREATE VIRTUAL TABLE IF NOT EXISTS grams_vocab USING fts5vocab(grams, 'col');
"""


def _char(c: str) -> str:
    return f"{ord(c):06x}"


def _bigrams(text: str) -> list[str]:
    """The string as overlapping character pairs, each an ASCII token: a phrase of them is a substring. Traditional
    characters count as their Simplified forms (vectorstore.script), so a word is found in either script."""
    text = simplified(text)
    return [_char(a) + _char(b) for a, b in zip(text, text[1:], strict=False)]


def _unigrams(text: str) -> list[str]:
    return sorted({_char(c) for c in simplified(text)})


def _grams_row(c: Chunk) -> tuple[str, str, str, str]:
    return (" ".join(_bigrams(c.text)), " ".join(_bigrams(c.title)), " ".join(_unigrams(c.text)),
            " ".join(_unigrams(c.title)))


def keyword_text(c: Chunk) -> str:
    """What BM25 sees: the paragraph plus its labels, so "西工区" finds a paragraph that says only "区"."""
    return " ".join(x for x in (c.district, c.body, c.section, c.text) if x)


def chunk_from(id: str, text: str, meta: dict) -> Chunk:
    known = {f.name for f in fields(Chunk)}
    return Chunk(id=id, text=text, **{k: v for k, v in meta.items() if k in known})


def meta_key(meta: dict) -> str:
    """A chunk's metadata as one comparable string (Chroma hands back what it was given, in any key order)."""
    return json.dumps(chunk_from("", "", meta or {}).metadata(), ensure_ascii=False, sort_keys=True)


def damaged(exc: BaseException) -> bool:
    """Whether an SQLite error says the file is not a database or is corrupt (rather than busy or locked)."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT")


class Catalog:
    """One SQLite file; a connection per thread (WAL: questions read while an ingest writes)."""

    def __init__(self, path: Path, built_with: str) -> None:
        self.path = path
        self.built_with = f"{SCHEMA}:{built_with}"  # the schema and tokenizer: another one starts over
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ready = False

    # -- connection ------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            with self._lock:
                try:
                    db = self._open()
                except sqlite3.DatabaseError as exc:
                    if not damaged(exc):
                        raise
                    self.discard()  # derived data: start over, and catch up with Chroma
                    db = self._open()
            self._local.db = db
        return db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if not self._ready:
                tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "meta" in tables and self._get(db, "built_with") != self.built_with:
                    self._drop(db)  # another version's catalog: rebuilt from Chroma
                db.executescript(_DDL)
                if self._get(db, "built_with") != self.built_with:  # a new catalog: its tables are empty
                    db.executemany("INSERT OR REPLACE INTO meta VALUES(?, ?)",
                                   [("built_with", self.built_with), ("generation", ""), ("chunks", "0"), ("tokens", "0")])
                self._ready = True
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _drop(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        for kind in ("CREATE VIRTUAL TABLE%", "%"):  # a full-text table first: it drops its own shadow tables
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                      "AND sql LIKE ?", (kind,)).fetchall():
                db.execute(f'DROP TABLE IF EXISTS "{name}"')
        db.execute("COMMIT")

    def discard(self) -> None:
        """Delete the catalog's files (it is rebuilt from Chroma on next use)."""
        self.close()
        self._ready = False
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    @staticmethod
    def _get(db: sqlite3.Connection, key: str, default: str = "") -> str:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- state -------------------------------------------------------------
    def generation(self) -> str:
        """The store generation the catalog reflects ("" when it does not know)."""
        return self._get(self._db(), "generation")

    def clean(self) -> bool:
        """No change was left half done (a killed ingest leaves its mark)."""
        return self._db().execute("SELECT count(*) FROM meta WHERE key LIKE 'dirty:%'").fetchone()[0] == 0

    def begin_change(self) -> str:
        """Mark a change under way before Chroma is written; `apply` with the mark clears it."""
        mark = uuid.uuid4().hex
        self._db().execute("INSERT INTO meta VALUES(?, '1')", (f"dirty:{mark}",))
        return mark

    def count(self) -> int:
        return int(self._get(self._db(), "chunks", "0"))

    # -- writing -----------------------------------------------------------
    def apply(self, remove: Iterable[str], add: Iterable[Chunk], generation: str, mark: str | None = None,
              clear_marks: bool = False) -> None:
        """Remove chunks by id and add (or replace) chunks, in one transaction that also records the generation."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = int(self._get(db, "chunks", "0"))
            total = int(self._get(db, "tokens", "0"))
            add = list({c.id: c for c in add}.values())  # one id once: the last version given
            removed, tokens = self._remove(db, {*remove, *(c.id for c in add)})
            n -= removed
            total -= tokens
            total += self._add(db, add)
            n += len(add)
            db.executemany("INSERT OR REPLACE INTO meta VALUES(?, ?)",
                           [("chunks", str(n)), ("tokens", str(total)), ("generation", generation)])
            if mark:
                db.execute("DELETE FROM meta WHERE key = ?", (f"dirty:{mark}",))
            if clear_marks:
                db.execute("DELETE FROM meta WHERE key LIKE 'dirty:%'")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _add(self, db: sqlite3.Connection, chunks: list[Chunk]) -> int:
        """Insert chunks (not there yet) into every table, a statement per table and batch; their token count."""
        if not chunks:
            return 0
        tokens = [tokenize(keyword_text(c)) or [""] for c in chunks]  # an empty paragraph counts one, as in bm25s
        counts = [Counter(t) for t in tokens]
        vocab = list(set().union(*counts))
        db.executemany("INSERT OR IGNORE INTO terms(term, df) VALUES(?, 0)", [(t,) for t in vocab])
        term_id: dict[str, int] = {}
        for start in range(0, len(vocab), 500):
            part = vocab[start : start + 500]
            term_id.update(db.execute(f"SELECT term, id FROM terms WHERE term IN ({','.join('?' * len(part))})", part))  # noqa: S608
        new: dict[int, list[tuple[int, int, int]]] = {}  # term id -> (chunk rowid, tf, length) to append
        grams, rows = [], []
        for c, toks, tf in zip(chunks, tokens, counts, strict=True):
            row = db.execute("INSERT INTO chunks(id, source, path, start, district, body, title, text, meta, length, terms) "
                             "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                             (c.id, c.source, c.path, c.start, c.district, c.body, c.title, c.text,
                              json.dumps(c.metadata(), ensure_ascii=False, sort_keys=True), len(toks))).lastrowid
            rows.append(row)
            for t, k in tf.items():
                new.setdefault(term_id[t], []).append((row, k, len(toks)))
            grams.append((row, *_grams_row(c)))
        where: dict[int, list[str]] = {}  # chunk rowid -> "term:block" of each of its postings
        writes = []
        for tid, items in new.items():
            last = db.execute("SELECT block, data FROM postings WHERE term = ? ORDER BY block DESC LIMIT 1", (tid,)).fetchone()
            block, have = (last[0], np.frombuffer(last[1], dtype=_POSTING)) if last else (0, np.zeros(0, dtype=_POSTING))
            if len(have) >= BLOCK:
                block, have = block + 1, np.zeros(0, dtype=_POSTING)
            items = np.array(items, dtype=_POSTING)
            while len(items):
                room = BLOCK - len(have)
                part, items = items[:room], items[room:]
                writes.append((tid, block, np.concatenate([have, part]).tobytes()))
                for r in part["chunk"]:
                    where.setdefault(int(r), []).append(f"{tid}:{block}")
                block, have = block + 1, np.zeros(0, dtype=_POSTING)
        db.executemany("INSERT OR REPLACE INTO postings VALUES(?, ?, ?)", writes)
        db.executemany("UPDATE chunks SET terms = ? WHERE rowid = ?", [(" ".join(where.get(r, ())), r) for r in rows])
        db.executemany("UPDATE terms SET df = df + ? WHERE id = ?", [(len(items), tid) for tid, items in new.items()])
        db.executemany("INSERT INTO grams(rowid, tb, hb, tu, hu) VALUES(?, ?, ?, ?, ?)", grams)
        db.executemany("INSERT INTO places VALUES(?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                       [(d, b, k) for (d, b), k in Counter((c.district, c.body) for c in chunks).items()])
        db.executemany("INSERT INTO named VALUES(?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                       list(Counter(p for c in chunks for p in self._names(c)).items()))
        return sum(map(len, tokens))

    @staticmethod
    def _names(c: Chunk) -> set[str]:
        return {p for p in (c.district, *c.places.split(",")) if p}

    def _remove(self, db: sqlite3.Connection, ids: Iterable[str]) -> tuple[int, int]:
        """Take chunks out of every table; how many were there, and their token count."""
        gone: dict[tuple[int, int], set[int]] = {}  # (term, block) -> chunk rowids to drop from it
        df: Counter[int] = Counter()
        removed = tokens = 0
        for cid in ids:
            row = db.execute("SELECT rowid, text, meta, length, terms FROM chunks WHERE id = ?", (cid,)).fetchone()
            if row is None:
                continue
            rowid, text, meta, length, terms = row
            c = chunk_from(cid, text, json.loads(meta))
            for spot in terms.split():
                tid, block = map(int, spot.split(":"))
                gone.setdefault((tid, block), set()).add(rowid)
                df[tid] += 1
            db.execute("INSERT INTO grams(grams, rowid, tb, hb, tu, hu) VALUES('delete', ?, ?, ?, ?, ?)", (rowid, *_grams_row(c)))
            db.execute("UPDATE places SET n = n - 1 WHERE district = ? AND body = ?", (c.district, c.body))
            db.executemany("UPDATE named SET n = n - 1 WHERE place = ?", [(p,) for p in self._names(c)])
            db.execute("DELETE FROM chunks WHERE rowid = ?", (rowid,))
            removed += 1
            tokens += length
        for (tid, block), rowids in gone.items():
            data = np.frombuffer(db.execute("SELECT data FROM postings WHERE term = ? AND block = ?", (tid, block)).fetchone()[0],
                                 dtype=_POSTING)
            kept = data[~np.isin(data["chunk"], np.fromiter(rowids, dtype=np.int64))]
            if len(kept):
                db.execute("UPDATE postings SET data = ? WHERE term = ? AND block = ?", (kept.tobytes(), tid, block))
            else:
                db.execute("DELETE FROM postings WHERE term = ? AND block = ?", (tid, block))
        db.executemany("UPDATE terms SET df = df - ? WHERE id = ?", [(k, tid) for tid, k in df.items()])
        return removed, tokens

    # -- reading -----------------------------------------------------------
    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Chunk] = {}
        db = self._db()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, text, meta in db.execute(f"SELECT id, text, meta FROM chunks WHERE id IN ({marks})", part):  # noqa: S608
                out[cid] = chunk_from(cid, text, json.loads(meta))
        return out

    def of_path(self, path: str) -> dict[str, Chunk]:
        rows = self._db().execute("SELECT id, text, meta FROM chunks WHERE path = ?", (path,))
        return {cid: chunk_from(cid, text, json.loads(meta)) for cid, text, meta in rows}

    def paths_under(self, prefix: str) -> list[str]:
        """Paths of ingested files that start with `prefix` (a folder and its separator)."""
        rows = self._db().execute("SELECT DISTINCT path FROM chunks WHERE path >= ? AND path < ?",
                                  (prefix, prefix + "\U0010ffff"))
        return [p for (p,) in rows]

    def all(self) -> Iterator[Chunk]:
        """Every chunk in reading order (source, position): for listings and tests, not for questions."""
        rows = self._db().execute("SELECT id, text, meta FROM chunks ORDER BY source, start, id")
        for cid, text, meta in rows:
            yield chunk_from(cid, text, json.loads(meta))

    def sample_ids(self, n: int) -> list[str]:
        """Up to n chunk ids spread over the order they were added in (the first, the last and between)."""
        db = self._db()
        total = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if not total:
            return []
        spots = sorted({round(i * (total - 1) / max(n - 1, 1)) for i in range(min(n, total))})
        return [db.execute("SELECT id FROM chunks ORDER BY rowid LIMIT 1 OFFSET ?", (k,)).fetchone()[0] for k in spots]

    def ids(self) -> list[str]:
        return [cid for (cid,) in self._db().execute("SELECT id FROM chunks ORDER BY rowid")]

    @contextlib.contextmanager
    def snapshot(self):
        """This thread's reads meanwhile see the catalog as it is now (one SQLite read transaction: WAL keeps the
        version it began with, whatever another process commits)."""
        db = self._db()
        if db.in_transaction:  # inside a snapshot already (a batch's question)
            yield
            return
        db.execute("BEGIN")
        db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()  # the snapshot starts here
        try:
            yield
        finally:
            if db.in_transaction:
                db.execute("COMMIT")

    # -- repair --------------------------------------------------------------
    def repairing(self) -> bool:
        """A repair of the vector store began and has not ended (the catalog is then the one copy of the text)."""
        return bool(self._get(self._db(), "repair"))

    def set_repairing(self, on: bool) -> None:
        if on:
            self._db().execute("INSERT OR REPLACE INTO meta VALUES('repair', '1')")
        else:
            self._db().execute("DELETE FROM meta WHERE key = 'repair'")

    def metas(self) -> dict[str, str]:
        """Id -> metadata key (`meta_key`) of every chunk: what catching up with Chroma compares."""
        return {cid: meta for cid, meta in self._db().execute("SELECT id, meta FROM chunks")}

    def article_text(self, source: str) -> str:
        rows = self._db().execute("SELECT title, text FROM chunks WHERE source = ? ORDER BY start, id", (source,)).fetchall()
        if not rows:
            return ""
        return "\n".join(([rows[0][0]] if rows[0][0] else []) + [text for _, text in rows])

    def documents(self) -> list[dict]:
        """One dict per file: source, path, titles (in order), district (of its first chunk), bodies, chunks, and
        the outlet, date, reporter, origin and ingested time of its first chunk."""
        docs: dict[str, dict] = {}
        rows = self._db().execute("SELECT source, path, title, district, body, meta FROM chunks ORDER BY source, start, id")
        for source, path, title, district, body, meta in rows:
            key = path or source
            d = docs.get(key)
            if d is None:
                m = json.loads(meta)
                d = docs[key] = {"source": source, "path": key, "titles": [], "district": district, "bodies": set(),
                                 "chunks": 0, **{k: m.get(k) or "" for k in ("outlet", "date", "reporter", "origin", "ingested")}}
            if title and title not in d["titles"]:
                d["titles"].append(title)
            if body:
                d["bodies"].add(body)
            d["chunks"] += 1
        return [{**d, "bodies": sorted(d["bodies"])} for d in docs.values()]

    def paths_named(self, name: str) -> list[str]:
        """The files stored under this source name or path."""
        return [p for (p,) in self._db().execute("SELECT DISTINCT path FROM chunks WHERE source = ? OR path = ?", (name, name))]

    def document_count(self) -> int:
        return self._db().execute("SELECT count(DISTINCT path) FROM chunks").fetchone()[0]

    def places(self) -> dict[str, set[str]]:
        """District -> the bodies reported there."""
        out: dict[str, set[str]] = {}
        for district, body in self._db().execute("SELECT district, body FROM places WHERE n > 0 AND district != ''"):
            out.setdefault(district, set()).update({body} if body else set())
        return out

    def named(self) -> frozenset[str]:
        return frozenset(p for (p,) in self._db().execute("SELECT place FROM named WHERE n > 0"))

    def holding(self, text: str, titles: bool = False) -> int:
        """How many chunks hold `text` in their paragraph (or, with `titles`, in their paragraph or title); in
        either script, as the grams are indexed."""
        if not text:
            return 0
        text = simplified(text)
        db = self._db()
        if len(text) <= 2 and not titles:  # one term: its row count in the vocabulary
            col, term = ("tu", _char(text)) if len(text) == 1 else ("tb", _bigrams(text)[0])
            row = db.execute("SELECT doc FROM grams_vocab WHERE term = ? AND col = ?", (term, col)).fetchone()
            return row[0] if row else 0
        cols = ("tu", "hu") if len(text) == 1 else ("tb", "hb")
        cols = cols if titles else cols[:1]
        phrase = _char(text) if len(text) == 1 else " ".join(_bigrams(text))
        query = "{" + " ".join(cols) + "} : \"" + phrase + "\""
        return db.execute("SELECT count(*) FROM grams WHERE grams MATCH ?", (query,)).fetchone()[0]

    def bm25(self, tokens: list[str], k: int, where: dict[str, str | list[str]] | None = None) -> list[tuple[str, float]]:
        """The k best chunks for the tokens by BM25 (ties by age), only among those that match `where`."""
        db = self._db()
        n = int(self._get(db, "chunks", "0"))
        if not n or not tokens:
            return []
        avg = int(self._get(db, "tokens", "0")) / n
        weights: dict[int, tuple[float, int]] = {}  # term id -> (idf, times in the query)
        for t, times in Counter(tokens).items():
            row = db.execute("SELECT id, df FROM terms WHERE term = ?", (t,)).fetchone()
            if row is not None and row[1] > 0:
                weights[row[0]] = (math.log(1 + (n - row[1] + 0.5) / (row[1] + 0.5)), times)
        if not weights:
            return []
        chunk_parts, score_parts = [], []
        for tid, (idf, times) in weights.items():
            blocks = db.execute("SELECT data FROM postings WHERE term = ?", (tid,)).fetchall()
            got = np.frombuffer(b"".join(d for (d,) in blocks), dtype=_POSTING)
            tf, length = got["tf"].astype(np.float64), got["length"].astype(np.float64)
            score = (idf * tf / (tf + K1 * (1 - B + B * length / avg))).astype(np.float32)
            chunk_parts.append(got["chunk"])
            score_parts.append(score * np.float32(times))
        chunks = np.concatenate(chunk_parts)
        low = int(chunks.min())
        present = np.bincount(chunks - low) > 0
        scores = np.bincount(chunks - low, weights=np.concatenate(score_parts))[present].astype(np.float32)
        rows = np.flatnonzero(present) + low
        if where:
            keep = np.isin(rows, self._matching(db, where))
            rows, scores = rows[keep], scores[keep]
        if len(scores) > k:  # only what can make the top k (ties at the k-th score included) is sorted
            floor = np.partition(scores, len(scores) - k)[len(scores) - k]
            rows, scores = rows[scores >= floor], scores[scores >= floor]
        order = np.lexsort((rows, -scores))[:k]
        top = [(int(rows[i]), float(scores[i])) for i in order if scores[i] > 0]
        if not top:
            return []
        marks = ",".join("?" * len(top))
        ids = dict(db.execute(f"SELECT rowid, id FROM chunks WHERE rowid IN ({marks})", [r for r, _ in top]))  # noqa: S608
        return [(ids[r], s) for r, s in top if r in ids]

    def ids_matching(self, where: dict[str, str | list[str]], limit: int = -1) -> list[str]:
        """The ids of the chunks that match a search filter (`{"district": "某区"}`, a list for any of several);
        at most `limit` of them (-1: all)."""
        clause, args = _where(where)
        rows = self._db().execute(f"SELECT id FROM chunks WHERE {clause} LIMIT ?", [*args, limit])  # noqa: S608
        return [cid for (cid,) in rows]

    @staticmethod
    def _matching(db: sqlite3.Connection, where: dict[str, str | list[str]]) -> np.ndarray:
        clause, args = _where(where)
        rows = db.execute(f"SELECT rowid FROM chunks WHERE {clause}", args)  # noqa: S608
        return np.fromiter((r for (r,) in rows), dtype=np.int64)


def _where(where: dict[str, str | list[str]]) -> tuple[str, list[str]]:
    """A search filter as an SQL condition on `chunks` and its arguments."""
    clauses, args = [], []
    for key, want in where.items():
        values = [want] if isinstance(want, str) else list(want)
        column = key if key in _COLUMNS else None
        if column is None:
            if not key.isidentifier():
                raise ValueError(f"cannot filter on {key!r}")
            column = f"json_extract(meta, '$.{key}')"
        clauses.append(f"{column} IN ({','.join('?' * len(values))})")
        args += values
    return " AND ".join(clauses), args
