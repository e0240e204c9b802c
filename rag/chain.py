"""The chain: question + history -> understand (rag.query) -> retrieve (vectorstore.store) -> answer (rag.answerer).

This module holds the first two stages: a question read with its conversation (follow-ups resolved, a subject
change read alone), its places sorted into filters, its sides (a comparison) searched. `Chain.invoke` runs
retrieve and answer as plain calls; `Chain.runnable()` is the same two steps as a LangChain Runnable, for
LangChain apps (streaming, callbacks, composition). LangChain is imported only there: its import pulls in
langsmith (~0.45 s), which a one-shot `rag ask` cannot afford (cold-start budget 2 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.answerer import Answerer, ExtractiveAnswerer, Retrieved, elapsed_ms
from rag.extract import person_in
from rag.query import BODY_WRITTEN, Intent, dense_query, leans_on_history, resolve, side_questions, understand
from rag.types import Answer
from vectorstore.places import stem
from vectorstore.store import Index
from vectorstore.types import Hit

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

RETRIEVE_K = 8


class Chain:
    """Retrieve, then answer; holds the index so follow-up resolution can replay earlier turns.

    The answerer is the extractive one, or rag.llm.LLMAnswerer (a chat model, checked against its quotes), which
    also streams and rewrites follow-ups into standalone questions."""

    def __init__(self, index: Index, answerer: Answerer | None = None) -> None:
        self.index = index
        self.answerer = answerer or ExtractiveAnswerer(index)

    def invoke(self, inputs: dict) -> Answer:
        """{question, history, k, mode, district, body} -> Answer."""
        return self.answerer.answer(self.retrieve(inputs))

    def stream(self, inputs: dict) -> Iterator[str | Answer]:
        """As invoke, yielding the answer's text as it grows (a chat model's, checked) and then the Answer."""
        r = self.retrieve(inputs)
        streaming = getattr(self.answerer, "stream", None)
        if streaming is None:
            yield self.answerer.answer(r)
        else:
            yield from streaming(r)

    def runnable(self) -> Runnable:
        """The same two steps as a LangChain Runnable (`.invoke`, `.batch`, callbacks, `|` composition)."""
        from langchain_core.runnables import RunnableLambda

        return (RunnableLambda(self.retrieve, name="HybridRetrieve")
                | RunnableLambda(self.answerer.answer, name=type(self.answerer).__name__)).with_config(run_name="rag-answer")

    def search(self, query: str, *, k: int, mode: str = "hybrid", history: Sequence[str] = (),
               district: str | None = None, where: dict | None = None, keyword_query: str | None = None) -> list[Hit]:
        """Retrieval as `ask` reads a question: follow-ups resolved, a place it names that the index has articles
        about a filter (or `district`), its topic words the keyword query (or `keyword_query`); `where` adds filters."""
        return self.search_read(query, k=k, mode=mode, history=history, district=district, where=where,
                                keyword_query=keyword_query)[1]

    def search_read(self, query: str, *, k: int, mode: str = "hybrid", history: Sequence[str] = (),
                    district: str | None = None, where: dict | None = None,
                    keyword_query: str | None = None) -> tuple[Intent, list[Hit]]:
        """As `search`, with the question as read (for scoring the hits: `ExtractiveAnswerer.relevance`)."""
        intent = self.locate(self.resolve_history(query, history))
        districts = [district] if district else list(intent.districts)
        known = set(self.index.districts())
        places = [d for d in districts if d in known]
        filters = {**({"district": places} if places else {}), **(where or {})}
        return intent, self.index.search(dense_query(intent, districts[0] if len(districts) == 1 else ""), k=k,
                                         where=filters or None, mode=mode,
                                         keyword_query=keyword_query or intent.keyword_query or None)

    def resolve_history(self, question: str, history: Sequence[str]) -> Intent:
        known = self.index.place_names()
        prev: Intent | None = None
        person = ""
        for turn in history:
            intent = resolve(understand(turn, known), prev, person)
            if intent.want == "person":
                got = self._answer_intent(intent, k=RETRIEVE_K, mode="hybrid")
                if not got.refused and got.citations:
                    person = person_in(intent, got.citations[0].quote) or person
            prev = intent
        return resolve(understand(question, known), prev, person)

    def locate(self, intent: Intent) -> Intent:
        """Sort the question's places: those the index has articles about (a filter), those it only names
        (a ranking signal), and those named nowhere (a refusal)."""
        districts = set(self.index.districts())
        named = self.index.place_names()
        unknown = tuple(p for p in intent.places if p not in named and self.index.document_frequency(p) == 0)
        return replace(intent, districts=tuple(p for p in intent.places if p in districts), unknown_places=unknown)

    def retrieve(self, inputs: dict) -> Retrieved:
        t0 = time.perf_counter()
        question = inputs["question"]
        earlier = tuple(inputs.get("history") or ())
        condense = getattr(self.answerer, "condense", None)
        standalone = condense(question, earlier) if condense and earlier else None
        # A chat model's standalone question stands alone; without one, the rules carry the earlier turns over.
        intent = self.locate(self.resolve_history(standalone, ()) if standalone else self.resolve_history(question, earlier))
        if inputs.get("district"):
            intent = replace(intent, districts=(inputs["district"],))
        if inputs.get("body"):
            intent = replace(intent, body=inputs["body"], bodies=())
        k, mode, body_filter = inputs.get("k") or RETRIEVE_K, inputs.get("mode") or "hybrid", inputs.get("body") or ""
        r = self._retrieve_intent(intent, k, mode, body_filter=body_filter)
        if intent.followup and not standalone and not leans_on_history(question):
            # Read with the earlier turns' place and words, the question may still be about something else ("那座古桥
            # 修建于哪一年?" after two turns about a marathon): when that reading finds no answer and the question read
            # alone does, it stands alone.
            alone = self.locate(self.resolve_history(question, ()))
            if inputs.get("district"):
                alone = replace(alone, districts=(inputs["district"],))
            judge = self.answerer if isinstance(self.answerer, ExtractiveAnswerer) else ExtractiveAnswerer(self.index)
            if judge.answer(r).refused:
                r_alone = self._retrieve_intent(alone, k, mode, body_filter=body_filter)
                if not judge.answer(r_alone).refused:
                    r = r_alone
        r.question, r.earlier, r.standalone = question, earlier, standalone or ""
        r.timings_ms["retrieve"] = elapsed_ms(t0)
        return r

    def _retrieve_intent(self, intent: Intent, k: int, mode: str, body_filter: str = "") -> Retrieved:
        if intent.unknown_places:
            names = "、".join(intent.unknown_places)
            return Retrieved(intent.text, intent, refusal=f"语料中没有关于{names}的报道,无法回答这个问题。")
        place = intent.districts[0] if intent.districts else ""
        if intent.body and place and not intent.bodies:
            bodies = self.index.bodies(place)
            if bodies and intent.body not in bodies:
                return Retrieved(intent.text, intent, refusal=f"语料中没有关于{place}{intent.body}的报道,无法回答这个问题。")
        # (label, filter, intent) per side: districts compared, or 人大 against 政协 in one place.
        compared = intent.districts if len(intent.districts) > 1 else intent.places
        if len(compared) > 1 and intent.kind == "comparison":
            # One side per place, each with only its own place and words ("越秀区政协…和东山县人大…各有多少"); a place
            # the index has articles about filters, one it only names ranks ("西工区和青山县…分别").
            texts = side_questions(intent.text, [p if p in intent.text else stem(p) for p in compared])
            sides = [(p, {"district": p} if p in intent.districts else None,
                      self._side(intent, text, places=(p,), districts=(p,) if p in intent.districts else ()))
                     for p, text in zip(compared, texts or [""] * len(compared), strict=True)]
        elif intent.kind == "comparison" and len(intent.bodies) == 2:
            written = [next((w for w in BODY_WRITTEN[b] if w in intent.text), b) for b in intent.bodies]
            texts = side_questions(intent.text, written) or [""] * 2
            sides = [(b, {"district": place, "body": b} if place else {"body": b}, self._side(intent, text, body=b))
                     for b, text in zip(intent.bodies, texts, strict=True)]
        else:
            sides = [("", {"district": place} if place else None, intent)]
        if body_filter:  # the user's filter (UI), not the question's wording: a hard filter
            sides = [(label, {**(where or {}), "body": body_filter}, side_intent) for label, where, side_intent in sides]
        out = Retrieved(intent.text, intent)
        for label, where, side_intent in sides:
            hits = self.index.search(dense_query(side_intent, where.get("district", "") if where else ""),
                                     k=max(k, RETRIEVE_K), where=where, mode=mode,
                                     keyword_query=side_intent.keyword_query or None)
            out.sides.append((label, hits, side_intent))
        return out

    def _side(self, intent: Intent, text: str, **fixed) -> Intent:
        """One side of a comparison: its own question's words, the whole question's answer type and context."""
        if not text:
            return replace(intent, **fixed)
        own = understand(text, self.index.place_names())
        return replace(intent, **{
            "topic": own.topic or intent.topic, "body": own.body, "year": own.year or intent.year,
            "want": own.want if own.want != "fact" else intent.want, "unit": own.unit or intent.unit,
            "units": own.units or intent.units, "head": own.head or intent.head, "roles": own.roles or intent.roles,
            **fixed})

    def _answer_intent(self, intent: Intent, k: int, mode: str) -> Answer:
        return self.answerer.answer(self._retrieve_intent(self.locate(intent), k, mode))


__all__ = ["Chain"]
