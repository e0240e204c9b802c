"""Documents: how fast each format is read and ingested, and how well OCR reads a scan (2 cores).

Builds its own files from articles written for the tests (tests/documents.py): a two-column e-paper PDF page,
the same page scanned as a PNG and as an image-only PDF, a GBK web page with boilerplate, and a Word file. Per
format: seconds to read one file into text (median of --runs), and seconds to ingest a folder of --copies such
files into an empty store with the bundled model (reading, chunking, embedding, writing). OCR: seconds per page,
and character accuracy (1 - edit distance / length, whitespace aside) on pages rendered at 150, 200 and 300 dpi
from known text. Writes bench/formats.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, quiet_environment

from tests.documents import FLOOD, MARKET, epaper_page, image_pdf, scan_png, web_page, word_file
from tests.test_documents import _article_text, _truth, char_accuracy

BUILDERS = {
    "pdf (text layer)": lambda d: epaper_page(d / "page.pdf", (FLOOD, MARKET)),
    "pdf (scanned)": lambda d: image_pdf(d / "scanned.pdf", (FLOOD, MARKET)),
    "png scan": lambda d: scan_png(d / "scan.png", (FLOOD, MARKET)),
    "html (gbk)": lambda d: web_page(d / "page.html", FLOOD),
    "docx": lambda d: word_file(d / "draft.docx", MARKET),
}


def _median_s(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="files of each format in the ingest test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "formats.json")
    args = parser.parse_args()
    quiet_environment()
    from rag.settings import DEFAULT_EMBED_MODEL, Settings
    from vectorstore.embedding import Embedder
    from vectorstore.formats import _ocr
    from vectorstore.reading import read_source
    from vectorstore.store import Index

    settings = Settings.from_env()
    embedder = Embedder(DEFAULT_EMBED_MODEL, settings.cache_dir)
    embedder.embed_documents(["预热"])
    _ocr()  # the OCR engine's load (~0.2 s) is not a page's cost
    out: dict = {"formats": {}, "ocr": {}, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, build in BUILDERS.items():
            folder = tmp / name.split()[0] / name.replace(" ", "_")
            folder.mkdir(parents=True)
            first = build(folder)
            chars = len(read_source(first).text)
            read_s = _median_s(lambda f=first: read_source(f), args.runs)
            for i in range(1, args.copies):  # distinct files: the same bytes under another name
                shutil.copy(first, folder / f"{first.stem}-{i}{first.suffix}")
            index = Index(tmp / f"home-{len(out['formats'])}", embedder, DEFAULT_EMBED_MODEL)
            t = time.perf_counter()
            report = index.ingest([folder])
            ingest_s = time.perf_counter() - t
            assert report.files == args.copies and not report.skipped, report
            out["formats"][name] = {"read_s": round(read_s, 3), "chars": chars,
                                    "ingest_s_per_file": round(ingest_s / args.copies, 3),
                                    "chunks_per_file": report.chunks // args.copies}
            print(f"{name:18} read {read_s:6.3f} s/file ({chars} chars)   ingest {ingest_s / args.copies:6.3f} s/file")
        truth = _truth(FLOOD, MARKET)
        for dpi in (150, 200, 300):
            png = scan_png(tmp / f"scan-{dpi}.png", (FLOOD, MARKET), dpi=dpi)
            seconds = _median_s(lambda p=png: read_source(p), args.runs)
            acc = char_accuracy(_article_text(read_source(png).text), truth)
            out["ocr"][str(dpi)] = {"s_per_page": round(seconds, 2), "char_accuracy": round(acc, 4)}
            print(f"OCR {dpi} dpi: {seconds:5.2f} s/page, character accuracy {acc:.4f} ({len(truth)} characters)")
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
