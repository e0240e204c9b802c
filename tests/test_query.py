"""Question understanding and follow-up resolution (pure, no model)."""

import random
import re

import pytest

from rag.extract import Span, counted_as_asked
from rag.matching import coverage
from rag.query import (
    Intent,
    asked_object,
    asked_unit,
    asked_units,
    head_noun,
    resolve,
    roles_of,
    side_questions,
    understand,
    unmatched_words,
    wanted,
)
from rag.values import figures
from rag.window import clauses, window_for
from vectorstore.places import mentions, stem
from vectorstore.sentences import sentences
from vectorstore.types import Chunk


@pytest.mark.parametrize(
    ("question", "places", "body", "kind", "want", "unit"),
    [
        ("二七区新增多少学位?", ("二七区",), "", "number", "number", ""),
        ("惠济区政协三届四次会议以来共收到多少件提案?", ("惠济区",), "政协", "number", "number", "件"),
        ("中原区人大常委会主任是谁?", ("中原区",), "人大", "person", "person", ""),
        ("他在哪一天向大会报告工作?", (), "", "date", "date", ""),
        ("2020年惠济区和二七区的人大常委会分别召开了几次常委会会议?", ("惠济区", "二七区"), "人大", "comparison", "number", "次"),
        ("哪个区建立了全省首家午餐供应智慧监管平台?", (), "", "place", "place", ""),
        # articles of other papers, places and beats
        ("云溪县政协有多少名委员?", ("云溪县",), "政协", "number", "number", "名"),
        ("新乡市开放了多少处避险安置点?", ("新乡市",), "", "number", "number", "处"),
        ("柳州地铁1号线全长多少公里?", (), "", "number", "number", "公里"),
        ("东院区花了多少钱建成?", (), "", "money", "money", ""),
        ("天河区工业投资增长了多少?", ("天河区",), "", "percent", "percent", ""),
        ("考生要提前多长时间到达考点?", (), "", "duration", "duration", ""),
        ("首班车几点发车?", (), "", "time", "time", ""),
        ("最大降雨出现在哪里?", (), "", "place", "place", ""),
        ("平山县教育局局长叫什么?", ("平山县",), "", "person", "person", ""),
        ("东院区建成了哪些中心?", (), "", "list", "list", ""),
        ("她在第几届全运会上夺冠?", (), "", "ordinal", "ordinal", "届"),
        ("新建的学校中报道点名的是哪所学校?", (), "", "entity", "entity", ""),
        ("委员们参加的研修班叫什么名字?", (), "", "name", "name", ""),
        ("获奖者叫什么名字?", (), "", "person", "person", ""),
        ("青山县今年开展了多少次(项)执法检查?", ("青山县",), "", "number", "number", "次"),
    ],
)
def test_understand(question, places, body, kind, want, unit):
    intent = understand(question)
    assert intent.places == places
    assert intent.body == body
    assert intent.kind == kind
    assert intent.want == want
    assert intent.unit == unit


@pytest.mark.parametrize(
    ("question", "unit"),
    [("开放了多少张床位?", "张"), ("排涝面积多少亩?", "亩"), ("降雨量多少毫米?", "毫米"), ("出动多少辆消防车?", "辆"),
     ("有多少个人大代表联络站?", "个"), ("转移了多少群众?", ""), ("接诊了多少人次?", "人次"), ("增长了多少个百分点?", "个百分点")],
)
def test_asked_unit_is_any_measure_word(question, unit):
    assert asked_unit(question) == unit


@pytest.mark.parametrize(
    ("question", "roles"),
    [("天河区统计局局长是谁?", ("局长",)), ("云溪县政协主席是谁?", ("主席",)), ("章贡区集资诈骗案的审判长是谁?", ("审判长",)),
     ("天河区的报道是哪位记者写的?", ("记者",)), ("谁获得了冠军?", ())],
)
def test_roles_of_person_questions(question, roles):
    assert roles_of(question) == roles


def test_known_places_are_found_by_stem():
    assert understand("郑州国际货运班列开行了多少班?", known_places=("郑州市", "二七区")).places == ("郑州市",)
    assert understand("天河前三季度GDP增长了多少?", known_places=("天河区",)).places == ("天河区",)


def test_a_place_the_question_opens_with_is_found_even_when_jieba_splits_it():
    assert understand("航空港区有多少个人大代表联络站?").places == ("航空港区",)


