"""Question understanding and follow-up resolution (pure, no model)."""

import pytest

from rag.extract import best_window, clauses, sentences, typed_match
from rag.query import Intent, resolve, understand


@pytest.mark.parametrize(
    ("question", "districts", "body", "kind", "unit"),
    [
        ("二七区新增多少学位?", ("二七区",), "", "number", ""),
        ("惠济区政协三届四次会议以来共收到多少件提案?", ("惠济区",), "政协", "number", "件"),
        ("中原区人大常委会主任是谁?", ("中原区",), "人大", "person", ""),
        ("他在哪一天向大会报告工作?", (), "", "date", ""),
        ("郑州市政协与哪些城市的政协达成了跨区域协商共识?", ("郑州市",), "政协", "list", ""),
        ("2020年惠济区和二七区的人大常委会分别召开了几次常委会会议?", ("惠济区", "二七区"), "人大", "comparison", "次"),
        ("哪个区建立了全省首家午餐供应智慧监管平台?", (), "", "place", ""),
        ("郑州市政协着力打造的全媒体协商品牌叫什么?", ("郑州市",), "政协", "name", ""),
        ("金水区2020年新增了多少学位?", ("金水区",), "", "number", ""),
    ],
)
def test_understand(question, districts, body, kind, unit):
    intent = understand(question)
    assert intent.districts == districts
    assert intent.body == body
    assert intent.kind == kind
    assert intent.unit == unit


def test_topic_drops_places_bodies_and_question_words():
    assert understand("二七区新增多少学位?").topic == ("新增", "学位")
    assert "主任" in understand("中原区人大常委会主任是谁?").topic


def test_unknown_place_is_flagged():
    assert understand("某某区新增多少学位?").unknown_places == ("某某区",)


@pytest.mark.parametrize(
    ("history", "question", "district", "body", "person"),
    [
        ("二七区新增多少学位?", "有多少所学校投入使用?", "二七区", "", ""),
        ("惠济区政协三届四次会议以来收到多少件提案?", "其中立案了多少件?", "惠济区", "政协", ""),
        ("中原区人大常委会主任是谁?", "他在哪一天向大会报告工作?", "中原区", "人大", "李长义"),
    ],
)
def test_followups_carry_place_body_and_person(history, question, district, body, person):
    intent = resolve(understand(question), understand(history), "李长义" if person else "")
    assert intent.followup
    assert intent.districts == (district,)
    assert intent.body == body
    assert intent.person == person


def test_elliptical_followup_switches_body_and_keeps_topic():
    prev = understand("二七区人大全年收集了多少条意见建议?")
    intent = resolve(understand("那政协呢?"), prev)
    assert intent.body == "政协"
    assert intent.topic == prev.topic
    assert intent.kind == "number"


def test_a_question_naming_its_own_district_is_not_a_followup():
    intent = resolve(understand("中原区共建成多少个社区人大代表联络站?"), understand("二七区新增多少学位?"))
    assert not intent.followup
    assert intent.districts == ("中原区",)


def test_sentences_and_clauses_respect_quotes():
    text = "紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,开展调研。第二句。"
    assert sentences(text) == ["紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,开展调研。", "第二句。"]
    assert clauses(sentences(text)[0])[0] == "紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,"


def test_window_picks_the_clause_with_the_figure_and_unit():
    intent = understand("二七区有多少所学校投入使用?")
    sentence = "持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。"
    assert best_window(intent, sentence, {}) .startswith("庆泰路小学等14所")


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("中原区人大常委会主任是谁?", "中原区人大常委会主任李长义受区人大常委会委托", True),
        ("郑州市政协主席叫什么名字?", "市政协副主席岳希荣受政协郑州市第十四届委员会常务委员会委托", False),
        ("他在哪一天向大会报告工作?", "2月2日,在中原区第十六届人民代表大会第六次会议上", True),
        ("惠济区有多少个代表联络站?", "一个中心站+两个分站的架构布局", True),
        ("郑州市政协着力打造的全媒体协商品牌叫什么?", "着力打造《郑在协商》全媒体协商品牌", True),
        ("郑州市政协着力打造的全媒体协商品牌叫什么?", "着力打造全媒体协商品牌", False),
    ],
)
def test_typed_match(question, text, expected):
    assert typed_match(understand(question), text) is expected


def test_intent_is_frozen():
    with pytest.raises(AttributeError):
        Intent(text="x").body = "人大"  # type: ignore[misc]
