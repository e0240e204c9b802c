"""`rag eval` end to end on evals/dev.jsonl with the real model and index: JSON, report, the baseline gate."""

import json
import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from evals.runner import METRICS, read_baseline
from rag.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.jsonl"
BASELINE = ROOT / "evals" / "baseline.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One fresh RAG_HOME shared by this module's CLI runs (ingested once); RAG_CACHE_DIR is left as it is,
    so the converted model is reused."""
    return {"RAG_HOME": str(tmp_path_factory.mktemp("eval-home"))}


@pytest.fixture(scope="module")
def dev_run(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-out")
    result = CliRunner().invoke(main, ["eval", "--set", str(DEV), "--json", str(out / "run.json"),
                                       "--report", str(out / "report.html"), "--baseline", str(BASELINE),
                                       "--modes"], env=env)
    assert (out / "run.json").is_file(), result.output
    return result, json.loads((out / "run.json").read_text(encoding="utf-8")), (out / "report.html").read_text()


def test_dev_set_passes_the_baseline_gate(dev_run):
    result, _, _ = dev_run
    assert result.exit_code == 0, result.output
    assert "gate passed" in result.output and "regressed" not in result.output


def test_json_has_every_metric_overall_and_per_type(dev_run):
    result, run, _ = dev_run
    assert run["set"] == str(DEV) and run["n"] == 35 and run["mode"] == "hybrid"
    assert set(run["overall"]) == set(METRICS)
    assert set(run["by_type"]) == {"numeric", "entity", "list", "comparison", "followup", "paraphrase", "unanswerable"}
    assert set(run["by_type"]["numeric"]) == set(METRICS) - {"refusal_accuracy"}
    assert "refusal_accuracy" in run["by_type"]["unanswerable"]
    assert set(run["compare"]) == {"hybrid", "dense", "bm25"}
    assert run["compare"]["hybrid"] == run["overall"]
    assert all(0 <= run["overall"][k] <= 1 for k in METRICS if not k.startswith("latency"))
    # the terminal table shows the same numbers
    assert re.search(rf"answer_accuracy\s+{run['overall']['answer_accuracy']:.3f}", result.output)


def test_report_has_charts_and_failures(dev_run):
    _, run, html = dev_run
    assert html.count("<svg") >= 1 + len(run["by_type"]) + len(run["compare"])
    for f in run["failures"]:
        assert f'id="{f["id"]}"' in html


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def test_answer_accuracy_agrees_with_an_independent_scorer(dev_run, env):
    """Score `rag ask --batch` output with the README's rule, written out again here, and compare."""
    _, run, _ = dev_run
    result = CliRunner().invoke(main, ["ask", "--batch", str(DEV), "--json"], env=env)
    assert result.exit_code == 0, result.output
    answers = {a["id"]: a["answer"] for a in map(json.loads, result.stdout.splitlines())}
    gold = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    scores = []
    for q in gold:
        if q["answerable"]:
            a = answers[q["id"]]
            scores.append(len(a) <= 200 and all(any(_norm(s) in _norm(a) for s in g) for g in q["must"]))
    assert abs(sum(scores) / len(scores) - run["overall"]["answer_accuracy"]) <= 0.05


def test_gate_fails_with_the_metric_named_and_baseline_written(env, tmp_path):
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()[:2]]
    rows[1]["history"] = [{"role": "user", "content": rows[0]["question"]}, {"role": "assistant", "content": "…"}]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"overall": {"answer_accuracy": 1.5, "hit@5": 0.0}}))
    written = tmp_path / "written.json"
    result = CliRunner().invoke(main, ["eval", "--set", str(small), "--baseline", str(strict),
                                       "--write-baseline", str(written), "--json", "-"], env=env)
    assert result.exit_code == 1, result.output
    assert "regressed answer_accuracy" in result.output and "regressed hit@5" not in result.output
    assert json.loads(result.stdout)["n"] == 2  # --json - prints the JSON alone on stdout
    assert set(read_baseline(written)["overall"]) == set(METRICS) - {"refusal_accuracy"}


