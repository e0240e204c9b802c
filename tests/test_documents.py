"""Documents as a newsroom has them, built here as real files (tests/documents.py): an e-paper PDF page, scans,
a web page, a Word file; read in reading order, with their metadata; ingested, listed, replaced and removed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.pipeline import Pipeline
from tests.documents import (
    CHROMIUM,
    FLOOD,
    MARKET,
    SUBWAY,
    Article,
    browser_page,
    epaper_page,
    image_pdf,
    scan_png,
    web_page,
    word_file,
)
from vectorstore.chunking import chunk_document
from vectorstore.layout import Line, page_text
from vectorstore.reading import UnreadableFile, read_source


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _paragraphs(text: str) -> list[str]:
    return [_squeeze(p) for p in text.split("\n\n") if p.strip()]


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(got: str, truth: str) -> float:
    """1 - edit distance / length, whitespace aside: the share of the true characters read right."""
    got, truth = _squeeze(got), _squeeze(truth)
    return 1 - edit_distance(got, truth) / len(truth)


def _truth(*articles: Article) -> str:
    return "".join(a.title + "".join(a.paragraphs) for a in articles)


def _article_text(text: str) -> str:
    """The articles' headlines and paragraphs of a page read back (masthead and credits aside)."""
    return "".join(p.lstrip("# ") for p in text.split("\n\n")
                   if p.strip() and not re.search(r"星期|责任编辑|美编", p))


# -- reading -----------------------------------------------------------------------
def test_an_epaper_page_is_read_column_by_column_with_its_articles_apart(tmp_path):
    src = read_source(epaper_page(tmp_path / "page5.pdf", (FLOOD, MARKET)))
    paragraphs = _paragraphs(src.text)
    # every paragraph whole and in the order printed: the first column before the second, article by article
    expected = [_squeeze(p) for a in (FLOOD, MARKET) for p in (f"#{a.title}", *a.paragraphs)]
    assert [p for p in paragraphs if p in expected] == expected
    assert "5" not in paragraphs  # the page number is furniture
    assert src.pages == (0,) and src.page_at(len(src.text) - 1) == 1
    chunks = chunk_document(src.text, "page5.pdf", "page5.pdf", src.sha256, src.meta)
    by_title = {c.title for c in chunks if "摊位" in c.text}
    assert by_title == {MARKET.title}  # the second article's paragraphs under its own headline
    flood = next(c for c in chunks if "1200余人" in c.text)
    assert (flood.title, flood.outlet, flood.date, flood.page) == (FLOOD.title, FLOOD.outlet, FLOOD.date, "5")
    assert not any("责任编辑" in c.text for c in chunks)


@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="Debian's chromium renders the page (make browser)")
def test_a_browser_laid_page_reads_whole_as_pdf_and_as_screenshot(tmp_path):
    """CSS columns as a browser sets them: a paragraph that runs on into the next column is one paragraph; the
    masthead (with a section label) gives outlet, date and page; the byline its reporter, in both renderings."""
    for path in browser_page(tmp_path):
        src = read_source(path)
        assert [p for p in _paragraphs(src.text) if p in {_squeeze(x) for x in SUBWAY.paragraphs}] == \
            [_squeeze(p) for p in SUBWAY.paragraphs], (path.name, src.text)
        chunks = chunk_document(src.text, path.name, str(path), src.sha256, src.meta)
        first = next(c for c in chunks if "14.6公里" in c.text)
        assert (first.title, first.outlet, first.date, first.page, first.reporter) == \
            (SUBWAY.title, SUBWAY.outlet, SUBWAY.date, "A03", SUBWAY.reporter), path.name


def test_pages_of_a_pdf_are_counted(tmp_path):
    import pymupdf

    first, second = epaper_page(tmp_path / "a.pdf", (FLOOD,)), epaper_page(tmp_path / "b.pdf", (MARKET,))
    with pymupdf.open(first) as doc, pymupdf.open(second) as other:
        doc.insert_pdf(other)
        doc.save(tmp_path / "two-pages.pdf")
    src = read_source(tmp_path / "two-pages.pdf")
    assert len(src.pages) == 2
    assert src.page_at(src.text.index("1200余人")) == 1 and src.page_at(src.text.index("摊位320个")) == 2


