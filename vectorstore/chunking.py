"""Split scanned newspaper text into paragraph chunks: repair column breaks, attach headings, label metadata."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from vectorstore.metadata import BadMetadata, DocMeta, blank, front_matter, front_matter_length, iso_date, read_sidecar
from vectorstore.places import count_places, main_place
from vectorstore.types import Chunk


def _code_version() -> str:
    """A hash of the code that turns a file into chunks: `rag ingest` skips a file whose text and chunker are
    both unchanged, and re-chunks every file after an upgrade changed how chunks are cut or labelled."""
    here = Path(__file__).parent
    h = hashlib.sha1()
    for name in ("chunking.py", "places.py", "keyword.py", "lexicon.py", "reading.py", "types.py", "metadata.py",
                 "script.py", "formats.py", "layout.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


CHUNKER = _code_version()

FINAL_PUNCT = "。!?;…！？；.”」』\"'）)"
CLAUSE_PUNCT = "。!?;,、:！？；，：…"
MAX_CHUNK_CHARS = 300
MAX_HEADING_CHARS = 40

_YEAR = re.compile(r"(20\d\d)年")
_LEAD_YEAR = re.compile(r"^(?:[#\s●■◆]*)(20\d\d)(?:年|\s|$)")
# A byline trailing a paragraph ("…取得了明显成效。记者 张三"): any outlet's prefix, reporters, then helpers.
_BYLINE = re.compile(r"\s*[\u4e00-\u9fa5]{0,8}记者\s*((?:[\u4e00-\u9fa5]{2,3}\s*)+?)(?=\s*(?:通讯员|摄影|/|$))[^。!?]*$")
# One reporter's name after "记者": two or three characters ending at a space, a bracket, a mark or the line's end.
_BYLINE_NAME = re.compile(r"[ \t\u3000]*([\u4e00-\u9fa5]{2,3})(?=[ \t\u3000、,，)）*_]|$|通讯员|实习生|见习记者|摄影)",
                          re.M)  # (a role word ends a name too: OCR drops the space before it)
_BYLINE_ROLES = ("通讯员", "实习生", "摄影", "见习记者", "报道", "摄", "文", "图")
# Editor credits, alone or after a section label on the same line ("民生视点      本版编辑 李四").
_CREDIT = re.compile(r"(?:^|\s)[(（]?(?:本版|本期)?(?:责任编辑|编辑|校对|美编|审核|签发|版式|组版|统筹)\s*[:：]?\s*\S{2,4}[)）]?$")
# A photo caption ("图为…。 记者 张三 摄") or a byline alone on its line ("通讯员 王五", "*本报记者 赵六*").
_CAPTION = re.compile(r"^(?:图为|图片|上图|下图|左图|右图|资料图)|(?:记者|摄影|通讯员)\s*\S{2,3}\s*摄$")
_BYLINE_LINE = re.compile(r"^[□■*_\s]*(?:[\u4e00-\u9fa5]{0,8}(?:记者|通讯员|实习生)\s*[\u4e00-\u9fa5]{2,3}[\s*_]*)+$")
_HOTLINE = re.compile(r"(?:热线|电话|短信|传真)\s*[:：]?\s*\d[\dxX*\-]{4,}")
# A line newspapers print under an article: a label, a colon, its value ("咨询热线：…", "活动地址：…").
_LABELLED = re.compile(r"^[\u4e00-\u9fa5A-Za-z（）()]{2,10}\s*[:：]\s*[^\s:：].*$")
# Figures such a line holds: a phone number, a date or time, a street number, an amount with its unit.
_FIGURE = re.compile(
    r"(?:\d{3,4}-)?\d{7,8}(?:-\d{1,5})?|1[3-9]\d{9}|\d{5,6}"
    r"|(?:\d{2,4}\s*年\s*)?\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[:：]\d{2}"
    r"|[\u4e00-\u9fa5]{1,8}(?:路|街|道|巷|胡同)\d+(?:-\d+)?号|\d+号(?:楼|院)?"
    r"|\d+(?:[.,]\d+)*\s*[万亿千百]?\s*(?:元|美元|欧元|平方米|平方公里|公里|千米|米|公顷|亩|吨|千克|公斤|克|升"
    r"|人次|人|户|个|件|项|座|辆|套|间|张|天|小时|分钟|岁|%|％)")
_AD_WORDS = ("用户", "宽带", "WiFi", "5G", "手机", "网速", "套餐", "优惠", "流量", "品牌", "选择", "移动")
_BANNER = re.compile(r"^热烈(?:祝贺|庆祝)")
_OPENERS = re.compile(r"^(?:20\d\d年|\d{1,2}月\d{1,2}日|同时|此外|另外|其中|目前|今年|去年|一年来|围绕|面对|针对|对于|据悉|记者)")
_QUOTED = re.compile(r"[“‘《「『][^”’》」』]*[”’》」』]")
# A dateline naming the paper or agency ("某某日报讯 …", "某某社某地3月5日电(记者 …)"); "本报讯" names none.
_DATELINE = re.compile(r"[(（]?(?!本报|据|该)([\u4e00-\u9fa5]{1,10}?(?:日报|晚报|晨报|早报|报|通讯社|新闻社|社|网))"
                       r"(?:[\u4e00-\u9fa5]{2,8}?)?(?:\d{1,2}月\d{1,2}日)?(?:讯|电)(?=[\s(（:：]|$)")
# A masthead line: the paper's full date, perhaps with its name, the weekday and the page ("第5版", "A05版").
_FULL_DATE = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|((?:19|20)\d\d)-(\d{1,2})-(\d{1,2})")
_PAGE = re.compile(r"第\s*([A-Z]?\d{1,3})\s*版|\b([A-Z]\d{1,3})\s*版?\b")
_WEEKDAY = re.compile(r"(?:星期|周)[一二三四五六日天]")
_MAX_SECTION_LABEL = 6  # a page's section label in its masthead ("城市", "要闻", "国际新闻")
_OUTLET_NAME = re.compile(r"[\u4e00-\u9fa5A-Za-z]{1,12}(?:报|刊|社)")
# A column label above the headline ("某某观察", "某某周刊"): one word of at most four characters.
_COLUMN_LABEL = re.compile(r"[\u4e00-\u9fa5]{2,4}")


@dataclass(frozen=True)
class Block:
    """A line or paragraph of the file, classified."""

    text: str
    start: int
    end: int
    index: int  # 1-based, counting every non-empty block of the file
    kind: str  # "heading", "text" or "junk"
    level: int = 0  # markdown heading level; 0 for plain-text headings


def is_heading(line: str) -> bool:
    """A markdown heading, a bullet heading, or a short line with no sentence punctuation."""
    s = line.strip()
    if not s:
        return False
    if s.startswith("#"):
        return True
    if len(s) > MAX_HEADING_CHARS:
        return False
    if s[0] in "●■◆▲★":
        return True
    bare = _QUOTED.sub("", s)
    clauses = sum(ch in CLAUSE_PUNCT for ch in bare)
    # "聚焦民生实事,在服务群众上交出新答卷": a two-part heading, short and unterminated.
    return clauses == 0 or (clauses == 1 and len(s) <= 25 and ("," in bare or "，" in bare) and not ends_sentence(s))


def is_junk(line: str) -> bool:
    """Editor credits, hotlines, banners and advertisement copy: not article text."""
    s = _bare(line)
    return bool(_HOTLINE.search(s)) or _furniture(s)


def _bare(line: str) -> str:
    return line.strip().lstrip("-*•> ").strip()


def _furniture(s: str) -> bool:
    """Credits, bylines, captions, banners, mastheads and ad copy: junk wherever they stand on the page.

    A hotline is not among them: between an article's paragraphs it is the article's (see _keep_printed_lines).
    """
    if _CREDIT.search(s) or _BANNER.match(s) or _BYLINE_LINE.match(s) or masthead(s):
        return True
    if _CAPTION.search(s) and len(s) <= 2 * MAX_HEADING_CHARS:
        return True
    # Ad copy is short slogans; a sentence about 5G users or broadband is news, not an advert.
    if len(s) > MAX_HEADING_CHARS or ends_sentence(s):
        return False
    return sum(word in s for word in _AD_WORDS) >= 2


def is_printed_line(line: str) -> bool:
    """A short line complete on its own: "label：value", or mostly a figure (a phone number, a date, an amount).

    Papers print such lines under a paragraph (a hotline, an address, a deadline, a price): they hold the figures
    readers ask for, end without a full stop, and are neither headings nor the head of a column-broken sentence.
    """
    s = line.strip()
    if not s or len(s) > MAX_HEADING_CHARS or s[0] in "#●■◆▲★-*•>" or ends_sentence(s):
        return False
    if s.count("“") != s.count("”"):
        return False  # "他表示：“我们将继续加大": a quotation the next column goes on with
    if _LABELLED.match(s) and s[-1] not in CLAUSE_PUNCT:
        return True
    chars = len(re.sub(r"\s", "", s))
    return 2 * sum(len(re.sub(r"\s", "", m.group(0))) for m in _FIGURE.finditer(s)) >= chars


def split_blocks(text: str) -> list[Block]:
    """Blank-line separated blocks; lines of headings, lists and credits become blocks of their own."""
    blocks: list[Block] = []
    for m in re.finditer(r"[^\n]+(?:\n[ \t\u3000]*[^\s][^\n]*)*", text):
        raw = m.group(0)
        if not raw.strip():
            continue
        lines = [(lm.group(0), m.start() + lm.start()) for lm in re.finditer(r"[^\n]+", raw) if lm.group(0).strip()]
        if len(lines) > 1 and not any(is_heading(t) or is_junk(t) or t.lstrip().startswith(("-", "*", "•")) for t, _ in lines):
            # A hard-wrapped paragraph: its lines are one paragraph (quotes compare whitespace aside).
            joined = "".join(t.strip() for t, _ in lines)
            blocks.append(_classify(joined, m.start(), m.end(), len(blocks) + 1))
            continue
        for t, start in lines:
            blocks.append(_classify(t, start, start + len(t), len(blocks) + 1))
    return _mark_trailing_ads(_keep_printed_lines(blocks))


def _classify(text: str, start: int, end: int, index: int) -> Block:
    s = text.strip()
    lead = len(text) - len(text.lstrip())
    start, end = start + lead, start + lead + len(s)
    if is_junk(s):
        return Block(s, start, end, index, "junk")
    if s.startswith("#"):
        level = len(s) - len(s.lstrip("#"))
        return Block(s.lstrip("#").strip(), start, end, index, "heading", level)
    if s.lstrip("-*• ") != s and len(s) <= MAX_HEADING_CHARS:
        return Block(s, start, end, index, "junk")  # list bullets outside articles: menus, ads
    return Block(s, start, end, index, "heading" if is_heading(s) else "text")


def _printed_candidate(b: Block) -> bool:
    """A line taken for a heading (no sentence punctuation) or for junk (a hotline) that may be a printed line."""
    if b.kind == "heading":
        return not b.level and is_printed_line(b.text)
    s = _bare(b.text)
    return b.kind == "junk" and s == b.text and bool(_HOTLINE.search(s)) and not _furniture(s)


def _keep_printed_lines(blocks: list[Block]) -> list[Block]:
    """Printed lines (hotline, address, date, price) between an article's paragraphs are its text.

    A run of them counts when a text paragraph stands just above it and the article goes on below it; after
    the last paragraph a hotline is an advertisement's (see _mark_trailing_ads), above the first the page's.
    """
    out = list(blocks)
    i = 0
    while i < len(out):
        if not _printed_candidate(out[i]):
            i += 1
            continue
        j = i
        while j < len(out) and _printed_candidate(out[j]):
            j += 1
        if i > 0 and out[i - 1].kind == "text" and any(b.kind == "text" for b in out[j:]):
            out[i:j] = [replace(b, kind="text") for b in out[i:j]]
        i = j
    return out


def _mark_trailing_ads(blocks: list[Block]) -> list[Block]:
    """An advertisement ends a page: from the first junk line after the last text paragraph, all is junk."""
    last_text = max((i for i, b in enumerate(blocks) if b.kind == "text"), default=-1)
    first_junk = next((i for i in range(last_text + 1, len(blocks)) if blocks[i].kind == "junk"), None)
    if first_junk is None:
        return blocks
    # The ad's headline often sits just above its first recognised line.
    cut = first_junk
    while cut - 1 > last_text and blocks[cut - 1].kind == "heading":
        cut -= 1
    return blocks[:cut] + [replace(b, kind="junk") for b in blocks[cut:]]


def ends_sentence(text: str) -> bool:
    text = strip_byline(text)
    return bool(text) and text[-1] in FINAL_PUNCT


def _first_clause(text: str) -> str:
    m = re.search(f"[{re.escape(CLAUSE_PUNCT)}]", text)
    return text[: m.start()] if m else text


def _unbalanced_close(text: str) -> bool:
    """A closing quote before any opening one: the paragraph starts inside a quotation."""
    clause = text[:20]
    close = min((clause.find(c) for c in "”」』" if c in clause), default=-1)
    opened = min((clause.find(c) for c in "“「『" if c in clause), default=99)
    return close >= 0 and close < opened


def starts_mid_sentence(text: str) -> bool:
    """The paragraph is the tail of a sentence cut by a column break."""
    if _OPENERS.match(text):
        return False
    return _unbalanced_close(text) or len(_first_clause(text)) <= 6 or text[0] in CLAUSE_PUNCT


def _joins_word(left: str, right: str) -> bool:
    """A dictionary word spans the break ("持" + "续跟踪" -> 持续)."""
    from vectorstore.keyword import segmenter

    tail, head = left[-4:], right[:4]
    pos = 0
    for word in segmenter().lcut(tail + head, HMM=False):
        if pos < len(tail) < pos + len(word) and len(word) >= 2:
            return True
        pos += len(word)
    return False


def repair(blocks: list[Block]) -> list[list[Block]]:
    """Group text blocks into paragraphs, joining column-broken pieces.

    A text block ending without sentence-final punctuation continues in the next text
    block when nothing but it lies between them and that block reads as a continuation;
    failing that, in a nearby earlier block that starts mid-sentence (scans sometimes
    place a column's tail above its head); failing that, in the next text block unless
    that one clearly opens a new sentence.
    """
    texts = [i for i, b in enumerate(blocks) if b.kind == "text"]
    claimed: set[int] = set()
    follow: dict[int, int] = {}
    # A printed line ("咨询热线：…") is a paragraph of its own: it neither continues nor is continued.
    lines = {i for i in texts if is_printed_line(blocks[i].text)}
    for pos, i in enumerate(texts):
        a = blocks[i]
        if ends_sentence(a.text) or i in lines:
            continue
        nxt = texts[pos + 1] if pos + 1 < len(texts) else None
        adjacent = nxt is not None and all(blocks[j].kind == "junk" for j in range(i + 1, nxt))
        b = blocks[nxt] if nxt is not None and nxt not in lines else None
        if adjacent and b is not None and nxt not in claimed and (
            (starts_mid_sentence(b.text) or _joins_word(a.text, b.text)) and not _OPENERS.match(b.text)
        ):
            follow[i] = nxt
            claimed.add(nxt)
            continue
        # A column's tail misplaced above its head stays in the same section: never look across a heading.
        earlier = [j for j in texts[max(0, pos - 3) : pos] if j not in claimed | lines and j not in follow.values()
                   and not any(blocks[k].kind == "heading" for k in range(j + 1, i))]
        orphan = next((j for j in reversed(earlier) if starts_mid_sentence(blocks[j].text)
                       and not _continues_previous(blocks, texts, j, follow)), None)
        if orphan is not None:
            follow[i] = orphan
            claimed.add(orphan)
            continue
        if adjacent and b is not None and nxt not in claimed and not _OPENERS.match(b.text):
            follow[i] = nxt
            claimed.add(nxt)
    groups: list[list[Block]] = []
    for i in texts:
        if i in claimed:
            continue
        group = [blocks[i]]
        j = i
        while j in follow:
            j = follow[j]
            group.append(blocks[j])
        groups.append(group)
    return groups


def _continues_previous(blocks: list[Block], texts: list[int], j: int, follow: dict[int, int]) -> bool:
    """Block j already reads as the continuation of the text block just before it."""
    pos = texts.index(j)
    return pos > 0 and not ends_sentence(blocks[texts[pos - 1]].text) and follow.get(texts[pos - 1]) == j


def split_long(text: str, limit: int = MAX_CHUNK_CHARS) -> list[tuple[int, str]]:
    """Split at sentence ends into pieces of at most ~limit characters: (offset, piece)."""
    if len(text) <= limit:
        return [(0, text)]
    sentences = [(m.start(), m.group(0)) for m in re.finditer(r"[^。!?;！？；]*[。!?;！？；]+[”」』]?|[^。!?;！？；]+$", text)]
    pieces: list[tuple[int, str]] = []
    cur_start, cur = 0, ""
    for off, s in (part for sentence in sentences for part in _cut_sentence(*sentence, limit)):
        if cur and len(cur) + len(s) > limit:
            pieces.append((cur_start, cur))
            cur_start, cur = off, ""
        cur += s
    if cur:
        pieces.append((cur_start, cur))
    return pieces


def _cut_sentence(offset: int, sentence: str, limit: int) -> list[tuple[int, str]]:
    """A sentence over twice `limit` (a run-on line, a table flattened into text) in pieces: each of at most
    `limit`, cut after the last clause mark inside it, else at its end; the last at most twice `limit`. A long
    sentence stays whole, and every piece is bounded, so the cost of a file is linear in its length whatever its
    punctuation."""
    out = []
    while len(sentence) > 2 * limit:
        window = sentence[:limit]
        cut = max(window.rfind(ch) for ch in CLAUSE_PUNCT + " ") + 1
        if cut < limit // 2:
            cut = limit
        out.append((offset, sentence[:cut]))
        offset, sentence = offset + cut, sentence[cut:]
    out.append((offset, sentence))
    return out


def body_of(text: str) -> str:
    """人大 or 政协 when the text clearly speaks of one of them; "" otherwise."""
    renda = text.count("人大") + text.count("人民代表大会") + text.count("代表联络站")
    zhengxie = text.count("政协") + text.count("提案") + text.count("政治协商")
    if renda > zhengxie:
        return "人大"
    if zhengxie > renda:
        return "政协"
    return ""


def district_of(text: str, title: str = "") -> str:
    """The place a text reports on (see vectorstore.places.main_place)."""
    return main_place(text, title)


def places_of(text: str) -> str:
    """The places a chunk names, most named first, comma-separated (Chroma metadata holds no lists)."""
    return ",".join(n for n, _ in count_places(text).most_common())


def year_of(text: str) -> int:
    years = Counter(int(y) for y in _YEAR.findall(text) if 2000 <= int(y) <= 2099)
    if not years:
        return 0
    top = max(years.values())
    return min(y for y, n in years.items() if n == top)


def byline_of(text: str) -> tuple[str, str]:
    """(reporters, the byline as printed) of the first byline in the text.

    "本报讯(记者 张三 通讯员 李四)" -> ("张三", "记者 张三"); "晚报全媒体记者 王五 赵六" ->
    ("王五、赵六", "记者 王五 赵六"). "记者从水利局获悉" names nobody: a name must end at a space or mark.
    """
    text = text.replace("\r", "")  # a name ends at a line's end whatever the line endings
    for m in re.finditer("记者", text):
        names, end, pos = [], m.end(), m.end()
        while (n := _BYLINE_NAME.match(text, pos)) and n.group(1) not in _BYLINE_ROLES and "\n" not in n.group(0):
            if n.group(1).startswith(_BYLINE_ROLES[:3]):
                break
            names.append(n.group(1))
            end = pos = n.end()
        if names:
            return "、".join(names), text[m.start():end].strip()
    return "", ""


def strip_byline(text: str) -> str:
    return _BYLINE.sub("", text).rstrip()


def masthead(line: str) -> tuple[str, str, str] | None:
    """(outlet, ISO date, page) of a masthead line ("2024年1月10日 星期三 第5版"); None for any other line."""
    s = line.strip()
    m = _FULL_DATE.search(s)
    if not m:
        return None
    y, mo, d = (int(g) for g in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
    rest = f"{s[:m.start()]} {s[m.end():]}"
    page = _PAGE.search(rest)
    if page:
        rest = rest[: page.start()] + " " + rest[page.end():]
    rest = _WEEKDAY.sub(" ", rest).strip(" \t\u3000|·/")
    # what is left: the paper's name, and perhaps the page's section after it ("A03版 · 城市")
    words = [w for w in re.split(r"[\s|·/:：]+", rest) if w]
    outlet = next((w for w in words if _OUTLET_NAME.fullmatch(w)), "")
    others = [w for w in words if w != outlet]
    if others and (not page or len(others) > 1 or len(others[0]) > _MAX_SECTION_LABEL):
        return None  # a section label stands beside the page number, or the line is not a masthead
    rest = outlet
    try:
        date = iso_date(y, mo, d)
    except BadMetadata:
        return None
    return rest, date, (page.group(1) or page.group(2)) if page else ""


def outlet_of(blocks: list[Block]) -> str:
    """The paper or agency a dateline names ("某某日报讯", "某某社…电"), in the first paragraphs; "" when none does."""
    for b in [b for b in blocks if b.kind == "text"][:5]:
        m = _DATELINE.match(b.text)
        if m:
            return m.group(1)
    return ""


def _column_label(blocks: list[Block], i: int, head: list[int]) -> bool:
    """The first of several head lines, one short word: the page's column ("某某观察"), not the headline."""
    return i == head[0] and len(head) > 1 and bool(_COLUMN_LABEL.fullmatch(blocks[i].text))


def _titles(blocks: list[Block]) -> list[tuple[int, str]]:
    """(block position, title) where an article title starts.

    Markdown: headings of the shallowest level. Plain text: the run of headings
    at the top of the page, split where a line names a body (two reports on one page).
    """
    md = [b.level for b in blocks if b.kind == "heading" and b.level]
    if md:
        top = min(md)
        return [(i, b.text) for i, b in enumerate(blocks) if b.kind == "heading" and b.level == top]
    first_text = next((i for i, b in enumerate(blocks) if b.kind == "text"), len(blocks))
    lines = [i for i, b in enumerate(blocks[:first_text]) if b.kind == "heading"]
    head = [(i, blocks[i].text) for i in lines if not _column_label(blocks, i, lines)]
    if not head:
        return []
    groups: list[list[str]] = [[]]
    for _, t in head:
        groups[-1].append(t)
        if body_of(t) and len(groups[-1]) > 0:
            groups.append([])
    groups = [g for g in groups if g]
    bodies = [body_of(" ".join(g)) for g in groups]
    if len(groups) > 1 and all(bodies) and len(set(bodies)) == len(groups):
        return [(0, " ".join(g)) for g in groups]
    return [(0, " ".join(t for _, t in head))]


def document_meta(text: str, source: str, path: str = "") -> DocMeta:
    """The metadata of a file's front matter and of its sidecar beside `path` (the sidecar's values win).

    An unreadable sidecar or front matter counts as none here: read_source reports it and skips the file.
    """
    meta, side = DocMeta(), None
    with contextlib.suppress(BadMetadata):
        if source.lower().endswith(".md"):
            meta = front_matter(text)[0]
    with contextlib.suppress(BadMetadata):
        side = read_sidecar(Path(path)) if path else None
    return side[0].over(meta) if side else meta


def _printed_meta(blocks: list[Block]) -> DocMeta:
    """What the page itself prints: the outlet of a dateline or masthead, a masthead's date and page."""
    first_text = next((i for i, b in enumerate(blocks) if b.kind == "text"), len(blocks))
    top = next((m for b in blocks[:first_text] if b.kind == "junk" and (m := masthead(b.text))), None)
    outlet, date, page = top or ("", "", "")
    return DocMeta(outlet=outlet or outlet_of(blocks), date=date, page=page)


def chunk_document(text: str, source: str, path: str = "", file_hash: str = "",
                   meta: DocMeta | None = None) -> list[Chunk]:
    """Turn one file's text into labelled paragraph chunks.

    `meta` (read_source's: the sidecar's and the front matter's) sets or overrides what the text says; when it
    is None, the front matter is read from the text and the sidecar from beside `path`.
    """
    if meta is None:
        meta = document_meta(text, source, path)
    if source.lower().endswith(".md"):
        text = blank(text, front_matter_length(text))  # the block is not article text; offsets stay the file's
    blocks = split_blocks(text)
    meta = meta.over(_printed_meta(blocks))
    titles = _titles(blocks)
    doc_district = district_of(" ".join(b.text for b in blocks if b.kind != "junk"), titles[0][1] if titles else "")
    doc_year = year_of(" ".join(b.text for b in blocks if b.kind != "junk"))
    doc_byline = byline_of(text)
    parallel_titles = len(titles) > 1 and all(pos == 0 for pos, _ in titles)
    first_text = next((i for i, b in enumerate(blocks) if b.kind == "text"), len(blocks))

    # Per title segment (one article): district, reporter.
    seg_bounds = [pos for pos, _ in titles] if titles and not parallel_titles else [0]
    segment_of = {}
    for i in range(len(blocks)):
        segment_of[i] = max((k for k, pos in enumerate(seg_bounds) if pos <= i), default=0)
    seg_text: dict[int, str] = {}
    seg_raw: dict[int, str] = {}  # with bylines and captions: where the reporters are named
    for i, b in enumerate(blocks):
        seg_raw[segment_of[i]] = seg_raw.get(segment_of[i], "") + "\n" + b.text
        if b.kind != "junk":
            seg_text[segment_of[i]] = seg_text.get(segment_of[i], "") + " " + b.text

    position = {id(b): i for i, b in enumerate(blocks)}
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    prev_body = ""
    seg_district: dict[int, str] = {}
    seg_byline: dict[int, tuple[str, str]] = {}
    for group in repair(blocks):
        first = position[id(group[0])]
        section, section_year = "", 0
        for j in range(first - 1, -1, -1):
            b = blocks[j]
            if b.kind != "heading":
                continue
            if titles and not parallel_titles and any(pos == j for pos, _ in titles):
                break
            # The page's headline run is the title, not a section; a markdown heading below the title still is one.
            if j < first_text and not b.level:
                break
            if not section:
                section = b.text
            lead = _LEAD_YEAR.match(b.text)
            if lead:
                section_year = int(lead.group(1))
                break
        seg = segment_of[first]
        if parallel_titles:
            title = ""
        elif titles:
            title = next((t for pos, t in reversed(titles) if pos <= first), titles[0][1])
        else:
            title = ""
        paragraph = strip_byline("".join(b.text for b in group))
        if not paragraph:
            continue
        seg_t = seg_text.get(seg, "")
        body = body_of(paragraph) or body_of(section) or body_of(title) or prev_body or body_of(seg_t)
        prev_body = body
        if parallel_titles:
            title = next((t for _, t in titles if body_of(t) == body), " ".join(t for _, t in titles))
        title = meta.title or title
        if seg not in seg_district:  # once per article: tagging its places is the costly part
            seg_district[seg] = meta.district or district_of(seg_t, title) or doc_district
            printed = byline_of(seg_raw.get(seg, ""))
            seg_byline[seg] = printed if printed[0] else doc_byline
        district = seg_district[seg]
        lead = _LEAD_YEAR.match(paragraph)
        year = int(lead.group(1)) if lead else (section_year or year_of(title) or year_of(seg_t) or doc_year)
        reporter, byline = seg_byline[seg]
        reporter = "、".join(meta.reporters) or reporter
        joins, pos = [], 0
        for prev, cur in itertools.pairwise(group):
            pos += len(prev.text)
            # A join is not contiguous in the file when the tail was printed above its head, or when something
            # other than whitespace (a heading, a caption, a rule) stood between them: a quote stops there.
            if cur.start < prev.start or text[prev.end:cur.start].strip():
                joins.append(pos)
        for offset, piece in split_long(paragraph):
            breaks = ",".join(str(j - offset) for j in joins if offset < j < offset + len(piece))
            seen[piece] += 1
            key = f"{path or source}\0{piece}\0{seen[piece]}"
            # A repaired group may run backwards in the file (tail placed above head): span them all.
            start = group[0].start + offset if len(group) == 1 else min(b.start for b in group)
            end = start + len(piece) if len(group) == 1 else max(b.end for b in group)
            chunks.append(Chunk(
                id=hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:20], text=piece, source=source,
                path=path, paragraph=group[0].index, start=start, end=end, title=title, section=section,
                district=district, body=body, year=year, reporter=reporter, byline=byline, places=places_of(piece),
                outlet=meta.outlet, date=meta.date, url=meta.url, page=meta.page,
                file_hash=file_hash, chunker=CHUNKER, breaks=breaks))
    return [replace(c, file_chunks=len(chunks)) for c in chunks]
