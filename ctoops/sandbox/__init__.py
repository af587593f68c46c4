"""The sandbox: an in-process simulation of the OpenCTO worker and of OpenAI.

``--sandbox`` (or ``CTOOPS_SANDBOX=1``) swaps the network for ``Sandbox.handle``: the real
backend adapters send real requests through an in-process transport, and the route table
(``routes``) answers them in the documented shapes; ``data`` makes the numbers and ``tail``
the log sample. No socket is opened and no credential is needed.

``CTOOPS_SANDBOX_FAULTS`` (comma-separated, parsed once per run; an unknown name is exit 2)
plays a known failure instead, for demos and docs: see ``FAULTS``.
"""

from __future__ import annotations

import json
import os
import weakref
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ctoops.errors import BadInput
from ctoops.sandbox.realtime import FAULTS as _REALTIME_FAULTS

if TYPE_CHECKING:
    from ctoops.context import AppContext
    from ctoops.http import HttpClient

WORKER_URL = "https://sandbox.opencto.invalid"
OPENAI_URL = "https://sandbox.openai.invalid/v1"
# every fault the sandbox can play, and what it does
FAULTS = {
    "usage-date-param": "the worker's usage proxy answers OpenAI's \"Missing query parameter 'date'\"",
    "realtime-empty": "the minted client secret is empty",
    "realtime-expiring": "the minted client secret expires in 20 s",
    "openai-invalid-key": "OpenAI rejects the key (401 invalid_api_key), also through the worker",
    "rate-limited": "the worker's realtime bucket answers 429 QUOTA_EXCEEDED (via openai: OpenAI's 429 on the mint)",
    "models-502": "Cloudflare answers the models proxy with an HTML 502 page (via openai: GET /models)",
}
WORKER_ONLY = frozenset({"usage-date-param"})  # the worker's own quirks: nothing to play via openai
FAULTS.update(_REALTIME_FAULTS)  # the Realtime WebSocket's (ctoops.sandbox.realtime)

_runs: weakref.WeakKeyDictionary[AppContext, Sandbox] = weakref.WeakKeyDictionary()


def parse_faults(text: str) -> frozenset[str]:
    """The fault names in ``text`` (comma-separated; empty or blank: none); an unknown or
    empty name (``,rate-limited``) is BadInput (exit 2)."""
    from ctoops.params import split_names

    if not text.strip():
        return frozenset()
    try:
        names = frozenset(split_names(text))
    except ValueError as exc:
        raise BadInput(f"CTOOPS_SANDBOX_FAULTS: {exc}") from None
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise BadInput(f"CTOOPS_SANDBOX_FAULTS: unknown fault {unknown[0]!r} (faults: {', '.join(FAULTS)})")
    return names


class Sandbox:
    """One run's simulation: its faults, and the workspace keys saved during the run."""

    def __init__(self, faults: frozenset[str] = frozenset()) -> None:
        self.faults = faults
        self.keys: dict[str, dict[str, Any] | None] = {}

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request, as the worker or OpenAI would answer it."""
        from ctoops.sandbox import routes
        from ctoops.sandbox.data import Reject

        parts = urlsplit(target)
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key.removesuffix("[]"), []).append(value)
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return (
                400,
                {"content-type": "application/json"},
                dumps(routes.worker_error(400, "BAD_REQUEST", "Body must be JSON")[1]),
            )
        is_openai = parts.path.startswith("/v1/")
        path = parts.path[3:] if is_openai else parts.path
        call = routes.Call(method, path, query, payload, self.keys, self.faults)
        try:
            status, answer = routes.openai(call) if is_openai else routes.worker(call)
        except Reject as reject:
            status, answer = reject.status, reject.answer
        if is_openai:
            import hashlib

            extra = {"x-request-id": "req_sandbox" + hashlib.sha1(target.encode()).hexdigest()[:24]}
        else:
            extra = {k: headers[k] for k in ("x-opencto-trace-id", "traceparent") if k in headers}
        if isinstance(answer, bytes):
            return status, {"content-type": "text/html; charset=UTF-8", **extra}, answer
        return status, {"content-type": "application/json", **extra}, dumps(answer)


def run(app: AppContext) -> Sandbox:
    """This run's sandbox, made (and announced on stderr) on first use."""
    sandbox = _runs.get(app)
    if sandbox is None:
        faults = parse_faults(os.environ.get("CTOOPS_SANDBOX_FAULTS", ""))
        sandbox = _runs[app] = Sandbox(faults)
        app.notify("sandbox: answers come from ctoops' built-in simulation, not a real deployment")
        idle = sorted(faults & WORKER_ONLY) if app.settings.via == "openai" else []
        if idle:  # a fault that cannot play here is said, never silently dropped
            app.notify(f"sandbox: {', '.join(idle)} plays only through the worker (--via opencto); not played here")
    return sandbox


def client(app: AppContext, service: str) -> HttpClient:
    """An HttpClient whose requests the run's sandbox answers in-process, through the same
    error model as the real service."""
    from ctoops.backends.openai import OpenAIErrors
    from ctoops.backends.opencto import WorkerErrors
    from ctoops.http import FunctionTransport

    sandbox = run(app)
    if service == "opencto":
        return app.http(
            WorkerErrors(WORKER_URL),
            WORKER_URL,
            "sandbox-token",
            trace=True,
            transport=FunctionTransport(sandbox.handle),
        )
    return app.http(OpenAIErrors(), OPENAI_URL, "sandbox-token", transport=FunctionTransport(sandbox.handle))


def dumps(answer: Any) -> bytes:
    """JSON with Decimals written as exact numbers, as the costs API sends amounts."""
    marks: dict[str, str] = {}

    def encode(value: Any) -> str:
        if isinstance(value, Decimal):
            mark = f"\u0000dec{len(marks)}\u0000"
            marks[mark] = format(value.normalize(), "f")
            return mark
        raise TypeError(type(value).__name__)

    text = json.dumps(answer, default=encode)
    for mark, number in marks.items():
        text = text.replace(json.dumps(mark), number)
    return text.encode()


def handle(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request answered by a fresh sandbox with no faults (for tests and benchmarks)."""
    return Sandbox().handle(method, target, headers, body)
