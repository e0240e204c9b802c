# Two commands do everything on a fresh machine: `make run` (the chat) and `make test` (the suite).
VENV   ?= .venv
PY     := $(VENV)/bin/python
RAG    := $(VENV)/bin/rag
STAMP  := $(VENV)/.installed
PYTHON ?= python3
PORT   ?= 7860

.PHONY: setup model run test test-fast browser lint eval fit bench bench-scale bench-formats bench-serve clean

setup: $(STAMP)

# torch==2.13.0 (CPU) and the other pins come from constraints.txt; pyproject.toml keeps ranges loose.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Converts the bundled multilingual-e5-small into the model cache once (RAG_CACHE_DIR), then reuses it.
model: setup
	$(RAG) doctor >/dev/null || $(RAG) doctor

run: model
	$(RAG) ingest
	$(RAG) ui --port $(PORT)

# Debian's Chromium and CJK fonts for the browser test (playwright cannot download a browser here).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

test: setup browser
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$rc

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check rag ui vectorstore evals tests bench

# Every set, each gated against its baseline; the unseen-article sets bring their own articles (--corpus).
eval: model
	$(RAG) eval --set evals/questions.jsonl --json evals/last_run.json --report evals/report.html
	$(RAG) eval --set evals/dev.jsonl --baseline evals/baseline.json
	$(RAG) eval --set evals/news-dev.jsonl --corpus evals/news --baseline evals/baseline-news.json
	$(RAG) eval --set evals/wide.jsonl --corpus evals/wide --baseline evals/baseline-wide.json
	$(RAG) eval --set evals/fresh.jsonl --corpus evals/fresh --near-miss --baseline evals/baseline-fresh.json
	$(RAG) eval --set evals/holdout.jsonl --corpus evals/holdout --near-miss --baseline evals/baseline-holdout.json

# The answer model (rag/answer_model.json) from the public sets in ../shared/evals and the news sets: deterministic;
# cross-validated figures and the refusal trade-off curve in evals/fit-report.json (about 10 minutes on 2 cores).
fit: model
	$(PY) -m evals.fit

bench: model
	$(PY) bench/bench.py

# The store at 1k, 10k and 100k chunks (about 15 minutes; SIZES=1000,10000,100000,300000 for more).
SIZES ?= 1000,10000,100000
# Reading and ingesting each document format, OCR speed and accuracy (bench/formats.json).
bench-formats: model
	$(PY) bench/formats.py

# `rag serve` under 1, 10 and 100 concurrent clients (bench/serve.json; about a minute).
bench-serve: model
	$(PY) bench/serve.py

bench-scale: model
	$(PY) bench/scale.py --sizes $(SIZES)

clean:
	rm -rf $(VENV) .pytest_cache
