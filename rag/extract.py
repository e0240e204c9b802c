"""Extractive answers: the shortest run of clauses that carries a value of the wanted type next to the question's
words, cited with the verbatim sentence it stands in.

Scoring is a pure function of the question (rag.query.Intent) and the retrieved chunks; every weight is named here.
The weights were set on the bundled dev and project sets, evals/news-dev.jsonl, evals/wide.jsonl and evals/fresh.jsonl;
evals/holdout.jsonl was measured once before anyone read it (see the README's figures).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rag.people import names_in, role_in
from rag.query import _LEADING_CUE, SIZE_ASKED, UNIT_ALIASES, Intent, _segment
from rag.ranker import model
from rag.values import EXTRACTORS, Value, figures, ordinals, things, titled
from vectorstore.places import stem
from vectorstore.script import simplified
from vectorstore.sentences import sentences
from vectorstore.types import Chunk, Hit

MAX_ANSWER_CHARS = 160  # a sentence longer than this is cut to its clause window: a paragraph's worth is no answer
_CLAUSE_BREAK = set(",，;；:：")
_OPEN, _CLOSE = "“‘《(「『【(", "”’》)」』】)"

TITLE_WORD_SHARE = 0.3  # a question word the article's title holds, in an answer window (set by reading answers)
W_CLAUSE = 0.04  # per extra clause in an answer window: shorter answers first
# --- weights of the value picked inside a sentence (on top of how well its type fits) ------------------------------
W_OWN_CLAUSE = 0.5  # share of the question's word weight in the value's own clause
W_NEAR = 0.25  # the question's words near the value, nearer ones more
OTHER_MEASURE = 0.3  # how well a figure fits when the question names a measure (面积) and the figure's unit is not one
UNSEEN_WEIGHT = 3.0  # idf of a word no paragraph holds, before the index says otherwise
LEAD_SHARE = 0.9  # a sentence naming the thing asked, after a semicolon, shares the subject of the clauses before it
# ("今年一季度,全县生猪出栏12万头;平均收购价为每公斤14元")


@dataclass(frozen=True)
class Span:
    """A candidate answer: a clause window inside one sentence of one chunk."""

    chunk: Chunk
    rank: int  # retrieval rank of the chunk, 1-based
    sentence: str
    text: str  # the clause window, verbatim
    score: float
    coverage: float  # share of the question's word weight found in the sentence
    chunk_coverage: float
    typed: float  # 0..1: how well the best value in the window fits the wanted type
    value: Value | None = None
    anchored: bool = True  # one of the question's two most specific words is in the sentence or its paragraph
    place_ok: bool = True  # the paragraph is about, or names, the question's place
    year_ok: bool = True  # the sentence does not date itself to years other than the one asked
    # share of the question's word weight in the whole article, counted when the sentence names the thing a figure
    # is asked of and carries the figure ("救护车4辆" of an article whose other paragraphs name the accident); else 0
    article_coverage: float = 0.0
    features: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)


def verbatim_quote(chunk: Chunk, sentence: str, window: str) -> str:
    """The sentence, cut at a repaired backwards column break so that the quote is contiguous in the file."""
    start = chunk.text.find(sentence)
    cuts = [int(b) - start for b in chunk.breaks.split(",") if b] if start >= 0 else []
    cuts = [c for c in cuts if 0 < c < len(sentence)]
    if not cuts:
        return sentence.strip()
    pieces, last = [], 0
    for c in [*cuts, len(sentence)]:
        pieces.append(sentence[last:c])
        last = c
    at = sentence.find(window)
    if at < 0:
        return max(pieces, key=len).strip()

    def overlap(i: int) -> int:
        a = sum(len(p) for p in pieces[:i])
        return max(0, min(a + len(pieces[i]), at + len(window)) - max(a, at))

    return pieces[max(range(len(pieces)), key=overlap)].strip()


def clauses(sentence: str) -> list[str]:
    """Split at commas, semicolons and colons that are not inside quotes or brackets, nor between digits (a clock
    time "20:30", a score "3:1", a number "1,200")."""
    out, depth, cur = [], 0, ""
    for i, ch in enumerate(sentence):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        cur += ch
        within_number = 0 < i < len(sentence) - 1 and sentence[i - 1].isdigit() and sentence[i + 1].isdigit()
        if depth == 0 and ch in _CLAUSE_BREAK and not within_number:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def _weight(token: str, idf: dict[str, float]) -> float:
    return idf.get(token, UNSEEN_WEIGHT if len(token) > 1 else 1.0)


@functools.lru_cache(maxsize=256)
def _whole_words(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens that are no part of a longer one (asked for every candidate sentence of a question)."""
    return tuple(t for t in dict.fromkeys(tokens) if t and not any(t != o and t in o for o in tokens))