def test_a_scan_is_read_by_ocr_to_the_character(tmp_path):
    """OCR of a clean 200-dpi page rendered from known text: at least 99 % of its characters right."""
    src = read_source(scan_png(tmp_path / "scan.png", (FLOOD, MARKET)))
    assert char_accuracy(_article_text(src.text), _truth(FLOOD, MARKET)) >= 0.99
    assert [p for p in _paragraphs(src.text) if "1200余人" in p] == [_squeeze(FLOOD.paragraphs[0])]
    chunks = chunk_document(src.text, "scan.png", "scan.png", src.sha256, src.meta)
    assert {c.title for c in chunks if "摊位" in c.text} == {MARKET.title}


def test_an_image_only_pdf_is_read_by_ocr(tmp_path):
    src = read_source(image_pdf(tmp_path / "scanned.pdf", (MARKET,)))
    assert char_accuracy(_article_text(src.text), _truth(MARKET)) >= 0.99
    assert src.pages == (0,)


@pytest.mark.parametrize(("encoding", "nested"), [("gbk", 0), ("utf-8", 40)])
def test_a_web_page_gives_its_article_without_the_page_around_it(tmp_path, encoding, nested):
    src = read_source(web_page(tmp_path / "flood.html", FLOOD, encoding=encoding, nested=nested))
    assert [p for p in _paragraphs(src.text) if not p.startswith("#")] == [_squeeze(p) for p in FLOOD.paragraphs]
    for boilerplate in ("首页", "广告", "相关阅读", "版权所有", "安全生产"):
        assert boilerplate not in src.text
    assert (src.meta.title, src.meta.outlet, src.meta.date) == (FLOOD.title, FLOOD.outlet, FLOOD.date)
    assert src.meta.reporters == (FLOOD.reporter,)


def test_a_word_file_gives_its_paragraphs_title_and_author(tmp_path):
    src = read_source(word_file(tmp_path / "market.docx", MARKET))
    assert _paragraphs(src.text) == [_squeeze(f"# {MARKET.title}"), *(_squeeze(p) for p in MARKET.paragraphs)]
    assert src.meta.title == MARKET.title and src.meta.reporters == (MARKET.reporter,)


def test_bad_documents_get_one_line_each(tmp_path):
    import numpy as np
    import pymupdf

    locked = tmp_path / "locked.pdf"
    epaper_page(tmp_path / "open.pdf")
    with pymupdf.open(tmp_path / "open.pdf") as doc:
        doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")
    cut = tmp_path / "cut.pdf"
    cut.write_bytes((tmp_path / "open.pdf").read_bytes()[:300])
    blank = tmp_path / "blank.png"
    pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 400, 300), 0).save(blank)
    assert np.frombuffer(pymupdf.Pixmap(str(blank)).samples, np.uint8).size
    empty_docx = word_file(tmp_path / "empty.docx", Article("", (), "", "2024-01-01", ""))
    for path, reason in ((locked, "encrypted and needs a password"), (cut, "PDF"), (blank, "no text found"),
                         (empty_docx, "no text")):
        with pytest.raises(UnreadableFile, match=reason) as err:
            read_source(path)
        assert "\n" not in str(err.value)


def test_layout_reads_a_masthead_row_as_one_line_and_drops_a_page_number():
    size = 10
    lines = [Line(0, 0, 40, size, "某某日报"), Line(60, 0, 160, size, "2024年1月2日"), Line(180, 0, 210, size, "第3版"),
             Line(0, 30, 300, 30 + size, "正文第一行，接着"), Line(0, 42, 120, 42 + size, "写到这里。"),
             Line(290, 400, 300, 400 + size, "3")]
    assert page_text(lines) == "某某日报 2024年1月2日 第3版\n\n正文第一行，接着写到这里。"


