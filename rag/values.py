"""Typed values in Chinese news text: one small extractor per answer type, `EXTRACTORS[kind](text) -> [Value]`.

A new answer type (a phone number, a ratio) is one function and one line in EXTRACTORS, plus the question words
that ask for it in rag.query.WANTS.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from vectorstore.places import is_place, places_in, tagged, word_frequency


@dataclass(frozen=True)
class Value:
    """A typed value found in a text: its kind, its character span, and for figures the unit written after it."""

    kind: str
    start: int
    end: int
    text: str
    unit: str = ""


_CN_DIGITS = "〇零一二两三四五六七八九十百千万亿"
_DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
# A figure: digits or Chinese numerals, a magnitude (万/亿), an approximation (多/余); e.g. "1.04万", "600多", "三十六".
_FIGURE = re.compile(rf"(?:{_DIGITS}|[{_CN_DIGITS}]+)(?:[万亿千百]+)?(?:多|余)?(?:万|亿)?")
_UNIT = re.compile(r"[%％‰℃㎡]|个百分点|[\u4e00-\u9fff]{1,3}")
# What a number before 号 names rather than a day: "3号线", "8号楼", "2号机组".
NUMBERED = "[线馆楼位院机台车厅室门桥路街口井站坑房床窗道码箱柜仓罐船舰泵闸桩孔]"
_DATE = re.compile(
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}[日号](?:(?:凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|夜间|深夜)?\d{1,2}(?:时|点|:\d{2})(?:\d{1,2}分)?)?"
    r"|\d{1,2}[日号](?:凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|夜间|深夜)?\d{1,2}(?:时|点)(?:\d{1,2}分)?"
    r"|(?:\d{4}年)?\d{1,2}月(?:[上中下]旬|底|初|中)?|\d{4}年(?:[上下]半年|底|初)?|(?<![\d月])\d{1,2}(?:日|号(?!" + NUMBERED + "))"
)
_TIME = re.compile(
    r"(?:\d{1,2}[日号])?(?:凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|夜间|深夜|当天|当日)?"
    r"(?:\d{1,2}:\d{2}|\d{1,2}(?:时|点)(?:\d{1,2}分|半)?)(?:许|左右)?"
)
_DUR_NUM = rf"(?:{_DIGITS}|[{_CN_DIGITS}]+)(?:多|余)?"
_DURATION = re.compile(
    rf"{_DUR_NUM}(?:个)?(?:小时|钟头)(?:{_DUR_NUM}分(?:钟)?)?(?:{_DUR_NUM}秒)?|{_DUR_NUM}分(?:钟)?(?:{_DUR_NUM}秒)?"
    rf"|{_DUR_NUM}秒|{_DUR_NUM}(?:个)?(?:天|日|周|星期|个月|年)(?:零{_DUR_NUM}(?:个)?(?:天|月|个月))?半?|[两一三四五六七八九十]天半"
)
_PERCENT = re.compile(rf"(?:{_DIGITS}|[{_CN_DIGITS}]+)(?:多|余)?(?:%|％|‰|个百分点|成(?![员为功立本果长都绩交就熟])|倍)|百分之[{_CN_DIGITS}\d.]+")
_MONEY_UNIT = re.compile(r"^(?:多|余)?(?:万|亿|千|百)*(?:多|余)?(?:元|美元|欧元|港元|块钱|块)")
_QUOTED = re.compile(r"《[^》]{1,60}》|“[^”]{2,40}”")
_LIST = re.compile(r"(?:[^、,，;；。:：“”()（）\s]{1,12}、)+[^、,，;；。:：“”()（）\s]{1,12}?(?=等|和|及|与|[,，;；。:：、]|$)")
# Quoted names in a row, each maybe with its measure word ("“春风”号、“海燕”号", "“甲”轮和“乙”轮").
_QUOTED_RUN = re.compile(r"(?:“[^”]{1,20}”|《[^》]{1,30}》)[轮号艘架台辆座部]?"
                         r"(?:(?:[、和及与]|以及)?(?:“[^”]{1,20}”|《[^》]{1,30}》)[轮号艘架台辆座部]?)+")
# Words right after a Chinese numeral that make it no count ("一起", "一线", "一体化").
_NOT_COUNT_AFTER = ("起", "线", "体", "些", "定", "直", "道", "致", "流", "切", "般", "同", "律", "贯", "站式", "方面", "手", "级")


@functools.lru_cache(maxsize=4096)
def _is_chinese_number(s: str) -> bool:
    """A run of Chinese numeral characters that reads as a number ("三十六", "两千"), checked by cn2an."""
    import cn2an

    try:
        cn2an.cn2an(s.replace("多", "").replace("余", ""), "smart")  # "三千多万" reads as 三千万
    except (ValueError, KeyError, IndexError):
        return False
    return True


def _ordinal_or_name(text: str, start: int, end: int) -> bool:
    """"第三", "十六届", "五次会议", "1号线", "2025年" are not counts."""
    before, after = text[max(0, start - 1):start], text[end:end + 3]
    # "2025年", "二〇二〇年", "90年代" name a year; "连续3年", "三年" count years.
    year = after.startswith("年") and (len(text[start:end]) == 4 or "〇" in text[start:end] or after.startswith("年代"))
    return before == "第" or year or after.startswith(("届", "号", "月", "日", "次会议", "次全体", "路", "期间")) or \
        bool(re.match(r"[\d.]", after[:1])) or text[end - 1:end + 1] == "届"


def figures(text: str) -> list[Value]:
    """Every count or amount in the text with the unit written after it ("1200张", "4350.6亿元", "8621人")."""
    out = []
    taken = [(m.start(), m.end()) for m in _DATE.finditer(text)] + [(m.start(), m.end()) for m in _TIME.finditer(text)]
    for m in _FIGURE.finditer(text):
        s, e = m.start(), m.end()
        if any(a <= s < b for a, b in taken) or _ordinal_or_name(text, s, e):
            continue
        raw = m.group(0)
        if not raw[0].isdigit():
            bare = raw.rstrip("多余")
            if not _is_chinese_number(bare) or (len(bare) == 1 and text[e:e + 2].startswith(_NOT_COUNT_AFTER)):
                continue
            if text[e:e + 1] in "区县市省镇乡路街村中":  # a name ("西工区", "五一路", "一中"), not a count
                continue
        u = _UNIT.match(text, e)
        out.append(Value("number", s, e, raw, u.group(0) if u else ""))
    return out


_ORDINAL = re.compile(rf"第(?:\d+|[{_CN_DIGITS}]+)([\u4e00-\u9fff]?)")


def ordinals(text: str) -> list[Value]:
    """"第十六届", "第6次", "第三名": the rank, with the measure word after it as the unit."""
    return [Value("ordinal", m.start(), m.end(), m.group(0), m.group(1)) for m in _ORDINAL.finditer(text)]


def money(text: str) -> list[Value]:
    return [v for v in figures(text) if _MONEY_UNIT.match(v.text[len(v.text.rstrip("万亿千百多余")):] + v.unit)]


def percents(text: str) -> list[Value]:
    return [Value("percent", m.start(), m.end(), m.group(0)) for m in _PERCENT.finditer(text)]


def dates(text: str) -> list[Value]:
    return [Value("date", m.start(), m.end(), m.group(0)) for m in _DATE.finditer(text)]


def times(text: str) -> list[Value]:
    return [Value("time", m.start(), m.end(), m.group(0)) for m in _TIME.finditer(text)
            if re.search(r"[时点:]", m.group(0))]


def durations(text: str) -> list[Value]:
    out = []
    for m in _DURATION.finditer(text):
        if re.match(r"\d{4}年", m.group(0)) or text[max(0, m.start() - 1):m.start()] == "第":
            continue
        if not m.group(0)[0].isdigit() and not _is_chinese_number(re.match(f"[{_CN_DIGITS}]+", m.group(0)).group(0)):
            continue
        out.append(Value("duration", m.start(), m.end(), m.group(0)))
    return out


_AWARD = re.compile(r"(?:[一二三特]等|金|银|铜|优秀|先进|特别|最佳)奖|[\u4e00-\u9fff]{2,12}?(?:奖|称号|荣誉)(?![励金项])")


def titled(text: str) -> list[Value]:
    """Names of documents, works, prizes and campaigns: what 《》 and “” enclose, and prizes ("二等奖")."""
    out = [Value("name", m.start(), m.end(), m.group(0)) for m in _QUOTED.finditer(text)]
    return out + [Value("name", m.start(), m.end(), m.group(0)) for m in _AWARD.finditer(text)]


def lists(text: str) -> list[Value]:
    """Enumerations: items joined by 、 ("滑县、汤阴县"), or quoted names in a row."""
    out = [Value("list", m.start(), m.end(), m.group(0)) for m in _LIST.finditer(text)]
    out += [Value("list", m.start(), m.end(), m.group(0)) for m in _QUOTED_RUN.finditer(text)]
    return out


# Facility words that end the name of a venue or a spot ("人民广场", "市体育中心", "东湖站").
_VENUE = re.compile(r"(?:在|于|到|赴|至|位于|出现在|来到|落户|选址)((?:[\u4e00-\u9fff·]{1,14}?)(?:广场|公园|中心|体育场|体育馆|会场|"
                    r"大厦|酒店|宾馆|礼堂|博物馆|展厅|展览馆|纪念馆|图书馆|站|路|街|大道|村|社区|医院|学校|小学|中学|大学|学院|"
                    r"机场|港|码头|景区|园区|开发区|产业园|工业园|厂|镇|乡|县|市|区|省|河|江|湖|山|岛|口))")


def places(text: str) -> list[Value]:
    """Named places: administrative names, and venues after 在/于/到 ("在人民广场")."""
    out = [Value("place", s, s + len(n), n) for s, n in places_in(text)]
    out += [Value("place", m.start(1), m.end(1), m.group(1)) for m in _VENUE.finditer(text)]
    return out


# jieba tags that can be part of a name before its head noun ("青石/路/小学", "中心/医院", "南阳/队").
_NAME_PART_TAGS = ("n", "ns", "nr", "nz", "nt", "nrt", "nrfg", "j", "m", "a", "b", "f", "s", "eng", "x", "vn", "zg")
_PROPER_TAGS = ("ns", "nr", "nz", "nt", "nrt", "nrfg", "j", "eng", "m")


_PLACE_SHORT = frozenset("省市县区镇乡")  # "县实验中学", "县中医院": the place a name opens with
_RARE_NOUN_FREQ = 50  # a noun this rare in jieba's dictionary opens a name ("枫林"); "督导" (104) does not


def _is_proper(word: str, tag: str) -> bool:
    return tag in _PROPER_TAGS or (tag.startswith("n") and word_frequency(word) < _RARE_NOUN_FREQ)


def things(text: str, head: str) -> list[Value]:
    """Names of things of the asked kind: "哪所学校" -> "青石路小学", "哪家医院" -> "县中医院", "哪支球队" ->
    "南阳队". A word ending in the head noun (or in one of its characters) with the proper words before it."""
    if not head:
        return []
    words = tagged(text)
    starts, pos = [], 0
    for w, _ in words:
        starts.append(pos)
        pos += len(w)
    out = []
    for i, (w, tag) in enumerate(words):
        kind = w.endswith(head) or (len(w) >= 2 or w == head[-1]) and w[-1] in head and tag.startswith(("n", "j"))
        if not kind or is_place(w, tag):
            continue  # "小学" is a kind of 学校, "南阳队" of 球队; "西工区" is no 小区, "开学" no 学校
        j = i
        while j > 0 and words[j - 1][1].startswith(_NAME_PART_TAGS) and re.fullmatch(r"[\u4e00-\u9fff\w·]+", words[j - 1][0]) \
                and starts[i] + len(w) - starts[j - 1] <= 16:
            j -= 1
        while j < i and not _is_proper(*words[j]) and not (words[j][0] in _PLACE_SHORT and j + 1 < i):
            j += 1  # a name opens with a proper word ("第一中学"), or a place word before more ("县/实验/中学")
        if j == i and (w == head or not (tag in ("nt", "nz", "nr", "nrt", "ns") or word_frequency(w) == 0)):
            continue  # a common word alone is the kind ("小学", "开学"), no name; "清华大学" (nt) is one
        out.append(Value("name", starts[j], starts[i] + len(w), text[starts[j]: starts[i] + len(w)]))
    return out


EXTRACTORS: dict[str, Callable[[str], list[Value]]] = {
    "number": figures,
    "ordinal": ordinals,
    "money": money,
    "percent": percents,
    "date": dates,
    "time": times,
    "duration": durations,
    "name": titled,
    "list": lists,
    "place": places,
    # "person" needs the question's role words (rag.people.names_in), "entity" the asked kind (things)
}
