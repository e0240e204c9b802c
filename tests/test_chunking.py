"""Paragraph chunking: headings and junk, column-break repair, decoding, bylines, ads and metadata on the real corpus."""

from __future__ import annotations

import functools
import random
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from rag.settings import BUNDLED_CORPUS
from vectorstore.chunking import (
    MAX_CHUNK_CHARS,
    chunk_document,
    district_of,
    is_heading,
    is_junk,
    split_long,
    strip_byline,
)
from vectorstore.reading import UnreadableFile, decode, read_source
from vectorstore.types import Chunk

HUIJI = "000_3d681e5049de08f4.txt"  # 惠济区: a 人大 report and a 政协 report side by side
ERQI = "001_187c4b3ab0ed4735.txt"  # 二七区, markdown headings
ZHONGYUAN = "002_66608173c0941186.txt"  # 中原区人大
SHANGJIE = "003_a85273e589aee930.txt"  # 上街区政协, banner and editor credits on top
CITY = "004_a28f70b1047186b3.txt"  # 郑州市政协, a mobile-phone advert at the end
CORPUS_FILES = [HUIJI, ERQI, ZHONGYUAN, SHANGJIE, CITY]


@functools.cache
def source_text(name: str) -> str:
    return read_source(BUNDLED_CORPUS / name).text


@functools.cache
def corpus_chunks(name: str) -> tuple[Chunk, ...]:
    src = read_source(BUNDLED_CORPUS / name)
    return tuple(chunk_document(src.text, name, str(BUNDLED_CORPUS / name), src.sha256))


def chunk_with(name: str, needle: str) -> Chunk:
    found = [c for c in corpus_chunks(name) if needle in c.text]
    assert len(found) == 1, f"{len(found)} chunks of {name} contain {needle!r}"
    return found[0]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def article(*paragraphs: str, title: str = "## 解读二七区人大常委会工作报告") -> str:
    """A markdown page: a title, then blank-line separated paragraphs."""
    return "\n\n".join((title, *paragraphs)) + "\n"


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks]


# -- line classification ---------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("## 解读二七区人大常委会工作报告", True),
    ("### 切实增进民生福祉", True),
    ("切实增进民生福祉", True),
    ("惠济区第三届人民代表大会", True),
    ("2017 政协工作亮点", True),
    ("服务民生改善 提案办结率100%", True),
    ("●着力把牢正确政治方向,持续夯基铸魂", True),  # bullet heading, longer than the two-part rule allows
    ("坚持围绕中心,在助推转型发展上创造新业绩", True),  # two-part heading: one comma, short, unterminated
    ("构建共事“大家庭”", True),
    ("2020年,区政协紧扣全区中心工作,聚焦发挥专门协商机构作用,为全区发展议政添力。", False),
    ("推进食品安全。", False),
    ("成功举办辛丑年、壬寅年黄帝故里拜祖大典。", False),
    ("依法履行宪法法律赋予的职责不断提高人大工作水平着力发挥人大制度优势坚定信心开拓进取努力建设更加美丽的新惠济", False),
    ("", False),
    ("   ", False),
])
def test_is_heading(line: str, expected: bool) -> None:
    assert is_heading(line) is expected


@pytest.mark.parametrize(("line", "expected"), [
    ("责任编辑 崔玉琳", True),
    ("编辑:张三", True),
    ("新闻热线:68938301", True),
    ("热线 短信 10086", True),
    ("热烈祝贺区十三届人大二次会议 区政协九届二次会议胜利召开", True),
    ("全国9.5亿用户的共同选择", True),
    ("- 千兆宽带 网速就是快", True),
    ("- 买手机到移动 大品牌 更实惠", True),
    ("2月2日,惠济区政协主席张卫民在政协惠济区第三届委员会第五次会议作政协常委会工作报告。", False),
    ("扎实开展党史学习教育。", False),
    ("市政协委员直接捐款700多万元,捐物价值800多万元。", False),
    # News about phones and broadband is article text, however many advert words it uses.
    ("全市新建5G基站1.2万个,5G用户突破500万户,千兆宽带覆盖所有乡镇,移动、联通、电信共投资80亿元。", False),
    ("5G用户突破500万户。", False),
])
def test_is_junk(line: str, expected: bool) -> None:
    assert is_junk(line) is expected


