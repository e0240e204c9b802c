"""Eval metrics, scoring, aggregation, the gate and the report on hand-built inputs: no model, no index."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evals import metrics as m
from evals.command import metrics_table
from evals.report import bar_chart, render
from evals.runner import (
    EvalItem,
    EvalRun,
    Retrieved,
    aggregate,
    gate,
    load_set,
    read_baseline,
    score,
    summarize,
    user_turns,
)
from rag.errors import RagError
from rag.types import Answer, Citation

SRC = "001_187c4b3ab0ed4735.txt"
SOURCE_TEXT = "持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、\n幼儿园投入使用,新增优质学位1.04万个。"


# --- normalisation and retrieval ------------------------------------------------------------------------------------


def test_norm_is_nfkc_without_whitespace():
    assert m.norm("1 0 4 ２\u3000万\n") == "1042万"
    assert m.norm("") == "" and m.norm(None) == ""


def test_evidence_matches_across_whitespace_and_width():
    assert m.contains_evidence("新增优质学位 1.04\n万个。", ["新增优质学位１.０４万个"])
    assert not m.contains_evidence("新增优质学位1.05万个", ["新增优质学位1.04万个"])
    assert not m.contains_evidence("anything", [])
    assert not m.contains_evidence("anything", [" "])  # a blank snippet is not evidence of everything


def test_first_hit_rank_and_rank_metrics():
    texts = ["无关段落", "另一段", "庆泰路小学等14所中小学", "14所"]
    rank = m.first_hit_rank(texts, ["庆泰路小学等14所", "不存在"])
    assert rank == 3
    assert m.hit_at(rank, 1) == 0.0 and m.hit_at(rank, 5) == 1.0
    assert m.reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert m.first_hit_rank(texts, ["不存在"]) is None
    assert m.hit_at(None, 5) == 0.0 and m.reciprocal_rank(None) == 0.0
    assert m.hit_at(6, 5) == 0.0


# --- answers ----------------------------------------------------------------------------------------------------------


def test_answer_correct_needs_every_group():
    must = [["10次", "十次"], ["7次", "七次"]]
    assert m.answer_correct("惠济区召开十次,二七区召开7次。[1][2]", must)
    assert not m.answer_correct("惠济区召开10次。[1]", must)
    assert m.answer_correct("任何回答", [])  # no groups: nothing to miss


def test_answer_correct_normalises_and_limits_length():
    assert m.answer_correct("新增优质学位１．０４ 万个", [["1.04万"]])
    assert m.answer_correct("1.04万" + "。" * 195, [["1.04万"]])  # exactly 200 characters
    assert not m.answer_correct("1.04万" + "。" * 196, [["1.04万"]])  # 201: a pasted paragraph


def _cite(quote, source=SRC, title="", district=""):
    return m.CitedText(source=source, quote=quote, title=title, district=district)


def test_supported_needs_gold_source_and_every_group():
    must = [["14"]]
    good = [_cite("庆泰路小学等14所中小学")]
    assert m.supported("14所。[1]", must, good, [SRC])
    assert not m.supported("14所。[1]", must, [_cite("庆泰路小学等14所中小学", source="other.txt")], [SRC])
    assert not m.supported("14所。[1]", must, [_cite("庆泰路小学等中小学")], [SRC])
    assert not m.supported("15所。[1]", must, good, [SRC])  # a wrong answer is never supported
    assert not m.supported("14所", must, [], [SRC])


def test_supported_accepts_title_or_district_for_which_district_questions():
    must = [["二七区"], ["1.04万"]]
    cites = [_cite("新增优质学位1.04万个。", district="二七区")]
    assert m.groups_supported(must, cites, [SRC])
    cites = [_cite("新增优质学位1.04万个。", title="解读二七区人大常委会工作报告")]
    assert m.groups_supported(must, cites, [SRC])
    # groups may be spread over several gold citations
    assert m.groups_supported(must, [_cite("二七区"), _cite("1.04万")], [SRC])


def test_quote_verbatim_ignores_whitespace_only():
    assert m.quote_verbatim("庆泰路小学等14所中小学、幼儿园投入使用", SOURCE_TEXT)  # spans a line break
    assert not m.quote_verbatim("庆泰路小学等14所中小学,幼儿园投入使用", SOURCE_TEXT)  # punctuation changed
    assert not m.quote_verbatim("幼儿园投入使用,新增优质学位", SOURCE_TEXT.replace(",", "\uff0c"))  # width counts
    assert not m.quote_verbatim("庆泰路小学等14所中小学、幼儿园投入使用", SOURCE_TEXT.replace("、", "\uff64"))  # no NFKC
    assert not m.quote_verbatim("", SOURCE_TEXT)


def test_refusals():
    assert m.refusal_correct(answerable=False, refused=True)
    assert not m.refusal_correct(answerable=False, refused=False)
    assert m.false_refusal(answerable=True, refused=True)
    assert not m.false_refusal(answerable=False, refused=True)
    assert not m.false_refusal(answerable=True, refused=False)


def test_mean_and_percentile():
    assert m.mean([]) is None
    assert m.mean([True, False, True, True]) == 0.75
    assert m.percentile([], 50) is None
    assert m.percentile([5.0], 95) == 5.0
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile(range(1, 101), 95) == pytest.approx(95.05)  # numpy's linear interpolation
    with pytest.raises(ValueError):
        m.percentile([1], 101)


# --- scoring a question and aggregating ------------------------------------------------------------------------------


def _item(id="q1", answerable=True, must=(("14",),), type="numeric", evidence=("庆泰路小学等14所",)):
    return EvalItem(id=id, question="有多少所学校投入使用?", history=(), answerable=answerable, must=must,
                    sources=(SRC,) if answerable else (), evidence=evidence if answerable else (), type=type)


def _answer(text, refused=False, quotes=("庆泰路小学等14所中小学、幼儿园投入使用",)):
    cites = [Citation(n=i, source=SRC, paragraph=7, title="t", district="二七区", quote=q, score=1.0)
             for i, q in enumerate(quotes, 1)]
    return Answer(question="q", answer=text, refused=refused, citations=cites)


def _retrieved(*texts):
    return [Retrieved(SRC, i, t) for i, t in enumerate(texts, 1)]


def _score(item, answer, retrieved=(), latency=10.0):
    return score(item, answer, retrieved, latency, lambda s: SOURCE_TEXT if s == SRC else None)


def test_score_one_question():
    o = _score(_item(), _answer("14所。[1]"), _retrieved("无关", "庆泰路小学等14所中小学"))
    assert o.rank == 2 and o.correct and o.supported and o.verbatim == (True,)
    assert o.reasons == []


def test_score_records_why_a_question_failed():
    o = _score(_item(), _answer("15所。[1]", quotes=("庆泰路小学等14所中小学", "编造的引文")), _retrieved("无关"))
    assert o.verbatim == (True, False)
    assert o.reasons == ["answer lacks a must string", "no evidence in the top 5 retrieved", "quote not verbatim: [2]"]
    refused = _score(_item(), _answer("语料中没有找到相关信息。", refused=True, quotes=()), _retrieved("庆泰路小学等14所"))
    assert refused.reasons == ["refused an answerable question"]
    answered = _score(_item(answerable=False, type="unanswerable"), _answer("14所。[1]"))
    assert answered.reasons == ["answered an unanswerable question"]


def test_quote_from_an_unknown_source_is_not_verbatim():
    a = Answer("q", "14所[1]", False, [Citation(1, "gone.txt", 1, "", "", "庆泰路小学等14所", 1.0)])
    assert _score(_item(), a).verbatim == (False,)


def test_summarize_averages_over_the_right_questions():
    outcomes = [
        _score(_item("a"), _answer("14所。[1]"), _retrieved("庆泰路小学等14所"), latency=10),  # rank 1, right
        _score(_item("b"), _answer("15所。[1]"), _retrieved("x", "y", "庆泰路小学等14所"), latency=20),  # rank 3, wrong
        _score(_item("c"), _answer("没有。", refused=True, quotes=()), _retrieved(), latency=30),  # false refusal
        _score(_item("d", answerable=False, type="unanswerable"), _answer("没有。", refused=True, quotes=()), latency=40),
        _score(_item("e", answerable=False, type="unanswerable"), _answer("14所[1]", quotes=("编造",)), latency=50),
    ]
    s = summarize(outcomes)
    third = pytest.approx(1 / 3, abs=1e-4)  # rates are rounded to 4 places
    assert s["hit@1"] == third and s["answer_accuracy"] == third and s["supported"] == third
    assert s["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)
    assert s["false_refusals"] == third
    assert s["refusal_accuracy"] == 0.5
    assert s["citation_verbatim"] == pytest.approx(2 / 3, abs=1e-4)  # 3 citations, one invented
    assert s["latency_ms_p50"] == 30.0 and s["latency_ms_p95"] == 48.0

    overall, by_type = aggregate(outcomes)
    assert overall == s
    assert list(by_type) == ["numeric", "unanswerable"]
    assert "refusal_accuracy" not in by_type["numeric"]  # nothing to average: left out, not 0
    assert set(by_type["unanswerable"]) == {"refusal_accuracy", "citation_verbatim", "latency_ms_p50", "latency_ms_p95"}


def test_run_json_has_the_contract_keys():
    outcomes = (_score(_item("a"), _answer("15所。[1]"), _retrieved("无关")),
                _score(_item("b"), _answer("14所。[1]"), _retrieved("庆泰路小学等14所")))
    run = EvalRun("evals/dev.jsonl", "hybrid", outcomes, {"dense": {"hit@1": 0.5}}).to_json()
    assert {"set", "n", "overall", "by_type", "mode", "compare", "failures"} <= set(run)
    assert run["n"] == 2 and run["mode"] == "hybrid" and run["compare"]["dense"]["hit@1"] == 0.5
    assert [f["id"] for f in run["failures"]] == ["a"]
    f = run["failures"][0]
    assert f["answer"] == "15所。[1]" and f["citations"][0]["quote"] and f["evidence"] == ["庆泰路小学等14所"]
    json.dumps(run, ensure_ascii=False)  # serialisable as is


# --- the gate --------------------------------------------------------------------------------------------------------


def test_gate_flags_drops_beyond_tolerance_only():
    base = {"hit@1": 0.90, "answer_accuracy": 0.80, "false_refusals": 0.05, "latency_ms_p50": 100.0}
    assert gate({"hit@1": 0.88, "answer_accuracy": 0.80, "false_refusals": 0.07, "latency_ms_p50": 900.0}, base) == []
    bad = gate({"hit@1": 0.87, "answer_accuracy": 0.95, "false_refusals": 0.08, "latency_ms_p50": 100.0}, base)
    assert [r.metric for r in bad] == ["hit@1", "false_refusals"]
    assert "hit@1: 0.870 vs baseline 0.900" in bad[0].describe()


def test_gate_latency_only_when_asked_and_missing_metrics():
    base = {"latency_ms_p95": 100.0, "refusal_accuracy": 1.0}
    now = {"latency_ms_p95": 160.0}
    assert [r.metric for r in gate(now, base)] == ["refusal_accuracy"]
    assert [r.metric for r in gate(now, base, latency_tolerance=0.5)] == ["refusal_accuracy", "latency_ms_p95"]
    assert gate(now, base, latency_tolerance=0.5)[0].describe().startswith("refusal_accuracy: missing")


def test_read_baseline(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"set": "evals/dev.jsonl", "overall": {"hit@1": 1, "answer_accuracy": 0.9}}))
    assert read_baseline(p) == {"set": "evals/dev.jsonl", "overall": {"hit@1": 1.0, "answer_accuracy": 0.9}}
    p.write_text(json.dumps({"mrr": 0.5}))
    assert read_baseline(p)["overall"] == {"mrr": 0.5}
    p.write_text("{oops")
    with pytest.raises(RagError, match="b.json"):
        read_baseline(p)
    with pytest.raises(RagError, match="no such file"):
        read_baseline(tmp_path / "none.json")


# --- loading a set ---------------------------------------------------------------------------------------------------


def _line(**kw):
    row = {"id": "x1", "question": "二七区新增多少学位?", "history": [], "answerable": True, "must": [["1.04万"]],
           "sources": [SRC], "evidence": ["新增优质学位1.04万个"], "type": "numeric"}
    row.update(kw)
    return json.dumps(row, ensure_ascii=False)


def test_load_set_reads_items_and_normalises_history(tmp_path):
    p = tmp_path / "set.jsonl"
    hist = [{"role": "user", "content": "二七区新增多少学位?"}, {"role": "assistant", "content": "1.04万个"}, "再问"]
    p.write_text(_line() + "\n\n" + _line(id="x2", history=hist, type="followup") + "\n", encoding="utf-8")
    items = load_set(p)
    assert [i.id for i in items] == ["x1", "x2"]
    assert items[0].must == (("1.04万",),) and items[0].sources == (SRC,)
    assert items[1].history == ("二七区新增多少学位?", "再问")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "question": "q"}\n{not json\n', r"set\.jsonl:2: not valid JSON"),
        ("[1, 2]\n", r"set\.jsonl:1: each line must be a JSON object"),
        ('{"id": "a"}\n', r"set\.jsonl:1: 'question'"),
        ('{"question": "q", "must": ["14"]}\n', r"set\.jsonl:1: 'must'"),
        ('{"question": "q", "history": [3]}\n', r"set\.jsonl:1: each history item"),
        ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n', r"set\.jsonl:2: duplicate id"),
        ("\n", r"no questions"),
    ],
)
def test_load_set_errors_name_file_and_line(tmp_path, content, message):
    p = tmp_path / "set.jsonl"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(RagError, match=message):
        load_set(p)


def test_load_set_missing_file(tmp_path):
    with pytest.raises(RagError, match=r"nope\.jsonl: no such file"):
        load_set(tmp_path / "nope.jsonl")


def test_user_turns():
    assert user_turns(None, "w") == ()
    assert user_turns(["a", {"content": "b"}, {"role": "assistant", "content": "c"}], "w") == ("a", "b")
    with pytest.raises(RagError, match="w: 'history'"):
        user_turns("a", "w")


def test_eval_sets_in_the_repo_load():
    root = Path(__file__).resolve().parents[1]
    for name in ("dev.jsonl", "questions.jsonl"):
        items = load_set(root / "evals" / name)
        assert items and all(i.type for i in items)


# --- output ----------------------------------------------------------------------------------------------------------


def test_metrics_table_aligns_columns_and_marks_missing():
    text = metrics_table({"overall": {"hit@1": 0.5, "latency_ms_p50": 12.345}, "unanswerable": {"latency_ms_p50": 3.0}},
                         {"overall": 2, "unanswerable": 1})
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "overall", "unanswerable"]
    assert lines[2].split() == ["n", "2", "1"]
    assert lines[3].split() == ["hit@1", "0.500", "-"]
    assert lines[4].split() == ["latency_ms_p50", "12.3", "3.0"]
    assert len({len(line) for line in lines}) == 1


def test_report_is_self_contained_with_charts_and_failures():
    outcomes = (_score(_item("a"), _answer("15所<b>。[1]"), _retrieved("无关")),
                _score(_item("u", answerable=False, type="unanswerable"), _answer("没有。", refused=True, quotes=())))
    html = render(EvalRun("evals/dev.jsonl", "hybrid", outcomes, {"bm25": {"hit@1": 0.25}}).to_json())
    assert html.startswith("<!doctype html>")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    from evals.report import FIT_REPORT

    # overall, numeric, unanswerable, one mode; and the refusal trade-off of the fitted model
    assert html.count("<svg") == 4 + FIT_REPORT.is_file()
    assert "15所&lt;b&gt;。[1]" in html  # answers are escaped
    assert "庆泰路小学等14所" in html  # the evidence it should have found
    assert "answer lacks a must string" in html
    assert 'id="u"' not in html  # passed questions are not listed


def test_bar_chart_clamps_and_labels():
    svg = bar_chart("t", {"hit@1": 1.5, "mrr": -1.0, "latency_ms_p50": 10.0}, width=320)
    assert svg.count("<rect") == 4  # two metrics, a track and a bar each; latency is not a rate
    assert 'width="150.0"' in svg and 'width="0.0"' in svg


def test_cli_eval_bad_set_is_one_line_and_exit_2(tmp_path):
    from rag.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n{oops\n', encoding="utf-8")
    for args, text in ((["eval", "--set", str(bad)], "bad.jsonl:2: not valid JSON"),
                       (["eval", "--set", str(tmp_path / "none.jsonl")], "none.jsonl: no such file")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert text in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
