"""The store at 1k, 10k and 100k chunks: cold ask, warm questions, adding one article, disk (rerun: make bench-scale).

Each store holds the real articles (the bundled corpus and the two unseen-article sets, ingested with the real
model) plus synthetic chunks written through `Index.add_embedded`. A synthetic article takes a real article
as its pattern: another place name (random characters with 区/县/市/镇) for every real place named, every digit redrawn, its sentences
shuffled and one sentence of another article spliced in, so no two texts are alike; its vectors are the
pattern's own with noise (cosine ~0.9 to it), normalised. The dev set's questions stay answerable, and they
must still be answered right at every size (checked, not only timed).

Writes bench/scale.json and prints a table (the README's figures come from it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT, cold_run, percentile, quiet_environment, run

QUESTION = "二七区新增多少学位?"
EXPECTED = "1.04万"
REAL = [ROOT / "data" / "corpus", ROOT / "evals" / "news", ROOT / "evals" / "wide"]
NEW_ARTICLE = "新华区人大常委会召开会议。据介绍,今年全区新建口袋公园36个,新增绿地面积12.5万平方米,改造背街小巷48条。"
CHARS = "东西南北中新安平河山林清华阳明德兴宁泰元永长丰和乐云龙凤金石桥湖江海川源"
PER_ARTICLE = 20


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _synthetic(real: list, vectors: np.ndarray, count: int, rng: random.Random, nrng: np.random.Generator):
    """`count` synthetic chunks (PER_ARTICLE per article) and their vectors, patterned on the real ones."""
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(real):
        by_source.setdefault(c.source, []).append(i)
    sources = sorted(by_source)
    names = sorted({p for c in real for p in (c.district, *c.places.split(",")) if p}, key=len, reverse=True)
    chunks, rows = [], []
    article = 0
    while len(chunks) < count:
        article += 1
        pattern = by_source[rng.choice(sources)]
        place = "".join(rng.sample(CHARS, 2)) + rng.choice("区县市镇")
        name = f"syn-{article:06d}.txt"
        for p in range(min(PER_ARTICLE, count - len(chunks))):
            i = pattern[p % len(pattern)]
            c = real[i]
            other = real[rng.randrange(len(real))].text
            sentences = [s for s in re.split(r"(?<=[。!?;])", c.text) if s]
            rng.shuffle(sentences)
            spliced = [s for s in re.split(r"(?<=[。!?;])", other) if s]
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(spliced) if spliced else "")
            text = "".join(sentences)
            for old in names:  # every real place (the spliced sentence's too): no made-up fact about a real one
                text = text.replace(old, place)
            text = re.sub(r"\d", lambda _: str(rng.randrange(10)), text)
            chunks.append(replace(c, id=f"syn-{article}-{p}", text=text, source=name, path=f"/synthetic/{name}",
                                  paragraph=p + 1, start=p * 1000, end=p * 1000 + len(text), district=place, places=place,
                                  title=(c.title or "").replace(c.district or "\0", place), file_hash="synthetic",
                                  origin="file", file_chunks=min(PER_ARTICLE, count - len(chunks) + p)))
            rows.append(i)
    noise = nrng.normal(0.0, 0.5 / np.sqrt(vectors.shape[1]), (len(rows), vectors.shape[1])).astype(np.float32)
    vecs = vectors[rows] + noise
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return chunks, vecs


def build(base: Path, home: Path, size: int, seed: int = 7) -> dict:
    """Copy the store of real articles to `home` and grow it to `size` chunks; the time it took."""
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    shutil.copytree(base, home)
    p = Pipeline.from_settings(Settings.from_env({**os.environ, "RAG_HOME": str(home)}))
    real = p.index.chunks
    got = p.index.collection.get(ids=[c.id for c in real], include=["embeddings"])
    vec_of = dict(zip(got["ids"], got["embeddings"], strict=True))
    vectors = np.array([vec_of[c.id] for c in real], dtype=np.float32)
    t = time.perf_counter()
    chunks, vecs = _synthetic(real, vectors, max(size - len(real), 0), random.Random(seed), np.random.default_rng(seed))
    for start in range(0, len(chunks), 20000):
        p.index.add_embedded(chunks[start : start + 20000], vecs[start : start + 20000])
    # each synthetic sentence's own vector: its chunk's (embedding 500k sentences would take hours)
    from vectorstore.sentences import sentences

    pairs = [(s, v) for c, v in zip(chunks, vecs, strict=True) for s in sentences(c.text)]
    p.index.sentence_vectors.put([s for s, _ in pairs], [v for _, v in pairs])
    return {"build_s": round(time.perf_counter() - t, 1), "chunks": p.index.count(), "real_chunks": len(real)}


def measure(home: Path, runs: int, questions: list[dict]) -> dict:
    env = {**os.environ, "RAG_HOME": str(home)}
    rag = [sys.executable, "-m", "rag"]
    answer = json.loads(run([*rag, "ask", QUESTION, "--json"], env))  # also warms the file cache
    if EXPECTED not in answer["answer"]:
        raise SystemExit(f"wrong answer at this size: {answer['answer']}")
    out = {"cold_ask": cold_run([*rag, "ask", QUESTION, "--json"], env, runs),
           "cold_doctor": cold_run([*rag, "doctor", "--json"], env, runs),
           "cold_unchanged_ingest": cold_run([*rag, "ingest", str(REAL[0])], env, runs)}

    # Warm: one process, every dev question once (after one to open everything), as `rag ask --batch` does.
    code = r"""
