"""Checking a written answer against the quotes it cites (for answers a chat model writes)."""

from __future__ import annotations

import pytest

from rag.verify import claims, holds, value, verify

QUOTE = "持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。"
DONATION = "市政协委员直接捐款700多万元,捐物价值800多万元,受益群众达85%。"
MEETING = "2021年1月8日,区人大常委会召开第三十六次会议。"
QUOTES = {1: QUOTE, 2: DONATION, 3: MEETING}


@pytest.mark.parametrize(("surface", "number"), [
    ("1.04万", 10400), ("10400", 10400), ("１．０４万", 10400), ("700多万", 7_000_000), ("700余万", 7_000_000),
    ("三十六", 36), ("两千", 2000), ("14", 14), ("2亿", 200_000_000), ("1,200", 1200),
])
def test_value_reads_every_way_of_writing_a_number(surface: str, number: float) -> None:
    assert value(surface) == number


@pytest.mark.parametrize("answer", [
    "新增优质学位1.04万个。[1]",
    "新增优质学位10400个[1]。",
    "二七区有14所中小学、幼儿园投入使用,新增学位１．０４万个。[1]",
    "委员捐款700余万元[2],受益群众85%[2]。",
    "委员捐款700万元。[2]",  # "多" dropped: the same number, not a changed one
    "会议于2021年1月8日召开,是第三十六次会议。[3]",
    "会议是第36次会议[3]。",
    "捐款700多万元[2],新增学位1.04万个[1]。",
    "语料中没有找到相关信息。",
])
def test_a_faithful_answer_passes(answer: str) -> None:
    check = verify(answer, QUOTES)
    assert check.verified, check.warnings


def test_a_changed_number_is_caught() -> None:
    check = verify("新增优质学位1.4万个。[1]", QUOTES)
    assert not check.verified
    assert check.warnings == ("1.4万 is not in the quote of [1]",)


def test_a_number_from_another_source_than_the_one_cited_is_caught() -> None:
    assert not verify("新增优质学位1.04万个。[2]", QUOTES).verified


@pytest.mark.parametrize(("answer", "warning"), [
    ("新增优质学位1.04万个。[4]", "[4] names no source (there are 3)"),
    ("新增优质学位1.04万个。[0]", "[0] names no source (there are 3)"),
    ("新增优质学位1.04万个。", "「新增优质学位1.04万个。」 states 1.04万 and cites no source"),
])
def test_markers_out_of_range_and_missing_are_caught(answer: str, warning: str) -> None:
    check = verify(answer, QUOTES)
    assert warning in check.warnings


def test_a_changed_date_or_percentage_is_caught() -> None:
    assert not verify("会议于2021年1月9日召开。[3]", QUOTES).verified
    assert not verify("受益群众达58%。[2]", QUOTES).verified


def test_claims_lists_figures_dates_and_percentages_once() -> None:
    assert claims("2021年1月8日,捐款700多万元,受益群众达85%。[2]") == ["2021年1月8日", "700多万", "85%"]


@pytest.mark.parametrize(("claim", "quote"), [
    ("4万", "新增优质学位1.04万个"),  # the tail of a figure
    ("1%", "同比增长21%"),
    ("14亿", "投资114亿元"),
    ("2月", "12月5日开幕"),
    ("1.04", "新增优质学位1.04万个"),  # 万 dropped: ten thousand times off
    ("三", "共三十所学校"),
])
def test_part_of_a_figure_is_not_the_figure(claim: str, quote: str) -> None:
    assert not holds(claim, quote)


@pytest.mark.parametrize(("claim", "quote"), [
    ("1.04万", "新增优质学位1.04万个"), ("14所", "庆泰路小学等14所中小学"), ("2020年", "2020年以来"),
    ("12月5日", "12月5日开幕"),
])
def test_a_whole_figure_holds(claim: str, quote: str) -> None:
    assert holds(claim, quote)


def test_a_numeral_in_a_persons_name_states_nothing() -> None:
    assert claims("会议由张三主持,李四作报告") == []
    assert verify("会议由张三主持[1]。", {1: "会议由张三主持。"}).verified


def test_each_line_of_a_list_is_a_sentence_of_its_own() -> None:
    check = verify("1. 新增学位1.04万个[1]\n2. 另有30所学校在建[1]\n", {1: "新增学位1.04万个。"})
    assert not check.verified and any("30" in w for w in check.warnings)
