"""Answers and their citations: what the chain returns to the CLI, the UI and the evals. Plain data: how a
citation is written out for a reader (GB/T 7714, Markdown, CSL-JSON) is rag.cite's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the verbatim quote and where it stands."""

    n: int
    source: str
    paragraph: int
    title: str
    district: str
    quote: str
    score: float
    body: str = ""
    reporter: str = ""
    section: str = ""
    year: int = 0
    origin: str = ""  # "bundled", "file" or "upload" (an upload is never mistaken for an indexed article)
    also: tuple[dict, ...] = ()  # the same paragraph printed elsewhere: {"source", "paragraph", "title"} each
    ingested: str = ""  # when the source was indexed (UTC)
    context: str = ""  # the whole paragraph the quote was taken from
    start: int = 0  # character span of the paragraph in the source file
    end: int = 0
    # Where and when the article was published, when its page or its sidecar says so ("" otherwise).
    outlet: str = ""
    date: str = ""  # ISO 8601, as precise as known: "2021-02-05", "2021-02", "2021"
    url: str = ""
    page: str = ""  # the page (版次) of the paper
    file_page: int = 0  # the page of the file (a PDF's, 1-based) the paragraph starts on; 0 for a file without pages


@dataclass(frozen=True)
class Answer:
    """A short answer with [n] markers, or a refusal."""

    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    resolved_question: str = ""  # the question after follow-up resolution
    generator: str = "extractive"  # who wrote `answer`: "extractive" (cut from the sources) or "llm" (a chat model)
    # LLM mode only: True when the chat model's answer passed the check against its quotes and is shown; False
    # when it is not shown (it failed the check, or the model could not be reached) and the extractive one stands.
    verified: bool | None = None
    warnings: tuple[str, ...] = ()  # why the model's answer, or a sentence of it, is not shown
    # 0..1: the fitted model's calibrated belief that the answer is right (rag.ranker); refusal is this below
    # rag.ranker's threshold. None where no candidate was scored (nothing retrieved, bad input).
    confidence: float | None = None

    def to_json(self, id: str | None = None) -> dict:
        """The `rag ask --json` shape of ../shared/CLI.md."""
        out: dict = {} if id is None else {"id": id}
        out.update(question=self.question, answer=self.answer, refused=self.refused)
        out["confidence"] = None if self.confidence is None else round(self.confidence, 3)
        # outlet, date, url and the pages only when known (../shared/CLI.md)
        out["citations"] = [
            {k: v for k, v in asdict(c).items()
             if k not in ("context", "start", "end") and (v or k not in ("outlet", "date", "url", "page", "file_page"))}
            for c in self.citations
        ]
        out["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        if self.resolved_question and self.resolved_question != self.question:
            out["resolved_question"] = self.resolved_question
        out["generator"] = self.generator
        if self.verified is not None:
            out["verified"] = self.verified
        if self.verified is not None or self.warnings:
            out["warnings"] = list(self.warnings)
        return out