def test_news_paragraph_about_mobile_networks_is_kept() -> None:
    paragraph = "全市新建5G基站1.2万个,5G用户突破500万户,千兆宽带覆盖所有乡镇,移动、联通、电信共投资80亿元。"
    assert texts(chunk_document(article(paragraph, title="## 郑州数字经济"), "x.txt")) == [paragraph]


# -- column-break repair ---------------------------------------------------

@pytest.mark.parametrize(("left", "right", "joined"), [
    pytest.param("对学前教育工作开展调研,提出科学统筹规划、加大财政投入、提高办园质量等意见。持",
                 "续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。",
                 True, id="word-split-across-columns"),
    pytest.param("推进学前教育发展。听取审",
                 "议中原区学前教育工作情况报告,针对学前教育发展不够均衡、公办幼儿园建设推进缓慢等问题提出整改建议。",
                 True, id="verb-split-across-columns"),
    pytest.param("探索设立人大代表议事厅,创新搭建代表联系选民新平台。依托各乡镇人大主席团和街道人",
                 "大工委,开展各类代表活动328次,各级代表参加学习培训1135人次,收集意见建议451条。",
                 True, id="name-split-across-columns"),
    pytest.param("对学前教育工作开展调研,提出科学统筹规划、加大财政投入、提高办园质量等意见。",
                 "续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用。",
                 False, id="left-ends-sentence"),
    pytest.param("一年来,区人大常委会认真履行法定职责,为推动全区经济社会高质量发展作出了积极贡献",
                 "2020年,区政协紧扣全区中心工作,聚焦发挥专门协商机构作用,为全区发展议政添力。",
                 False, id="right-opens-with-a-year"),
])
def test_column_break_repair(left: str, right: str, joined: bool) -> None:
    chunks = chunk_document(article(left, right), "x.txt")
    assert texts(chunks) == ([left + right] if joined else [left, right])


def test_column_tail_placed_above_its_head_is_joined_back() -> None:
    head = "搭好“一个平台”,夯实联系群众的主阵地。省、市、区、镇四级235名人大代表全部就近编入代表联络"
    tail = "站,使代表联络站成为了解社情民意的“会客厅”、发扬基层民主的“议事堂”。"
    before = "一年来,常委会注重发挥人大代表主体作用,不断拓宽察民情、访民意、听民声的渠道。"
    after = "完善“一套机制”,架起与人民群众的连心桥。各镇(街道)每月定期开展代表接待选民日活动。"
    chunks = chunk_document(article(before, tail, after, head), "x.txt")
    assert texts(chunks) == [before, after, head + tail]


def test_column_tail_is_not_searched_for_across_a_heading() -> None:
    # 中原区 page: "运用专题询问," starts with a short clause but is a whole paragraph of the previous section.
    done = "运用专题询问,为安置房建设“把脉问诊”。2020年开展了全区安置房建设工作专题询问,有效保障了代表的知情权。"
    intro = "区人大常委会按照“四个一流”的工作目标,着力建设政治机关、工作机关、代表机关、模范机关。"
    head = "深入推进能力作风建设,加强能力建设。坚持走出去、请进来,通过组织参加全市人大系统、"
    tail = "中原区公务员及法治干部履职培训班,对常委会组成人员和人大系统干部进行专题业务培训。"
    page = article("### 创新方式方法", done, "### 持续加强自身建设", intro, head, tail)
    assert texts(chunk_document(page, "x.txt")) == [done, intro, head + tail]


def test_real_column_breaks_are_repaired() -> None:
    assert "等意见。持续跟踪督导中小学" in chunk_with(ERQI, "续跟踪督导").text
    assert "推进学前教育发展。听取审议中原区学前教育工作情况报告" in chunk_with(ZHONGYUAN, "议中原区学前教育").text
    assert chunk_with(ZHONGYUAN, "运用专题询问").text.startswith("运用专题询问,为安置房建设")
    assert "全市人大系统、中原区公务员及法治干部履职培训班" in chunk_with(ZHONGYUAN, "深入推进能力作风建设").text