def test_topic_drops_places_bodies_units_and_question_words():
    assert understand("二七区新增多少学位?").topic == ("新增", "学位")
    assert "件" not in understand("云溪县政协共收到多少件提案?").topic
    assert "主任" in understand("中原区人大常委会主任是谁?").topic


def test_wanted_falls_back_to_fact():
    assert wanted("上街区的发展定位是什么?") == "fact"


@pytest.mark.parametrize(
    ("history", "question", "place", "body", "person"),
    [
        ("二七区新增多少学位?", "有多少所学校投入使用?", "二七区", "", ""),
        ("惠济区政协三届四次会议以来收到多少件提案?", "其中立案了多少件?", "惠济区", "政协", ""),
        ("中原区人大常委会主任是谁?", "他在哪一天向大会报告工作?", "中原区", "人大", "李长义"),
        ("平山县今年有多少人报名参加高考?", "其中艺术类考生有多少?", "平山县", "", ""),
    ],
)
def test_followups_carry_place_body_and_person(history, question, place, body, person):
    intent = resolve(understand(question), understand(history), "李长义" if person else "")
    assert intent.followup
    assert intent.places == (place,)
    assert intent.body == body
    assert intent.person == person


def test_elliptical_followup_switches_body_and_keeps_topic():
    prev = understand("二七区人大全年收集了多少条意见建议?")
    intent = resolve(understand("那政协呢?"), prev)
    assert intent.body == "政协"
    assert intent.topic == prev.topic
    assert intent.want == "number"


def test_a_question_naming_its_own_place_is_not_a_followup():
    intent = resolve(understand("中原区共建成多少个社区人大代表联络站?"), understand("二七区新增多少学位?"))
    assert not intent.followup
    assert intent.places == ("中原区",)


def test_sentences_and_clauses_respect_quotes():
    text = "紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,开展调研。第二句。"
    assert sentences(text) == ["紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,开展调研。", "第二句。"]
    assert clauses(sentences(text)[0])[0] == "紧紧围绕上街“通航之都、国际陆港,制造高地”的发展定位,"


def test_window_holds_the_value_and_the_question_words():
    intent = understand("二七区有多少所学校投入使用?")
    sentence = "持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。"
    from rag.window import pick_value, values

    value, _ = pick_value(intent, sentence, values(intent, sentence), intent.topic, {})
    assert value is not None and value.text == "14"
    assert window_for(intent, sentence, value, intent.topic, {}).startswith("庆泰路小学等14所")


def test_coverage_counts_a_long_word_once_with_credit_for_its_parts():
    tokens = ("集资", "诈骗", "诈骗案")
    assert coverage(tokens, "集资诈骗一案", {}) == pytest.approx((1 + 2 / 3) / 2)
    assert coverage(tokens, "诈骗案", {}) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("question", "thing"),
    [("天河区前三季度进出口总额是多少?", "进出口总额"), ("新乡市这次降雨造成多少人死亡?", "死亡"),
     ("郑州国际货运班列的开行量比上一年增长了多少?", "开行量")],
)
def test_asked_object(question, thing):
    assert thing.endswith(asked_object(question)) or asked_object(question).endswith(thing)


def test_a_figure_of_something_the_index_never_mentions_is_flagged():
    intent = understand("天河区前三季度进出口总额是多少?")
    assert unmatched_words(intent, frozenset({"进出口", "进出"})) == ["进出口"]
    assert unmatched_words(understand("天河区前三季度GDP同比增长了多少?"), frozenset({"GDP"})) == []


@pytest.mark.parametrize(
    ("question", "units"),
    [("开展了多少次(项)执法检查?", ("次", "项")), ("开展了多少次执法检查?", ("次",)), ("转移了多少群众?", ())],
)
def test_alternative_measure_words(question, units):
    assert asked_units(question) == units


@pytest.mark.parametrize(
    ("question", "want", "head"),
    [("点名的是哪所学校?", "entity", "学校"), ("哪家医院接收了伤员?", "entity", "医院"), ("哪支球队夺冠?", "entity", "球队"),
     ("委员们参加的研修班叫什么名字?", "name", "研修班"), ("那个文件的名称是什么?", "name", "文件")],
)
def test_head_noun_of_a_name_question(question, want, head):
    assert head_noun(question, want) == head