# -- the store ---------------------------------------------------------------------
@pytest.fixture
def newsroom(tmp_path) -> Path:
    """A folder as a newsroom has it: an e-paper page, a scan, a web page, a Word draft, and a spreadsheet."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    epaper_page(folder / "page5.pdf", (FLOOD,))
    scan_png(folder / "market-scan.png", (MARKET,))
    web_page(folder / "flood.html", FLOOD)
    word_file(folder / "market.docx", MARKET)
    (folder / "budget.xlsx").write_bytes(b"PK\x03\x04")
    return folder


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_a_mixed_folder_is_ingested_listed_asked_replaced_and_removed(newsroom, settings):
    r = _cli("ingest", str(newsroom), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["files"] == 4 and [Path(s["path"]).name for s in report["skipped"]] == ["budget.xlsx"]
    assert ".pdf" in report["skipped"][0]["reason"]  # names the supported types

    docs = {d["source"]: d for d in json.loads(_cli("docs", "--json").stdout)}
    assert set(docs) == {"page5.pdf", "market-scan.png", "flood.html", "market.docx"}
    assert (docs["page5.pdf"]["outlet"], docs["page5.pdf"]["date"]) == (FLOOD.outlet, FLOOD.date)
    assert (docs["flood.html"]["outlet"], docs["flood.html"]["date"]) == (FLOOD.outlet, FLOOD.date)
    assert docs["market.docx"]["title"] == MARKET.title and all(d["chunks"] > 0 and d["ingested"] for d in docs.values())

    p = Pipeline(settings)
    for question, figure, sources in (("柳溪县组织转移了多少群众?", "1200", {"page5.pdf", "flood.html"}),
                                      ("农贸市场改造后新增多少个摊位?", "320", {"market-scan.png", "market.docx"})):
        answer = p.ask(question)
        assert figure in answer.answer and not answer.refused, answer.answer
        cited = answer.citations[0]
        assert {cited.source, *(a["source"] for a in cited.also)} <= sources | {cited.source}
        assert cited.source in sources
        assert _squeeze(cited.quote) in _squeeze(p.source_text(cited.source))  # verbatim, as extracted
        if cited.source.endswith((".pdf", ".png")):
            assert cited.file_page == 1

    # A corrected web page under the same name replaces the old version; the old figure is not cited again.
    fixed = Article(FLOOD.title, (FLOOD.paragraphs[0].replace("1200", "1500"), *FLOOD.paragraphs[1:]),
                    FLOOD.outlet, FLOOD.date, FLOOD.reporter)
    web_page(newsroom / "flood.html", fixed)
    (newsroom / "page5.pdf").unlink()
    r = _cli("ingest", str(newsroom), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["removed"] > 0
    answer = Pipeline(settings).ask("柳溪县组织转移了多少群众?")
    assert "1500" in answer.answer and "1200" not in json.dumps(answer.to_json(), ensure_ascii=False)

    # Removed: gone from every index, never cited again.
    r = _cli("remove", "market.docx", "market-scan.png")
    assert r.exit_code == 0, r.output
    assert {d["source"] for d in json.loads(_cli("docs", "--json").stdout)} == {"flood.html"}
    answer = Pipeline(settings).ask("农贸市场改造后新增多少个摊位?")
    assert "320" not in answer.answer and all(c.source == "flood.html" for c in answer.citations)
    r = _cli("remove", "market.docx")
    assert r.exit_code != 0 and "rag docs" in r.output and "Traceback" not in r.output


def test_ingest_of_nothing_supported_exits_non_zero_naming_the_supported_types(tmp_path, settings):
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    r = _cli("ingest", str(tmp_path / "sheet.xlsx"))
    assert r.exit_code == 1
    assert "unsupported file type .xlsx; supported: .txt, .md, .pdf, .docx, .html, .htm, .png, .jpg" in r.output
