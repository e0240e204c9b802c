"""Run an eval set through the pipeline, score each question, aggregate overall and per type, gate on a baseline."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals import metrics as m
from rag.errors import RagError
from rag.history import json_lines, question_of, user_turns
from rag.types import Answer

RETRIEVAL_K = 5  # hit@5 needs five hits; ask() keeps its own k
RATE_METRICS = ("hit@1", "hit@5", "mrr", "answer_accuracy", "supported", "citation_verbatim",
                "refusal_accuracy", "false_refusals")
LATENCY_METRICS = ("latency_ms_p50", "latency_ms_p95")
# LLM mode only (reported, not gated): the share of answers the chat model wrote and that passed the check, and
# the share where its answer was not shown (failed the check, or the model could not answer).
LLM_METRICS = ("llm_answered", "llm_not_shown")
METRICS = RATE_METRICS + LATENCY_METRICS
LOWER_IS_BETTER = frozenset({"false_refusals", *LATENCY_METRICS})
TYPE_ORDER = ("numeric", "entity", "list", "comparison", "followup", "paraphrase", "unanswerable")
MODES = ("hybrid", "dense", "bm25")
DEFAULT_TOLERANCE = 0.02


class PipelineLike(Protocol):
    """The part of rag.pipeline.Pipeline an eval uses."""

    def ask(self, question: str, history: Sequence[str] = (), *, k: int = 5, mode: str = "hybrid") -> Answer: ...

    def search(self, query: str, *, k: int = 5, mode: str = "hybrid", history: Sequence[str] = ()) -> list: ...

    def source_text(self, source: str) -> str: ...


@dataclass(frozen=True)
class EvalItem:
    """One line of an eval set (../shared/README.md)."""

    id: str
    question: str
    history: tuple[str, ...]
    answerable: bool
    must: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]
    evidence: tuple[str, ...]
    type: str


@dataclass(frozen=True)
class Retrieved:
    """One retrieved chunk, as the report shows it."""

    source: str
    paragraph: int
    text: str


@dataclass(frozen=True)
class Outcome:
    """One question, answered and scored."""

    item: EvalItem
    answer: Answer
    retrieved: tuple[Retrieved, ...]
    rank: int | None  # 1-based rank of the first retrieved chunk holding evidence
    latency_ms: float
    verbatim: tuple[bool, ...]  # one per citation, in citation order
    correct: bool
    supported: bool

    @property
    def reasons(self) -> list[str]:
        """Why this question counts as failed; empty when it passed."""
        it, a = self.item, self.answer
        out: list[str] = []
        if it.answerable:
            if a.refused:
                out.append("refused an answerable question")
            elif len(a.answer) > m.ANSWER_LIMIT:
                out.append(f"answer is {len(a.answer)} characters (limit {m.ANSWER_LIMIT})")
            elif not self.correct:
                out.append("answer lacks a must string")
            elif not self.supported:
                out.append("no citation from a gold source holds every must group")
            if self.rank is None or self.rank > RETRIEVAL_K:
                out.append(f"no evidence in the top {RETRIEVAL_K} retrieved")
        elif not a.refused:
            out.append("answered an unanswerable question")
        bad = [str(c.n) for c, ok in zip(a.citations, self.verbatim, strict=True) if not ok]
        if bad:
            out.append("quote not verbatim: [" + "], [".join(bad) + "]")
        return out


@dataclass(frozen=True)
class Regression:
    """A metric that moved the wrong way by more than the tolerance."""

    metric: str
    baseline: float
    current: float | None
    allowed: float  # the worst value still accepted

    def describe(self) -> str:
        if self.current is None:
            return f"{self.metric}: missing (baseline {self.baseline:.3f})"
        return (f"{self.metric}: {self.current:.3f} vs baseline {self.baseline:.3f} "
                f"({self.current - self.baseline:+.3f}; worst allowed {self.allowed:.3f})")


@dataclass(frozen=True)
class EvalRun:
    """Everything one `rag eval` produced; `to_json()` is the --json shape."""

    set_path: str
    mode: str
    outcomes: tuple[Outcome, ...]
    compare: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        overall, by_type = aggregate(self.outcomes)
        out: dict[str, Any] = {"set": self.set_path, "n": len(self.outcomes), "mode": self.mode,
                               "overall": overall, "by_type": by_type, "n_by_type": count_types(self.outcomes)}
        if self.compare:
            out["compare"] = self.compare
        out["failures"] = [failure_json(o) for o in self.outcomes if o.reasons]
        out["results"] = [result_json(o) for o in self.outcomes]
        return out


# --- loading -------------------------------------------------------------------------------------------------------


def _strings(raw: Any, key: str, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise RagError(f"{where}: '{key}' must be a list of strings")
    return tuple(raw)


def parse_item(obj: Any, where: str) -> EvalItem:
    """One eval line, checked; `where` is 'file:line' for the error message."""
    q = question_of(obj, where)
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise RagError(f"{where}: 'answerable' must be true or false")
    must_raw = obj.get("must", [])
    if not isinstance(must_raw, list) or not all(isinstance(g, list) and g and all(isinstance(s, str) for s in g)
                                                 for g in must_raw):
        raise RagError(f"{where}: 'must' must be a list of non-empty lists of strings, like [[\"14\"]]")
    qtype = obj.get("type") or ("unanswerable" if not answerable else "other")
    if not isinstance(qtype, str):
        raise RagError(f"{where}: 'type' must be a string")
    return EvalItem(id=str(obj.get("id") or where.rsplit(":", 1)[-1]), question=q,
                    history=user_turns(obj.get("history"), where), answerable=answerable,
                    must=tuple(tuple(g) for g in must_raw), sources=_strings(obj.get("sources"), "sources", where),
                    evidence=_strings(obj.get("evidence"), "evidence", where), type=qtype)


def load_set(path: Path) -> list[EvalItem]:
    """Read an eval set (JSON Lines); a missing file or a bad line is a RagError naming file and line."""
    if not path.is_file():
        raise RagError(f"eval set {path}: no such file; pass --set FILE.jsonl")
    items: list[EvalItem] = []
    seen: set[str] = set()
    blank = 0
    for n, obj in json_lines(path):
        if isinstance(obj, dict) and isinstance(obj.get("question"), str) and not obj["question"].strip():
            blank += 1  # a question no one wrote (public sets have a few): nothing to ask, nothing to score
            continue
        item = parse_item(obj, f"{path}:{n}")
        if item.id in seen:
            raise RagError(f"{path}:{n}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise RagError(f"eval set {path}: no questions in it")
    if blank:
        print(f"warning: {path}: {blank} line(s) with an empty question skipped", file=sys.stderr)
    return items


# --- scoring -------------------------------------------------------------------------------------------------------


def score(item: EvalItem, answer: Answer, retrieved: Sequence[Retrieved], latency_ms: float,
          source_text: Callable[[str], str | None]) -> Outcome:
    """Score one answered question; `source_text` gives a cited file's text (None when unknown)."""
    cited = [m.CitedText(c.source, c.quote, c.title, c.district) for c in answer.citations]
    verbatim = []
    for c in answer.citations:
        text = source_text(c.source)
        verbatim.append(text is not None and m.quote_verbatim(c.quote, text))
    return Outcome(item=item, answer=answer, retrieved=tuple(retrieved),
                   rank=m.first_hit_rank([r.text for r in retrieved], item.evidence),
                   latency_ms=latency_ms, verbatim=tuple(verbatim),
                   correct=m.answer_correct(answer.answer, item.must),
                   supported=m.supported(answer.answer, item.must, cited, item.sources))


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """The metrics of a group of questions; a metric with nothing to average over is left out.

    Retrieval, answer_accuracy, supported and false_refusals average over answerable questions,
    refusal_accuracy over unanswerable ones, citation_verbatim over every citation, latency over all.
    """
    ans = [o for o in outcomes if o.item.answerable]
    una = [o for o in outcomes if not o.item.answerable]
    values: dict[str, float | None] = {
        "hit@1": m.mean(m.hit_at(o.rank, 1) for o in ans),
        "hit@5": m.mean(m.hit_at(o.rank, 5) for o in ans),
        "mrr": m.mean(m.reciprocal_rank(o.rank) for o in ans),
        "answer_accuracy": m.mean(o.correct for o in ans),
        "supported": m.mean(o.supported for o in ans),
        "citation_verbatim": m.mean(v for o in outcomes for v in o.verbatim),
        "refusal_accuracy": m.mean(m.refusal_correct(False, o.answer.refused) for o in una),
        "false_refusals": m.mean(m.false_refusal(True, o.answer.refused) for o in ans),
        "latency_ms_p50": m.percentile((o.latency_ms for o in outcomes), 50),
        "latency_ms_p95": m.percentile((o.latency_ms for o in outcomes), 95),
    }
    if any(o.answer.verified is not None for o in outcomes):
        values["llm_answered"] = m.mean(o.answer.generator == "llm" for o in outcomes)
        values["llm_not_shown"] = m.mean(o.answer.verified is False for o in outcomes)
    return {k: round(v, 4) if k in (*RATE_METRICS, *LLM_METRICS) else round(v, 1)
            for k, v in values.items() if v is not None}


