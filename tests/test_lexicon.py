"""The fast-opening copy of jieba's dictionary segments and tags exactly as jieba's own dict does."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

import vectorstore.lexicon as lexicon
from rag.settings import BUNDLED_CORPUS
from vectorstore.keyword import USER_TERMS
from vectorstore.places import tagger_for

TEXTS = [p.read_text(encoding="utf-8") for p in sorted(BUNDLED_CORPUS.glob("*.txt"))] + [
    "青山县人民法院昨日公开审理一起非法集资案,涉案金额三千多万元。",
    "暴雨致使林州市石板镇12个村受灾,转移群众1800余人。",
    "The factory opened on 2025年3月1日; 投资4.5亿元,新增就业岗位600个。",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One table for the module (building it takes ~1 s)."""
    return tmp_path_factory.mktemp("cache")


def _pair(cache: Path) -> tuple[jieba.Tokenizer, jieba.Tokenizer]:
    fast, full = lexicon.tokenizer(cache), jieba.Tokenizer()
    for tok in (fast, full):
        for term in USER_TERMS:
            tok.add_word(term, freq=200000)
    return fast, full


def test_table_is_built_once_and_opens_without_jieba_loading_its_dict(cache: Path) -> None:
    fast, _ = _pair(cache)
    assert isinstance(fast.FREQ, lexicon.Lexicon)
    assert fast.initialized  # jieba will not load its own dict on first cut
    (folder,) = (cache / "jieba").iterdir()
    assert {p.name for p in folder.iterdir()} == {"keys.npy", "freqs.npy", "meta.json"}
    stamp = (folder / "keys.npy").stat().st_mtime_ns
    lexicon.tokenizer(cache)
    assert (folder / "keys.npy").stat().st_mtime_ns == stamp  # reused, not rebuilt


@pytest.mark.parametrize("hmm", [True, False])
def test_segmentation_is_jiebas(cache: Path, hmm: bool) -> None:
    fast, full = _pair(cache)
    for text in TEXTS:
        assert fast.lcut(text, HMM=hmm) == full.lcut(text, HMM=hmm)
        assert fast.lcut_for_search(text, HMM=hmm) == full.lcut_for_search(text, HMM=hmm)
    assert fast.total == full.total
    for word in ("人大常委会", "学位", "二七", "郑州市", "不是词的串", "人"):
        assert fast.FREQ.get(word) == full.FREQ.get(word)
        assert (word in fast.FREQ) == (word in full.FREQ)


def test_part_of_speech_tags_are_jiebas(cache: Path) -> None:
    fast, full = _pair(cache)
    for text in TEXTS:
        assert [tuple(p) for p in tagger_for(fast).cut(text)] == [tuple(p) for p in tagger_for(full).cut(text)]


def test_a_heavy_user_switches_to_jiebas_dict_and_keeps_added_words(cache: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexicon, "SWITCH_AFTER", 1000)
    fast, full = _pair(cache)
    fast.add_word("青石路小学", freq=5000)
    full.add_word("青石路小学", freq=5000)
    text = "".join(TEXTS[:2])
    assert fast.lcut(text) == full.lcut(text)
    assert type(fast.FREQ) is dict  # switched
    assert fast.FREQ["青石路小学"] == 5000 and fast.FREQ["人大常委会"] == 200000
    assert fast.lcut("青石路小学扩建") == full.lcut("青石路小学扩建")


def test_an_unwritable_cache_falls_back_to_jiebas_own_loading(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    tok = lexicon.tokenizer(blocked)
    assert not tok.initialized and tok.FREQ == {}
    assert tok.lcut("二七区新增优质学位") == jieba.Tokenizer().lcut("二七区新增优质学位")
