"""The `rag ui` and `rag serve` commands: the chat UI and the OpenAI-compatible endpoint.

They reach the `rag` command through its registration point (the `rag.commands` entry points of pyproject.toml,
read by rag.cli), so that the core package imports nothing of the applications above it.
"""

from __future__ import annotations

import click

from rag.errors import RagError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option("--auth", default=None, help="user:password required to open the page (with a non-loopback host).")
@click.option("--insecure", is_flag=True, help="Serve a non-loopback host without --auth (anyone who reaches it can upload).")
def ui(host: str, port: int, auth: str | None, insecure: bool) -> None:
    """The Gradio chat UI."""
    from ui.net import is_loopback, normal_host

    credentials = None
    if auth:
        if ":" not in auth or auth.startswith(":") or auth.endswith(":"):
            raise click.BadParameter("use --auth user:password", param_hint="--auth")
        credentials = tuple(auth.split(":", 1))
    host = normal_host(host)
    if not is_loopback(host) and not credentials and not insecure:
        raise RagError(f"--host {host} serves the chat and its upload to the network; add --auth user:password "
                       "(or --insecure to serve it without a password)")
    from rag.settings import Settings
    from ui.app import launch

    launch(Settings.from_env(), host=host, port=port, auth=credentials)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--api-key", "api_key", default=None,
              help="Bearer token every request must send (default: RAG_API_KEY; unset: none asked).")
@click.option("--insecure", is_flag=True, help="Serve a non-loopback host without an API key.")
def serve(host: str, port: int, api_key: str | None, insecure: bool) -> None:
    """An OpenAI-compatible chat endpoint (/v1/models, /v1/chat/completions) whose answers keep their citations."""
    from rag.settings import Settings
    from ui.net import is_loopback, normal_host

    settings = Settings.from_env()
    key = api_key or settings.api_key
    host = normal_host(host)
    if not is_loopback(host) and not key and not insecure:
        raise RagError(f"--host {host} serves the corpus to the network; add --api-key KEY (or RAG_API_KEY), "
                       "or --insecure to serve it without one")
    from ui.openai_api import serve as run

    run(settings, host=host, port=port, api_key=key)