# Characters that carry no content on their own (particles, directions, modal verbs, prepositions, pronouns).
_FUNCTION_CHARS = frozenset("了的得地着过下上来去在是有个和与及把被就都也还又很最多少些么吗呢吧啊这那其此该能会要可将让给对从向")


def content_chars(words: Iterable[str]) -> list[str]:
    """The content characters of question words no paragraph holds: mostly a cut jieba made in colloquial speech
    ("雪下了多少毫米" -> 雪下 -> 雪), so a sentence holding them is credited with part of the word (coverage)."""
    return list(dict.fromkeys(c for w in words if len(w) > 1 and re.fullmatch(r"[\u4e00-\u9fff]+", w)
                              for c in w if c not in _FUNCTION_CHARS))


def coverage(tokens: Sequence[str], text: str, idf: dict[str, float]) -> float:
    """Share of the question's word weight the text holds, counting each whole word once.

    jieba's search mode adds the parts of a long word ("理工学院" -> 理工, 学院, 工学院); a whole word the text lacks
    is credited with the share of its characters that its parts found ("诈骗案" by 诈骗: 2/3), so parts neither
    swamp the score nor go unseen.
    """
    whole = _whole_words(tuple(tokens))
    if not whole:
        return 0.0
    total = got = 0.0
    for w in whole:
        weight = _weight(w, idf)
        total += weight
        if w in text:
            got += weight
        else:
            parts = [t for t in tokens if t != w and t in w and t in text]
            got += weight * max((len(t) / len(w) for t in parts), default=0.0)
    return got / total if total else 0.0


# The units a measure is written in, for a figure asked by the measure's name or a size word ("广场面积有多大?" is
# answered by "3.5万平方米", not by "120棵"; "大坝有多高?" by metres). Plain Chinese measurement vocabulary.
_DIMENSIONS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple((re.compile(a), u) for a, u in (
    (r"面积|占地", ("平方", "亩", "公顷", "平米")),
    (r"长度|全长|距离|里程|路程|多长$|多远$", ("公里", "千米", "米", "里")),
    (r"高度|海拔|多高$|深度|多深$|宽度|多宽$|厚度|多厚$", ("米", "公里", "千米", "厘米", "毫米")),
    (r"重量|产量|总产|多重$", ("吨", "公斤", "千克", "克", "斤")),
    (r"降雨量|降水量|雨量", ("毫米", "厘米")),
    (r"速度|时速|多快$", ("公里", "千米", "米", "节")),
    (r"价格|均价|单价|房价|票价|价钱", ("元", "美元")),
    (r"温度|气温|体温", ("℃", "°C", "摄氏度", "度")),
    (r"容量|库容|蓄水量|水量", ("立方米", "方", "升", "吨")),
    (r"年龄|年纪|岁数", ("岁", "周岁")),
))


def asked_dimension(question: str) -> tuple[str, ...]:
    """The units the figure asked for is written in, when the question names a measure ("面积", "多高"); ()."""
    m = re.search(SIZE_ASKED, question)
    asked = asked_object(question) + (m.group(0) if m else "")
    return next((units for pattern, units in _DIMENSIONS if pattern.search(asked)), ())


