"""Example questions drawn from the user's own documents, for the chat UI: a figure a paragraph states, asked back
("…新增摊位320个" -> "某县新增摊位多少个?"), kept only when the extractive answerer answers it with that
figure.

Nothing here knows a corpus: the questions come from whatever is indexed, newest documents first, and change
when the index does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.errors import RagError
from vectorstore.sentences import sentences

EXAMPLES = 5
CANDIDATES_PER_DOCUMENT = 2
DOCUMENTS_READ = 12
# A figure with the measure word that counts it: the asked thing is what it counts.
_FIGURE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?(?:万|亿)?)(个|所|家|名|位|人次|人|次|项|件|辆|台|座|条|公里|千米|米|吨|"
                     r"亩|公顷|平方米|万元|亿元|元|天|户|套|场|篇|期|批|株|只|头|间|张|本|部|份)")
_CLAUSE = re.compile(r"[^,，;；:：、。!！?？]+")
MIN_LEAD = 4  # characters of the clause before the figure: enough to say what is counted
MAX_QUESTION = 30


def cloze(clause: str) -> tuple[str, str] | None:
    """(question, figure) for the first counted figure of a clause, asked as 多少 + its measure word; None when the
    clause says too little before it or is too long to read as a question."""
    m = _FIGURE.search(clause)
    if m is None or m.start() < MIN_LEAD:
        return None
    lead, tail = clause[: m.start()].strip(), clause[m.end():].strip()
    if not re.search(r"[\u4e00-\u9fff]{2}", lead) or re.search(r"\d", lead + tail):
        return None  # a clause with other figures makes an ambiguous question
    number, unit = m.group(1), m.group(2)
    # money keeps its magnitude ("多少亿元"); a count reads better without it ("多少个", not "多少万个")
    magnitude = number[-1] if unit.endswith("元") and number[-1] in "万亿" and unit[0] not in "万亿" else ""
    question = f"{lead}多少{magnitude}{unit}{tail}?"
    return (question, m.group(1)) if len(question) <= MAX_QUESTION else None


def candidates(text: str, place: str = "") -> Iterable[tuple[str, str]]:
    """(question, figure) pairs from a document's text; the document's place leads a question that lacks it."""
    for sentence in sentences(text):
        for clause in _CLAUSE.findall(sentence):
            got = cloze(clause.strip())
            if got is None:
                continue
            question, figure = got
            if place and place not in question:
                question = place + question
            yield question, figure


def example_questions(pipeline, limit: int = EXAMPLES, documents: Sequence | None = None) -> list[str]:
    """Up to `limit` questions about the newest documents that the extractive answerer answers with the figure they
    ask for (checked without a chat model, in LLM mode too: examples cost no model calls). `documents`: the
    pipeline's documents when the caller has just listed them."""
    from rag.chain import Chain

    try:
        listed = pipeline.documents() if documents is None else documents
    except RagError:
        return []
    docs = sorted(listed, key=lambda d: d.ingested or "", reverse=True)[:DOCUMENTS_READ]
    chain = Chain(pipeline.index)
    found: list[str] = []
    for doc in docs:
        kept = 0
        for question, figure in candidates(pipeline.index.article_text(doc.source), doc.district):
            if question in found:
                continue
            try:
                answer = chain.invoke({"question": question})
            except RagError:
                continue
            if not answer.refused and figure in answer.answer:
                found.append(question)
                kept += 1
            if kept >= CANDIDATES_PER_DOCUMENT or len(found) >= limit:
                break
        if len(found) >= limit:
            break
    return found
