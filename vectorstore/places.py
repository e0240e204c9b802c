"""Place names found in the text itself: administrative names by their suffix, read on jieba's word boundaries.

No gazetteer: any county, town or district a paper writes about is found the same way ("青山县", "林州市石板镇",
"南京市鼓楼区"). A name written without its suffix ("南阳" for "南阳市") is matched through its stem.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable

# Chinese administrative suffixes, longest first (language, not corpus knowledge).
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "街道", "新区", "省", "市", "区", "县", "旗", "镇", "乡")
# Words that end in an administrative suffix but name no place ("全区", "辖区", "院区", "示范区").
_GENERIC = frozenset({
    "城区", "辖区", "片区", "园区", "社区", "小区", "院区", "校区", "景区", "厂区", "矿区", "山区", "湖区", "林区", "库区",
    "灾区", "市区", "郊区", "新区", "地区", "专区", "行政区", "开发区", "示范区", "起步区", "试验区", "保护区", "功能区",
    "服务区", "生活区", "居住区", "商业区", "工业区", "风景区", "经济区", "管理区", "自贸区", "综合区", "城市", "都市",
    "超市", "门市", "上市", "股市", "楼市", "车市", "夜市", "集市", "城乡", "家乡", "故乡", "下乡", "老乡", "同乡", "城镇",
    "乡镇", "村镇", "重镇", "小镇", "古镇", "市县", "县区", "区县", "省市", "全市", "全区", "全县", "全省", "全州", "本市",
    "该市", "该县", "该区", "我市", "我区", "我县", "我省", "各区", "各县", "各市", "各省", "滩区", "分区", "选区",
    "禁区", "盲区", "误区", "乡村", "核心区", "中心区", "主城区", "老城区",
})
# Endings that make any word generic ("老旧小区", "文明城市", "各乡镇"); 新区 and 地区 name real places too.
_GENERIC_ENDINGS = tuple(sorted(_GENERIC - {"新区", "地区", "城区"}, key=len, reverse=True))
# A word the dictionary knows this well is a common word ("兄弟", "美丽", "核心"), not a place's stem;
# jieba's frequencies put the stems of small counties and towns below it (most are not in its dictionary at all),
# and verbs or nouns that end up before a bare suffix ("兄弟" 9644 before "市、县") above.
COMMON_WORD_FREQ = 500
# A bare suffix, or a suffix that opens the name of a body of that place ("县政协", "区人大", "市委").
_SUFFIX_WORD = re.compile(r"^(?:新区|街道|省|市|区|县|旗|镇|乡)(?:政协|人大|委|政府|党委|法院|检察院|$)")
# jieba part-of-speech tags of words that can carry a place name before a bare suffix ("青山" + "县政协").
_NAME_TAGS = ("ns", "nr", "nz", "n", "j")
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@functools.lru_cache(maxsize=1)
def posseg():
    """jieba's part-of-speech tagger on the project's own dictionary (loaded once, lazily).

    Importing jieba.posseg already parses the dictionary's tags for jieba's global tagger (~0.25 s); ours
    takes a copy of that table instead of parsing the same file a second time.
    """
    from vectorstore.keyword import segmenter

    return tagger_for(segmenter())


def tagger_for(tokenizer):
    """jieba's part-of-speech tagger over `tokenizer`, with the tag table of jieba's global tagger."""
    import jieba.posseg

    tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
    tagger.tokenizer = tokenizer
    tagger.word_tag_tab = dict(jieba.posseg.dt.word_tag_tab)
    return tagger


@functools.lru_cache(maxsize=8192)
def tagged(text: str) -> tuple[tuple[str, str], ...]:
    """(word, part of speech) of the text, by `posseg()`; remembered, since every question reads its candidate
    paragraphs again (~5 ms a question on 2 cores).

    Traditional text is tagged as its Simplified twin (jieba's dictionary and HMM are Simplified: Traditional
    characters it lacks cost ~15x the time and tag badly); the words are returned as the text writes them.
    """
    from vectorstore.script import simplified

    plain = simplified(text)
    pairs = [(p.word, p.flag) for p in posseg().cut(plain)]
    if plain == text or sum(len(w) for w, _ in pairs) != len(text):
        return tuple(pairs)
    out, pos = [], 0
    for word, flag in pairs:
        out.append((text[pos : pos + len(word)], flag))
        pos += len(word)
    return tuple(out)


def suffix_of(name: str) -> str:
    return next((s for s in SUFFIXES if name.endswith(s) and len(name) > len(s)), "")


def stem(name: str) -> str:
    """"南阳市" -> "南阳"; a stem shorter than two characters is no name on its own ("林州" keeps its 县)."""
    s = suffix_of(name)
    base = name[: -len(s)] if s else name
    return base if len(base) >= 2 else name


def word_frequency(word: str) -> int:
    from vectorstore.keyword import segmenter

    return segmenter().FREQ.get(word) or 0


def is_place(name: str, tag: str = "ns") -> bool:
    """A word that reads as a named administrative unit, not a generic one.

    `tag` is jieba's part of speech for the word; a word jieba does not call a place (ns) must have a rare stem.
    """
    s = suffix_of(name)
    if not s or not _CJK.match(name) or name in _GENERIC or len(name) > 8:
        return False
    head = name[: -len(s)]
    if len(head) < 2 or any(name.endswith(g) for g in _GENERIC_ENDINGS):
        return False
    # jieba's dictionary holds real places with their suffix ("绵阳市"); a stem it hardly knows is a name too.
    return tag == "ns" or word_frequency(name) > 0 or word_frequency(head) < COMMON_WORD_FREQ


def places_in(text: str) -> list[tuple[int, str]]:
    """(offset, name) of every place named in the text, in order.

    A place is a word ending in an administrative suffix ("安阳市", "汤阴县"), or a name word followed by a
    word that starts with a bare suffix ("青山" + "县政协" -> "青山县", "石板" + "镇" -> "石板镇").
    """
    out: list[tuple[int, str]] = []
    pos = 0
    prev: tuple[int, str, str] | None = None  # (offset, word, tag)
    for word, tag in tagged(text):
        at = pos
        pos += len(word)
        if is_place(word, tag):
            out.append((at, word))
        elif prev is not None and _SUFFIX_WORD.match(word) and len(prev[1]) == 2 and prev[2].startswith(_NAME_TAGS) \
                and _CJK.match(prev[1]) and prev[1][0] not in "省市区县镇乡" \
                and (len(word) > 1 or word_frequency(prev[1]) < COMMON_WORD_FREQ):
            # "中原" + "区人大": a suffix that opens a body's name makes even a common word a place.
            name = prev[1] + next(x for x in SUFFIXES if word.startswith(x))
            if is_place(name) and not (out and out[-1][0] == prev[0]):
                out.append((prev[0], name))
        prev = (at, word, tag)
    return out


def count_places(text: str, spots: list[tuple[int, str]] | None = None) -> Counter[str]:
    """How often each place is named; a bare stem ("南阳") counts for the full name found in the same text, and a
    city or province written just before a district or county ("南京市鼓楼区") counts for the district.

    `spots`: the text's places_in(), when the caller has them already (tagging is the costly part).
    """
    spots = places_in(text) if spots is None else spots
    found = [name for _, name in spots]
    counts = Counter(found)
    for (a, parent), (b, child) in zip(spots, spots[1:], strict=False):
        if a + len(parent) == b and suffix_of(parent) in ("省", "市", "自治区", "自治州") \
                and suffix_of(child) in ("区", "县", "旗", "新区", "自治县"):
            counts[parent] -= 1
            counts[child] += 1
    counts = +counts
    for name in list(counts):
        base = stem(name)
        if base != name:
            counts[name] += max(0, text.count(base) - text.count(name))
    return counts


def main_place(text: str, title: str = "") -> str:
    """The place an article reports on: the one its title names, else the most named (first named on a tie)."""
    spots = places_in(text)
    counts = count_places(text, spots)
    in_title = [n for _, n in places_in(title)] if title else []
    if in_title:
        return max(in_title, key=lambda n: counts.get(n, 0))
    if not counts:
        return ""
    first = {n: i for i, (_, n) in reversed(list(enumerate(spots)))}
    return max(counts, key=lambda n: (counts[n], -first.get(n, 0)))


@functools.lru_cache(maxsize=4)
def _forms(known: frozenset[str]) -> tuple[dict[str, list[tuple[str, bool]]], int]:
    """Each way of writing a known place (its name, its stem) -> (name, is the stem); the longest form's length.
    Built once per set of names (the index's, which changes only with the store)."""
    forms: dict[str, list[tuple[str, bool]]] = {}
    for name in known:
        for form, short in dict.fromkeys(((name, False), (stem(name), True)), None):
            if form != name or not short:
                forms.setdefault(form, []).append((name, short))
    return forms, max(map(len, forms), default=0)


def mentions(text: str, known: Iterable[str]) -> list[str]:
    """Known place names the text names in full or by their stem ("越秀" for 越秀区), longest name first.

    Looks up the text's substrings among the names, not the names in the text: a question costs the same
    against ten names or a hundred thousand.
    """
    forms, longest = _forms(known if isinstance(known, frozenset) else frozenset(known))
    found = []  # (name length, name, stem?, start, end)
    for start in range(len(text)):
        for end in range(start + 1, min(len(text), start + longest) + 1):
            for name, short in forms.get(text[start:end], ()):
                found.append((-len(name), name, short, start, end))
    hits: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for _, name, _, start, end in sorted(found):
        if any(a < end and start < b for a, b in taken):
            continue
        taken.append((start, end))
        hits.append((start, name))
    return list(dict.fromkeys(n for _, n in sorted(hits)))