def unit_fits(asked: str, written: str, also: Sequence[str] = ()) -> bool:
    """Does a figure's unit answer the measure word asked ("多少人" by "80名", "多少公里" by "12.5公里")?
    `also`: the question's alternative measure words ("多少次(项)")."""
    if not asked:
        return True
    return any(written.startswith(u) for a in (asked, *also) for u in UNIT_ALIASES.get(a, (a,)))


def values(intent: Intent, text: str, chunk: Chunk | None = None) -> list[tuple[Value, float]]:
    """The values in the text that can answer the question, each with how well it fits (0..1]."""
    want = intent.want
    if want == "person":
        roles = ("记者",) if intent.reporter else intent.roles
        after = [(v, 1.0) for v in names_in(text, roles)]
        if after or not roles or intent.reporter or not any(role_in(text, r) for r in roles):
            return after
        # "王小明…获得男子跳远冠军", "周海燕担任审判长": the name written before the role.
        return [(v, 0.7) for v in names_in(text) if v.text not in roles]
    if want == "number":
        out = []
        dims = () if intent.unit else asked_dimension(intent.text)
        for v in figures(text):
            # Papers write counts in digits; a lone 一/两 is mostly a word ("一个主会场+两个分会场"), "三千多万" a count.
            written = 1.0 if v.text[0].isdigit() or len(v.text.rstrip("多余")) > 1 else 0.5
            if intent.unit:
                if unit_fits(intent.unit, v.unit, intent.units):
                    # "个" asked: "3200个" over "9所"
                    exact = 1.0 if v.unit.startswith(intent.units or (intent.unit,)) else 0.7
                    out.append((v, exact * written))
            elif v.unit and not v.unit.startswith(("%", "％", "个百分点")):
                # a measure asked by name: a figure in another unit is hardly it ("120棵" for 面积)
                out.append((v, written if not dims or v.unit.startswith(dims) else written * OTHER_MEASURE))
        return out
    if want == "money":
        return [(v, 1.0) for v in EXTRACTORS[want](text)]
    if want == "ordinal":
        return [(v, 1.0) for v in ordinals(text) if not intent.unit or unit_fits(intent.unit, v.unit, intent.units)]
    if want in ("entity", "name") and intent.head:
        # a quoted name of the asked kind ("《野生动物保护法》" for 哪部法律), a name ending in it ("青石路小学" for
        # 学校), any other quoted name last
        quoted = titled(text)
        kind = [(v, 1.0) for v in quoted if v.text.strip("“”《》")[-1:] in intent.head]
        return kind + [(v, 0.9) for v in things(text, intent.head)] + [(v, 0.5) for v in quoted]
    if want == "percent":  # "增长了多少" is mostly a percentage, sometimes a figure ("增长了2002班")
        exact = [(v, 1.0) for v in EXTRACTORS[want](text)]
        return exact or [(v, 0.4) for v in figures(text) if not intent.unit or unit_fits(intent.unit, v.unit)]
    if want in ("date", "time"):
        other = "time" if want == "date" else "date"
        found = [(v, 1.0) for v in EXTRACTORS[want](text)] + [(v, 0.7) for v in EXTRACTORS[other](text)]
        # "哪一天" is answered by a day ("3月5日"), not by a year or a month alone ("2020年"); "哪一年" by a year
        grain = next((g for g, asked in _DATE_GRAIN if re.search(asked, intent.text)), "")
        return [(v, f if not grain or re.search(grain, v.text) else f * 0.5) for v, f in found]
    if want == "place":
        found = [(v, 1.0) for v in EXTRACTORS["place"](text)]
        if not found and chunk is not None and chunk.district and re.search(r"哪个(?:区|县|市|省|镇|乡)", intent.text):
            found = [(Value("place", 0, 0, chunk.district), 0.8)]  # the paragraph's place answers "哪个区"
        return found
    if want in EXTRACTORS:
        return [(v, 1.0) for v in EXTRACTORS[want](text)]
    return []


_DATE_GRAIN = (("[日号]", r"哪一?天|哪日|几月几[日号]|几号|什么日子"), ("月", r"哪个月|几月"), ("年", r"哪一?年"))


