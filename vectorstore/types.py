"""Data that crosses module boundaries: chunks of text and search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Chunk:
    """One paragraph of an article (scan breaks repaired), with where it came from."""

    id: str
    text: str
    source: str  # file name: the id that citations and eval sets use
    path: str  # absolute path of the file when ingested
    paragraph: int  # 1-based index of the paragraph's first block in the file
    start: int  # character span of the text in the decoded file (repaired chunks: first..last)
    end: int
    title: str = ""
    section: str = ""
    district: str = ""
    body: str = ""
    year: int = 0
    reporter: str = ""  # the reporters (记者) of the byline, or a sidecar's `reporters`, joined by 、
    byline: str = ""  # the byline as printed ("记者 张三"): a verbatim quote for "who reported it"
    places: str = ""  # places the paragraph names, most named first, comma-separated
    # Where and when its article was published, when the page (a dateline, a masthead) or a sidecar says so.
    outlet: str = ""
    date: str = ""  # ISO 8601: "2024-01-10", or "2024-01" / "2024" when only that is known
    url: str = ""
    page: str = ""  # the page (版次) of the paper: "5", "A05"
    file_page: int = 0  # the page of the file (a PDF's, 1-based) the paragraph starts on; 0 for a file without pages
    file_hash: str = ""
    chunker: str = ""  # vectorstore.chunking.CHUNKER: the code that cut it (a new version re-chunks unchanged files)
    file_chunks: int = 0  # how many chunks its file gave: fewer in the store means an ingest was cut short
    origin: str = ""  # where the file came from: "bundled", "file" (a path given to `rag ingest`), "upload"
    ingested: str = ""  # when its file was first indexed (UTC, ISO 8601)
    # Offsets in `text` where two pieces were joined that are not contiguous in the file (a column's tail
    # printed above its head, or a heading or caption between them): a verbatim quote must stop there.
    breaks: str = ""

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for the vector store (no None, no lists)."""
        meta = asdict(self)
        del meta["id"], meta["text"]
        return meta


@dataclass(frozen=True)
class Hit:
    """A chunk found by search, with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    extra: dict[str, float] = field(default_factory=dict)
    # The same paragraph elsewhere (a report reprinted by several papers): one hit that lists its other sources.
    duplicates: tuple[Chunk, ...] = ()