import json, sys, time
from rag.pipeline import Pipeline
from rag.settings import Settings
from evals.metrics import answer_correct
p = Pipeline.from_settings(Settings.from_env())
p.ask(sys.argv[1])
laps, wrong = [], []
for q in json.loads(open(sys.argv[2], encoding="utf-8").read()):
    t = time.perf_counter()
    a = p.ask(q["question"], q.get("history") or [])
    laps.append((time.perf_counter() - t) * 1000)
    if not ((answer_correct(a.answer, q["must"]) and not a.refused) if q["answerable"] else a.refused):
        wrong.append(f"{q['id']} {q['question']} -> {a.answer}")
print(json.dumps({"laps": laps, "right": len(laps) - len(wrong), "wrong": wrong}, ensure_ascii=False))
"""
    qfile = home / "questions.json"
    qfile.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    warm = json.loads(run([sys.executable, "-c", code, QUESTION, str(qfile)], env).strip().splitlines()[-1])
    laps = warm["laps"]
    out["warm_ms"] = {"p50": round(statistics.median(laps), 1), "p95": round(percentile(laps, 0.95), 1),
                      "questions": len(laps), "right": warm["right"], "wrong": warm["wrong"]}

    # One new article (15 paragraphs) into the store, as a user adds it: the whole command, a new process.
    folder = home / "new-article"
    folder.mkdir()
    rng = random.Random(1)
    paragraphs = [NEW_ARTICLE] + [f"第{i}项:全区改造老旧小区{rng.randint(10, 90)}个,新增停车位{rng.randint(100, 900)}个,"
                                  f"惠及群众{rng.randint(1, 9)}万余人。" for i in range(2, 16)]
    (folder / "new.txt").write_text("新华区人大常委会召开会议\n\n记者 王明\n\n" + "\n\n".join(paragraphs) + "\n",
                                    encoding="utf-8")
    t = time.perf_counter()
    added = json.loads(run([*rag, "ingest", str(folder), "--json"], env))
    out["add_one_article_s"] = round(time.perf_counter() - t, 2)
    found = json.loads(run([*rag, "ask", "新华区新建了多少个口袋公园?", "--json"], env))
    out["new_article"] = {"added": added["added"], "answer": found["answer"]}
    out["disk_mb"] = round(_du(home) / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunks per store, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="new processes per cold figure (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "scale.json")
    args = parser.parse_args()
    quiet_environment()
    sizes = [int(s) for s in args.sizes.split(",")]
    questions = [json.loads(line) for line in (ROOT / "evals/dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="rag-scale-"))
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
                 "sizes": {}}
    try:
        base = work / "base"
        env = {**os.environ, "RAG_HOME": str(base)}
        t = time.perf_counter()
        run([sys.executable, "-m", "rag", "ingest", *map(str, REAL), "--json"], env)
        out["real_ingest_s"] = round(time.perf_counter() - t, 1)
        for size in sizes:
            home = work / str(size)
            # A new process builds it: this one stays small, so the children's peak RSS is their own.
            built = json.loads(run([sys.executable, __file__, "--build", str(base), str(home), str(size)], os.environ)
                               .strip().splitlines()[-1])
            figures = {**built, **measure(home, args.runs, questions)}
            out["sizes"][str(size)] = figures
            print(f"{size:>7d} chunks: cold ask {figures['cold_ask']['median_s']:.2f} s "
                  f"({figures['cold_ask']['peak_rss_mb']:.0f} MB), warm p50 {figures['warm_ms']['p50']} ms "
                  f"p95 {figures['warm_ms']['p95']} ms ({figures['warm_ms']['right']}/{figures['warm_ms']['questions']} right), "
                  f"add one article {figures['add_one_article_s']} s, doctor {figures['cold_doctor']['median_s']:.2f} s, "
                  f"disk {figures['disk_mb']} MB, built in {figures['build_s']} s", flush=True)
            shutil.rmtree(home, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--build":
        quiet_environment()
        print(json.dumps(build(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
