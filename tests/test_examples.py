"""Example questions drawn from the user's own articles (rag.examples): a stated figure asked back."""

from __future__ import annotations

from rag.examples import candidates, cloze


def test_a_counted_figure_is_asked_back_with_its_measure_word():
    assert cloze("城南农贸市场改造工程新增摊位320个") == ("城南农贸市场改造工程新增摊位多少个?", "320")
    assert cloze("全年完成投资12.5亿元") == ("全年完成投资多少亿元?", "12.5亿")
    assert cloze("组织转移群众1200余人") is None  # an approximate figure ("余") is no exact answer to ask for
    assert cloze("共3个") is None  # too little said before the figure
    assert cloze("2024年新增摊位320个") is None  # another figure in the clause: an ambiguous question
    assert cloze("防汛指挥部提醒市民减少外出") is None  # no figure


def test_questions_come_from_every_clause_and_carry_the_place():
    text = "本报讯 经过八个月施工，城南农贸市场改造工程日前完工，新增摊位320个。每天可检测农产品样品150份。"
    got = list(candidates(text, place="柳溪县"))
    assert ("柳溪县新增摊位多少个?", "320") in got
    assert ("柳溪县每天可检测农产品样品多少份?", "150") in got
    assert all(q.startswith("柳溪县") and q.endswith("?") for q, _ in got)
