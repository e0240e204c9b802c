"""Inside one sentence: the values that can answer the question (typed by what it asks), the one that does, and
the shortest run of clauses around it. The sentence itself is chosen by the fitted ranker (rag.extract, rag.ranker);
the weights here only pick a value and a window within it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.matching import coverage, word_weight
from rag.people import names_in, role_in
from rag.query import SIZE_ASKED, UNIT_ALIASES, Intent, asked_object
from rag.values import EXTRACTORS, Value, figures, ordinals, things, titled
from vectorstore.script import simplified
from vectorstore.types import Chunk

_CLAUSE_BREAK = set(",，;；:：")
_OPEN, _CLOSE = "“‘《(「『【(", "”’》)」』】)"

TITLE_WORD_SHARE = 0.3  # a question word the article's title holds, in an answer window (set by reading answers)
W_CLAUSE = 0.04  # per extra clause in an answer window: shorter answers first
# --- weights of the value picked inside a sentence (on top of how well its type fits) ------------------------------
W_OWN_CLAUSE = 0.5  # share of the question's word weight in the value's own clause
W_NEAR = 0.25  # the question's words near the value, nearer ones more
OTHER_MEASURE = 0.3  # how well a figure fits when the question names a measure (面积) and the figure's unit is not one


def clauses(sentence: str) -> list[str]:
    """Split at commas, semicolons and colons that are not inside quotes or brackets, nor between digits (a clock
    time "20:30", a score "3:1", a number "1,200")."""
    out, depth, cur = [], 0, ""
    for i, ch in enumerate(sentence):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        cur += ch
        within_number = 0 < i < len(sentence) - 1 and sentence[i - 1].isdigit() and sentence[i + 1].isdigit()
        if depth == 0 and ch in _CLAUSE_BREAK and not within_number:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


# The units a measure is written in, for a figure asked by the measure's name or a size word ("广场面积有多大?" is
# answered by "3.5万平方米", not by "120棵"; "大坝有多高?" by metres). Plain Chinese measurement vocabulary.
_DIMENSIONS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple((re.compile(a), u) for a, u in (
    (r"面积|占地", ("平方", "亩", "公顷", "平米")),
    (r"长度|全长|距离|里程|路程|多长$|多远$", ("公里", "千米", "米", "里")),
    (r"高度|海拔|多高$|深度|多深$|宽度|多宽$|厚度|多厚$", ("米", "公里", "千米", "厘米", "毫米")),
    (r"重量|产量|总产|多重$", ("吨", "公斤", "千克", "克", "斤")),
    (r"降雨量|降水量|雨量", ("毫米", "厘米")),
    (r"速度|时速|多快$", ("公里", "千米", "米", "节")),
    (r"价格|均价|单价|房价|票价|价钱", ("元", "美元")),
    (r"温度|气温|体温", ("℃", "°C", "摄氏度", "度")),
    (r"容量|库容|蓄水量|水量", ("立方米", "方", "升", "吨")),
    (r"年龄|年纪|岁数", ("岁", "周岁")),
))


def asked_dimension(question: str) -> tuple[str, ...]:
    """The units the figure asked for is written in, when the question names a measure ("面积", "多高"); ()."""
    m = re.search(SIZE_ASKED, question)
    asked = asked_object(question) + (m.group(0) if m else "")
    return next((units for pattern, units in _DIMENSIONS if pattern.search(asked)), ())


def unit_fits(asked: str, written: str, also: Sequence[str] = ()) -> bool:
    """Does a figure's unit answer the measure word asked ("多少人" by "80名", "多少公里" by "12.5公里")?
    `also`: the question's alternative measure words ("多少次(项)")."""
    if not asked:
        return True
    return any(written.startswith(u) for a in (asked, *also) for u in UNIT_ALIASES.get(a, (a,)))


def values(intent: Intent, text: str, chunk: Chunk | None = None) -> list[tuple[Value, float]]:
    """The values in the text that can answer the question, each with how well it fits (0..1]."""
    want = intent.want
    if want == "person":
        roles = ("记者",) if intent.reporter else intent.roles
        after = [(v, 1.0) for v in names_in(text, roles)]
        if after or not roles or intent.reporter or not any(role_in(text, r) for r in roles):
            return after
        # "王小明…获得男子跳远冠军", "周海燕担任审判长": the name written before the role.
        return [(v, 0.7) for v in names_in(text) if v.text not in roles]
    if want == "number":
        out = []
        dims = () if intent.unit else asked_dimension(intent.text)
        for v in figures(text):
            # Papers write counts in digits; a lone 一/两 is mostly a word ("一个主会场+两个分会场"), "三千多万" a count.
            written = 1.0 if v.text[0].isdigit() or len(v.text.rstrip("多余")) > 1 else 0.5
            if intent.unit:
                if unit_fits(intent.unit, v.unit, intent.units):
                    # "个" asked: "3200个" over "9所"
                    exact = 1.0 if v.unit.startswith(intent.units or (intent.unit,)) else 0.7
                    out.append((v, exact * written))
            elif v.unit and not v.unit.startswith(("%", "％", "个百分点")):
                # a measure asked by name: a figure in another unit is hardly it ("120棵" for 面积)
                out.append((v, written if not dims or v.unit.startswith(dims) else written * OTHER_MEASURE))
        return out
    if want == "money":
        return [(v, 1.0) for v in EXTRACTORS[want](text)]
    if want == "ordinal":
        return [(v, 1.0) for v in ordinals(text) if not intent.unit or unit_fits(intent.unit, v.unit, intent.units)]
    if want in ("entity", "name") and intent.head:
        # a quoted name of the asked kind ("《野生动物保护法》" for 哪部法律), a name ending in it ("青石路小学" for
        # 学校), any other quoted name last
        quoted = titled(text)
        kind = [(v, 1.0) for v in quoted if v.text.strip("“”《》")[-1:] in intent.head]
        return kind + [(v, 0.9) for v in things(text, intent.head)] + [(v, 0.5) for v in quoted]
    if want == "percent":  # "增长了多少" is mostly a percentage, sometimes a figure ("增长了2002班")
        exact = [(v, 1.0) for v in EXTRACTORS[want](text)]
        return exact or [(v, 0.4) for v in figures(text) if not intent.unit or unit_fits(intent.unit, v.unit)]
    if want in ("date", "time"):
        other = "time" if want == "date" else "date"
        found = [(v, 1.0) for v in EXTRACTORS[want](text)] + [(v, 0.7) for v in EXTRACTORS[other](text)]
        # "哪一天" is answered by a day ("3月5日"), not by a year or a month alone ("2020年"); "哪一年" by a year
        grain = next((g for g, asked in _DATE_GRAIN if re.search(asked, intent.text)), "")
        return [(v, f if not grain or re.search(grain, v.text) else f * 0.5) for v, f in found]
    if want == "place":
        found = [(v, 1.0) for v in EXTRACTORS["place"](text)]
        if not found and chunk is not None and chunk.district and re.search(r"哪个(?:区|县|市|省|镇|乡)", intent.text):
            found = [(Value("place", 0, 0, chunk.district), 0.8)]  # the paragraph's place answers "哪个区"
        return found
    if want in EXTRACTORS:
        return [(v, 1.0) for v in EXTRACTORS[want](text)]
    return []


