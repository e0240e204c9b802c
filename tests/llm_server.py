"""A scripted OpenAI-compatible chat server on loopback, for LLM mode's tests (no real model runs here).

It speaks the wire format a real one does: `POST /v1/chat/completions`, answered whole or streamed as server-sent
events (`data: {chunk}` lines, `data: [DONE]`), `GET /v1/models`, HTTP errors as OpenAI error JSON. What it says
is a script: a function of the request body that returns a Reply. Every request body is kept for the test to read.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str = ""
    status: int = 200  # anything else: an OpenAI-style error with this status
    delay_s: float = 0.0  # wait before answering (a server slower than the client's timeout)
    piece_chars: int = 3  # streamed in pieces of this many characters
    pieces: tuple[str, ...] = ()  # or in exactly these pieces (text is then their join)
    piece_delay_s: float = 0.0  # a pause before each piece (a reply that trickles in)

    def __post_init__(self) -> None:
        if self.pieces:
            self.text = "".join(self.pieces)


Script = Callable[[dict], Reply]


def system_of(body: dict) -> str:
    return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")


def user_of(body: dict) -> str:
    return next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")


class ScriptedLLM:
    """The running server: `base_url` for RAG_LLM_BASE_URL, `requests` the bodies it was sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "test"}]})
                else:
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append(body)
                reply = outer.script(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._send(reply.status, {"error": {"message": f"scripted {reply.status}", "type": "server_error",
                                                        "code": None}})
                    return
                created = int(time.time())
                if not body.get("stream"):
                    self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": created,
                                     "model": body.get("model", ""),
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": reply.text}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()

                def event(delta: dict, finish: str | None = None) -> None:
                    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": created,
                             "model": body.get("model", ""),
                             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()

                step = max(1, reply.piece_chars)
                self.close_connection = True
                try:
                    event({"role": "assistant", "content": ""})
                    for piece in reply.pieces or [reply.text[i:i + step] for i in range(0, len(reply.text), step)]:
                        time.sleep(reply.piece_delay_s)
                        event({"content": piece})
                    event({}, "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading, as it may
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answers(self) -> list[dict]:
        """The requests that asked for an answer (not for a rewritten follow-up)."""
        return [b for b in self.requests if "<资料" in user_of(b)]


@contextlib.contextmanager
def scripted_llm(script: Script) -> Iterator[ScriptedLLM]:
    llm = ScriptedLLM(script)
    thread = threading.Thread(target=llm.server.serve_forever, name="scripted-llm", daemon=True)
    thread.start()
    try:
        yield llm
    finally:
        llm.server.shutdown()
        llm.server.server_close()


def source_numbers(body: dict) -> dict[int, str]:
    """The numbered passages the request gives the model: n -> text."""
    import re

    blocks = re.finditer(r'<(资料-[0-9a-f]+) 编号="(\d+)"[^>]*>\n(.*?)\n</\1>', user_of(body), re.S)
    return {int(m.group(2)): m.group(3) for m in blocks}


def number_of(body: dict, needle: str) -> int:
    """The [n] of the first passage holding `needle` (the test fails if none does)."""
    found = [n for n, text in source_numbers(body).items() if needle in text]
    assert found, f"no passage holds {needle!r}: {source_numbers(body)}"
    return found[0]