ARTICLE = """青禾县第十二届中小学生运动会闭幕

本报讯(记者 林晓 通讯员 周岩)10月18日,青禾县第十二届中小学生运动会在县体育中心闭幕。本届运动会历时3天,共有来自全县42所学校的1860名运动员参赛,设田径、游泳、跳绳3个大项。

经过激烈角逐,县实验中学以总分312分获得团体总分第一名,共有7人9次打破县纪录。
"""


def test_eval_with_its_own_corpus_answers_from_a_temporary_store(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "sports.txt").write_text(ARTICLE, encoding="utf-8")
    small = tmp_path / "small.jsonl"
    rows = [
        {"id": "s1", "question": "青禾县中小学生运动会共有多少名运动员参赛?", "answerable": True, "must": [["1860"]],
         "type": "numeric"},
        {"id": "s2", "question": "青禾县中小学生运动会的奖金总额是多少?", "answerable": False, "must": [],
         "type": "unanswerable"},
    ]
    small.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    home = tmp_path / "user-home"
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["eval", "--set", str(small), "--corpus", str(corpus), "--json", str(out)],
                                env={"RAG_HOME": str(home)})
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text(encoding="utf-8"))
    assert run["corpus"] == str(corpus)
    assert run["overall"]["answer_accuracy"] == 1.0 and run["overall"]["refusal_accuracy"] == 1.0
    assert not home.exists()  # the user's store is never touched


def test_eval_corpus_that_holds_no_article_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["eval", "--set", str(DEV), "--corpus", str(empty)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("set_name", "corpus", "baseline"),
                         [("news-dev.jsonl", "news", "baseline-news.json"), ("wide.jsonl", "wide", "baseline-wide.json"),
                          ("fresh.jsonl", "fresh", "baseline-fresh.json"),
                          ("holdout.jsonl", "holdout", "baseline-holdout.json")])
def test_sets_of_unseen_articles_pass_their_baselines(set_name, corpus, baseline, tmp_path):
    """Answers on articles the code was not written for may not get worse (the gate `make eval` runs too)."""
    evals = ROOT / "evals"
    result = CliRunner().invoke(main, ["eval", "--set", str(evals / set_name), "--corpus", str(evals / corpus),
                                       "--baseline", str(evals / baseline)], env={"RAG_HOME": str(tmp_path / "h")})
    assert result.exit_code == 0, result.output
    assert "gate passed" in result.output


def test_the_run_says_what_it_was_made_with_and_the_report_lists_every_question(dev_run):
    _, run, html = dev_run
    about = run["about"]
    assert about["embed_model"] and len(about["answer_model"]) == 12 and 0 < about["threshold"] < 1
    assert about["mode"] == "hybrid" and about["k"] == 5 and about["generator"] == "extractive"
    assert about["commit"] is None or re.fullmatch(r"[0-9a-f]{12}", about["commit"])
    assert about["answer_model"] in html and 'id="ft-all"' in html and 'id="fo-right"' in html
    assert html.count('<tr data-t="') == run["n"] == len(run["results"])
    assert all(r["question"] for r in run["results"])


def test_compare_two_runs_shows_the_metrics_and_every_changed_question(dev_run, tmp_path):
    _, run, _ = dev_run
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    later = json.loads(json.dumps(run))
    flipped = next(r for r in later["results"] if r["answerable"] and r["correct"])
    flipped.update(correct=False, refused=True, answer="语料中没有找到相关信息,无法回答这个问题。")
    later["overall"]["answer_accuracy"] = round(run["overall"]["answer_accuracy"] - 1 / 30, 4)
    b.write_text(json.dumps(later, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", "--compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "1 questions changed: 0 better, 1 worse" in result.output
    assert re.search(rf"worse\s+{re.escape(flipped['id'])}\s+right -> refused \(answerable\)", result.output)
    assert re.search(r"answer_accuracy\s+[\d.]+\s+[\d.]+\s+-0\.033", result.output)
    as_json = CliRunner().invoke(main, ["eval", "--compare", str(b), str(a), "--json", "-"])
    d = json.loads(as_json.stdout)
    assert [(c["id"], c["change"]) for c in d["changed"]] == [(flipped["id"], "better")]
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    bad = CliRunner().invoke(main, ["eval", "--compare", str(a), str(tmp_path / "bad.json")])
    assert bad.exit_code != 0 and "not JSON" in bad.output and "Traceback" not in bad.output