def _types(outcomes: Iterable[Outcome]) -> list[str]:
    present = {o.item.type for o in outcomes}
    return [t for t in TYPE_ORDER if t in present] + sorted(present - set(TYPE_ORDER))


def count_types(outcomes: Sequence[Outcome]) -> dict[str, int]:
    return {t: sum(1 for o in outcomes if o.item.type == t) for t in _types(outcomes)}


def aggregate(outcomes: Sequence[Outcome]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Overall metrics and the same metrics per question type."""
    return summarize(outcomes), {t: summarize([o for o in outcomes if o.item.type == t]) for t in _types(outcomes)}


def gate(current: Mapping[str, float], baseline: Mapping[str, float], tolerance: float = DEFAULT_TOLERANCE,
         latency_tolerance: float | None = None) -> list[Regression]:
    """Metrics worse than the baseline by more than `tolerance` (absolute, rates).

    Latency is gated only when `latency_tolerance` is given, as a fraction of the baseline (0.5 = 50% slower).
    """
    out = []
    for metric in METRICS:
        if metric not in baseline:
            continue
        if metric in LATENCY_METRICS:
            if latency_tolerance is None:
                continue
            slack = baseline[metric] * latency_tolerance
        else:
            slack = tolerance
        base, now = float(baseline[metric]), current.get(metric)
        allowed = base + slack if metric in LOWER_IS_BETTER else base - slack
        # a hair of slack for float rounding: a metric equal to the limit passes
        worse = now is None or (now > allowed + 1e-9 if metric in LOWER_IS_BETTER else now < allowed - 1e-9)
        if worse:
            out.append(Regression(metric, base, None if now is None else float(now), allowed))
    return out


def read_baseline(path: Path) -> dict[str, Any]:
    """A baseline file: {"overall": {metric: value}, ...} or a flat {metric: value}."""
    if not path.is_file():
        raise RagError(f"baseline {path}: no such file; write one with --write-baseline {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagError(f"baseline {path}: not a readable JSON file ({exc})") from exc
    overall = data.get("overall", data) if isinstance(data, dict) else None
    if not isinstance(overall, dict) or not all(isinstance(v, int | float) for k, v in overall.items() if k in METRICS):
        raise RagError(f"baseline {path}: expected {{\"overall\": {{metric: number}}}}")
    return {"set": data.get("set"), "overall": {k: float(v) for k, v in overall.items() if k in METRICS}}


def baseline_json(run: dict[str, Any]) -> dict[str, Any]:
    """What --write-baseline stores: the set, its size, the mode and the overall metrics."""
    return {"set": run["set"], "n": run["n"], "mode": run["mode"], "overall": run["overall"]}


# --- running -------------------------------------------------------------------------------------------------------


def _source_cache(pipeline: PipelineLike) -> Callable[[str], str | None]:
    cache: dict[str, str | None] = {}

    def get(source: str) -> str | None:
        if source not in cache:
            try:
                cache[source] = pipeline.source_text(source)
            except RagError:
                cache[source] = None
        return cache[source]

    return get


def run_items(pipeline: PipelineLike, items: Sequence[EvalItem], *, mode: str = "hybrid", k: int = 5,
              progress: bool = True) -> list[Outcome]:
    """Ask every question (timed, after one warm-up), retrieve its top 5, score it."""
    from tqdm import tqdm

    source_text = _source_cache(pipeline)
    pipeline.ask(items[0].question, items[0].history, k=k, mode=mode)  # warm-up: loads and caches, not timed
    outcomes = []
    for item in tqdm(items, desc=f"eval {mode}", unit="q", file=sys.stderr,
                     disable=None if progress else True, leave=False):
        t0 = time.perf_counter()
        answer = pipeline.ask(item.question, item.history, k=k, mode=mode)
        latency = (time.perf_counter() - t0) * 1000
        hits = pipeline.search(item.question, k=RETRIEVAL_K, mode=mode, history=item.history)
        retrieved = [Retrieved(h.chunk.source, h.chunk.paragraph, h.chunk.text) for h in hits]
        outcomes.append(score(item, answer, retrieved, latency, source_text))
    return outcomes


def evaluate(pipeline: PipelineLike, set_path: Path, *, items: Sequence[EvalItem] | None = None,
             mode: str = "hybrid", k: int = 5, compare: bool = False, progress: bool = True) -> EvalRun:
    """Run a set in `mode`; with `compare`, also in every other retrieval mode (overall metrics only)."""
    if mode not in MODES:
        raise RagError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    items = load_set(set_path) if items is None else items
    outcomes = run_items(pipeline, items, mode=mode, k=k, progress=progress)
    modes: dict[str, dict[str, float]] = {}
    if compare:
        for other in MODES:
            modes[other] = summarize(outcomes if other == mode else
                                     run_items(pipeline, items, mode=other, k=k, progress=progress))
    return EvalRun(str(set_path), mode, tuple(outcomes), modes)


# --- JSON rows -----------------------------------------------------------------------------------------------------


def failure_json(o: Outcome) -> dict[str, Any]:
    """A failed question with what the report needs: answer, citations, and the evidence it should have found."""
    it, a = o.item, o.answer
    return {
        "id": it.id, "type": it.type, "question": it.question, "history": list(it.history),
        "answerable": it.answerable, "reasons": o.reasons, "answer": a.answer, "refused": a.refused,
        "resolved_question": a.resolved_question, "generator": a.generator, "warnings": list(a.warnings),
        "citations": [{"n": c.n, "source": c.source, "paragraph": c.paragraph, "title": c.title,
                       "district": c.district, "quote": c.quote, "verbatim": ok}
                      for c, ok in zip(a.citations, o.verbatim, strict=True)],
        "must": [list(g) for g in it.must], "sources": list(it.sources), "evidence": list(it.evidence),
        "hit_rank": o.rank,
        "retrieved": [{"rank": i, "source": r.source, "paragraph": r.paragraph, "text": r.text,
                       "hit": m.contains_evidence(r.text, it.evidence)} for i, r in enumerate(o.retrieved, 1)],
    }


def result_json(o: Outcome) -> dict[str, Any]:
    """One row per question: enough to re-score the answers independently."""
    return {"id": o.item.id, "type": o.item.type, "question": o.item.question, "answerable": o.item.answerable,
            "answer": o.answer.answer,
            "refused": o.answer.refused, "correct": o.correct, "supported": o.supported, "hit_rank": o.rank,
            "latency_ms": round(o.latency_ms, 1), "generator": o.answer.generator,
            **({"verified": o.answer.verified, "warnings": list(o.answer.warnings)} if o.answer.verified is not None else {})}