def _bounds(parts: Sequence[str]) -> list[tuple[int, int]]:
    """Start and end offsets of consecutive pieces of a text (its clauses)."""
    out, pos = [], 0
    for part in parts:
        out.append((pos, pos + len(part)))
        pos += len(part)
    return out


def _anchor_spots(tokens: Sequence[str], text: str, idf: dict[str, float]) -> list[tuple[int, float]]:
    return [(m.start(), _weight(t, idf)) for t in tokens if len(t) > 1 for m in re.finditer(re.escape(t), text)]


def pick_value(intent: Intent, sentence: str, found: list[tuple[Value, float]], tokens: Sequence[str],
               idf: dict[str, float]) -> tuple[Value | None, float]:
    """The value nearest the question's words: "新开工项目36个" over "在建项目120个" for 新开工项目."""
    if not found:
        return None, 0.0
    thing = asked_object(intent.text)
    spots = [(at, w * (2.0 if thing and sentence[at:at + 2] in thing else 1.0))
             for at, w in _anchor_spots(tokens, sentence, idf)]

    def closeness(v: Value) -> float:
        if not spots:
            return 0.0
        # weight of the question's words near the value, more for nearer ones (a clause is ~15 characters)
        return sum(w / (1 + abs(at - v.start) / 15) for at, w in spots)

    total = max(1.0, sum(w for _, w in spots))
    bounds = _bounds(clauses(sentence))

    def own_clause(v: Value) -> float:
        # "被评为优秀作品5篇" over "收到各类来稿40篇" for 被评为优秀作品的有多少篇: the value's
        # own clause states what it counts
        a, b = next(((a, b) for a, b in bounds if a <= v.start < b), (0, len(sentence)))
        return coverage(tokens, sentence[a:b], idf)

    best = max(found, key=lambda vf: (vf[1] + W_OWN_CLAUSE * own_clause(vf[0]) + W_NEAR * closeness(vf[0]) / total,
                                      -vf[0].start))
    return best


def window_for(intent: Intent, sentence: str, value: Value | None, tokens: Sequence[str], idf: dict[str, float],
               title: str = "") -> str:
    """The shortest run of clauses (at most three) that holds the value and the most question words; words the
    article's title already names (its subject: "运动会") weigh less, they need not be repeated in the answer."""
    parts = clauses(sentence)
    if len(sentence) <= 40 or len(parts) == 1:
        return sentence
    share = 0.0 if intent.want == "list" else TITLE_WORD_SHARE  # a list answers by itself: "设田径、游泳、跳绳3个大项"
    idf = {t: _weight(t, idf) * (share if title and t in title else 1.0) for t in tokens}
    bounds = _bounds(parts)
    holding = next((i for i, (a, b) in enumerate(bounds) if value is not None and a <= value.start < b), None)
    best, best_score = sentence, -1.0
    for i in range(len(parts)):
        for j in range(i, min(len(parts), i + 3)):
            if holding is not None and not (i <= holding <= j):
                continue
            if value is not None and bounds[j][1] < value.end:
                continue
            window = "".join(parts[i : j + 1])
            score = coverage(tokens, window, idf) - W_CLAUSE * (j - i)
            if score > best_score + 1e-9:
                best, best_score = window, score
    return best


# A dateline opening a story's first sentence: "本报讯(记者 … 通讯员 …)", "本报南阳讯", "新华社北京3月5日电".
_DATELINE = re.compile(r"^\s*(?:本报讯|本报[\u4e00-\u9fff]{1,6}讯|[\u4e00-\u9fff]{2,6}社[\u4e00-\u9fff\d]{0,12}电)\s*"
                       r"(?:[(（][^)）]{0,40}[)）])?\s*")


def _strip_end(text: str) -> str:
    """The answer without the trailing punctuation, and without a dateline in either script (the quote keeps both)."""
    dateline = _DATELINE.match(simplified(text))
    return re.sub(r"[,，;；:：、。 ]+$", "", text[dateline.end():] if dateline else text) or text


