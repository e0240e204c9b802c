"""The answer-type extractors, names and places: table-driven, on sentences from several papers and beats."""

import pytest

from rag.people import names_in, role_in
from rag.values import EXTRACTORS, figures, things
from vectorstore.places import main_place, places_in


def texts(kind: str, sentence: str) -> list[str]:
    return [v.text for v in EXTRACTORS[kind](sentence)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("总投资约19.8亿元,开放床位1200张", [("19.8亿", "元"), ("1200", "张")]),
        ("卫辉市、获嘉县等地已完成排涝面积5.4万亩。", [("5.4万", "亩")]),
        ("展览共展出文物216件(套),其中一级文物三十六件(套)", [("216", "件"), ("三十六", "件")]),
        ("全年累计参与代表600多人次", [("600多", "人次")]),
        ("区十六届人大五次会议上代表提出的142件建议", [("142", "件建议")]),  # 十六届, 五次会议: ordinals
        ("2020年,在区委的坚强领导下", []),  # a year is no count
        ("于21日18时启动防汛Ⅲ级应急响应", []),  # a date and time are no counts
        ("一体化惠民服务", []),
        ("常委会在连续4年听取报告的基础上", [("4", "年")]),  # a count of years, not a year
        ("辖区代表累计捐款捐物一千多万元", [("一千多万", "元")]),
        ("二〇二〇年工作回顾", []),
    ],
)
def test_figures_with_their_units(sentence, expected):
    assert [(v.text, v.unit[: len(u)]) for v, (_, u) in zip(figures(sentence), expected, strict=False)] == expected
    assert len(figures(sentence)) == len(expected)


@pytest.mark.parametrize(
    ("kind", "sentence", "expected"),
    [
        ("money", "该项目总投资35亿元,占地620亩", ["35亿"]),
        ("percent", "同比增长5.8%,增速高于全市1.6个百分点", ["5.8%", "1.6个百分点"]),
        ("date", "该案于2025年4月16日开庭审理", ["2025年4月16日"]),
        ("date", "21日18时启动防汛Ⅲ级应急响应,22日8时提升为Ⅱ级", ["21日18时", "22日8时"]),
        ("time", "1号线每日首班车6:30发车,末班车22:30发车", ["6:30", "22:30"]),
        ("time", "凌晨2时15分,消防大队接到报警", ["凌晨2时15分"]),
        ("duration", "基普罗蒂奇以2小时12分35秒的成绩获得冠军", ["2小时12分35秒"]),
        ("duration", "考试期间务必提前30分钟到达考点", ["30分钟"]),
        ("duration", "本次会议会期两天半", ["两天半"]),
        ("duration", "策展团队历时一年零八个月", ["一年零八个月"]),
        ("list", "建成胸痛中心、卒中中心、创伤中心等五大中心", ["建成胸痛中心、卒中中心、创伤中心"]),
        ("name", "出台了《关于实施民生实项目区人大代表票决制工作的决定》", ["《关于实施民生实项目区人大代表票决制工作的决定》"]),
        ("name", "调研报告荣获优秀调研成果评选二等奖", ["二等奖"]),
        ("place", "最大降雨出现在辉县市薄壁镇", ["辉县市", "薄壁镇"]),
        ("ordinal", "在青山县第十六届人民代表大会第六次会议上", ["第十六届", "第六次"]),
    ],
)
def test_extractors(kind, sentence, expected):
    got = texts(kind, sentence)
    assert all(any(e in g for g in got) for e in expected), got


@pytest.mark.parametrize(
    ("sentence", "roles", "names"),
    [
        ("区统计局局长黄立文表示,第四季度将继续落实", ("局长",), ["黄立文"]),
        ("县政协主席方志强代表政协作工作报告。县委书记韩东出席会议并讲话。", ("书记",), ["韩东"]),
        ("县政协主席方志强代表政协作工作报告。", ("主席",), ["方志强"]),
        ("市政协副主席岳希荣受委托向大会报告工作", ("主席",), []),  # a 主席 is not a 副主席
        ("中原区人大常委会主任李长义受区人大常委会委托", ("主任",), ["李长义"]),
        ("判处被告人赖某明有期徒刑10年6个月", (), ["赖某明"]),
        ("肯尼亚选手基普罗蒂奇以2小时12分35秒的成绩获得男子全程马拉松冠军", (), ["基普罗蒂奇"]),
        ("女子全程马拉松冠军被云南选手李晓燕收入囊中", (), ["李晓燕"]),
        ("6月5日,记者从平山县教育局获悉", ("记者",), []),
    ],
)
def test_names(sentence, roles, names):
    assert [v.text for v in names_in(sentence, roles)] == names


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("广州市天河区统计局发布", ["广州市", "天河区"]),
        ("政协云溪县第九届委员会第二次会议", ["云溪县"]),
        ("卫辉市、获嘉县等地已完成排涝", ["卫辉市", "获嘉县"]),
        ("督促区政府落实,要求区政府", []),
        ("市第一人民医院东院区正式启用", []),
        ("兄弟市、县政协", []),
        ("全市平均降雨量", []),
        ("老旧小区改造和文明城市创建", []),
    ],
)
def test_places_by_suffix_and_word_boundary(text, places):
    assert [n for _, n in places_in(text)] == places


def test_main_place_prefers_the_title_then_the_most_named():
    assert main_place("广州市天河区统计局发布。天河区实现…天河区", "") == "天河区"
    assert main_place("新乡市遭遇强降雨,辉县市…", "") == "新乡市"
    assert main_place("正文里只有市", "临洮县人大常委会召开会议") == "临洮县"


@pytest.mark.parametrize(
    ("sentence", "head", "names"),
    [
        ("督导中小学、幼儿园新建项目,青石路小学等9所中小学投入使用", "学校", ["青石路小学"]),
        ("11月8日,市第一人民医院东院区正式启用", "医院", ["市第一人民医院"]),
        ("县实验中学以总分312分获得团体总分第一名", "学校", ["县实验中学"]),
        ("郑州队以3比1战胜了洛阳队", "球队", ["郑州队", "洛阳队"]),
        ("襄阳市樊城区春园路小区发生火灾", "小区", ["襄阳市樊城区春园路小区"]),
        ("全县中小学正常开学", "学校", []),  # the bare kind is no name
    ],
)
def test_names_of_the_asked_kind(sentence, head, names):
    assert [v.text for v in things(sentence, head)] == names


def test_a_deputy_is_not_the_role_asked():
    assert not role_in("市政协副主席王某作报告", "主席")
    assert role_in("市政协副主席王某、主席李某出席", "主席")
    assert names_in("市政协副主席吴立新作报告", ("主席",)) == []


def test_a_number_before_hao_that_names_a_line_or_a_building_is_no_day():
    from rag.values import dates

    assert [v.text for v in dates("轨道交通1号线一期工程12月28日开通")] == ["12月28日"]
    assert dates("6号楼一楼楼道起火") == []
    assert [v.text for v in dates("展览28号上午开幕")] == ["28号"]


def test_quoted_names_in_a_row_keep_their_measure_words():
    from rag.values import lists

    [run] = lists("协调“春风1号”轮、“海巡01”轮和“青渔12”号前往救助")
    assert run.text == "“春风1号”轮、“海巡01”轮和“青渔12”号"
