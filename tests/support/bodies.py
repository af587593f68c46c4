"""Answer bodies the tests send back, in the documented envelopes."""

from __future__ import annotations

from typing import Any


def openai_error(message: str, code: str | None = None, type: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI's error envelope (openai-api.md §6.1): all four keys, always present."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}