def _span(sentence: str, value_text: str) -> Span:
    value = next(v for v in figures(sentence) if v.text == value_text)
    return Span(Chunk(id="c", text=sentence, source="s.txt", path="s.txt", paragraph=1, start=0, end=len(sentence)), 1, sentence, sentence, 1.0, 0.5, 0.5, 1.0,
                value)


def test_an_unseen_head_noun_counted_by_the_asked_measure_word_is_a_paraphrase():
    # "名额" appears nowhere, but the sentence counts its thing in the 个 the question asks for.
    intent = understand("西工区新建学校带来了多少个新的入学名额?")
    assert unmatched_words(intent, frozenset({"名额"})) == ["名额"]
    assert counted_as_asked(intent, _span("新增优质学位1.04万个。", "1.04万"), ["名额"])
    # a colloquial suffix: 村子 is 村
    village = understand("西工区的代表帮扶了几个村子?")
    assert counted_as_asked(village, _span("代表为14个村提供支持。", "14"), ["村子"])


def test_an_unseen_modifier_or_a_question_without_a_measure_word_stays_refused():
    trade = understand("青山县前三季度进出口总额是多少?")
    assert not counted_as_asked(trade, _span("前三季度社会消费品零售总额1602.8亿元。", "1602.8亿"), ["进出口"])
    firms = understand("青山县有多少家外资企业?")
    assert not counted_as_asked(firms, _span("全县内资企业120家。", "120"), ["外资"])


@pytest.mark.parametrize(
    ("question", "anchors", "sides"),
    [
        ("西工区政协组织的视察和越秀区人大组织的代表视察各有多少次?", ("西工区", "越秀区"),
         ["西工区政协组织的视察各有多少次?", "越秀区人大组织的代表视察各有多少次?"]),
        ("2020年西工区和越秀区的人大常委会分别召开了几次会议?", ("西工区", "越秀区"),
         ["2020年西工区的人大常委会分别召开了几次会议?", "2020年越秀区的人大常委会分别召开了几次会议?"]),
        ("西工区政协的信息被采纳多少条?越秀区政协的信息被转送多少篇?", ("西工区", "越秀区"),
         ["西工区政协的信息被采纳多少条?", "越秀区政协的信息被转送多少篇?"]),
        ("西工区的人大代表和政协委员各捐助了多少款物?", ("人大", "政协"),
         ["西工区的人大代表各捐助了多少款物?", "西工区的政协委员各捐助了多少款物?"]),
        ("西工区新增多少学位?", ("西工区", "越秀区"), []),
        # the order of the anchors, whatever order the question ends in
        ("西工区和越秀区相比,越秀区建了几所学校,西工区建了几所?", ("西工区", "越秀区"),
         ["西工区和越秀区相比,西工区建了几所?", "西工区和越秀区相比,越秀区建了几所学校"]),
    ],
)
def test_a_comparison_splits_into_one_question_per_side(question, anchors, sides):
    assert side_questions(question, anchors) == sides


def test_several_questions_in_one_message_compare_their_places():
    intent = understand("西工区的信息被采纳多少条?越秀区的信息被转送多少篇?")
    assert intent.kind == "comparison" and intent.places == ("西工区", "越秀区")


def test_a_day_question_prefers_a_day_to_a_year():
    from rag.window import values

    found = dict((v.text, fit) for v, fit in values(understand("会议在哪一天开幕?"), "2020年工作回顾,2月3日会议开幕"))
    assert found["2月3日"] > found["2020年"]


def test_the_subject_may_be_named_in_another_paragraph_of_the_same_article():
    from rag.extract import candidates

    text = "十年来,团队获授权发明专利47项。"
    chunk = Chunk(id="c", text=text, source="a.txt", path="a.txt", paragraph=3, start=0, end=len(text))
    intent = understand("青岩理工学院薄膜实验室获授权发明专利多少项?")
    idf = {"青岩": 4.0, "理工学院": 4.0, "薄膜": 4.0, "实验室": 3.0}
    alone = candidates(intent, [chunk], idf)[0]
    assert not alone.anchored and alone.features["anchored"] == 0.0
    article = {"a.txt": "青岩理工学院薄膜实验室\n这里是青岩理工学院的薄膜实验室。\n" + text}
    within = candidates(intent, [chunk], idf, articles=article)[0]
    assert within.anchored and within.value is not None and within.value.text == "47"


