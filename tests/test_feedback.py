"""Readers' verdicts (rag.feedback): kept append-only, corrections merged, turned into eval items that rag eval runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evals.runner import load_set
from rag.cli import main
from rag.feedback import FeedbackLog, answer_core, eval_items

RIGHT = {"question": "二七区新增多少学位?", "answer": "新增优质学位1.04万个。[1]", "refused": False,
         "citations": [{"n": 1, "source": "001.txt", "paragraph": 7, "quote": "…新增优质学位1.04万个。"}]}
WRONG = {"question": "有多少所学校投入使用?", "answer": "新建学校3所。[1]", "refused": False,
         "citations": [{"n": 1, "source": "001.txt", "paragraph": 8, "quote": "新建学校3所。"}]}
REFUSED = {"question": "碳排放总量是多少?", "answer": "语料中没有找到相关信息,无法回答这个问题。", "refused": True, "citations": []}


def test_verdicts_and_corrections_are_kept_and_merged(tmp_path: Path):
    log = FeedbackLog(tmp_path)
    up = log.add(RIGHT, [], liked=True)
    down = log.add(WRONG, ["二七区新增多少学位?"], liked=False)
    log.correct(down, "14所")
    with log.path.open("a", encoding="utf-8") as f:
        f.write('{"id": "half a li')  # a crash mid-write leaves a broken last line: skipped, not fatal
    got = {e["id"]: e for e in log.entries()}
    assert got[up]["verdict"] == "up" and got[up]["citations"][0]["source"] == "001.txt"
    assert got[down]["verdict"] == "down" and got[down]["correction"] == "14所"
    assert got[down]["history"] == ["二七区新增多少学位?"]
    log.correct(down, "", no_answer=True)  # a later correction replaces the earlier one
    assert next(e for e in log.entries() if e["id"] == down)["no_answer"] is True
    with pytest.raises(ValueError, match="200"):
        log.correct(down, "长" * 201)


def test_verdicts_become_eval_items():
    entries = [{"id": "a", "verdict": "up", **RIGHT, "history": []},
               {"id": "b", "verdict": "down", **WRONG, "history": ["二七区新增多少学位?"], "correction": "14所"},
               {"id": "c", "verdict": "down", **REFUSED, "history": [], "no_answer": True},
               {"id": "d", "verdict": "up", **REFUSED, "history": []},
               {"id": "e", "verdict": "down", **WRONG, "history": []}]
    items, left_out = eval_items(entries)
    by = {i["id"]: i for i in items}
    assert left_out == 1 and set(by) == {"feedback-a", "feedback-b", "feedback-c", "feedback-d"}
    assert by["feedback-a"]["must"] == [["1.04万"]] and by["feedback-a"]["sources"] == ["001.txt"]
    assert by["feedback-b"]["must"] == [["14所"]] and by["feedback-b"]["history"] == ["二七区新增多少学位?"]
    assert not by["feedback-c"]["answerable"] and not by["feedback-d"]["answerable"]
    assert answer_core("新增优质学位1.04万个。[1]") == "新增优质学位1.04万个"


def test_rag_eval_from_feedback_writes_a_set_rag_eval_reads(tmp_path: Path):
    home = tmp_path / "home"
    env = {"RAG_HOME": str(home)}
    empty = CliRunner().invoke(main, ["eval", "--from-feedback", str(tmp_path / "fb.jsonl")], env=env)
    assert empty.exit_code == 2 and "no feedback" in empty.output and "Traceback" not in empty.output
    log = FeedbackLog(home)
    log.add(RIGHT, [], liked=True)
    log.correct(log.add(WRONG, ["二七区新增多少学位?"], liked=False), "14所")
    log.add(WRONG, [], liked=False)
    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(main, ["eval", "--from-feedback", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "2 eval items from 3 verdicts" in result.output and "1 👎 without a correction" in result.output
    items = load_set(out)
    assert [i.must for i in items] == [(("1.04万",),), (("14所",),)]
    assert all(json.loads(line)["type"] == "feedback" for line in out.read_text(encoding="utf-8").splitlines())
