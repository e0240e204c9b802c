"""Question understanding: which district, body and year a question is about, and what kind of answer it wants."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from vectorstore.chunking import CITY, KNOWN_DISTRICTS
from vectorstore.keyword import tokenize

KINDS = ("number", "person", "date", "list", "comparison", "place", "name", "fact")
_OTHER_DISTRICT = re.compile(r"([\u4e00-\u9fa5]{2,3}(?:区|县))(?!委|政府|人大|政协)")
_ANY_DISTRICT = re.compile(r"(?:^|(?<=[^\u4e00-\u9fa5])|(?<=[市省和与及、那跟同]))([\u4e00-\u9fa5]{2}(?:新区|区|县))")
_NOT_PLACE = {"全区", "该区", "我区", "城区", "辖区", "片区", "社区", "园区", "示范区", "起步区", "各区", "哪个区", "个区", "滩区"}
_YEAR = re.compile(r"(20\d\d)年")
_UNIT = re.compile(r"(?:多少|(?<!哪)几)\s*(人次|万元|亿元|批次|个百分点|[个件次项名人天篇条家所班元万亿%期本幅])?")
_ASKING = re.compile(r"(?:多少|几)\s*(?:人次|万元|亿元|批次|个百分点|[个件次项名人天篇条家所班元万亿%期本幅种位])?|哪几|哪些|什么")
_PERSON = re.compile(r"是谁|谁|哪位|(?:主任|主席|书记|区长|市长|记者)(?:叫什么|的名字|姓名)")
_NAME_Q = re.compile(r"叫什么|什么名字|名称是什么|名称|什么文件|什么刊物|什么品牌|什么奖")
_DATE = re.compile(r"哪一?天|什么时候|何时|哪个日期|几月几[日号]|什么日子|哪日")
_NUMBER = re.compile(r"多少|(?<!哪)几[个次项件名天篇条家所班位期本]|增长了多少|比例|百分之")
_LIST = re.compile(r"哪些|哪几|哪[五四三六七八两]|包括什么|包括哪|有什么|是什么|指的是|分别是什么")
_PLACE_Q = re.compile(r"哪个区|哪个县|哪个地方|哪里|哪个市|哪一个区")
_COMPARE = re.compile(r"分别|各有|各是|和.{1,12}相比|比较|各自|各[^,,。?]{0,8}(?:多少|几)")
ROLES = ("副主席", "主席", "副主任", "主任", "书记", "区长", "市长", "秘书长")
_FOLLOWUP_CUES = re.compile(r"^(?:其中|那|那么|他|她|它|该|这|此|其|另外|还有|同时)|呢[?？]?$|他们|她们|他在|她在")


@dataclass(frozen=True)
class Intent:
    """What a question asks, after resolving it against the conversation."""

    text: str  # the question as asked
    districts: tuple[str, ...] = ()
    unknown_places: tuple[str, ...] = ()  # named places the gazetteer does not know (e.g. 金水区 is known; 某某区 not)
    body: str = ""  # 人大 / 政协
    bodies: tuple[str, ...] = ()  # both, when a question compares 人大 with 政协
    year: int = 0
    kind: str = "fact"
    unit: str = ""
    role: str = ""  # 主任 / 主席 ... for person questions
    person: str = ""  # a person carried from an earlier answer (他 / 她)
    topic: tuple[str, ...] = ()  # keyword tokens of the question, places and question words removed
    context: tuple[str, ...] = ()  # topic tokens carried from earlier turns
    followup: bool = False

    @property
    def keyword_query(self) -> str:
        return " ".join((*self.topic, *self.context, self.person))


def districts_of(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Districts named in the text (known ones, in order of mention) and other place names that look like districts."""
    found: list[tuple[int, str]] = []
    for name in KNOWN_DISTRICTS:
        short = name[:-1] if len(name) == 3 else name
        for m in re.finditer(re.escape(short) + ("区?" if name.endswith("区") else ""), text):
            found.append((m.start(), name))
    # 郑州市 itself: named with its body ("郑州市政协"), or any city-level mention when no district is named
    # ("惠济区政协上报市政协的信息" is about 惠济区).
    city = re.search(r"郑州市?政协|郑州市?人大", text)
    if city or (re.search(r"郑州|全市|市政协|市人大", text) and not found):
        found.append((city.start() if city else text.find("市"), CITY))
    names = tuple(dict.fromkeys(n for _, n in sorted(found)))
    if CITY in names and len(names) > 1:
        # "上街区政协为郑州市政协文史馆…": the city is the question's subject only when listed beside the others.
        spots = sorted(found)
        joined = any(re.search(r"[和与及、]", text[a[0]:b[0]]) and b[0] - a[0] <= 12 for a, b in itertools.pairwise(spots))
        if not joined:
            names = tuple(n for n in names if n != CITY)
    unknown = []
    for m in _ANY_DISTRICT.finditer(text):
        name = m.group(1)
        if name in _NOT_PLACE or any(name in k or k in name or name[:2] in k for k in (*KNOWN_DISTRICTS, CITY)):
            continue
        unknown.append(name)
    return names, tuple(dict.fromkeys(unknown))