def _other_years(sentence: str, year: int) -> bool:
    """The sentence dates itself, and not to the year asked ("2025年,全县将…" for a question about 2024); a year it
    compares with ("比2023年的…", "较2023年") does not date it."""
    named = {int(y) for y in re.findall(r"(?<![比较与和同])((?:19|20)\d\d)年", sentence)}
    return bool(named) and year not in named


def place_fits(intent: Intent, chunk: Chunk) -> bool:
    """The paragraph is about the question's place, or names it (in full or by its stem)."""
    if not intent.places:
        return True
    here = simplified(" ".join((chunk.district, chunk.places, chunk.title, chunk.section, chunk.text)))
    return any(p in here or stem(p) in here for p in intent.places)


# The features a candidate sentence is scored by (rag.ranker fits their weights on labelled data; evals/fit.py).
FEATURES = (
    "cov", "pick", "chunk_cov", "ctx_cov", "art_cov", "bigram", "unigram", "lcs", "cov_gap", "bigram_gap",
    "prev_cov", "next_cov", "typed_q", "typed_miss", "want_fact", "focused", "anchored", "missing",
    "inv_rank", "inv_dense_rank", "inv_kw_rank", "dense", "dense_gap", "body_same", "body_other",
    "year_chunk_other", "year_sent_other", "place_other", "first_sent", "log_len", "absent_share", "upload",
    "sdense", "sdense_gap", "inv_sdense_rank",
)

# What tells whether the clause window around the value suffices as the answer, or the whole sentence is needed.
WINDOW_FEATURES = ("typed_q", "want_fact", "win_share", "win_bigram_loss", "win_value", "log_len")

# Question words and particles: what a question adds around the words it shares with its answer.
_ASKING = re.compile(r"为什么|为何|什么|多少|哪些|哪个|哪里|哪儿|哪一|哪|怎么样|怎样|怎么|如何|是谁|谁|几|吗|呢|请问|是否|"
                     r"有没有|是不是|[^\u4e00-\u9fff\w]")


def question_core(text: str) -> str:
    """The question without its question words and punctuation: the words its answer sentence tends to repeat."""
    return _ASKING.sub("", text)


def _longest_shared(core: str, sentence: str, longest: int = 24) -> int:
    """Length of the longest piece of the question's core that the sentence holds (0 or at least 2)."""
    size = min(len(core), longest)
    while size >= 2:
        if any(core[i : i + size] in sentence for i in range(len(core) - size + 1)):
            return size
        size -= 1
    return 0


