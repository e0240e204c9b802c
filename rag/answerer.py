"""The decide and cite stages of the answer path: the retrieved passages' sentences scored by the fitted model
(rag.extract, rag.ranker), the answer or the refusal decided, the Answer written with its verbatim citations.

`Retrieved` is what the retrieve stage (rag.chain) hands over; any `Answerer` can stand here (rag.llm puts a chat
model in this place, checked against its quotes).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from rag.extract import MAX_ANSWER_CHARS, Span, answer_text, candidates, decided, verbatim_quote
from rag.query import Intent, dense_query
from rag.ranker import model
from rag.types import Answer, Citation
from vectorstore.store import Index
from vectorstore.types import Chunk, Hit


@dataclass
class Retrieved:
    """What the answerer gets: the resolved question and, per side of the question, the passages found."""

    question: str
    intent: Intent
    sides: list[tuple[str, list[Hit], Intent]] = field(default_factory=list)
    refusal: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    earlier: tuple[str, ...] = ()  # the conversation's earlier questions
    standalone: str = ""  # the follow-up rewritten as a standalone question by a chat model, when one did


def elapsed_ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


class ExtractiveAnswerer:
    """Answers with the clause that states the fact, cited verbatim; refuses when no passage states it."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def absent(self, intent: Intent) -> frozenset[str]:
        """The question's words that no chunk of the index contains."""
        tokens = (*intent.topic, *intent.context, intent.person)
        idf = self.index.idf(tokens)
        unseen = math.log(2 * max(self.index.count(), 1) + 2) - 1e-6  # the idf of a word no chunk contains
        return frozenset(t for t in tokens if idf.get(t, 0) >= unseen)

    def similarity(self, intent: Intent) -> Callable[[list[str]], np.ndarray]:
        """Sentences -> their cosine with the question as the search embedded it (vectorstore.sentences)."""
        query = np.asarray(self.index.query_vector(dense_query(intent, "")), dtype=np.float32)
        query /= np.linalg.norm(query) or 1.0
        return lambda texts: self.index.sentence_vectors.get(texts) @ query

    def scored(self, intent: Intent, hits: Sequence[Hit], absent: frozenset[str]) -> tuple[list[Span], float]:
        """Every candidate sentence of the hits, best first by the fitted ranker, and the calibrated confidence
        that the first one answers (rag.ranker); `absent` is self.absent(intent), which the caller needs too."""
        if not hits:
            return [], 0.0
        idf = self.index.idf((*intent.topic, *intent.context, intent.person))
        articles = {h.chunk.source: self.index.article_text(h.chunk.source) for h in hits}
        spans = candidates(intent, hits, idf, absent, articles, similarity=self.similarity(intent))
        if not spans:
            return [], 0.0
        m = model()
        # Ranked by content alone: an upload competes with every other document on equal terms (its source card
        # says where it came from).
        return spans, m.confidence_of([s.score for s in spans[:2]], spans[0].features)

    def relevance(self, intent: Intent, hits: Sequence[Hit]) -> list[float]:
        """Per hit, in [0, 1]: the fitted ranker's probability that the passage's best sentence holds the answer to
        the question (rag.ranker), the same score the answerer picks its sentence by; comparable across questions,
        so a threshold can cut weak hits (rag.retrieval.IndexRetriever's `score_threshold`)."""
        if not hits:
            return []
        spans, _ = self.scored(intent, hits, self.absent(intent))
        best: dict[str, float] = {}
        for s in spans:
            best.setdefault(s.chunk.id, s.score)  # spans come best first
        m = model()
        return [m.sentence_probability(best[h.chunk.id]) if h.chunk.id in best else 0.0 for h in hits]

    def answer(self, r: Retrieved) -> Answer:
        t0 = time.perf_counter()
        if r.refusal:
            return Answer(r.question, r.refusal, True, [], {**r.timings_ms, "answer": elapsed_ms(t0)}, r.intent.text,
                          confidence=0.0)
        picked: list[tuple[str, Span]] = []
        sure = 1.0
        threshold = model().threshold
        for side, hits, side_intent in r.sides:
            spans, confidence = self.scored(side_intent, hits, self.absent(side_intent))
            if spans:
                spans[0] = replace(spans[0], text=answer_text(spans[0], MAX_ANSWER_CHARS // len(r.sides)))
            span = spans[0] if spans else None
            sure = min(sure, confidence)
            if span is None or confidence < threshold or not decided(side_intent, span):
                what = f"{side}的" if side and len(r.sides) > 1 else ""
                text = f"语料中没有找到{what}相关信息,无法回答这个问题。"
                cites = []
                if span is not None:
                    text += "最接近的段落见[1]。"
                    cites = [self._citation(1, span)]
                return Answer(r.question, text, True, cites, {**r.timings_ms, "answer": elapsed_ms(t0)}, r.intent.text,
                              confidence=confidence)
            picked.append((side, span))
        citations: list[Citation] = []
        parts = []
        reprints = {h.chunk.id: h.duplicates for _, hits, _ in r.sides for h in hits if h.duplicates}
        for side, span in picked:
            quote = verbatim_quote(span.chunk, span.sentence, span.text)
            n = next((c.n for c in citations if c.quote == quote and c.source == span.chunk.source), None)
            if n is None:
                n = len(citations) + 1
                citations.append(self._citation(n, span, reprints.get(span.chunk.id, ())))
            text = span.text
            # "哪个区…": the paragraph's place answers, unless the sentence names the place itself ("其中甲区…最大")
            if r.intent.want == "place" and span.chunk.district and span.chunk.district not in text \
                    and (span.value is None or span.value.text == span.chunk.district) \
                    and not re.search(r"哪里|在哪|哪儿", r.intent.text):
                text = f"{span.chunk.district}——{text}"
            if len(picked) > 1 and side and side not in text:
                text = f"{side}:{text}"
            parts.append(f"{text}[{n}]")
        answer = f"{parts[0][: parts[0].rindex('[')]}。{parts[0][parts[0].rindex('['):]}" if len(parts) == 1 \
            else ";".join(parts) + "。"
        return Answer(r.question, answer, False, citations, {**r.timings_ms, "answer": elapsed_ms(t0)}, r.intent.text,
                      confidence=sure)

    @staticmethod
    def _citation(n: int, span: Span, reprints: Sequence[Chunk] = ()) -> Citation:
        return citation(n, span.chunk, verbatim_quote(span.chunk, span.sentence, span.text), span.score, reprints)


def citation(n: int, c: Chunk, quote: str, score: float, reprints: Sequence[Chunk] = ()) -> Citation:
    """Source [n]: `quote` (verbatim text of the chunk) and where the chunk stands."""
    return Citation(n=n, source=c.source, paragraph=c.paragraph, title=c.title, district=c.district,
                    quote=quote, score=round(score, 3), body=c.body, reporter=c.reporter,
                    section=c.section, year=c.year, origin=c.origin, ingested=c.ingested,
                    also=tuple({"source": d.source, "paragraph": d.paragraph, "title": d.title} for d in reprints),
                    context=c.text, start=c.start, end=c.end,
                    outlet=c.outlet, date=c.date, url=c.url, page=c.page, file_page=c.file_page)


class Answerer(Protocol):
    def answer(self, r: Retrieved) -> Answer: ...


__all__ = ["Answerer", "ExtractiveAnswerer", "Retrieved", "citation"]