def test_the_answer_drops_the_dateline_the_quote_keeps_it():
    from rag.extract import candidates

    text = "本报讯(记者 林晓 通讯员 周岩)10月18日,青禾县第十二届中小学生运动会在县体育中心闭幕。"
    chunk = Chunk(id="c", text=text, source="a.txt", path="a.txt", paragraph=1, start=0, end=len(text),
                  title="青禾县第十二届中小学生运动会闭幕")
    best = candidates(understand("青禾县运动会是哪天闭幕的?"), [chunk], {})[0]
    assert best.text.startswith("10月18日") and "闭幕" in best.text
    assert best.sentence.startswith("本报讯")


def test_intent_is_frozen():
    with pytest.raises(AttributeError):
        Intent(text="x").body = "人大"  # type: ignore[misc]


def _mentions_by_scanning(text: str, known: set[str]) -> list[str]:
    """The obvious way (every name searched in the text): what `mentions` must agree with."""
    hits, taken = [], []
    for name in sorted(known, key=lambda n: (-len(n), n)):
        for form in dict.fromkeys((name, stem(name))):
            for m in re.finditer(re.escape(form), text):
                if not any(a < m.end() and m.start() < b for a, b in taken):
                    taken.append((m.start(), m.end()))
                    hits.append((m.start(), name))
    return list(dict.fromkeys(n for _, n in sorted(hits)))


def test_mentions_agrees_with_scanning_every_name() -> None:
    rng = random.Random(3)
    chars = "东西南北中新安平河山区县市镇"
    for _ in range(300):
        known = {"".join(rng.choice(chars) for _ in range(rng.randint(1, 4))) + rng.choice(["区", "县", "市", ""])
                 for _ in range(rng.randint(0, 30))} - {""}
        text = "".join(rng.choice(chars + "的人大") for _ in range(rng.randint(0, 25)))
        assert mentions(text, frozenset(known)) == _mentions_by_scanning(text, known), (text, known)


def test_a_clock_time_or_a_score_is_not_cut_at_its_colon() -> None:
    assert clauses("闭馆时间由17:00延长至20:30,并推出线上展厅。") == ["闭馆时间由17:00延长至20:30,", "并推出线上展厅。"]
    assert clauses("主队以3:1获胜:比赛结束。") == ["主队以3:1获胜:", "比赛结束。"]


@pytest.mark.parametrize(
    ("question", "want", "topic_has", "topic_lacks"),
    [
        ("青石湖湿地公园的面积有多大?", "number", "面积", "大"),
        ("这座大桥全长多长?", "number", "全长", "长"),
        ("大坝有多高", "number", "大坝", "高"),
        ("许多大学生参加了什么活动?", "name", "大学生", ""),  # 许多大学: no size asked
        ("这次活动持续多长时间?", "duration", "活动", ""),
    ],
)
def test_a_size_asked_without_duoshao_is_a_figure(question, want, topic_has, topic_lacks):
    intent = understand(question)
    assert intent.want == want and topic_has in intent.topic
    assert not topic_lacks or topic_lacks not in intent.topic


@pytest.mark.parametrize(
    ("question", "units"),
    [("湿地公园的面积有多大?", "公顷"), ("大坝有多高?", "米"), ("二手房成交均价是多少?", "元"), ("大桥全长是多少?", "公里"),
     ("他今年多大?", ""), ("转移了多少群众?", "")],
)
def test_a_named_measure_asks_for_its_units(question, units):
    from rag.window import asked_dimension

    assert (units in asked_dimension(question)) if units else asked_dimension(question) == ()


def _chunk(text: str, paragraph: int = 2, source: str = "a.txt", district: str = "") -> Chunk:
    return Chunk(id=f"{source}#{paragraph}", text=text, source=source, path=source, paragraph=paragraph, start=0,
                 end=len(text), district=district)