def candidates(intent: Intent, hits: Sequence[Hit | Chunk], idf: dict[str, float],
               absent: frozenset[str] = frozenset(), articles: Mapping[str, str] | None = None,
               scorer: Callable[[Mapping[str, float]], float] | None = None,
               similarity: Callable[[list[str]], Sequence[float]] | None = None) -> list[Span]:
    """Every sentence of the retrieved passages as an answer candidate with its features, best first.

    `hits`: search hits best first (plain chunks are taken as ranked, with no retrieval scores).
    `absent`: question words found nowhere in the index; they cannot tell passages apart.
    `articles`: each chunk's whole article by source; the question's subject may be named only in another paragraph
    ("青岩理工学院…申请了几件专利" answered by "累计申请专利12件" of the article about it).
    `scorer`: features -> score (default: the fitted ranker of rag.ranker).
    `similarity`: sentences -> their cosine with the question, each embedded on its own (vectorstore.sentences);
    without it the three `sdense` features are left out, which the fitted model reads as average.
    """
    if scorer is None:
        scorer = model().sentence_logit
    tokens = [*intent.topic, *([intent.person] if intent.person else []), *content_chars(absent & set(intent.topic))]
    context = [*intent.context]
    # the two rarest words: whole words and the ones they begin or end with ("修路" of 修路架桥), not a part jieba's
    # search mode finds across a word's inside ("长江" of 市长江大桥)
    words = [t for t in intent.topic if len(t) > 1 and t not in absent
             and not any(t != o and t in o and not (o.startswith(t) or o.endswith(t)) for o in intent.topic)]
    specific = sorted(words, key=lambda t: -_weight(t, idf))[:2]
    articles = articles or {}
    focus = asked_head(intent) if intent.want in ("number", "percent", "date", "time") else ""
    missing = unmatched_words(intent, absent)
    core = question_core(intent.text)
    grams = {core[i : i + 2] for i in range(len(core) - 1)}
    chars = {c for c in core if c not in _FUNCTION_CHARS}
    whole = _whole_words(tuple(tokens))
    absent_share = sum(1 for t in whole if t in absent) / len(whole) if whole else 0.0
    ranked = [(h, None) if isinstance(h, Chunk) else (h.chunk, h) for h in hits]
    top_dense = max((h.extra.get("dense", 0.0) for _, h in ranked if h is not None), default=0.0)
    spans: list[Span] = []
    rows: list[dict[str, float]] = []
    for rank, (chunk, hit) in enumerate(ranked, 1):
        # matched as Simplified (a Traditional paragraph against a question in either script); quoted as written
        full = simplified(" ".join((chunk.section, chunk.title, chunk.text)))
        title = simplified(chunk.title)
        chunk_cov = coverage(tokens, full, idf)
        ctx_cov = coverage(context, full, idf) if context else 0.0
        place_ok = place_fits(intent, chunk)
        # "Who reported it" is answered by the byline as printed, nothing else.
        texts = ([chunk.byline] if chunk.byline else []) if intent.reporter else sentences(chunk.text)
        plains = [simplified(t) for t in texts]
        covs = [coverage(tokens, plain, idf) for plain in plains]
        lead = ""  # the clauses before a semicolon, of the same full sentence
        # the article's title states what all its sentences are about: its words tell them apart less
        titled_words = bool(title) and any(t in title for t in tokens)
        told = {t: _weight(t, idf) * (TITLE_WORD_SHARE if t in title else 1.0) for t in tokens} if titled_words \
            else idf
        article = simplified(articles.get(chunk.source, ""))
        dense = hit.extra.get("dense", 0.0) if hit is not None else 0.0
        for i, (sent, plain) in enumerate(zip(texts, plains, strict=True)):
            cov = covs[i]
            pick = coverage(tokens, plain, told) if titled_words else cov
            found = values(intent, plain, chunk)
            value, fit = pick_value(intent, plain, found, tokens, idf)
            window = plain if sent == chunk.byline else window_for(intent, plain, value, tokens, idf, title)
            window_plain = window
            at = plain.find(window)
            window = sent[at : at + len(window)] if at >= 0 else sent  # the same offsets in the text as written
            typed = fit if intent.want != "fact" else 1.0
            focused = bool(focus) and typed > 0 and focus in plain
            if focused and lead:
                cov = max(cov, LEAD_SHARE * coverage(tokens, lead + plain, idf))
                pick = max(pick, LEAD_SHARE * coverage(tokens, lead + plain, told))
            lead = lead + plain if plain.rstrip().endswith((";", "；")) else ""
            year_ok = not (intent.year and _other_years(plain, intent.year))
            anchored = not specific or any(t in plain or t in full or t in article for t in specific)
            art_cov = coverage(tokens, f"{full} {article}", idf) if focused else 0.0
            span = Span(chunk, rank, sent, _strip_end(window), 0.0, cov, chunk_cov, typed, value, anchored,
                        place_ok, year_ok, art_cov)
            rows.append({
                "cov": cov, "pick": pick, "chunk_cov": chunk_cov, "ctx_cov": ctx_cov, "art_cov": art_cov,
                "bigram": sum(g in plain for g in grams) / len(grams) if grams else 0.0,
                "unigram": sum(c in plain for c in chars) / len(chars) if chars else 0.0,
                "lcs": _longest_shared(core, plain) / max(len(core), 1),
                "prev_cov": covs[i - 1] if i else 0.0, "next_cov": covs[i + 1] if i + 1 < len(covs) else 0.0,
                "typed_q": typed if intent.want != "fact" else 0.0,
                "typed_miss": float(intent.want != "fact" and typed <= 0), "want_fact": float(intent.want == "fact"),
                "focused": float(focused), "anchored": float(anchored),
                "missing": float(bool(missing) and not counted_as_asked(intent, span, missing)),
                "inv_rank": 1.0 / rank,
                "inv_dense_rank": 1.0 / hit.dense_rank if hit is not None and hit.dense_rank else 0.0,
                "inv_kw_rank": 1.0 / hit.keyword_rank if hit is not None and hit.keyword_rank else 0.0,
                "dense": dense, "dense_gap": dense - top_dense,
                "body_same": float(bool(intent.body) and chunk.body == intent.body),
                "body_other": float(bool(intent.body and chunk.body) and chunk.body != intent.body),
                "year_chunk_other": float(bool(intent.year and chunk.year) and chunk.year != intent.year),
                "year_sent_other": float(not year_ok), "place_other": float(not place_ok),
                "first_sent": float(i == 0), "log_len": math.log1p(len(sent)), "absent_share": absent_share,
                "upload": float(chunk.origin == "upload"),
                "win_share": len(span.text) / max(len(sent), 1),
                "win_bigram_loss": (sum(g in plain for g in grams) - sum(g in window_plain for g in grams))
                / len(grams) if grams else 0.0,
                "win_value": float(value is not None and window_plain.find(value.text) >= 0),
            })
            spans.append(span)
    if rows:
        best_cov = max(r["cov"] for r in rows)
        best_gram = max(r["bigram"] for r in rows)
        for r in rows:
            r["cov_gap"] = r["cov"] - best_cov
            r["bigram_gap"] = r["bigram"] - best_gram
        if similarity is not None:
            sims = [float(x) for x in similarity([s.sentence for s in spans])]
            order = sorted(range(len(sims)), key=lambda i: -sims[i])
            best_sim = sims[order[0]]
            for place, i in enumerate(order):
                rows[i].update(sdense=sims[i], sdense_gap=best_sim - sims[i], inv_sdense_rank=1.0 / (1 + place))
    out = [replace(s, score=scorer(r), features=r) for s, r in zip(spans, rows, strict=True)]
    out.sort(key=lambda s: -s.score)
    return out


