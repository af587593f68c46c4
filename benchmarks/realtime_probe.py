"""What the realtime probe costs next to the bare `websockets` calls doing the same session.

A loopback WebSocket server speaks the start of a Realtime session (session.created, then
session.updated for a session.update). Each pair runs, in alternating order, (A) ctoops' probe
(``ctoops.realtime_probe.probe``, no round trip) and (B) the same exchange written directly
against ``websockets.sync.client`` with no checks at all: connect with the two subprotocols,
read session.created, send session.update, read session.updated, close. Both wait on each
read with a timeout, as any probe must (a read with a timeout costs ``websockets`` about
0.1 ms more than one without, on loopback). Prints each median
the median of the per-pair ratios A/B, and the median per-pair difference: ctoops' own cost
per session (stage bookkeeping, redaction, verdicts). Target: at most 0.5 ms, on loopback
where the socket work is as cheap as it gets; against OpenAI a session takes hundreds of ms.

    python benchmarks/realtime_probe.py [--pairs 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.sync.client import connect  # noqa: E402
from websockets.sync.server import ServerConnection, serve  # noqa: E402

from ctoops.realtime_probe import probe
from ctoops.realtime_protocol import websocket_url  # noqa: E402
from ctoops.realtime_ws import websockets_connector  # noqa: E402

SECRET = "ek_benchmark00000000000000000000"
MODEL = "gpt-realtime-1.5"
SESSION = {"type": "realtime", "object": "realtime.session", "id": "sess_bench", "model": MODEL}


def handler(connection: ServerConnection) -> None:
    connection.send(json.dumps({"type": "session.created", "event_id": "e1", "session": SESSION}))
    for message in connection:
        if json.loads(message).get("type") == "session.update":
            connection.send(json.dumps({"type": "session.updated", "event_id": "e2", "session": SESSION}))


def bare(url: str) -> None:
    protocols = ["realtime", f"openai-insecure-api-key.{SECRET}"]
    with connect(url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}))
        json.loads(ws.recv(timeout=10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    server = serve(handler, "127.0.0.1", 0, subprotocols=["realtime"], ping_interval=None)  # type: ignore[list-item]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.socket.getsockname()[1]}/v1"
    url = websocket_url(base, MODEL)
    connector = websockets_connector("ctoops-benchmark")

    def ctoops() -> None:
        probe(url, SECRET, MODEL, connect=connector)

    def timed(fn: object) -> float:
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        return time.perf_counter() - t0

    for _ in range(args.warmup):
        ctoops()
        bare(url)
    a: list[float] = []
    b: list[float] = []
    ratios: list[float] = []
    for i in range(args.pairs):
        # alternate which goes first, so neither pays the other's leftovers (server threads
        # still closing the previous connection) more often
        if i % 2:
            tb, ta = timed(lambda: bare(url)), timed(ctoops)
        else:
            ta, tb = timed(ctoops), timed(lambda: bare(url))
        a.append(ta)
        b.append(tb)
        ratios.append(ta / tb)
    server.shutdown()
    print(f"{args.pairs} alternating sessions each on loopback, after {args.warmup} warm-ups")
    print(f"  ctoops probe (no round trip)      median {statistics.median(a) * 1000:6.2f} ms")
    print(f"  bare websockets, same exchange    median {statistics.median(b) * 1000:6.2f} ms")
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    extra = statistics.median(x - y for x, y in zip(a, b, strict=True)) * 1000
    print(
        f"  ratio probe / bare websockets: median {statistics.median(ratios):.2f}x "
        f"(quartiles {q[0]:.2f}-{q[2]:.2f}); ctoops' own cost {extra:.2f} ms per session; "
        "target <= 0.50 ms (a real session to OpenAI takes hundreds of ms)"
    )


if __name__ == "__main__":
    main()
