"""`rag serve`: an OpenAI-compatible chat endpoint (/v1/models, /v1/chat/completions) whose answers keep their
citations: the text carries its [n] markers and a sources block, the response a `citations` array (`rag ask --json`)."""

from __future__ import annotations

import hmac
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from rag import cite
from rag.errors import RagError
from rag.pipeline import MAX_QUESTION_CHARS, Pipeline
from rag.settings import Settings
from rag.types import Answer
from ui.net import check_port, in_flight, server_name
from vectorstore.errors import first_line

MODEL_ID = "rag-zh-news"
OWNER = "rag-zh"
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
DEFAULT_K = 5
MAX_K = 50
SOURCES_HEADING = "来源:"
MAX_BODY_BYTES = 1_000_000  # a conversation of questions of at most 500 characters each fits many times over
MAX_NESTING = 32  # arrays and objects inside each other in a request body


class ApiError(Exception):
    """A request the client can fix, answered as OpenAI answers it: {"error": {message, type, param, code}}."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def conversation(messages: Any) -> tuple[str, list[str]]:
    """(the question, the earlier questions) of an OpenAI `messages` list. The last message is the user's
    question; the user's earlier messages are the history a follow-up is resolved against (the pipeline's
    history is the user's turns: its own answers are recomputed from them). System messages are ignored, and so
    is an earlier message too long to be a question (it was refused then; it must not fail every turn after it)."""
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects, the last one the "
                            "user's question", param="messages")
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] must be an object with a 'role' of {', '.join(ROLES)}",
                           param=f"messages[{i}]")
        turns.append((message["role"], _text(message.get("content"), f"messages[{i}].content")))
    role, question = turns[-1]
    if role != "user":
        raise ApiError(400, f"the last message must be the user's question (it is the {role}'s)", param="messages")
    earlier = (text.strip() for r, text in turns[:-1] if r == "user")
    return question, [text for text in earlier if text and len(text) <= MAX_QUESTION_CHARS]


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of parts (an image part says nothing here)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "\n".join(p["text"] for p in content if p.get("type") == "text" and isinstance(p.get("text"), str))
    raise ApiError(400, f"{where} must be a string or a list of {{type: text, text}} parts", param=where)


def content(answer: Answer) -> str:
    """The message text: the answer with its [n] markers, then each source as `[n] rag.cite.formatted(citation)`
    (the quote, its article's reference and paragraph), a paragraph each so Markdown keeps them apart."""
    if not answer.citations:
        return answer.answer
    sources = "\n\n".join(f"[{c.n}] {cite.formatted(c)}" for c in answer.citations)
    return f"{answer.answer}\n\n{SOURCES_HEADING}\n\n{sources}"


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def nesting(raw: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if m.group(0) in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _parse(raw: bytes) -> dict:
    # a body nested thousands deep would exhaust the parser's recursion; a chat request nests 4 or 5 levels
    depth = nesting(raw)
    if depth > MAX_NESTING:
        raise ApiError(400, f"the request body nests {depth} levels deep; send at most {MAX_NESTING}")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not JSON, or not UTF-8
        raise ApiError(400, f"the request body is not valid JSON ({first_line(exc)}); send a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object with 'model' and 'messages'")
    return body


class TokenCount:
    """`usage` of a completion: the text sent and returned, counted in tokens of the index's embedding model
    (its tokenizer.json; the bundled model's is XLM-R's SentencePiece), loaded on first use. Where the model folder
    has none, a CJK character or a run of other letters or digits counts as one token."""

    _PIECE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+|[^\w\s]", re.UNICODE)

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._tokenizer: Any = None
        self._loaded = False
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                try:
                    from pathlib import Path

                    from tokenizers import Tokenizer

                    from vectorstore.embedding import resolve_model

                    settings = self.pipeline.settings
                    path = Path(resolve_model(settings.embed_model, settings.cache_dir)) / "tokenizer.json"
                    self._tokenizer = Tokenizer.from_file(str(path)) if path.is_file() else None
                except Exception:  # noqa: BLE001 - a tokenizer that cannot load falls back; counting never fails a reply
                    self._tokenizer = None
        return self._tokenizer

    def __call__(self, texts: Sequence[str]) -> int:
        tokenizer = self._load()
        if tokenizer is not None:
            return sum(len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts if t)
        return sum(len(self._PIECE.findall(t)) for t in texts if t)

    def usage(self, sent: Sequence[str], returned: str) -> dict:
        prompt, completion = self(sent), self([returned])
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def sent_texts(messages: Any) -> list[str]:
    """The text of every message of a (validated) request, as counted in `usage.prompt_tokens`."""
    out: list[str] = []
    for m in messages if isinstance(messages, list) else ():
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out += [p["text"] for p in c if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return out


def _options(body: dict) -> tuple[bool, int, bool]:
    """(stream, k, include_usage) of a request: OpenAI's `stream`, `n` and `stream_options.include_usage`, and our own
    `k` (passages retrieved, as `rag ask --k`)."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, f"'stream' must be true or false, not {stream!r}", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise ApiError(400, f"'stream_options' must be an object, not {options!r}", param="stream_options")
    include_usage = (options or {}).get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise ApiError(400, f"'stream_options.include_usage' must be true or false, not {include_usage!r}",
                       param="stream_options")
    n = body.get("n")
    if n is not None and n != 1:
        raise ApiError(400, f"'n' must be 1 (one answer per question), not {n!r}", param="n")
    k = body.get("k", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ApiError(400, f"'k' must be a whole number from 1 to {MAX_K}, not {k!r}", param="k")
    return bool(stream), k, include_usage


def build_app(pipeline: Pipeline, api_key: str | None = None) -> FastAPI:
    """The endpoint over `pipeline`; with `api_key`, every request must send `Authorization: Bearer <api_key>`.
    Nothing is loaded here: the pipeline opens its index on the first question (`serve` warms it first)."""
    app = FastAPI(title="rag-zh OpenAI-compatible API", docs_url=None, redoc_url=None, openapi_url=None)
    # Browser-based chat clients call the endpoint from their own origin; no cookies are involved.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"])
    created = int(time.time())
    lock = threading.BoundedSemaphore(in_flight())  # questions through the pipeline at once
    model = {"id": MODEL_ID, "object": "model", "created": created, "owned_by": OWNER}
    tokens = TokenCount(pipeline)

    def check_key(request: Request) -> None:
        if not api_key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "missing or incorrect API key; send the server's key as 'Authorization: Bearer KEY'",
                           code="invalid_api_key")

    def ask(question: str, earlier: Sequence[str], k: int) -> Answer:
        with lock:
            return pipeline.ask(question, earlier, k=k)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        what = "unknown URL" if exc.status_code == 404 else str(exc.detail)
        return ApiError(exc.status_code, f"{what}: {request.method} {request.url.path}; this server has "
                                         "GET /v1/models and POST /v1/chat/completions").response()

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        # The client gets one line; the server's log gets the traceback (Starlette re-raises it to uvicorn).
        return ApiError(500, f"internal error: {type(exc).__name__}: {first_line(exc)}", kind="server_error").response()

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        check_key(request)
        return {"object": "list", "data": [model]}

    @app.get("/v1/models/{name:path}")
    async def one_model(name: str, request: Request) -> dict:
        check_key(request)
        if name != MODEL_ID:
            raise _no_model(name)
        return model

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        check_key(request)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is {len(raw)} bytes; send at most {MAX_BODY_BYTES}")
        body = _parse(raw)
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise ApiError(400, f"'model' is missing; use {MODEL_ID!r}", param="model")
        question, earlier = conversation(body.get("messages"))
        stream, k, include_usage = _options(body)
        if name != MODEL_ID:
            raise _no_model(name)
        try:
            answer = await run_in_threadpool(ask, question, earlier, k)
        except RagError as exc:
            raise ApiError(400, str(exc), param="messages") from None
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        now = int(time.time())
        shaped = answer.to_json()
        cited = shaped["citations"]
        # refused, and who wrote the answer: "generator", with "verified" and "warnings" in LLM mode (as rag ask --json)
        status = {k: shaped[k] for k in ("refused", "generator", "verified", "warnings") if k in shaped}
        text = content(answer)
        usage = await run_in_threadpool(tokens.usage, sent_texts(body.get("messages")), text)
        if stream:
            return StreamingResponse(_chunks(completion_id, now, answer, cited, status, usage if include_usage else None),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return {"id": completion_id, "object": "chat.completion", "created": now, "model": MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": usage, "citations": cited, **status}

    return app


def _no_model(name: str) -> ApiError:
    return ApiError(404, f"the model {name!r} does not exist; this server has {MODEL_ID!r} (GET /v1/models)",
                    param="model", code="model_not_found")


def _chunks(completion_id: str, created: int, answer: Answer, cited: list[dict], status: dict,
            usage: dict | None = None) -> Iterator[str]:
    """Server-sent events of `chat.completion.chunk` objects: the role, the answer, its sources block, then a
    chunk with `finish_reason` and the `citations`; with `usage` (the client asked, `stream_options.include_usage`),
    one more chunk with no choices and the usage, as OpenAI sends it; `data: [DONE]` ends the stream."""

    def event(delta: dict, finish: str | None = None, **extra: Any) -> str:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    text = content(answer)
    yield event({"role": "assistant", "content": ""})
    yield event({"content": answer.answer})
    if len(text) > len(answer.answer):
        yield event({"content": text[len(answer.answer):]})
    yield event({}, "stop", citations=cited, **status)
    if usage is not None:
        tail = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [], "usage": usage}
        yield f"data: {json.dumps(tail, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None) -> None:
    """Open the index (indexing the bundled corpus into an empty store), warm it, then listen."""
    check_port(host, port)  # before anything slow, not after
    t0 = time.perf_counter()
    pipeline = Pipeline.from_settings(settings)
    report = pipeline.ensure_ingested()
    if report is not None:
        print(f"indexed the bundled corpus: {report.chunks} chunks", file=sys.stderr)
    pipeline.warm_up()
    print(f"serving {MODEL_ID} at http://{server_name(host)}:{port}/v1 (ready in {time.perf_counter() - t0:.1f} s)"
          + ("" if api_key else "; no API key asked"), file=sys.stderr)
    import uvicorn

    uvicorn.run(build_app(pipeline, api_key), host=host, port=port, log_level="info")