# -- line endings and encodings --------------------------------------------

@pytest.mark.parametrize("newline", ["\r\n", "\r"])
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_windows_line_endings_give_the_same_chunks(name: str, newline: str, tmp_path: Path) -> None:
    unix = source_text(name)
    path = tmp_path / name
    path.write_bytes(unix.replace("\n", newline).encode("utf-8"))
    src = read_source(path)
    assert src.text == unix
    assert chunk_document(src.text, name, "p") == chunk_document(unix, name, "p")


def test_chunker_itself_ignores_carriage_returns() -> None:
    unix = source_text(ERQI)

    def labels(chunks: list[Chunk]) -> list[dict]:
        return [{k: v for k, v in asdict(c).items() if k not in ("start", "end")} for c in chunks]

    assert labels(chunk_document(unix.replace("\n", "\r\n"), ERQI, "p")) == labels(chunk_document(unix, ERQI, "p"))


@pytest.mark.parametrize(("data", "text", "encoding"), [
    ("二七区新增优质学位1.04万个。".encode(), "二七区新增优质学位1.04万个。", "utf-8"),
    (b"\xef\xbb\xbf" + "二七区新增优质学位1.04万个。".encode(), "二七区新增优质学位1.04万个。", "utf-8"),
    ("惠济区“两联一述”工作机制,全区25个代表联络站。".encode("gb18030"), "惠济区“两联一述”工作机制,全区25个代表联络站。", "gb18030"),
    ("管城回族区政协".encode("gbk"), "管城回族区政协", "gb18030"),
])
def test_decode(data: bytes, text: str, encoding: str) -> None:
    assert decode(data) == (text, encoding)


def test_bom_file_reads_without_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + source_text(ERQI).encode("utf-8"))
    src = read_source(path)
    assert (src.text, src.encoding) == (source_text(ERQI), "utf-8")


def test_gb18030_file_gives_the_same_chunks(tmp_path: Path) -> None:
    path = tmp_path / ZHONGYUAN
    path.write_bytes(source_text(ZHONGYUAN).encode("gb18030"))
    src = read_source(path)
    assert src.encoding == "gb18030"
    assert src.text == source_text(ZHONGYUAN)
    assert chunk_document(src.text, ZHONGYUAN, "p") == chunk_document(source_text(ZHONGYUAN), ZHONGYUAN, "p")


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    ("noise.txt", random.Random(0).randbytes(4096).replace(b"\x00", b"\x01"), "not valid UTF-8"),
    ("latin1.txt", "Café crème, naïve façade, déjà vu. ".encode("latin-1") * 20, "not valid UTF-8"),
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b" \r\n\t\n\xe3\x80\x80\n", "empty file"),
    ("report.pdf", b"%PDF-1.4\n", "not a readable PDF"),
    ("draft.docx", b"PK\x03\x04 not really a zip", "not a readable Word (.docx) file"),
    ("page.html", b"<html><body><nav><a href='/'>home</a></nav></body></html>", "no article text found"),
    ("notes", "二七区".encode(), "unsupported file type (none); supported: .txt, .md, .pdf"),
    ("sheet.xlsx", b"PK\x03\x04", "unsupported file type .xlsx"),
])
def test_unreadable_files_are_rejected_with_a_reason(name: str, data: bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnreadableFile, match=re.escape(reason)):
        read_source(path)


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="cannot read"):
        read_source(tmp_path / "gone.txt")


# -- splitting, headings, bylines, ads -------------------------------------

