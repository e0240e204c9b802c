"""jieba's dictionary as a table that opens in milliseconds, for processes that segment a few sentences.

jieba keeps its dictionary (349k words and every prefix of them, ~500k keys) in a dict that it unmarshals from
its cache on first use: ~0.6 s, a third of a one-shot `rag ask`, which then looks up a few hundred keys. Here the
same keys and frequencies are written once (per jieba dictionary) as sorted 64-bit hashes and their values
(numpy files, ~6 MB in the model cache, read in ~3 ms) and looked up by binary search (~1.5 µs a key against a
dict's 0.2 µs); each answer is remembered, so a long-lived process pays it once per distinct string.

A process that segments a lot of new text (an ingest) pays the difference on every new string, so after
`SWITCH_AFTER` of them, about the cost of loading the dict, the table swaps jieba's own dict in: never more than
twice the better of the two choices made in hindsight. Segmentation is the same either way (tests/test_keyword.py pins it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

SWITCH_AFTER = 400_000  # ~0.5 s of table lookups, about what loading jieba's dict costs
_FORMAT = 1


def _key(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _dictionary_id() -> str:
    """jieba's version and its dictionary file's identity: a new jieba or dictionary makes a new table."""
    import jieba

    path = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    st = path.stat()
    return hashlib.sha1(f"{_FORMAT}:{jieba.__version__}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


class Lexicon:
    """The read side of jieba's `FREQ` dict (`in`, `[]`, `get`, assignment) over the hashed table."""

    def __init__(self, keys: np.ndarray, freqs: np.ndarray, tokenizer) -> None:
        self._keys = keys
        self._freqs = freqs
        self._added: dict[str, int] = {}  # jieba's add_word (the project's terms)
        self._seen: dict[str, int | None] = {}  # answers so far: a long-lived process reads the same words again
        self._tokenizer = tokenizer
        self._lookups = 0

    def _find(self, word: str) -> int | None:
        if word in self._seen:
            return self._seen[word]
        self._lookups += 1
        if self._lookups > SWITCH_AFTER:
            self._switch()
        key = _key(word)
        i = int(self._keys.searchsorted(np.int64(key)))
        found = int(self._freqs[i]) if i < len(self._keys) and int(self._keys[i]) == key else None
        self._seen[word] = found
        return found

    def _switch(self) -> None:
        """Give the tokenizer jieba's own dict (from jieba's cache) with the words added since."""
        import jieba

        full = jieba.Tokenizer()
        full.initialize()
        freq = full.FREQ
        freq.update(self._added)
        self._tokenizer.FREQ = freq
        self._lookups = -(1 << 62)  # this table is no longer the tokenizer's
        self._seen = {}

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self._find(word)
        if found is None:
            raise KeyError(word)
        return found

    def get(self, word: str, default=None):
        found = self._find(word)
        return default if found is None else found

    def __setitem__(self, word: str, freq: int) -> None:
        self._added[word] = freq
        self._seen[word] = freq


def _build(folder: Path) -> None:
    """Write the table of jieba's default dictionary into `folder` (atomically: a temp folder renamed)."""
    import jieba

    tok = jieba.Tokenizer()
    tok.initialize()
    items = sorted((_key(w), f) for w, f in tok.FREQ.items())
    keys = np.fromiter((k for k, _ in items), dtype=np.int64, count=len(items))
    if len(np.unique(keys)) != len(keys):  # a 64-bit collision among 500k keys: ~1e-8; refuse rather than guess
        raise RuntimeError("jieba dictionary hash collision")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".lexicon.", dir=folder.parent))
    try:
        np.save(tmp / "keys.npy", keys)
        np.save(tmp / "freqs.npy", np.fromiter((f for _, f in items), dtype=np.int32, count=len(items)))
        (tmp / "meta.json").write_text(json.dumps({"total": tok.total, "words": len(items)}))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # not another process that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tokenizer(cache_dir: Path):
    """A jieba Tokenizer on the default dictionary whose `FREQ` is the hashed table (built on first use).

    Falls back to jieba's own loading where the cache cannot be written or read.
    """
    import jieba

    tok = jieba.Tokenizer()
    try:
        folder = Path(cache_dir) / "jieba" / _dictionary_id()
        if not (folder / "meta.json").is_file():
            _build(folder)
        meta = json.loads((folder / "meta.json").read_text())
        keys = np.load(folder / "keys.npy")
        freqs = np.load(folder / "freqs.npy")
        if len(keys) != meta["words"] or len(freqs) != meta["words"]:
            raise ValueError("truncated table")
    except (OSError, ValueError, KeyError, RuntimeError):
        return tok  # jieba loads its dict itself on first use
    tok.FREQ = Lexicon(keys, freqs, tok)
    tok.total = meta["total"]
    tok.initialized = True
    return tok
