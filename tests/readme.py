"""The README's Python snippets, for the tests that run them as written (only the server's address and key are
the test's own)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
# Each heading of the README with a Python snippet, and the test that runs it.
RUN_BY = {
    "### LangChain": "tests/test_langchain.py::test_the_readme_snippet_plugs_the_retriever_into_a_chain",
    "### Gradio API": "tests/test_ui_browser.py::test_the_ask_api_answers_gradio_client_with_citations",
    "### OpenAI-compatible endpoint": "tests/test_openai_api.py::test_the_readme_openai_snippet_runs_as_written",
}


def snippets() -> dict[str, list[str]]:
    """Every ```python block of the README, under the nearest heading above it."""
    out: dict[str, list[str]] = {}
    heading = ""
    lines = README.read_text(encoding="utf-8").splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"#{1,6} ", line):
            heading = line.strip()
        if line.strip() == "```python":
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            out.setdefault(heading, []).append("".join(lines[i + 1 : j]))
            i = j
        i += 1
    return out


def snippet(heading: str) -> str:
    found = snippets()[heading]
    assert len(found) == 1, f"{heading}: {len(found)} snippets"
    return found[0]