def test_long_paragraph_splits_at_sentence_ends_and_keeps_its_section() -> None:
    sentences = [f"第{i}项,区人大常委会围绕民生热点开展视察调研,督促区政府持续改进工作,推动问题得到较好落实。"
                 for i in range(1, 17)]
    paragraph = "".join(sentences)
    assert len(paragraph) > 2 * MAX_CHUNK_CHARS
    chunks = chunk_document(article("### 推进民生实事落实", paragraph), "x.txt")
    assert len(chunks) >= 3
    assert "".join(texts(chunks)) == paragraph
    for c in chunks:
        assert len(c.text) <= MAX_CHUNK_CHARS
        assert c.text.endswith("。") and c.text.startswith("第")
        assert c.section == "推进民生实事落实"
        assert c.title == "解读二七区人大常委会工作报告"
    assert len({c.paragraph for c in chunks}) == 1
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(("text", "limit", "pieces"), [
    ("短句。", 300, ["短句。"]),
    ("甲乙。丙丁。戊己。", 4, ["甲乙。", "丙丁。", "戊己。"]),
    ("甲乙。丙丁。戊己。", 6, ["甲乙。丙丁。", "戊己。"]),
    ("一句没有句号但是很长的话", 6, ["一句没有句号但是很长的话"]),  # a long sentence stays whole
    ("一句没有句号但是很长的话", 5, ["一句没有句", "号但是很长的话"]),  # over twice the limit: cut
    ("他说:“好!”然后走了。", 6, ["他说:“好!”", "然后走了。"]),
])
def test_split_long(text: str, limit: int, pieces: list[str]) -> None:
    got = split_long(text, limit)
    assert [p for _, p in got] == pieces
    assert all(text[off : off + len(p)] == p for off, p in got)


def test_headings_become_sections_not_chunks() -> None:
    page = article("### 切实增进民生福祉", "审查批准区政府2020年度投资项目计划,确定53项事关民生改善的重点项目。",
                   "### 着力做好代表建议办理", "以创建星级人大代表联络站为目标,对131个人大代表联络站进行硬件改造。")
    chunks = chunk_document(page, "x.txt")
    assert [(c.section, c.text[:4]) for c in chunks] == [("切实增进民生福祉", "审查批准"), ("着力做好代表建议办理", "以创建星")]
    assert {c.title for c in chunks} == {"解读二七区人大常委会工作报告"}


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_heading_lines_of_the_corpus_are_not_chunks(name: str) -> None:
    lines = {line.strip().lstrip("#").strip() for line in source_text(name).splitlines()}
    headings = {line for line in lines if line and is_heading(line)}
    assert headings
    assert not headings & set(texts(list(corpus_chunks(name))))


@pytest.mark.parametrize(("byline", "reporter"), [
    ("记者 景静", "景静"),
    ("郑报全媒体记者 秦华", "秦华"),
    ("郑报全媒体记者 李爱琴 聂春洁", "李爱琴、聂春洁"),
    ("记者 张改华 通讯员 孙飞 张黎/文 刘赛/图", "张改华"),
])
def test_byline_gives_reporter_and_leaves_the_text(byline: str, reporter: str) -> None:
    paragraph = "2020年,二七区人大常委会全年召开常委会会议7次,听取和审议专项工作报告18个。"
    chunks = chunk_document(article(paragraph + byline), "x.txt")
    assert [(c.text, c.reporter) for c in chunks] == [(paragraph, reporter)]


def test_byline_in_the_corpus_is_stripped() -> None:
    c = chunk_with(ERQI, "作出了积极贡献")
    assert c.reporter == "景静"
    assert c.text.endswith("基层民主法治建设作出了积极贡献。")
    assert not any("记者" in c.text for name in CORPUS_FILES for c in corpus_chunks(name))


def _advert() -> tuple[str, str]:
    """(last article paragraph, the advert after it) from the 郑州市 page."""
    text = source_text(CITY).rstrip()
    end = text.index("进一步推动解决“两个薄弱”问题。") + len("进一步推动解决“两个薄弱”问题。")
    start = text.rindex("\n\n", 0, end) + 2
    return text[start:end], text[end:]


def test_advertisement_alone_yields_no_chunks() -> None:
    _, advert = _advert()
    assert "10086" in advert
    assert chunk_document(advert, CITY) == []