def test_a_figure_in_the_units_of_the_measure_asked_beats_a_nearer_count():
    from rag.extract import candidates

    first = _chunk("青石湖湿地公园今年新种植乔木3200株。")
    second = _chunk("公园分为三个片区,总面积约56公顷。", paragraph=3)
    intent = understand("青石湖湿地公园的面积有多大?")
    # as the answerer calls it: with the article the two paragraphs belong to (the second names the park only there)
    article = {"a.txt": f"{first.text}\n{second.text}"}
    best = candidates(intent, [first, second], {"青石湖": 4.0, "湿地公园": 4.0, "面积": 3.0}, articles=article)[0]
    assert best.value is not None and best.value.text == "56" and best.value.unit.startswith("公顷")


def test_the_sentence_naming_the_thing_asked_wins_and_inherits_the_subject_before_its_semicolon():
    from rag.extract import candidates

    text = ("今年前三季度,全市新建商品住宅累计成交1.8万套、成交面积196.5万平方米;成交均价为每平方米7420元,同比下降2.4%。"
            "二手住宅方面,全市前三季度成交5210套,成交均价为每平方米4980元。")
    intent = understand("前三季度新建商品住宅成交均价是多少?")
    idf = {"前三季度": 3.0, "新建": 3.0, "商品住宅": 4.0, "商品": 3.0, "住宅": 3.0, "成交": 3.0, "均价": 4.0}
    spans = candidates(intent, [_chunk(text)], idf)
    named = next(s for s in spans if "7420元" in s.sentence)
    other = next(s for s in spans if "4980元" in s.sentence)
    # what the fitted ranker reads: the sentence naming the thing asked, with its subject from before the semicolon
    assert named.features["focused"] == 1.0 and named.value is not None and named.value.text.startswith("7420")
    assert named.coverage > other.coverage


def test_the_event_may_be_named_elsewhere_in_the_article_when_the_sentence_counts_the_thing_asked():
    from rag.extract import candidates

    text = "消防救援大队调派2个消防救援站、消防车7辆、消防员35名赶到现场。"
    chunk = _chunk(text, district="青石镇")  # the store gives each paragraph its article's place
    article = {"a.txt": "青石镇一仓库发生火灾\n昨日凌晨,青石镇东风路一处仓库发生火灾。\n" + text}
    idf = {"青石镇": 4.0, "东风路": 4.0, "仓库": 3.5, "火灾": 3.5, "消防车": 4.0, "消防": 3.0}
    counted = understand("青石镇东风路仓库火灾出动了多少辆消防车?")
    best = candidates(counted, [chunk], idf, articles=article)[0]
    assert best.value is not None and best.value.text == "7"
    # the rest of the article says which fire it is: the answerer's confidence sees it (art_cov)
    alone = candidates(counted, [chunk], idf)[0]
    assert best.features["art_cov"] > alone.features["art_cov"]
    # a thing the paragraph does not count (no figure in 架) has no value of the asked kind, article or not
    drones = understand("青石镇东风路仓库火灾出动了多少架无人机?")
    assert candidates(drones, [chunk], idf, articles=article)[0].typed == 0


def test_a_date_question_prefers_the_sentence_naming_its_event():
    from rag.extract import candidates
    from rag.query import asked_head

    intent = understand("青石县盗窃案是哪天开庭审理的?")
    assert asked_head(intent) == "开庭审理" and "哪天" not in intent.topic
    text = "6月10日,青石县人民法院对被告人王某盗窃一案进行一审公开宣判。该案于2025年4月16日开庭审理,庭审持续3小时。"
    best = candidates(intent, [_chunk(text, district="青石县")], {"盗窃": 4.0, "开庭审理": 4.0, "开庭": 3.0, "审理": 3.0})[0]
    assert "4月16日" in best.text


def test_a_sentence_dated_to_another_year_neither_wins_nor_answers():
    from rag.extract import candidates, decided

    text = ("公报显示,2024年全县森林覆盖率为58.3%,比2023年的57.6%提高0.7个百分点。"
            "2025年,全县将力争森林覆盖率达到60%。")
    intent = understand("青石县2024年森林覆盖率是多少?")
    spans = candidates(intent, [_chunk(text, district="青石县")], {"森林覆盖率": 4.0, "森林": 3.0, "覆盖率": 3.0})
    assert "58.3%" in spans[0].text and decided(intent, spans[0])  # a year compared with does not date it
    target = next(s for s in spans if "60%" in s.text)
    assert not target.year_ok and not decided(intent, target)


