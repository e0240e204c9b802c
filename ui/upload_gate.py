"""One set of limits for every file that reaches the UI's server: Gradio's upload route (which the upload box,
`gradio_client` and a bare HTTP client all post to) is refused a request of more files, another file type, or
more bytes than the upload box takes. Gradio itself checks only each file's size (`max_file_size`).

An ASGI middleware, so nothing is buffered: the request's length is checked from its header, and the file names
of its parts as the body streams past; on a violation the route gets a disconnect and the client one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

UPLOAD_PATH = re.compile(r"/gradio_api/upload/?$")
# A multipart part's file name: filename="…" (what browsers and httpx send) or RFC 5987's filename*=utf-8''…
_FILENAME = re.compile(rb'(?i)content-disposition:[^\r\n]*?\bfilename\*?=(?:"([^"\r\n]*)"|([^;\r\n]*))')
_TAIL = 2048  # bytes of a body chunk kept to find a part header cut between two chunks
_PART_OVERHEAD = 4096  # a part's boundary and headers


class UploadGate:
    def __init__(self, app, *, max_files: int, max_bytes: int, suffixes: Sequence[str]) -> None:
        self.app = app
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.suffixes = tuple(s.lower() for s in suffixes)

    def problem(self, name: str) -> str | None:
        from urllib.parse import unquote

        name = unquote(name.split("''", 1)[-1]) if "''" in name else name
        suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
        if suffix not in self.suffixes:
            return f"不支持的文件类型 {suffix or '(无扩展名)'};支持 {' '.join(self.suffixes)}"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not UPLOAD_PATH.search(scope["path"]):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        limit = self.max_files * (self.max_bytes + _PART_OVERHEAD)
        try:
            length = int(headers.get(b"content-length", b""))
        except ValueError:
            length = None
        if length is None:
            return await _refuse(send, 411, "上传请求须注明长度(Content-Length)")
        if length > limit:
            return await _refuse(send, 413, f"一次最多上传 {self.max_files} 个文件,每个不超过 "
                                            f"{self.max_bytes // 1024 // 1024} MB")
        state = {"files": 0, "tail": b"", "refused": False}

        async def gated_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            data = state["tail"] + message.get("body", b"")
            problem = None
            for m in _FILENAME.finditer(data):
                if m.end() <= len(state["tail"]):
                    continue  # seen with the previous chunk
                state["files"] += 1
                if state["files"] > self.max_files:
                    problem = (413, f"一次最多上传 {self.max_files} 个文件")
                elif (why := self.problem((m.group(1) or m.group(2) or b"").decode("utf-8", "replace").strip())):
                    problem = (415, why)
                if problem:
                    break
            state["tail"] = data[-_TAIL:]
            if problem:
                state["refused"] = True
                await _refuse(send, *problem)
                return {"type": "http.disconnect"}
            return message

        async def gated_send(message):
            if not state["refused"]:  # the route's own answer to a cut-off request is not sent after ours
                await send(message)

        await self.app(scope, gated_receive, gated_send)


async def _refuse(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