def test_advertisement_after_the_last_paragraph_is_dropped() -> None:
    last, advert = _advert()
    assert texts(chunk_document(last + advert, CITY)) == [last]
    assert not any(w in c.text for c in corpus_chunks(CITY) for w in ("10086", "移动", "宽带"))


def test_banner_and_editor_credits_are_dropped() -> None:
    joined = "".join(texts(list(corpus_chunks(SHANGJIE))))
    for junk in ("热烈祝贺", "责任编辑", "崔玉琳", "68938301"):
        assert junk not in joined


# -- metadata on the real corpus -------------------------------------------

def test_corpus_chunk_count() -> None:
    counts = {name: len(corpus_chunks(name)) for name in CORPUS_FILES}
    assert all(n >= 15 for n in counts.values()), counts
    assert sum(counts.values()) > 100


@pytest.mark.parametrize(("name", "needle", "contains", "district", "body"), [
    (ERQI, "续跟踪督导", "持续跟踪督导", "二七区", "人大"),
    (ERQI, "1.04万", "新增优质学位1.04万个", "二七区", "人大"),
    (ERQI, "每位机关干部全年读书8本以上", "着力打造“书香政协”", "二七区", "政协"),
    (ZHONGYUAN, "议中原区学前教育", "听取审议中原区学前教育", "中原区", "人大"),
    (HUIJI, "全区25个代表联络站", "全区25个代表联络站", "惠济区", "人大"),
    (HUIJI, "优良天数达到244天", "优良天数达到244天", "惠济区", "人大"),
    (HUIJI, "共收到提案135件", "共收到提案135件", "惠济区", "政协"),
    (HUIJI, "社情民意信息23条", "社情民意信息23条", "惠济区", "政协"),
    (SHANGJIE, "共提交提案132件", "共提交提案132件", "上街区", "政协"),
    (CITY, "700多万元", "直接捐款700多万元", "郑州市", "政协"),
])
def test_chunk_metadata(name: str, needle: str, contains: str, district: str, body: str) -> None:
    c = chunk_with(name, needle)
    assert contains in c.text
    assert (c.district, c.body) == (district, body)


@pytest.mark.parametrize(("text", "district"), [
    ("2020年,二七区人大常委会全年召开常委会会议7次。", "二七区"),
    ("赴长沙市岳麓区人大常委会学习考察。", "岳麓区"),  # the district, not the city it is written after
    ("政协云溪县第九届委员会第二次会议在县会议中心开幕。", "云溪县"),  # a county no dictionary knows
    ("最大降雨出现在辉县市薄壁镇,新乡市全市平均降雨量186.4毫米,新乡市启动应急响应。", "新乡市"),
    ("市政协委员直接捐款700多万元。", ""),  # "市" alone names no place
    ("对全区“双改”工作进行视察,督促区政府持续巩固改造成果。", ""),  # not a district called 督促区
    ("听取审议工作报告,要求区政府深入推进疾病预防控制工作。", ""),
    ("通过联系群众,推动全区人大工作创新发展。", ""),
])
def test_district_of(text: str, district: str) -> None:
    assert district_of(text) == district


def test_paragraph_without_a_district_takes_the_page_district() -> None:
    page = article("2021年,区人大常委会将组织代表视察养老服务设施建设,督促区政府新建社区养老服务中心12个。",
                   title="## 2021年 坚持把群众身边小事当做大事")
    assert [c.district for c in chunk_document(page, "x.txt")] == [""]
    erqi = source_text(ERQI) + "\n\n2021年,区人大常委会将组织代表视察养老服务设施,督促区政府新建社区养老服务中心12个。\n"
    assert {c.district for c in chunk_document(erqi, ERQI)} == {"二七区"}


def test_huiji_page_labels_each_report_with_its_body() -> None:
    chunks = corpus_chunks(HUIJI)
    renda = [c for c in chunks if c.body == "人大"]
    zhengxie = [c for c in chunks if c.body == "政协"]
    assert len(renda) + len(zhengxie) == len(chunks)
    assert renda and zhengxie
    assert all("人大" in c.title for c in renda)
    assert all("政协" in c.title for c in zhengxie)


