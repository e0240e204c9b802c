"""Document metadata: sidecars (NAME.meta.json), YAML front matter, and what the page prints (dateline, masthead)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rag.settings import BUNDLED_CORPUS
from vectorstore.chunking import chunk_document, masthead
from vectorstore.metadata import BadMetadata, DocMeta, front_matter, parse, parse_sidecar
from vectorstore.reading import UnreadableFile, discover, read_source

ERQI = "001_187c4b3ab0ed4735.txt"
SIDECAR = {"outlet": "郑州日报", "date": "2021-02-05", "url": "https://example.com/zzrb/2021-02/05/5.html",
           "page": 5}
BODY = "2020年,区人大常委会认真履行法定职责,全年召开常委会会议7次。记者 景静\n\n新增优质学位1.04万个,持续跟踪督导中小学建设。\n"


def chunks_of(path: Path) -> list:
    src = read_source(path)
    return chunk_document(src.text, path.name, str(path), src.sha256, src.meta)


# -- parsing -------------------------------------------------------------------

def test_a_sidecar_sets_every_key() -> None:
    meta = parse({"title": "解读二七区人大常委会工作报告", "outlet": "郑州日报", "date": "2021-02-05",
                  "url": "https://example.com/a.html", "reporters": ["景静", "秦华"], "district": "二七区", "page": "第A05版"})
    assert meta == DocMeta("解读二七区人大常委会工作报告", "郑州日报", "2021-02-05", "https://example.com/a.html",
                           ("景静", "秦华"), "二七区", "A05")


@pytest.mark.parametrize(("value", "iso"), [
    ("2021-02-05", "2021-02-05"), ("2021-2-5", "2021-02-05"), ("2021-02", "2021-02"), ("2021", "2021"),
    (2021, "2021"), ("2021年2月5日", "2021-02-05"), ("2021年2月", "2021-02"),
])
def test_dates_are_iso_and_only_as_precise_as_given(value: object, iso: str) -> None:
    assert parse({"date": value}).date == iso


def test_reporters_may_be_one_string() -> None:
    assert parse({"reporters": "李爱琴、聂春洁"}).reporters == ("李爱琴", "聂春洁")
    assert parse({"reporters": "李爱琴, 聂春洁"}).reporters == ("李爱琴", "聂春洁")


def test_an_empty_value_is_not_known() -> None:
    assert parse({"outlet": None, "title": "标题"}) == DocMeta(title="标题")


@pytest.mark.parametrize(("obj", "needle"), [
    ({"auther": "景静"}, "unknown key 'auther'; use title, outlet, date, url, reporters, district, page"),
    ({"date": "2021-02-30"}, "'date' 2021-2-30 is not a date"),
    ({"date": "去年春天"}, "'date' must be written 2024-01-10"),
    ({"url": "www.example.com"}, "'url' must be an http(s) address"),
    ({"title": ["a", "b"]}, "'title' must be a string"),
    ({"title": " "}, "'title' is empty"),
    ({"reporters": []}, "'reporters' is empty"),
    ({"reporters": {"name": "景静"}}, "'reporters' must be a list of names"),
    ({"page": "第五版"}, "'page' is the page number"),
    (["title", "x"], "must be an object of title, outlet"),
])
def test_bad_metadata_says_what_is_wrong(obj: object, needle: str) -> None:
    with pytest.raises(BadMetadata) as err:
        parse(obj)
    assert needle in str(err.value)


def test_bad_json_names_line_and_column() -> None:
    with pytest.raises(BadMetadata, match=r"not valid JSON \(line 2, column 1"):
        parse_sidecar(b'{"outlet": "x"\n"date": "2021"}')


def test_front_matter() -> None:
    text = "---\ntitle: 头版标题\ndate: 2021-02-05\nreporters: [景静]\n---\n# 标题\n\n正文。\n"
    meta, length = front_matter(text)
    assert meta == DocMeta(title="头版标题", date="2021-02-05", reporters=("景静",))
    assert text[length:].startswith("# 标题")
    assert front_matter("# 标题\n\n---\n\n正文。\n") == (DocMeta(), 0)
    assert front_matter("---\n\n# 标题\n\n正文。\n\n---\n") == (DocMeta(), 0)  # a rule, not front matter


def test_bad_front_matter_names_the_line() -> None:
    with pytest.raises(BadMetadata, match=r"not valid YAML \(line 3"):
        front_matter("---\ntitle: a\noutlet: b: c\n---\n正文。\n")


# -- reading -------------------------------------------------------------------

def test_the_sidecar_counts_in_the_file_hash(tmp_path: Path) -> None:
    article = tmp_path / ERQI
    shutil.copy(BUNDLED_CORPUS / ERQI, article)
    plain = read_source(article)
    assert plain.sha256 == hashlib.sha256(article.read_bytes()).hexdigest() and plain.meta == DocMeta()
    (tmp_path / "001_187c4b3ab0ed4735.meta.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    with_meta = read_source(article)
    assert with_meta.text == plain.text and with_meta.sha256 != plain.sha256
    assert with_meta.meta == DocMeta(outlet="郑州日报", date="2021-02-05", url=SIDECAR["url"], page="5")
    (tmp_path / "001_187c4b3ab0ed4735.meta.json").write_text(json.dumps({**SIDECAR, "page": 6}), encoding="utf-8")
    assert read_source(article).sha256 not in (plain.sha256, with_meta.sha256)


def test_a_bad_sidecar_skips_its_article_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"date": "昨天"}', encoding="utf-8")
    with pytest.raises(UnreadableFile) as err:
        read_source(tmp_path / "a.txt")
    assert str(err.value).startswith("a.meta.json: 'date' must be written 2024-01-10")
    assert str(err.value).endswith("; fix it or remove it") and "\n" not in str(err.value)


def test_bad_front_matter_skips_the_file_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nauthor: 景静\n---\n" + BODY, encoding="utf-8")
    with pytest.raises(UnreadableFile, match="front matter unknown key 'author'.*remove the --- block"):
        read_source(tmp_path / "a.md")


def test_sidecars_are_not_articles(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    (tmp_path / "b.md").write_text(BODY, encoding="utf-8")
    (tmp_path / "b.meta.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    (tmp_path / "lost.meta.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    files, skipped = discover([tmp_path])
    assert [f.name for f in files] == ["a.txt", "b.md"]
    assert [(p.name, r) for p, r in skipped] == [
        ("lost.meta.json", "metadata sidecar without an article: no lost.txt or lost.md beside it")]
    with pytest.raises(UnreadableFile, match="a metadata sidecar: it is read with its article"):
        read_source(tmp_path / "a.meta.json")


# -- chunks --------------------------------------------------------------------

def test_sidecar_metadata_is_on_every_chunk_and_overrides_the_page(tmp_path: Path) -> None:
    article = tmp_path / ERQI
    shutil.copy(BUNDLED_CORPUS / ERQI, article)
    before = chunks_of(article)
    assert {(c.outlet, c.date, c.url, c.page) for c in before} == {("", "", "", "")}
    (tmp_path / "001_187c4b3ab0ed4735.meta.json").write_text(
        json.dumps({**SIDECAR, "title": "解读报告", "reporters": ["景静", "张三"], "district": "郑州市"}), encoding="utf-8")
    after = chunks_of(article)
    assert [c.id for c in after] == [c.id for c in before] and [c.text for c in after] == [c.text for c in before]
    assert {(c.title, c.reporter, c.district, c.outlet, c.date, c.url, c.page) for c in after} == {
        ("解读报告", "景静、张三", "郑州市", "郑州日报", "2021-02-05", SIDECAR["url"], "5")}
    assert {c.byline for c in after} == {"记者 景静"}  # the byline as printed stays a verbatim quote
    # The store passes the path alone: the sidecar is found beside it.
    src = read_source(article)
    assert chunk_document(src.text, ERQI, str(article), src.sha256) == after


def test_front_matter_is_metadata_not_a_paragraph(tmp_path: Path) -> None:
    head = "---\noutlet: 郑州日报\ndate: 2021-02-05\nurl: https://example.com/a.html\n---\n"
    page = "# 解读二七区人大常委会工作报告\n\n" + BODY
    (tmp_path / "plain.md").write_text(page, encoding="utf-8")
    (tmp_path / "front.md").write_text(head + page, encoding="utf-8")
    plain, front = chunks_of(tmp_path / "plain.md"), chunks_of(tmp_path / "front.md")
    assert [c.text for c in front] == [c.text for c in plain]
    assert [c.paragraph for c in front] == [c.paragraph for c in plain]
    text = (tmp_path / "front.md").read_text(encoding="utf-8")
    assert all(text[c.start:c.end] == c.text for c in front)  # offsets are the file's
    assert {(c.title, c.outlet, c.date, c.url) for c in front} == {
        ("解读二七区人大常委会工作报告", "郑州日报", "2021-02-05", "https://example.com/a.html")}


@pytest.mark.parametrize(("line", "expected"), [
    ("2021年2月5日 星期五", ("", "2021-02-05", "")),
    ("郑州日报 2021年2月5日 第5版", ("郑州日报", "2021-02-05", "5")),
    ("2021-02-05  A05版", ("", "2021-02-05", "A05")),
    ("2021年2月5日,区人大常委会召开会议。", None),
    ("2021年2月30日", None),
    ("2月5日 星期五", None),
])
def test_masthead(line: str, expected: tuple[str, str, str] | None) -> None:
    assert masthead(line) == expected


def test_what_the_page_prints() -> None:
    page = "郑州日报 2021年2月5日 星期五 第5版\n\n要闻观察\n\n解读二七区人大常委会工作报告\n\n为全区高质量发展贡献力量\n\n" + BODY
    chunks = chunk_document(page, "a.txt")
    assert {(c.title, c.outlet, c.date, c.page) for c in chunks} == {
        ("解读二七区人大常委会工作报告 为全区高质量发展贡献力量", "郑州日报", "2021-02-05", "5")}
    assert all("2021年2月5日" not in c.text for c in chunks) and {c.year for c in chunks} == {2020}


@pytest.mark.parametrize(("lead", "outlet"), [
    ("郑州日报讯 2月5日,", "郑州日报"),
    ("新华社郑州2月5日电(记者 景静)", "新华社"),
    ("本报讯(记者 景静)2月5日,", ""),
    ("本报郑州讯 2月5日,", ""),
    ("据新华社电 2月5日,", ""),
    ("合作社电商平台2月5日上线,", ""),
])
def test_outlet_from_the_dateline(lead: str, outlet: str) -> None:
    page = f"解读二七区人大常委会工作报告\n\n{lead}区人大常委会认真履行法定职责,全年召开常委会会议7次。\n"
    assert {c.outlet for c in chunk_document(page, "a.txt")} == {outlet}


def test_a_sidecar_outlet_wins_over_the_dateline(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("标题\n\n郑州日报讯 2月5日,区人大常委会召开会议,审议工作报告。\n", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"outlet": "郑州晚报"}', encoding="utf-8")
    assert {c.outlet for c in chunks_of(tmp_path / "a.txt")} == {"郑州晚报"}


def test_a_column_label_is_not_the_headline() -> None:
    page = "文化周刊\n\n千年古都风华再现\n\n特展在市博物馆开幕\n\n5月18日上午,特展在市博物馆开幕,展出文物216件。\n"
    assert {c.title for c in chunk_document(page, "a.txt")} == {"千年古都风华再现 特展在市博物馆开幕"}
    # A short headline alone is the headline.
    one = "春运开启\n\n1月10日,春运开始,全市预计发送旅客300万人次。\n"
    assert {c.title for c in chunk_document(one, "a.txt")} == {"春运开启"}
