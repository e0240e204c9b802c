"""Question understanding: the places, body and year a question is about, and the type of answer it wants.

Pure functions over the question's text; nothing here knows a particular place or article. Which named places the
index holds is the chain's business (rag.chain.Chain.locate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rag.people import ROLE_ENDINGS
from rag.values import NUMBERED
from vectorstore.chunking import body_of
from vectorstore.keyword import tokenize
from vectorstore.places import is_place, mentions, places_in, stem, tagged
from vectorstore.script import simplified

# "哪所学校", "哪家医院", "哪支球队": the name of a thing of the kind named after the measure word.
# ("哪项工作", "哪种方式" ask for a description, not a name.)
_WHICH_THING = re.compile(r"哪一?(?:所|家|个|支|条|间|艘|款|部|本|座)([\u4e00-\u9fff]{1,4})")
# What a name is asked of: "培训班叫什么名字" -> 培训班 (a thing), "获奖者叫什么名字" -> a person.
_NAME_OF = re.compile(r"([\u4e00-\u9fff]{1,8}?)(?:叫什么名字|的名字|叫什么|名称是|的名称)")
# "有多大", "全长多长?", "大坝有多高": a size asked without 多少 (a figure with its unit answers it). At the end of the
# question or after 有/是/为, so "许多大学" asks nothing.
SIZE_ASKED = r"(?:(?<=[有是为达])多(?:大|高|长|远|重|深|宽|厚|快)|多(?:大|高|长|远|重|深|宽|厚|快)(?=[?？呢]*$))(?!时间)"
_PERSON_ENDINGS = tuple("人者员手家师生官长孩子儿女男士哥姐弟妹爷奶叔姨")
# Answer types, tried in order: the first whose question words occur decides what the answer must carry.
WANTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("duration", re.compile(r"多长时间|多久|多长时|用时多少|耗时多少|历时多少|持续了?多长")),
    ("time", re.compile(r"几点|几时|什么时间|哪个时间|什么时刻")),
    ("date", re.compile(rf"什么时候|何时|哪一?天|哪一?年|哪个月|几月几[日号]|几号(?!{NUMBERED})|什么日子|哪个日期|日期是")),
    ("place", re.compile(r"哪里|哪儿|什么地方|在哪|何地|何处|哪个(?:区|县|市|省|镇|乡|地方|城市|村|站|街道|国家|场馆)|哪座")),
    ("person", re.compile(r"是谁|谁|哪位|哪名|哪个人|叫什么名字|的名字|姓名|什么人")),
    ("entity", _WHICH_THING),
    ("money", re.compile(r"多少钱|花了?多少|投资(?:了|额)?(?:是|为|达)?多少|投入(?:了)?多少|多少资金|多少经费|金额|造价|多少[万亿]?元|总投资")),
    ("percent", re.compile(r"(?:增长|增加|下降|减少|提高|降低|上升|增幅|增速|降幅|占比|比例|比重|百分比|率)(?:了|是|为|达|约)?(?:多少|几)")),
    ("ordinal", re.compile(r"第几|第多少")),
    ("number", re.compile(rf"多少|(?<![哪])几(?!乎)|数量是|规模|{SIZE_ASKED}")),
    ("list", re.compile(r"哪些|哪几|包括什么|包括哪|有什么|分别是什么|有何")),
    ("name", re.compile(r"叫什么|什么名字|名称|什么文件|什么奖|什么品牌|什么项目|什么称号|什么主题|什么活动|什么政策")),
)
_COMPARE = re.compile(r"分别|各自|各有|各是|和.{1,12}相比|比较|各[^,，。?？]{0,8}(?:多少|几)")
_YEAR = re.compile(r"(20\d\d|19\d\d)年")
# The measure word after 多少/几: one character ("张", "处"), or a unit jieba tags a quantity ("公里", "毫米").
_ASKED_UNIT = re.compile(r"(?:多少|(?<![哪])几)([\u4e00-\u9fff%]{1,4})?")
_MONEY_WORDS = ("钱", "元", "资金", "经费")
# Single-character measure words (量词) that jieba may glue to the next word.
_MEASURE_CHARS = frozenset("名个位件次项张处户台辆条篇座所家人天年本份批支届场期类种只头亩吨架艘列栋套间把枚块片部首幅回轮")
# Nouns a paper writes as their own measure word after a figure ("17球", "3国", "5省"), asked with the general 个.
_COUNTED_AS_UNIT = frozenset("球国省市县区村镇队组班校")
# Measure words that count the same things ("多少人" is answered by "213名").
UNIT_ALIASES = {"人": ("人", "名", "位", "人次"), "名": ("名", "人", "位"), "位": ("位", "名", "人"),
                "个": ("个", "项", "家", "所"), "次": ("次", "场", "轮", "回"), "场": ("场", "次"), "回": ("回", "次"),
                "辆": ("辆", "台", "部"), "台": ("台", "辆", "部")}  # vehicles are counted in 辆 or 台
# A place a question opens with, whatever jieba makes of it ("经开区有…", "滨海新区2020年…").
_LEADING_PLACE = re.compile(r"^([\u4e00-\u9fff]{2,5}?(?:新区|区|县|市|镇|乡|旗))(?=有|的|和|与|在|是|共|今|去|近|这|此|\d|[,，、。?？])")
_QUESTION_WORDS = frozenset({
    "多少", "几", "什么", "哪些", "哪个", "哪", "谁", "名字", "叫", "一共", "共", "分别", "各", "各有", "哪一天", "一天", "时候",
    "哪天", "哪年", "哪月", "哪日", "几号", "现在", "如今", "当前", "眼下",
    "什么样", "是", "请问", "年", "其中", "那", "那么", "他", "她", "它", "哪里", "哪儿", "地方", "何时", "多长", "时间",
    "多久", "哪位", "哪名", "几个", "哪几", "指", "指的是", "包括", "有些", "具体", "钱", "花", "了", "吗", "呢", "的",
    "总共", "大约", "大概", "目前", "这次", "本次", "当时", "情况", "如何", "怎样", "怎么", "为什么", "有", "能", "可以",
})
_BODY_WORDS = frozenset({"人大", "政协", "人大常委会", "常委会", "政协常委会", "区人大", "区政协", "县人大", "县政协", "市人大",
                         "市政协"})
# How a question writes each body ("人代会" is the 人大's session).
BODY_WRITTEN = {"人大": ("人大", "人民代表大会", "人代会"), "政协": ("政协",)}
_FOLLOWUP_CUES = re.compile(r"^(?:其中|那|那么|他|她|它|该|这|此|其|另外|还有|同时)|呢[?？]?$|他们|她们|他在|她在")
_LEADING_CUE = re.compile(r"^(?:其中|那么|那|另外|还有|同时)")
_REPORTER = re.compile(r"记者|报道|撰写|写的|作者|采写")


@dataclass(frozen=True)
class Intent:
    """What a question asks, after resolving it against the conversation."""

    text: str  # the question as asked
    places: tuple[str, ...] = ()  # place names the question writes ("青山县", "越秀区")
    districts: tuple[str, ...] = ()  # of those, places the index has articles about (set by the chain)
    unknown_places: tuple[str, ...] = ()  # places named nowhere in the index (set by the chain)
    body: str = ""  # 人大 / 政协, when the question names one
    bodies: tuple[str, ...] = ()  # both, when a question compares 人大 with 政协
    year: int = 0
    kind: str = "fact"  # the answer type: a key of WANTS, "comparison" for several sides, or "fact"
    want: str = "fact"  # the type each side's answer must carry (kind without "comparison")
    unit: str = ""  # the measure word asked for ("张", "公里"); "" when none
    units: tuple[str, ...] = ()  # every measure word asked ("多少次(项)" -> 次, 项); unit is the first
    head: str = ""  # the kind of thing whose name is asked ("哪所学校" -> 学校, "培训班叫什么名字" -> 培训班)
    roles: tuple[str, ...] = ()  # person questions: the role the name is written after ("局长")
    reporter: bool = False  # asks who reported the article: answered from its byline
    person: str = ""  # a person carried from an earlier answer (他 / 她)
    topic: tuple[str, ...] = ()  # content words of the question, places and question words removed
    context: tuple[str, ...] = ()  # topic words carried from earlier turns
    followup: bool = False

    @property
    def keyword_query(self) -> str:
        return " ".join((*self.topic, *self.context, self.person))


def wanted(text: str) -> str:
    """The answer type a question asks for (a key of WANTS), or "fact"."""
    return next((kind for kind, pattern in WANTS if pattern.search(text)), "fact")


def asked_unit(text: str) -> str:
    """The measure word after 多少/几 ("多少张选票" -> "张", "多少公里" -> "公里"); "" for a noun ("多少群众")."""
    m = _ASKED_UNIT.search(text)
    if not m or not m.group(1):
        return ""
    rest = m.group(1)
    units = ("人次", "个百分点", "平方米", "平方公里", "立方米")
    if rest.startswith(units):
        return next(u for u in units if rest.startswith(u))
    if rest.startswith("个"):
        return "个"  # "多少个人民调解室": jieba would read 个人
    if rest[0] in _MEASURE_CHARS and not rest.startswith(("天数", "年来")):
        return rest[0]  # "多少名省、市…代表": jieba would read 名省
    words = tagged(rest)
    if not words:
        return ""
    word, tag = words[0]
    if len(word) == 1 or tag in ("q", "m", "mq"):
        return word if len(word) <= 2 else word[:1]
    return ""


def asked_units(text: str) -> tuple[str, ...]:
    """Every measure word asked: "多少次(项)检查" -> (次, 项)."""
    unit = asked_unit(text)
    if not unit:
        return ()
    alt = re.search(rf"(?:多少|几){re.escape(unit)}[(（]([\u4e00-\u9fff]{{1,2}})[)）]", text)
    if alt:
        return unit, alt.group(1)
    # "进了几个球?" is answered by "打进17球": after the general 个, the thing counted may be the measure word itself
    counted = re.search(r"(?:多少|几)个([\u4e00-\u9fff])", text) if unit == "个" else None
    return (unit, counted.group(1)) if counted and counted.group(1) in _COUNTED_AS_UNIT else (unit,)


def head_noun(text: str, want: str) -> str:
    """The kind of thing whose name is asked: "哪所学校" -> 学校, "那个培训班叫什么名字" -> 培训班."""
    if want == "entity":
        m = _WHICH_THING.search(text)
        words = _segment(m.group(1)) if m else []
        return words[0] if words else ""
    if want == "name":
        m = _NAME_OF.search(text)
        return _last_word(m.group(1)) if m and len(m.group(1)) >= 2 else ""
    return ""


def _segment(text: str) -> list[str]:
    from vectorstore.keyword import segmenter

    return segmenter().lcut(text)


def _last_word(text: str) -> str:
    words = _segment(text)
    return words[-1] if words and len(words[-1]) >= 2 else text[-2:]


def roles_of(text: str) -> tuple[str, ...]:
    """The role a person question asks about: "水利局局长是谁" -> ("局长",); "哪位记者" -> ("记者",)."""
    m = re.search(r"([\u4e00-\u9fff]{1,8}?)(?:是谁|叫什么|的名字|姓名|是哪位|是什么人)", text)
    spots = [m.group(1)] if m else []
    after = re.search(r"(?:哪位|哪名|哪个)([\u4e00-\u9fff]{1,6})", text)
    if after:
        spots.append(after.group(1))
    out = []
    for spot in spots:
        for ending in sorted(ROLE_ENDINGS, key=len, reverse=True):
            i = spot.rfind(ending)
            if i >= 0 and (i + len(ending) == len(spot) or spot is not spots[0]):
                # "局长", "审判长": a 长 role is the whole word that ends in it
                out.append(_last_word(spot[: i + len(ending)]) if ending == "长" else ending)
                break
    return tuple(dict.fromkeys(out))


def topic_tokens(text: str, places: tuple[str, ...] = (), unit: str = "") -> tuple[str, ...]:
    """Content words of a question: places, bodies, years, the unit and question words removed."""
    # "哪所", "那家", "哪个区": no content (the place asked for is the answer, not a word to find)
    text = re.sub(r"第几|第多少|哪一?个(?:区|县|市|省|镇|乡|村)|哪一?[所家个支条间艘款部种本项座位名]|那[家所个位名]", " ", text)
    text = re.sub(SIZE_ASKED, " ", _LEADING_CUE.sub("", _YEAR.sub(" ", text)))
    if unit:  # "多少名省、市…代表": the measure word is no part of the next word
        text = re.sub(f"(?:多少|几){re.escape(unit)}(?:[(（][\u4e00-\u9fff]{{1,2}}[)）])?", " ", text)
    for name in sorted({*places, *(stem(p) for p in places)}, key=len, reverse=True):
        text = text.replace(name, " ")
    out = []
    for t in tokenize(text):
        if t in _QUESTION_WORDS or t in _BODY_WORDS or t == unit or "多少" in t or "几" in t:
            continue
        out.append(t)
    return tuple(dict.fromkeys(out))


def understand(question: str, known_places: Iterable[str] = ()) -> Intent:
    """Read one question on its own; `known_places` (the index's) are found by name or stem ("南阳" = 南阳市).
    A question in Traditional script is read as its Simplified twin (vectorstore.script)."""
    q = simplified(question.strip())
    found = [(at, name) for at, name in places_in(q)]
    lead = _LEADING_PLACE.match(q)
    if lead and is_place(lead.group(1)) and not found:
        found.append((0, lead.group(1)))
    known = known_places if isinstance(known_places, frozenset) else frozenset(known_places)
    if known:
        found += [(q.find(stem(n)) if n not in q else q.find(n), n) for n in mentions(q, known)]
    places = tuple(dict.fromkeys(n for _, n in sorted(found) if not any(n != o and n in o for _, o in found)))
    want = wanted(q)
    if want == "number" and any(w in q for w in _MONEY_WORDS):
        want = "money"
    if want == "name" and roles_of(q):
        want = "person"  # "水利局局长叫什么?"
    named = _NAME_OF.search(q)
    if want == "person" and not roles_of(q) and named and len(named.group(1)) >= 2 \
            and not named.group(1).endswith(_PERSON_ENDINGS) and not re.search(r"是谁|谁|哪位|哪名|哪个人|姓名|什么人", q):
        want = "name"  # "培训班叫什么名字?" asks a thing's name, "获奖者叫什么名字?" a person's
    units = asked_units(q) if want in ("number", "percent", "ordinal") else ()
    unit = units[0] if units else ""
    roles = roles_of(q) if want == "person" else ()
    year_m = _YEAR.search(q)
    both = all(any(w in q for w in written) for written in BODY_WRITTEN.values())
    # "…多少条?…多少篇?": several questions in one message are answered side by side
    compare = bool(_COMPARE.search(q)) or len(re.findall(r"[?？]\s*(?=\S)", q)) >= 1 and len(places) >= 2
    return Intent(text=q, places=places, body=body_of(q), bodies=("人大", "政协") if both else (),
                  year=int(year_m.group(1)) if year_m else 0, kind="comparison" if compare else want, want=want,
                  unit=unit, units=units, head=head_noun(q, want), roles=roles, reporter=want == "person" and bool(_REPORTER.search(q)),
                  topic=topic_tokens(q, places, unit))


_ASKING = re.compile(r"多少|几|哪|什么|谁|何|吗|呢")
_SIDE_JOINERS = "和与及跟同、,，;；的 "


def side_questions(question: str, anchors: Sequence[str]) -> list[str]:
    """One question per side of a comparison, each with only its own anchor (a place or a body) and its own words:
    "甲区政协开展的调研和乙区人大开展的执法检查各有几次?" -> ["甲区政协开展的调研各有几次?",
    "乙区人大开展的执法检查各有几次?"]. Each side starts at the last mention of its anchor; a side without a
    question word of its own borrows the last side's; a side that is only its anchor ("甲区和乙区…") shares all the
    last side's words. The questions come in the order of `anchors`; [] unless every anchor is found."""
    if len(anchors) < 2 or any(not a or a not in question for a in anchors):
        return []
    spots = sorted((question.rfind(a), a) for a in anchors)
    prefix = question[: spots[0][0]]
    segments = [question[at: spots[i + 1][0] if i + 1 < len(spots) else len(question)] for i, (at, _) in enumerate(spots)]
    last_anchor, last = spots[-1][1], segments[-1]
    asking = _COMPARE.search(last) or _ASKING.search(last)
    tail = last[asking.start():] if asking else ""
    out: dict[str, str] = {}
    for i, ((_, anchor), seg) in enumerate(zip(spots, segments, strict=True)):
        own = seg[len(anchor):].strip(_SIDE_JOINERS)
        if i == len(spots) - 1:
            out[anchor] = prefix + seg
        elif not own:
            out[anchor] = prefix + anchor + last[len(last_anchor):]
        elif _ASKING.search(own):
            out[anchor] = prefix + anchor + seg[len(anchor):].rstrip(_SIDE_JOINERS)
        else:
            out[anchor] = prefix + anchor + seg[len(anchor):].rstrip(_SIDE_JOINERS) + tail
    return [out[a] for a in anchors]


def is_followup(intent: Intent) -> bool:
    """Does the question lean on earlier turns (no place of its own, or an anaphor)?"""
    return bool(_FOLLOWUP_CUES.search(intent.text)) or not intent.places


def leans_on_history(question: str) -> bool:
    """Does the question say it follows on (an anaphor, "…呢?", "其中"), or is it too bare to stand alone (no
    content word: "那政协呢?", "同比呢?")? A question that does neither may be about something new."""
    q = simplified(question.strip())
    return bool(_FOLLOWUP_CUES.search(q)) or not topic_tokens(q)


def resolve(intent: Intent, previous: Intent | None, previous_person: str = "") -> Intent:
    """Carry places, body, topic and person forward from the previous turn of a conversation."""
    if previous is None or not is_followup(intent):
        return intent
    carried = replace(intent, followup=True)
    if not intent.places:
        carried = replace(carried, places=previous.places)
    if not intent.body:
        carried = replace(carried, body=previous.body)
    if not intent.year:
        carried = replace(carried, year=previous.year)
    if re.search(r"他|她", intent.text) and previous_person:
        carried = replace(carried, person=previous_person)
    elliptical = len(intent.topic) == 0 or re.search(r"呢[?？]?$", intent.text)
    if elliptical:
        # "那政协呢?": the same question about another place or body.
        # "产值呢?" after a question about 产量: the same question, about the thing it names now (its own words first).
        carried = replace(carried, topic=tuple(dict.fromkeys((*intent.topic, *previous.topic))),
                          kind=previous.kind if intent.kind == "fact" else intent.kind,
                          want=previous.want if intent.want == "fact" else intent.want,
                          unit=intent.unit or previous.unit, roles=intent.roles or previous.roles)
    else:
        carried = replace(carried, context=tuple(t for t in (*previous.topic, *previous.context)
                                                 if t not in intent.topic)[:6])
    return carried


def dense_query(intent: Intent, district: str) -> str:
    """The text embedded for dense search: a follow-up gets its carried place and topic."""
    if not intent.followup:
        return intent.text
    extra = " ".join(x for x in (district, intent.body, *intent.context[:4], intent.person) if x and x not in intent.text)
    return f"{extra} {intent.text}".strip()


_ASKED_BEFORE = re.compile(rf"([\u4e00-\u9fff]{{2,8}}?)(?:是|有|为|达到?|共|一共|总共)?(?:多少|几|{SIZE_ASKED})[?？]?$")
_ASKED_AFTER = re.compile(r"(?:多少|几)[个名张处件项次人位所家户台辆条篇座]?(?:的)?([\u4e00-\u9fff]{2,6}?)(?:[?？]|$)")


_CHANGE = re.compile(r"(?:同比|环比|比(?![例重率])|较|与)[\u4e00-\u9fff]{0,6}$|(?:增长|增加|下降|减少|提高|降低|上升)了?$")


def asked_object(question: str) -> str:
    """The thing a figure is asked of: "旅游收入是多少?" -> 旅游收入, "造成多少人受伤?" -> 受伤,
    "客流量比上一年增长了多少?" -> 客流量."""
    q = question.strip()
    m = _ASKED_BEFORE.search(q) or _ASKED_AFTER.search(q)
    if not m:
        return ""
    thing = m.group(1)
    while (cut := _CHANGE.search(thing)) and cut.start() < len(thing):
        thing = thing[: cut.start()]
    return thing


# "…是哪天竣工的?", "…什么时候闭幕?": the event a date or time is asked of comes after the question word.
_WHEN_EVENT = re.compile(r"(?:哪一?天|哪一?年|哪个月|几月几[日号]|几号|什么时候|什么时间|何时|几点|几时)"
                         r"(?:正式|开始|举行|进行)?([\u4e00-\u9fff]{2,8}?)(?:的)?[?？]?$")


def asked_head(intent: Intent) -> str:
    """The last word of what the asked value is of: a figure's thing ("门票票价是多少?" -> 票价, "派出了多少辆救护车?"
    -> 救护车), a date's event ("是哪天竣工的?" -> 竣工); none when only the measure word is asked
    ("救助群众多少人次?")."""
    elliptical = re.search(r"([\u4e00-\u9fff]{2,8})呢[?？]?$", intent.text)
    if elliptical:  # "产值呢?": the thing it names now, if it is a word of its topic (not a place or a body)
        words = [w for w in _segment(_LEADING_CUE.sub("", elliptical.group(1))) if w in intent.topic]
        return words[-1] if words else ""
    if intent.want in ("date", "time"):
        m = _WHEN_EVENT.search(intent.text)
        thing = m.group(1) if m else ""
    else:
        thing = asked_object(intent.text)
        if intent.unit and thing.startswith(intent.unit):
            thing = thing[len(intent.unit):]
    words = [w for w in _segment(thing) if len(w) >= 2]
    return words[-1] if words else ""


def unmatched_words(intent: Intent, absent: frozenset[str]) -> list[str]:
    """Words of the thing a figure is asked of that no paragraph of the index holds ("旅游" of 旅游收入).

    Only the asked thing counts: other words of a question may well be paraphrases ("花了多少钱盖好"). Sub-words
    jieba's search mode adds ("出口" of 进出口) do not count, and words in Latin letters ("GDP") are left out:
    papers spell them out in Chinese.
    """
    if intent.want not in ("number", "money", "percent"):
        return []
    thing = asked_object(intent.text)
    # "件数" is a count of 件, not a thing; "本书" is the unit 本 and 书.
    words = [t for t in intent.topic if len(t) > 1 and t in thing and re.fullmatch(r"[\u4e00-\u9fff]+", t)
             and not t.endswith("数") and not (intent.unit and t.startswith(intent.unit))]
    whole = [t for t in words if not any(t != o and t in o for o in words)]
    return [t for t in whole if t in absent]
