"""Documents that are not plain text, read by a library made for each: PDF pages (PyMuPDF; OCR where a page has
no text layer), scans (RapidOCR's ONNX models, shipped in its wheel), web pages (trafilatura) and Word files
(python-docx). Each gives text the chunker reads as it reads a .txt file (paragraphs apart by a blank line), the
metadata the file itself states, and where each page starts. Every library is imported on first use.

A file that cannot be read raises UnreadableFile with one line that says why.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from vectorstore.errors import UnreadableFile, first_line
from vectorstore.layout import Line, ocr_text, page_text
from vectorstore.metadata import DocMeta
from vectorstore.threads import configure, cores

# A PDF page whose text layer has fewer characters than this is a scan, read by OCR; a web page with less
# article text than this has none.
MIN_TEXT_CHARS = 20
# Scans are rendered at this resolution for OCR (measured: bench/formats.py, README "Documents").
OCR_DPI = 200
# Names office software writes as a document's author when no person was named.
_TOOL_AUTHORS = {"python-docx", "administrator", "admin", "user", "微软用户", "microsoft office user", "unknown"}


@dataclass(frozen=True)
class Extracted:
    text: str
    meta: DocMeta = DocMeta()
    pages: tuple[int, ...] = ()  # offsets in `text` where each page of the file starts (PDFs, scans)


def page_at(pages: tuple[int, ...], offset: int) -> int:
    """The 1-based page of the file holding the text at `offset`; 0 for a file without pages."""
    return sum(1 for start in pages if start <= offset) if pages else 0


def _joined(page_texts: list[str]) -> Extracted:
    text, pages = "", []
    for t in page_texts:
        if text:
            text += "\n\n"
        pages.append(len(text))
        text += t
    return Extracted(text, pages=tuple(pages))


# -- OCR ---------------------------------------------------------------------
_ocr_engine = None
_ocr_lock = threading.RLock()


def _ocr():
    global _ocr_engine
    with _ocr_lock:
        if _ocr_engine is None:
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
            configure()
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise UnreadableFile("OCR is not installed (rapidocr-onnxruntime); run `make setup`") from exc
            _ocr_engine = RapidOCR(intra_op_num_threads=cores(), inter_op_num_threads=1)
        return _ocr_engine


def ocr_lines(image) -> list[Line]:
    """The text lines of an image (a path, bytes or an array), each with its box in pixels."""
    with _ocr_lock:  # one engine, one caller at a time
        result, _ = _ocr()(image)
    lines = []
    for box, text, _score in result or ():
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        lines.append(Line(min(xs), min(ys), max(xs), max(ys), ocr_text(text)))
    return lines


def read_image(data: bytes) -> Extracted:
    import numpy as np

    try:
        import cv2

        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except ImportError as exc:
        raise UnreadableFile("OCR is not installed (rapidocr-onnxruntime); run `make setup`") from exc
    if image is None:
        raise UnreadableFile("not a readable image")
    text = page_text(ocr_lines(image))
    if not text.strip():
        raise UnreadableFile("no text found in the image (OCR)")
    return Extracted(text, pages=(0,))


# -- PDF -----------------------------------------------------------------------
def _pdf_lines(page) -> list[Line]:
    lines = []
    for block in page.get_text("dict", sort=False)["blocks"]:
        for line in block.get("lines", ()):
            text = "".join(span["text"] for span in line["spans"])
            if text.strip():
                x0, y0, x1, y1 = line["bbox"]
                lines.append(Line(x0, y0, x1, y1, text))
    return lines


def _page_image(page):
    """The page rendered at OCR_DPI as the BGR array OpenCV and RapidOCR take."""
    import numpy as np

    pix = page.get_pixmap(dpi=OCR_DPI)
    image = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)
    if pix.n < 3:
        return image.copy()
    return image[:, :, 2::-1].copy()  # RGB(A) -> BGR


def read_pdf(data: bytes) -> Extracted:
    import pymupdf

    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # noqa: BLE001 - PyMuPDF raises its own and plain errors for a broken file
        raise UnreadableFile(f"not a readable PDF ({first_line(exc)})") from exc
    with doc:
        if doc.needs_pass:
            raise UnreadableFile("the PDF is encrypted and needs a password; save an unlocked copy and ingest that")
        texts = []
        try:
            for page in doc:
                lines = _pdf_lines(page)
                if sum(len(ln.text.strip()) for ln in lines) < MIN_TEXT_CHARS:
                    lines = ocr_lines(_page_image(page))  # a scanned page: no text layer to speak of
                texts.append(page_text(lines))
        except UnreadableFile:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged page stream
            raise UnreadableFile(f"a damaged PDF ({first_line(exc)})") from exc
        info = doc.metadata or {}
    out = _joined(texts)
    if not out.text.strip():
        raise UnreadableFile("no text found in the PDF, neither in a text layer nor by OCR")
    author = (info.get("author") or "").strip()
    # An e-paper PDF's Title names the page or the file ("某某日报第5版"), and its creation date is when the file
    # was made: the headlines and the masthead printed on the page say which articles and which day.
    meta = DocMeta(reporters=(author,) if author and author.lower() not in _TOOL_AUTHORS else ())
    return Extracted(out.text, meta, out.pages)


# -- Word ----------------------------------------------------------------------
def _heading_level(para) -> int:
    """1 for the Title style and Heading 1, n for Heading n; 0 for text."""
    name = (para.style.name if para.style is not None else "") or ""
    if name == "Title":
        return 1
    m = re.fullmatch(r"Heading (\d)", name)
    return int(m.group(1)) if m else 0


def read_docx(data: bytes) -> Extracted:
    try:
        import docx
    except ImportError as exc:
        raise UnreadableFile("Word support is not installed (python-docx); run `make setup`") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a zip that is not a Word file, a damaged part
        raise UnreadableFile("not a readable Word (.docx) file") from exc
    parts = []
    for para in document.paragraphs:
        text = para.text.strip()
        if text:
            parts.append(f"{'#' * _heading_level(para)} {text}".lstrip())
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                parts.append(" ".join(dict.fromkeys(cells)))
    if not parts:
        raise UnreadableFile("the Word file has no text")
    props = document.core_properties
    author = (props.author or "").strip()
    meta = DocMeta(title=(props.title or "").strip(),
                   reporters=(author,) if author and author.lower() not in _TOOL_AUTHORS else ())
    return Extracted("\n\n".join(parts), meta)


# -- web pages -----------------------------------------------------------------
def read_html(data: bytes) -> Extracted:
    try:
        import trafilatura
    except ImportError as exc:
        raise UnreadableFile("web page support is not installed (trafilatura); run `make setup`") from exc
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        doc = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False, include_tables=True,
                                          favor_precision=True, deduplicate=False)
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if sum(map(len, lines)) < MIN_TEXT_CHARS:  # a menu's word or two is not an article
        raise UnreadableFile("no article text found in the web page")
    author = (getattr(doc, "author", None) or "").strip() or _meta_author(data)
    author = re.sub(r"^(?:本报)?(?:记者|作者|文)\s*[:：/]?\s*", "", author)
    date = getattr(doc, "date", None) or ""
    meta = DocMeta(title=(getattr(doc, "title", None) or "").strip(),
                   outlet=(getattr(doc, "sitename", None) or "").strip(),
                   date=date if re.fullmatch(r"\d{4}(?:-\d\d){0,2}", date) else "",
                   url=(getattr(doc, "url", None) or "").strip(),
                   reporters=tuple(a.strip() for a in re.split(r"[;,，、]", author) if a.strip()))
    return Extracted("\n\n".join(lines), meta)


def _meta_author(data: bytes) -> str:
    """The page's author meta tag, read directly: trafilatura passes over a two-character Chinese name."""
    import trafilatura

    tree = trafilatura.load_html(data)
    if tree is None:
        return ""
    found = tree.xpath('//meta[@name="author" or @property="article:author" or @name="byl"]/@content')
    return next((a.strip() for a in found if a.strip() and not a.strip().startswith("http")), "")


READERS = {".pdf": read_pdf, ".docx": read_docx, ".html": read_html, ".htm": read_html,
           ".png": read_image, ".jpg": read_image, ".jpeg": read_image}


def read_document(path: Path, data: bytes) -> Extracted:
    """Read a file of one of READERS' types from its bytes."""
    return READERS[path.suffix.lower()](data)