def body_in(text: str) -> str:
    if re.search(r"政协|委员(?!会)|提案", text):
        return "政协" if not re.search(r"人大|人民代表大会", text) else ""
    if re.search(r"人大|人民代表大会|代表联络站|人大代表", text):
        return "人大"
    return ""


def answer_kind(text: str) -> str:
    if _COMPARE.search(text):
        return "comparison"
    if _PLACE_Q.search(text):
        return "place"
    if _DATE.search(text):
        return "date"
    if _PERSON.search(text):
        return "person"
    if _NAME_Q.search(text):
        return "name"
    if _NUMBER.search(text):
        return "number"
    if _LIST.search(text):
        return "list"
    return "fact"


_PLACE_TOKENS = {d for name in (*KNOWN_DISTRICTS, CITY) for d in (name, name[:-1], name[:2])}
_BODY_TOKENS = {"人大", "政协", "人大常委会", "常委会", "区人大", "区政协", "市政协", "郑州", "郑州市", "区", "市"}
_QUESTION_TOKENS = {"多少", "几", "什么", "哪些", "哪个", "哪", "谁", "名字", "叫", "一共", "共", "分别", "各", "各有",
                    "哪一天", "一天", "时候", "什么样", "是", "请问", "年", "其中", "那", "他", "她",
                    "个", "次", "件", "项", "名", "天", "篇", "条", "家", "所", "班", "人次", "几种", "几个", "哪几",
                    "几项", "方面", "具体", "指", "指的是", "包括", "有些"}


_STRIP = sorted({*(d for name in (*KNOWN_DISTRICTS, CITY) for d in (name, name[:-1])), "人大常委会", "政协常委会",
                 "常委会", "区人大", "区政协", "市政协", "人大", "政协", "郑州"}, key=len, reverse=True)


def topic_tokens(text: str) -> tuple[str, ...]:
    """Content words of a question: places, bodies, years and question words removed."""
    text = _ASKING.sub(" ", _YEAR.sub(" ", text))
    for name in _STRIP:
        text = re.sub(re.escape(name) + "(?!会议)", " ", text)  # "常委会会议" is a topic, "常委会" a body
    text = re.sub(r"[\u4e00-\u9fa5]{2}(?:新区|区|县)(?=\W|$|的|和|与)", " ", text)
    out = []
    for t in tokenize(text):
        if t in _PLACE_TOKENS or t in _BODY_TOKENS or t in _QUESTION_TOKENS:
            continue
        out.append(t)
    return tuple(dict.fromkeys(out))


def understand(question: str) -> Intent:
    """Read one question on its own."""
    q = question.strip()
    districts, unknown = districts_of(q)
    unit_m = _UNIT.search(q)
    kind = answer_kind(q)
    role = next((r for r in ROLES if r in q), "") if kind == "person" or "主任" in q or "主席" in q else ""
    if "市政协" in q and not districts:
        districts = (CITY,)
    year_m = _YEAR.search(q)
    both = bool(re.search(r"人大|人民代表大会|人大代表|人代会", q)) and bool(re.search(r"政协", q))
    return Intent(text=q, districts=districts, unknown_places=unknown, body=body_in(q),
                  bodies=("人大", "政协") if both else (),
                  year=int(year_m.group(1)) if year_m else 0, kind=kind,
                  unit=(unit_m.group(1) or "") if unit_m else "", role=role, topic=topic_tokens(q))


def is_followup(intent: Intent) -> bool:
    """Does the question lean on earlier turns (no place of its own, or an anaphor)?"""
    return bool(_FOLLOWUP_CUES.search(intent.text)) or not intent.districts


def resolve(intent: Intent, previous: Intent | None, previous_person: str = "") -> Intent:
    """Carry district, body, topic and person forward from the previous turn of a conversation."""
    if previous is None or not is_followup(intent) or intent.unknown_places:
        return intent
    carried = replace(intent, followup=True)
    if not intent.districts:
        carried = replace(carried, districts=previous.districts)
    if not intent.body:
        carried = replace(carried, body=previous.body)
    if not intent.year:
        carried = replace(carried, year=previous.year)
    if re.search(r"他|她", intent.text) and previous_person:
        carried = replace(carried, person=previous_person)
    elliptical = len(intent.topic) == 0 or re.search(r"呢[?？]?$", intent.text)
    if elliptical:
        # "那政协呢?": the same question about another district or body.
        carried = replace(carried, topic=previous.topic, kind=previous.kind if intent.kind == "fact" else intent.kind,
                          unit=intent.unit or previous.unit, role=intent.role or previous.role)
    else:
        carried = replace(carried, context=tuple(t for t in (*previous.topic, *previous.context) if t not in intent.topic)[:6])
    return carried
