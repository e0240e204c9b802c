"""Person names in Chinese news text: after a role ("局长王建国"), or tagged a name by jieba ("阿卜杜拉希").

A name is two or three characters starting with a surname, where jieba's next word starts right after it
("张伟|出席会议", "李明华|代表"), or a run jieba tags as a person. No list of people: only the language's
surnames and role words.
"""

from __future__ import annotations

import re

from rag.values import Value
from vectorstore.places import is_place, tagged, word_frequency

# The commonest single-character surnames (about 99% of the population) and the usual two-character ones.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞"
    "颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇"
    "栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊"
    "仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓"
    "修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
    "赖阎蔚郦储"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐", "夏侯", "端木", "司徒")
# Words that end a role or title, after which a name is written ("局长", "主席", "审判长", "冠军", "策展人").
ROLE_ENDINGS = (
    "长", "主席", "主任", "书记", "委员", "记者", "通讯员", "经理", "总裁", "总监", "主管", "法官", "检察官", "警官", "民警",
    "教授", "院士", "研究员", "馆员", "工程师", "医生", "医师", "护士", "老师", "教师", "教练", "队员", "选手", "运动员",
    "冠军", "亚军", "季军", "代表", "负责人", "发言人", "创始人", "策展人", "主持人", "被告人", "原告", "嫌疑人", "当事人",
    "被害人", "志愿者", "员工", "职工", "工人", "农民", "村民", "居民", "市民", "党员", "干部", "同学", "学生", "博士",
    "专家", "作者", "导演", "演员", "主编", "编辑", "消防员", "指导员", "驾驶员", "司机", "户主", "老人", "种粮大户", "传承人",
    "获得者", "获奖者", "得主", "董事", "理事", "会员", "秘书", "助理", "参赞", "大使", "省长", "巡视员", "调研员",
)
_ROLE = re.compile("(?:" + "|".join(sorted(map(re.escape, ROLE_ENDINGS), key=len, reverse=True)) + ")")
# Single characters that may follow a name directly ("王建国表示" has a word; "张三在…", "李四说").
_AFTER_NAME = set("在向为和与说称等以的将于对从及也都就已曾则并受作率陪带同、,，。;；:：!?！？()（）“”\"' \t\n")
_PERSON_TAGS = ("nr", "nrt", "nrfg")



def _first_word(text: str) -> str:
    from vectorstore.keyword import segmenter

    for w in segmenter().cut(text[:8], HMM=False):
        return w
    return ""


def _boundary(text: str, at: int) -> bool:
    """Does a word start at `at` (so a name may end just before it)?"""
    if at >= len(text) or text[at] in _AFTER_NAME:
        return True
    return len(_first_word(text[at:])) >= 2


def _name_at(text: str, at: int) -> str:
    """The name written at `at`: surname + one or two characters ending at a word boundary; "" when none."""
    if at >= len(text):
        return ""
    if text.startswith(COMPOUND_SURNAMES, at):
        lengths = (4, 3)
    elif text[at] in SURNAMES:
        lengths = (3, 2)
    else:
        return ""
    for n in lengths:
        name = text[at:at + n]
        if len(name) == n and re.fullmatch(r"[\u4e00-\u9fff]+", name) and _boundary(text, at + n):
            # "某" names of court reports ("张某强", "李某") are names too.
            return name
    if text[at + 1:at + 2] == "某":
        return text[at:at + 2]
    return ""


# A transliterated name ("阿卜杜拉希"): no function word or institution character inside it.
_FOREIGN = re.compile(r"[^\W\d_从向在对把被给为将于县市区省局院委会部厅室站所]{3,6}?(?=[以在获被由和与同、,，。;；的])")


def _any_name_at(text: str, at: int) -> str:
    """A Chinese name, or a transliterated one after a role ("选手阿卜杜拉希以…")."""
    name = _name_at(text, at)
    if name:
        return name
    m = _FOREIGN.match(text, at)
    return m.group(0) if m and not _ROLE.search(m.group(0)) else ""


def role_in(text: str, role: str) -> bool:
    """The role is written in the text as itself: a 主席 is not a 副主席."""
    return any(role.startswith("副") or text[max(0, m.start() - 1):m.start()] != "副"
               for m in re.finditer(re.escape(role), text))


def names_in(text: str, roles: tuple[str, ...] = ()) -> list[Value]:
    """Person names in the text. With `roles` (the question's "局长", "主席"), only names written right after
    (or right before) one of those roles; a 主席 is not a 副主席."""
    out: list[Value] = []
    if roles:
        for role in roles:
            for m in re.finditer(re.escape(role), text):
                if not role_in(text[max(0, m.start() - 1):m.end()], role):
                    continue
                at = m.end()
                while at < len(text) and text[at] in " \u3000":
                    at += 1
                name = _any_name_at(text, at)
                if name:
                    out.append(Value("person", at, at + len(name), name))
        return out
    for m in _ROLE.finditer(text):
        name = _any_name_at(text, m.end())
        if name:
            out.append(Value("person", m.end(), m.end() + len(name), name))
    # jieba's HMM finds names it has never seen; a tagged word its dictionary holds ("足球") is no news name.
    pos = 0
    for word, tag in tagged(text):
        if tag in _PERSON_TAGS and 2 <= len(word) <= 4 and (word[0] in SURNAMES or word.startswith(COMPOUND_SURNAMES)) \
                and not _ROLE.search(word) and not is_place(word) and word_frequency(word) == 0 \
                and not any(v.start <= pos < v.end for v in out):
            out.append(Value("person", pos, pos + len(word), word))
        pos += len(word)
    return sorted(out, key=lambda v: v.start)