def test_a_sentence_with_the_value_answers_when_the_closest_one_has_none():
    from rag.extract import candidates

    text = "记者从青石县文化和旅游局获悉,春节假期全县旅游市场火爆。实现旅游总收入6.2亿元,同比增长12%。"
    intent = understand("青石县春节假期旅游一共挣了多少钱?")
    idf = {"春节": 3.0, "假期": 3.0, "旅游": 2.0, "挣": 1.0}
    spans = candidates(intent, [_chunk(text, district="青石县")], idf)
    lead = next(s for s in spans if s.sentence.startswith("记者"))
    assert lead.typed == 0  # the lead sentence shares most words but states no sum
    valued = next(s for s in spans if "6.2亿元" in s.sentence)
    assert valued.typed > 0 and valued.features["typed_q"] > lead.features["typed_q"]  # what the fitted ranker weighs


def test_an_elliptical_followup_asks_the_same_about_the_thing_it_names():
    from rag.extract import candidates
    from rag.query import asked_head

    intent = resolve(understand("产值呢?"), understand("青石县今年苹果产量是多少?"))
    assert intent.want == "number" and intent.topic[0] == "产值" and "苹果" in intent.topic and asked_head(intent) == "产值"
    text = "今年全县苹果产量8.6万吨,比去年增加0.4万吨;实现产值5.1亿元,同比增长7%。"
    idf = {"产值": 3.0, "今年": 1.0, "苹果": 3.0, "产量": 3.0}
    assert "5.1亿元" in candidates(intent, [_chunk(text, district="青石县")], idf)[0].text
    # a place or a body named alone is still the same question about another place or body
    assert asked_head(resolve(understand("那政协呢?"), understand("青石县人大开了几次会?"))) == ""


def test_a_thing_counted_with_the_general_ge_may_be_written_as_its_own_measure_word():
    from rag.window import unit_fits

    intent = understand("男子组最佳射手进了几个球?")
    assert intent.units == ("个", "球") and unit_fits(intent.unit, "球", intent.units)
    assert understand("有多少个人大代表联络站?").units == ("个",)  # 个人: no person counted


def test_a_share_asked_is_not_cut_as_a_comparison():
    from rag.query import asked_head

    intent = understand("青石县去年空气优良天数占全年的比例是多少?")
    assert intent.want == "percent" and asked_head(intent) == "比例"


def test_words_of_the_title_tell_the_sentences_of_an_article_apart_less():
    from rag.extract import candidates

    text = "春节假期,全市共接待游客86.2万人次。假期期间,青峰山景区累计接待游客9.4万人次。"
    chunk = Chunk(id="c", text=text, source="a.txt", path="a.txt", paragraph=2, start=0, end=len(text),
                  title="青石市春节假期接待游客86.2万人次", district="青石市")
    intent = understand("青峰山景区春节假期接待了多少人次游客?")
    idf = {"青峰山": 4.5, "景区": 3.0, "春节": 3.0, "假期": 3.0, "接待": 2.5, "游客": 2.5}
    assert "9.4万" in candidates(intent, [chunk], idf)[0].text


def test_a_word_jieba_cuts_across_in_colloquial_speech_is_read_by_its_characters():
    from rag.extract import candidates
    from rag.matching import content_chars

    intent = understand("青石县这次雪下了多少毫米?")
    assert intent.unit == "毫米" and content_chars(["雪下"]) == ["雪"]
    text = "11月26日至27日,青石县迎来入冬以来最强降雪,全县平均降雪量达12.5毫米。"
    absent = frozenset(t for t in intent.topic if t not in text)  # the index holds none of them
    best = candidates(intent, [_chunk(text, district="青石县")], {}, absent)[0]
    assert best.value is not None and best.value.text == "12.5"


def test_which_district_is_no_topic_word_and_the_sentence_naming_one_answers_by_itself():
    intent = understand("哪个区雪下得最大?")
    assert intent.want == "place" and not any("区" in t for t in intent.topic)


def test_vehicles_are_counted_in_liang_or_tai():
    from rag.window import unit_fits

    assert unit_fits("辆", "台") and unit_fits("台", "辆") and not unit_fits("辆", "名")
    assert "现在" not in understand("清雪机械化率现在是多少?").topic


def test_a_modal_verb_glued_to_a_verb_is_no_missing_thing():
    from rag.matching import content_chars

    assert content_chars(["能产"]) == ["产"] and content_chars(["多开"]) == ["开"]
