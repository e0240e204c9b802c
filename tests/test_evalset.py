"""Sanity checks for the evaluation sets (evals/questions.jsonl and evals/dev.jsonl).

Only stdlib + pytest; no project imports.
"""
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "data" / "corpus"
EVAL_FILES = {
    "questions": ROOT / "evals" / "questions.jsonl",
    "dev": ROOT / "evals" / "dev.jsonl",
}
REQUIRED_KEYS = ["id", "question", "history", "answerable", "must", "sources", "evidence", "type"]
OPTIONAL_KEYS = {"tags"}
TYPES = {"numeric", "entity", "list", "comparison", "followup", "paraphrase", "unanswerable"}
MIN_QUESTIONS = 150


def norm(text: str) -> str:
    """NFKC-normalise and drop all whitespace (same as the scorer)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def load(path: Path):
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported by assert
                pytest.fail(f"{path.name}:{lineno}: invalid JSON: {exc}")
    return rows


@pytest.fixture(scope="module")
def corpus():
    files = {p.name: p.read_text(encoding="utf-8") for p in CORPUS_DIR.glob("*.txt")}
    assert files, f"no corpus files in {CORPUS_DIR}"
    return files


@pytest.fixture(scope="module")
def corpus_norm(corpus):
    return {name: norm(text) for name, text in corpus.items()}


@pytest.fixture(scope="module", params=sorted(EVAL_FILES))
def evalset(request):
    path = EVAL_FILES[request.param]
    assert path.exists(), f"missing {path}"
    return request.param, load(path)


def test_schema(evalset):
    name, rows = evalset
    assert rows, f"{name} is empty"
    for lineno, q in rows:
        where = f"{name}:{lineno}"
        assert isinstance(q, dict), where
        missing = [k for k in REQUIRED_KEYS if k not in q]
        assert not missing, f"{where}: missing keys {missing}"
        extra = set(q) - set(REQUIRED_KEYS) - OPTIONAL_KEYS
        assert not extra, f"{where}: unexpected keys {extra}"
        assert isinstance(q["id"], str) and q["id"], where
        assert isinstance(q["question"], str) and q["question"].strip(), where
        assert isinstance(q["history"], list) and all(isinstance(h, str) and h.strip() for h in q["history"]), where
        assert isinstance(q["answerable"], bool), where
        assert isinstance(q["must"], list), where
        for group in q["must"]:
            assert isinstance(group, list) and group, f"{where}: empty/invalid must group"
            assert all(isinstance(s, str) and norm(s) for s in group), f"{where}: bad must string"
        assert isinstance(q["sources"], list) and all(isinstance(s, str) for s in q["sources"]), where
        assert isinstance(q["evidence"], list) and all(isinstance(s, str) and norm(s) for s in q["evidence"]), where
        assert q["type"] in TYPES, f"{where}: bad type {q['type']!r}"
        if "tags" in q:
            assert isinstance(q["tags"], list) and all(isinstance(t, str) for t in q["tags"]), where


def test_ids_unique(evalset):
    name, rows = evalset
    counts = Counter(q["id"] for _, q in rows)
    dups = [i for i, c in counts.items() if c > 1]
    assert not dups, f"{name}: duplicate ids {dups}"


def test_question_count_and_types():
    rows = [q for _, q in load(EVAL_FILES["questions"])]
    assert len(rows) >= MIN_QUESTIONS, f"only {len(rows)} questions"
    present = {q["type"] for q in rows}
    assert present == TYPES, f"missing types: {TYPES - present}"
    wrong = [q for q in rows if "wrong_district" in q.get("tags", [])]
    assert len(wrong) >= 8, f"only {len(wrong)} wrong_district questions"
    assert all(not q["answerable"] for q in wrong), "wrong_district questions must be unanswerable"


def test_answerable_have_gold(evalset, corpus):
    name, rows = evalset
    for lineno, q in rows:
        where = f"{name}:{lineno} ({q['id']})"
        if q["answerable"]:
            assert q["type"] != "unanswerable", where
            assert q["must"], f"{where}: empty must"
            assert q["sources"], f"{where}: empty sources"
            assert q["evidence"], f"{where}: empty evidence"
            for src in q["sources"]:
                assert src in corpus, f"{where}: unknown source {src}"
        else:
            assert q["type"] == "unanswerable", f"{where}: unanswerable must have type unanswerable"
            assert q["must"] == [] and q["sources"] == [] and q["evidence"] == [], f"{where}: non-empty gold"


def test_evidence_verbatim(evalset, corpus_norm):
    name, rows = evalset
    for lineno, q in rows:
        where = f"{name}:{lineno} ({q['id']})"
        for ev in q["evidence"]:
            ev_n = norm(ev)
            assert any(ev_n in corpus_norm[s] for s in q["sources"] if s in corpus_norm), (
                f"{where}: evidence not found verbatim in sources: {ev!r}"
            )


def test_must_in_corpus(evalset, corpus_norm):
    name, rows = evalset
    for lineno, q in rows:
        if not q["answerable"]:
            continue
        where = f"{name}:{lineno} ({q['id']})"
        ev_cat = "".join(norm(e) for e in q["evidence"])
        src_cat = "".join(corpus_norm.get(s, "") for s in q["sources"])
        for group in q["must"]:
            assert any(norm(m) in ev_cat or norm(m) in src_cat for m in group), (
                f"{where}: no string of must group {group} occurs in evidence or sources"
            )


def test_followups_have_history(evalset):
    name, rows = evalset
    for lineno, q in rows:
        where = f"{name}:{lineno} ({q['id']})"
        if q["type"] == "followup":
            assert q["history"], f"{where}: followup without history"
        else:
            assert q["history"] == [], f"{where}: only followups may have history"