_ASKED_BEFORE = re.compile(rf"([\u4e00-\u9fff]{{2,8}}?)(?:是|有|为|达到?|共|一共|总共)?(?:多少|几|{SIZE_ASKED})[?？]?$")
_ASKED_AFTER = re.compile(r"(?:多少|几)[个名张处件项次人位所家户台辆条篇座]?(?:的)?([\u4e00-\u9fff]{2,6}?)(?:[?？]|$)")


_CHANGE = re.compile(r"(?:同比|环比|比(?![例重率])|较|与)[\u4e00-\u9fff]{0,6}$|(?:增长|增加|下降|减少|提高|降低|上升)了?$")


def asked_object(question: str) -> str:
    """The thing a figure is asked of: "旅游收入是多少?" -> 旅游收入, "造成多少人受伤?" -> 受伤,
    "客流量比上一年增长了多少?" -> 客流量."""
    q = question.strip()
    m = _ASKED_BEFORE.search(q) or _ASKED_AFTER.search(q)
    if not m:
        return ""
    thing = m.group(1)
    while (cut := _CHANGE.search(thing)) and cut.start() < len(thing):
        thing = thing[: cut.start()]
    return thing


# "…是哪天竣工的?", "…什么时候闭幕?": the event a date or time is asked of comes after the question word.
_WHEN_EVENT = re.compile(r"(?:哪一?天|哪一?年|哪个月|几月几[日号]|几号|什么时候|什么时间|何时|几点|几时)"
                         r"(?:正式|开始|举行|进行)?([\u4e00-\u9fff]{2,8}?)(?:的)?[?？]?$")


