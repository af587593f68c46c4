"""Answer bodies the tests send back, in the documented envelopes."""

from __future__ import annotations

from typing import Any


def openai_error(message: str, code: str | None = None, type: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI's error envelope (openai-api.md §6.1): all four keys, always present."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def cloudflare_502(host: str = "api.opencto.works") -> str:
    """Cloudflare's HTML 502 page in front of a worker (opencto-worker-api.md, "Error bodies")."""
    return (
        f"<!DOCTYPE html><html><head><title>{host} | 502: Bad gateway</title></head>"
        "<body><h1>Bad gateway</h1><p>Error code 502</p><p>Cloudflare Ray ID: 8f1c2d3e4a5b6c7d</p></body></html>"
    )
