"""The code knows Chinese news, not the eval articles: no place or person of any eval set appears in rag/ or
vectorstore/ (comments included), so the figures on unseen articles measure general mechanisms."""

from pathlib import Path

from rag.people import names_in
from vectorstore.places import SUFFIXES, places_in, word_frequency

ROOT = Path(__file__).resolve().parents[1]


def _eval_texts() -> list[str]:
    # the bundled corpus, every folder of articles under evals/ (news, wide, fresh, …) and every question set
    files = [*(ROOT / "data" / "corpus").glob("*"), *(ROOT / "evals").glob("*/*"), *(ROOT / "evals").glob("*.jsonl")]
    return [f.read_text(encoding="utf-8") for f in files if f.is_file()]


def test_no_eval_place_or_person_in_the_code():
    code = "".join(f.read_text(encoding="utf-8") for d in ("rag", "vectorstore") for f in (ROOT / d).glob("*.py"))
    names: set[str] = set()
    for text in _eval_texts():
        names |= {name for _, name in places_in(text)}
        # persons jieba's dictionary does not know (a dictionary word like 干部 is a role, not a name)
        names |= {v.text for v in names_in(text) if word_frequency(v.text) == 0}
    assert len(names) > 50  # the finders did find the eval articles' names
    names -= set(SUFFIXES)  # a bare suffix ("自治县" of 玉龙纳西族自治县, cut by jieba) names no place
    assert sorted(n for n in names if len(n) >= 2 and n in code) == []