def asked_head(intent: Intent) -> str:
    """The last word of what the asked value is of: a figure's thing ("门票票价是多少?" -> 票价, "派出了多少辆救护车?"
    -> 救护车), a date's event ("是哪天竣工的?" -> 竣工); none when only the measure word is asked
    ("救助群众多少人次?")."""
    elliptical = re.search(r"([\u4e00-\u9fff]{2,8})呢[?？]?$", intent.text)
    if elliptical:  # "产值呢?": the thing it names now, if it is a word of its topic (not a place or a body)
        words = [w for w in _segment(_LEADING_CUE.sub("", elliptical.group(1))) if w in intent.topic]
        return words[-1] if words else ""
    if intent.want in ("date", "time"):
        m = _WHEN_EVENT.search(intent.text)
        thing = m.group(1) if m else ""
    else:
        thing = asked_object(intent.text)
        if intent.unit and thing.startswith(intent.unit):
            thing = thing[len(intent.unit):]
    words = [w for w in _segment(thing) if len(w) >= 2]
    return words[-1] if words else ""


def unmatched_words(intent: Intent, absent: frozenset[str]) -> list[str]:
    """Words of the thing a figure is asked of that no paragraph of the index holds ("旅游" of 旅游收入).

    Only the asked thing counts: other words of a question may well be paraphrases ("花了多少钱盖好"). Sub-words
    jieba's search mode adds ("出口" of 进出口) do not count, and words in Latin letters ("GDP") are left out:
    papers spell them out in Chinese.
    """
    if intent.want not in ("number", "money", "percent"):
        return []
    thing = asked_object(intent.text)
    # "件数" is a count of 件, not a thing; "本书" is the unit 本 and 书.
    words = [t for t in intent.topic if len(t) > 1 and t in thing and re.fullmatch(r"[\u4e00-\u9fff]+", t)
             and not t.endswith("数") and not (intent.unit and t.startswith(intent.unit))]
    whole = [t for t in words if not any(t != o and t in o for o in words)]
    return [t for t in whole if t in absent]


def counted_as_asked(intent: Intent, span: Span, missing: Sequence[str]) -> bool:
    """Is a thing the index never names still answered by the span?

    Three paraphrases pass: a colloquial suffix ("村子" by "9个村"), a word jieba cut across ("雪下" of 雪下了多少, by
    "降雪量…毫米": its content characters are in the sentence), and a head noun counted in the measure word
    the question asks for ("多少个新的招生名额" by "新增学位3200个": the head 名额 is the thing counted, the
    same 个 counts it). A missing modifier is a different thing ("外资企业" is no "内资企业") and stays refused.
    """
    def cut_across(w: str) -> bool:
        chars = content_chars([w])
        return bool(chars) and all(c in span.sentence for c in chars)

    rest = [w for w in missing if not (w[-1] in "子儿" and len(w) > 1 and w[:-1] in span.sentence) and not cut_across(w)]
    if not rest:
        return True
    thing = asked_object(intent.text)
    v = span.value
    return (len(rest) == 1 and thing.endswith(rest[0]) and bool(intent.unit) and v is not None
            and v.unit.startswith(intent.unit))


def answer_text(span: Span, limit: int = MAX_ANSWER_CHARS) -> str:
    """What the answer says: the clause window around the value when the fitted window model is sure enough that it
    holds the answer (rag.ranker.CLAUSE_SURE), else the whole sentence; a sentence too long to be an answer is cut to
    its window all the same (`limit`: an answer of several sides shares one answer's length)."""
    whole = _strip_end(span.sentence)
    if span.text == whole or len(whole) > limit or model().clause_suffices(span.features):
        return span.text
    return whole


def decided(intent: Intent, span: Span) -> bool:
    """What no score overrules (the fitted confidence decides everything else): an answer about another place, or
    dated to another year than the one asked, is no answer to the question; nor is a figure when the thing it is asked
    of is a word no paragraph of the index holds ("碳排放总量" in a corpus that never writes it: `unmatched_words`, with
    its paraphrases let through by `counted_as_asked`)."""
    return span.place_ok and span.year_ok and not span.features.get("missing")


def person_in(intent: Intent, sentence: str) -> str:
    """The person an answer names (for "他/她" in the next turn)."""
    found = names_in(sentence, intent.roles)
    return found[0].text if found else ""