def test_city_page_metadata() -> None:
    chunks = corpus_chunks(CITY)
    assert {c.district for c in chunks} == {"郑州市"}
    assert all("李爱琴" in c.reporter for c in chunks)
    assert {c.body for c in chunks} == {"政协"}


def test_sections_and_years() -> None:
    assert chunk_with(ERQI, "续跟踪督导").section == "切实增进民生福祉"
    assert chunk_with(ERQI, "续跟踪督导").year == 2020
    assert chunk_with(ERQI, "依法履行司法监督权").year == 2021
    assert chunk_with(SHANGJIE, "共提交提案132件").year == 2017
    assert chunk_with(SHANGJIE, "精品提案").year == 2018


def test_chunk_ids_are_unique_and_stable() -> None:
    ids = [c.id for name in CORPUS_FILES for c in corpus_chunks(name)]
    assert len(ids) == len(set(ids))
    src = source_text(ERQI)
    assert [c.id for c in chunk_document(src, ERQI, "/a/x.txt")] == [c.id for c in chunk_document(src, ERQI, "/a/x.txt")]
    assert not {c.id for c in chunk_document(src, ERQI, "/a/x.txt")} & {c.id for c in chunk_document(src, ERQI, "/b/x.txt")}


def verbatim_runs(text: str, source: str) -> list[str]:
    """Cut `text` into the fewest runs that each occur in `source`, whitespace aside (longest first)."""
    haystack, rest, runs = flat(source), flat(text), []
    while rest:
        lo, hi = 0, len(rest)
        while lo < hi:  # longest prefix of rest that occurs in the source
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if rest[:mid] in haystack else (lo, mid - 1)
        assert lo, f"{rest[:20]!r} does not occur in the source"
        runs.append(rest[:lo])
        rest = rest[lo:]
    return runs


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_chunk_text_is_verbatim_source_text(name: str) -> None:
    """Quotes must be findable in the file: a chunk is source text, or a column's head followed by its tail.

    The tail of a column break is sometimes printed above its head; the chunker joins it back, so such a
    chunk is two verbatim runs: the head (ending a paragraph) then the tail (opening an earlier paragraph).
    """
    source = source_text(name)
    paragraphs = [flat(p) for p in re.split(r"\n\s*\n", source) if p.strip()]
    for c in corpus_chunks(name):
        runs = verbatim_runs(c.text, source)
        spanned = flat(source[c.start : c.end])
        assert 0 <= c.start < c.end <= len(source)
        assert all(run in spanned for run in runs), c.text
        if len(runs) == 1:
            continue
        assert len(runs) == 2, runs
        head, tail = runs
        assert flat(source).index(tail) < flat(source).index(head)
        assert any(p.endswith(head) for p in paragraphs), head
        assert any(p.startswith(tail) for p in paragraphs), tail


def test_every_article_line_is_in_some_chunk() -> None:
    """Nothing of the articles is lost: each line of text (not a heading, credit or advert) is inside a chunk."""
    for name in CORPUS_FILES:
        joined = flat("".join(texts(list(corpus_chunks(name)))))
        source = source_text(name)
        if name == CITY:
            source = source[: source.index(_advert()[1])]
        for line in source.splitlines():
            line = strip_byline(line.strip())
            if line and not is_heading(line) and not is_junk(line):
                assert flat(line) in joined, f"{name}: {line[:30]}"


@pytest.mark.parametrize("line", [
    "青石县" * 10_000,  # no punctuation at all: cut at the limit
    "，".join(f"第{i}项工程已完工" for i in range(4_000)),  # one endless sentence: cut after a comma
])
def test_a_run_on_line_is_cut_into_bounded_chunks_that_keep_every_character(line):
    chunks = chunk_document(line, "long.txt", "long.txt")
    assert max(len(c.text) for c in chunks) <= 2 * MAX_CHUNK_CHARS
    assert "".join(c.text for c in chunks) == line
    assert all(line[c.start:c.start + len(c.text)] == c.text for c in chunks)
    if "，" in line:
        assert all(c.text.endswith("，") for c in chunks[:-1])
