"""Citations to paste: Markdown footnotes, GB/T 7714-2015 references and CSL-JSON, on hand-built answers and, against
golden files (tests/golden/), on the real answer to "二七区新增多少学位?" with and without a sidecar."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from langchain_core.embeddings import Embeddings

from rag import cite
from rag.chain import Chain
from rag.cli import main
from rag.settings import BUNDLED_CORPUS, DEFAULT_EMBED_MODEL
from rag.types import Answer, Citation
from vectorstore.embedding import Embedder
from vectorstore.store import Index

GOLDEN = Path(__file__).parent / "golden"
QUESTION = "二七区新增多少学位?"
ERQI = "001_187c4b3ab0ed4735.txt"
SUFFIX = {"markdown": "md", "gbt7714": "gbt7714.txt", "csl-json": "csl.json"}


def citation(**kw) -> Citation:
    base = dict(n=1, source="a.txt", paragraph=3, title="解读区人大常委会工作报告", district="某区",
                quote="新增优质学位1.04万个。", score=0.5, body="人大", reporter="景静")
    return Citation(**{**base, **kw})


ONLINE = dict(outlet="某某日报", date="2021-02-05", page="5", url="https://example.com/a_b.html")


# -- GB/T 7714-2015 ---------------------------------------------------------------

@pytest.mark.parametrize(("kw", "expected"), [
    ({}, "景静. 解读区人大常委会工作报告[N]."),
    (dict(outlet="某某日报", date="2021-02-05", page="5"), "景静. 解读区人大常委会工作报告[N]. 某某日报, 2021-02-05(5)."),
    (ONLINE, "景静. 解读区人大常委会工作报告[N/OL]. 某某日报, 2021-02-05(5). https://example.com/a_b.html."),
    (dict(outlet="某某日报"), "景静. 解读区人大常委会工作报告[N]. 某某日报."),
    (dict(date="2021-02"), "景静. 解读区人大常委会工作报告[N]. 2021-02."),
    (dict(page="5"), "景静. 解读区人大常委会工作报告[N]."),  # a page of no known paper says nothing
    (dict(reporter=""), "解读区人大常委会工作报告[N]."),
    (dict(reporter="李爱琴、聂春洁"), "李爱琴, 聂春洁. 解读区人大常委会工作报告[N]."),
    (dict(reporter="甲一、乙二、丙三、丁四"), "甲一, 乙二, 丙三, 等. 解读区人大常委会工作报告[N]."),
    (dict(title="解读报告   为全区发展\n贡献力量"), "景静. 解读报告 为全区发展 贡献力量[N]."),
    (dict(title=""), "景静. a[N]."),  # no headline: the file's name, not an invented one
])
def test_gbt7714_reference_lists_what_is_known(kw: dict, expected: str) -> None:
    assert cite.reference(citation(**kw)) == expected


def test_gbt7714_numbers_follow_the_answer() -> None:
    a = Answer("q", "甲[1];乙[2]。", False, [citation(), citation(n=2, paragraph=5, **ONLINE)])
    assert cite.gbt7714(a) == (
        "甲[1];乙[2]。\n\n参考文献:\n[1] 景静. 解读区人大常委会工作报告[N].\n"
        "[2] 景静. 解读区人大常委会工作报告[N/OL]. 某某日报, 2021-02-05(5). https://example.com/a_b.html.\n")


def test_an_answer_without_citations_is_the_answer_alone() -> None:
    a = Answer("q", "问题里没有可以检索的词语,无法回答。", True, [])
    assert cite.gbt7714(a) == cite.markdown(a) == "问题里没有可以检索的词语,无法回答。\n"
    assert cite.csl(a) == []


# -- Markdown ---------------------------------------------------------------------

def test_markdown_footnotes_quote_and_reference() -> None:
    a = Answer("q", "新增优质学位1.04万个。[1]", False, [citation(**ONLINE)])
    assert cite.markdown(a) == (
        "新增优质学位1.04万个。[^1]\n\n"
        "[^1]: 「新增优质学位1.04万个。」——景静. 解读区人大常委会工作报告[N/OL]. 某某日报, 2021-02-05(5). "
        "<https://example.com/a_b.html>. (`a.txt`, 第3段)\n")


def test_markdown_keeps_text_literal() -> None:
    a = Answer("q", "共*3*项[1],见[2]。", False, [citation(quote="共*3*项_甲_\n[注]", title="<b>标题</b>")])
    out = cite.markdown(a)
    assert out.startswith("共\\*3\\*项[^1],见\\[2\\]。\n\n")  # [2] cites nothing: no dangling footnote
    assert "「共\\*3\\*项\\_甲\\_ \\[注\\]」" in out and "\\<b\\>标题\\</b\\>[N]" in out


def test_formatted_is_the_footnote_in_plain_text() -> None:
    c = citation(**ONLINE)
    assert cite.formatted(c) == ("「新增优质学位1.04万个。」——景静. 解读区人大常委会工作报告[N/OL]. 某某日报, 2021-02-05(5). "
                             "https://example.com/a_b.html. (a.txt, 第3段)")


# -- CSL-JSON ---------------------------------------------------------------------

def test_csl_json_one_item_per_article() -> None:
    a = Answer("q", "甲[1];乙[2];丙[3]。", False, [
        citation(**ONLINE), citation(n=2, paragraph=5, quote="乙。", **ONLINE),
        citation(n=3, source="b.md", title="", reporter="", quote="丙。", date="2021")])
    items = json.loads(cite.csl_json(a))
    assert items == [
        {"id": "a", "type": "article-newspaper", "title": "解读区人大常委会工作报告", "author": [{"literal": "景静"}],
         "container-title": "某某日报", "issued": {"date-parts": [[2021, 2, 5]]}, "page": "5",
         "URL": "https://example.com/a_b.html", "language": "zh-CN",
         "note": "[1] a.txt, 第3段: 「新增优质学位1.04万个。」\n[2] a.txt, 第5段: 「乙。」"},
        {"id": "b", "type": "article-newspaper", "title": "b", "issued": {"date-parts": [[2021]]},
         "language": "zh-CN", "note": "[3] b.md, 第3段: 「丙。」"},
    ]


def test_csl_json_of_a_refusal_is_empty() -> None:
    a = Answer("q", "语料中没有找到相关信息,无法回答这个问题。最接近的段落见[1]。", True, [citation()])
    assert cite.csl_json(a) == "[]\n"
    assert "[1] 景静" in cite.gbt7714(a)  # the text names the nearest paragraph as [1]: so does the list


def test_an_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown citation format 'apa'; use one of markdown, gbt7714, csl-json"):
        cite.render(Answer("q", "a", False), "apa")


def test_json_has_outlet_date_url_only_when_known() -> None:
    plain, online = (Answer("q", "a[1]", False, [c]).to_json()["citations"][0]
                     for c in (citation(), citation(**ONLINE)))
    assert not {"outlet", "date", "url", "page"} & set(plain)
    assert {k: online[k] for k in ("outlet", "date", "url", "page")} == ONLINE
    assert {"source", "paragraph", "title", "reporter", "district", "body", "quote"} <= set(plain)


# -- the real answer, against golden files ----------------------------------------

class Reusing(Embeddings):
    """The real model; texts the session's corpus index already embedded are not embedded again."""

    def __init__(self, model: Embedder, known: dict[str, list[float]]) -> None:
        self.model, self.known = model, known

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.model.embed_documents(missing), strict=True))
        return [self.known[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


@pytest.fixture(scope="module")
def sidecar_index(tmp_path_factory: pytest.TempPathFactory, corpus_index: Index, embedder: Embedder) -> Index:
    """The bundled corpus with a sidecar beside the 二七区 article giving its outlet, date, page and URL."""
    folder = tmp_path_factory.mktemp("cite") / "corpus"
    shutil.copytree(BUNDLED_CORPUS, folder)
    shutil.copy(GOLDEN / "erqi.meta.json", folder / "001_187c4b3ab0ed4735.meta.json")
    got = corpus_index.collection.get(include=["documents", "embeddings"])
    known = {d: [float(x) for x in v] for d, v in zip(got["documents"], got["embeddings"], strict=True)}
    index = Index(folder.parent / "home", Reusing(embedder, known), DEFAULT_EMBED_MODEL)
    report = index.ingest([folder])
    assert report.skipped == [] and report.files == 5
    return index


def golden(name: str, fmt: str, text: str) -> None:
    path = GOLDEN / f"{name}.{SUFFIX[fmt]}"
    if os.environ.get("RAG_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (RAG_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", cite.FORMATS)
@pytest.mark.parametrize("name", ["erqi", "erqi-sidecar"])
def test_the_real_answer_in_every_format(name: str, fmt: str, corpus_index: Index, request) -> None:
    index = request.getfixturevalue("sidecar_index") if name == "erqi-sidecar" else corpus_index
    a = Chain(index).invoke({"question": QUESTION})
    c = a.citations[0]
    assert not a.refused and "1.04万个" in a.answer
    assert (c.source, c.district, c.reporter, c.body) == (ERQI, "二七区", "景静", "人大")
    assert c.title.startswith("解读二七区人大常委会工作报告") and c.paragraph > 0 and "1.04万个" in c.quote
    online = ("郑州日报", "2021-02-05", "5", "https://example.com/zzrb/2021-02/05/05.html")
    assert (c.outlet, c.date, c.page, c.url) == (online if name == "erqi-sidecar" else ("", "", "", ""))
    golden(name, fmt, cite.render(a, fmt))


@pytest.mark.slow
def test_cli_prints_the_same_formatter(sidecar_index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_HOME", str(sidecar_index.home))
    runner = CliRunner()
    for fmt in cite.FORMATS:
        r = runner.invoke(main, ["ask", QUESTION, "--cite-format", fmt])
        assert r.exit_code == 0, r.output
        assert r.stdout == (GOLDEN / f"erqi-sidecar.{SUFFIX[fmt]}").read_text(encoding="utf-8")
    r = runner.invoke(main, ["ask", QUESTION, "--json", "--cite-format", "csl-json"])
    out = json.loads(r.stdout)
    assert out["citations"][0]["outlet"] == "郑州日报"
    assert json.loads(out["formatted"])[0]["URL"] == "https://example.com/zzrb/2021-02/05/05.html"


@pytest.mark.parametrize(("args", "needle"), [
    (["ask", QUESTION, "--cite-format", "apa"], "Invalid value for '--cite-format': 'apa' is not one of"),
    (["ask", "--batch", "x.jsonl", "--cite-format", "markdown"], "--cite-format with --batch needs --json"),
])
def test_cli_bad_cite_format_is_one_line(args: list[str], needle: str) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output