_DATE_GRAIN = (("[日号]", r"哪一?天|哪日|几月几[日号]|几号|什么日子"), ("月", r"哪个月|几月"), ("年", r"哪一?年"))


def _bounds(parts: Sequence[str]) -> list[tuple[int, int]]:
    """Start and end offsets of consecutive pieces of a text (its clauses)."""
    out, pos = [], 0
    for part in parts:
        out.append((pos, pos + len(part)))
        pos += len(part)
    return out


def _anchor_spots(tokens: Sequence[str], text: str, idf: dict[str, float]) -> list[tuple[int, float]]:
    return [(m.start(), word_weight(t, idf)) for t in tokens if len(t) > 1 for m in re.finditer(re.escape(t), text)]


def pick_value(intent: Intent, sentence: str, found: list[tuple[Value, float]], tokens: Sequence[str],
               idf: dict[str, float]) -> tuple[Value | None, float]:
    """The value nearest the question's words: "新开工项目36个" over "在建项目120个" for 新开工项目."""
    if not found:
        return None, 0.0
    thing = asked_object(intent.text)
    spots = [(at, w * (2.0 if thing and sentence[at:at + 2] in thing else 1.0))
             for at, w in _anchor_spots(tokens, sentence, idf)]

    def closeness(v: Value) -> float:
        if not spots:
            return 0.0
        # weight of the question's words near the value, more for nearer ones (a clause is ~15 characters)
        return sum(w / (1 + abs(at - v.start) / 15) for at, w in spots)

    total = max(1.0, sum(w for _, w in spots))
    bounds = _bounds(clauses(sentence))

    def own_clause(v: Value) -> float:
        # "被评为优秀作品5篇" over "收到各类来稿40篇" for 被评为优秀作品的有多少篇: the value's
        # own clause states what it counts
        a, b = next(((a, b) for a, b in bounds if a <= v.start < b), (0, len(sentence)))
        return coverage(tokens, sentence[a:b], idf)

    best = max(found, key=lambda vf: (vf[1] + W_OWN_CLAUSE * own_clause(vf[0]) + W_NEAR * closeness(vf[0]) / total,
                                      -vf[0].start))
    return best


def window_for(intent: Intent, sentence: str, value: Value | None, tokens: Sequence[str], idf: dict[str, float],
               title: str = "") -> str:
    """The shortest run of clauses (at most three) that holds the value and the most question words; words the
    article's title already names (its subject: "运动会") weigh less, they need not be repeated in the answer."""
    parts = clauses(sentence)
    if len(sentence) <= 40 or len(parts) == 1:
        return sentence
    share = 0.0 if intent.want == "list" else TITLE_WORD_SHARE  # a list answers by itself: "设田径、游泳、跳绳3个大项"
    idf = {t: word_weight(t, idf) * (share if title and t in title else 1.0) for t in tokens}
    bounds = _bounds(parts)
    holding = next((i for i, (a, b) in enumerate(bounds) if value is not None and a <= value.start < b), None)
    best, best_score = sentence, -1.0
    for i in range(len(parts)):
        for j in range(i, min(len(parts), i + 3)):
            if holding is not None and not (i <= holding <= j):
                continue
            if value is not None and bounds[j][1] < value.end:
                continue
            window = "".join(parts[i : j + 1])
            score = coverage(tokens, window, idf) - W_CLAUSE * (j - i)
            if score > best_score + 1e-9:
                best, best_score = window, score
    return best


# A dateline opening a story's first sentence: "本报讯(记者 … 通讯员 …)", "本报南阳讯", "新华社北京3月5日电".
_DATELINE = re.compile(r"^\s*(?:本报讯|本报[\u4e00-\u9fff]{1,6}讯|[\u4e00-\u9fff]{2,6}社[\u4e00-\u9fff\d]{0,12}电)\s*"
                       r"(?:[(（][^)）]{0,40}[)）])?\s*")


def strip_end(text: str) -> str:
    """The answer without the trailing punctuation, and without a dateline in either script (the quote keeps both)."""
    dateline = _DATELINE.match(simplified(text))
    return re.sub(r"[,，;；:：、。 ]+$", "", text[dateline.end():] if dateline else text) or text
