"""Hosts and ports for `rag ui`, checked before anything slow starts (no Gradio import here)."""

from __future__ import annotations

import errno
import ipaddress
import socket

from rag.errors import RagError


def normal_host(host: str) -> str:
    """"[::1]" and "::1" are one host; the bare form is kept."""
    host = host.strip()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(normal_host(host)).is_loopback
    except ValueError:
        return False


def server_name(host: str) -> str:
    """The host as Gradio wants it: an IPv6 address in brackets (it builds http://HOST:PORT from it)."""
    host = normal_host(host)
    return f"[{host}]" if ":" in host else host


def check_port(host: str, port: int) -> None:
    """Fail now, in one line, if the server could not listen there."""
    host = normal_host(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        try:
            s.bind((host, port))
        except OSError as exc:
            fix = ("pick a free port with --port N" if exc.errno == errno.EADDRINUSE
                   else "use --host 127.0.0.1, 0.0.0.0, :: or an address of this machine")
            raise RagError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); {fix}") from exc


def in_flight() -> int:
    """How many questions go through the pipeline at once: twice the cores this process may use. Its numpy, Chroma
    and embedding calls release the GIL, so questions overlap; more of them only contend. Measured on 2 cores with
    100 clients at once (bench/serve.py): 1 at a time 17.6 answers/s, 2: 32.1, 4: 38.2, 8: 29.7, 32: 24.6."""
    from vectorstore.threads import cores

    return 2 * cores()
