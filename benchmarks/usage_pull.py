"""How close a 12-month usage pull gets to the ideal for its concurrency.

A real HTTP server on 127.0.0.1 answers the organization usage API (ctoops' sandbox
simulation: the documented page shape with cursors) after an injected latency per request.
ctoops pulls 365 daily buckets: 12 windows of at most 31 days (one page each). The ideal
wall time is ceil(windows / concurrency) x latency; the target is within 1.5x of it.

Under pressure: the same server answering 429 (rate_limit_exceeded) to any request that
finds more than --allow requests in flight. ctoops starts at concurrency 4 and adapts
(ctoops.usage.adaptive); the best alternative is a client that knew the limit beforehand
and ran exactly --allow at a time (its ideal: ceil(windows / allow) x latency).

    python benchmarks/usage_pull.py [--latency 0.25] [--repeat 3] [--allow 2]
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ctoops import sandbox
from ctoops.backends.openai import OpenAIBackend, OpenAIErrors
from ctoops.dates import DAY, Range
from ctoops.http import HttpClient
from ctoops.usage.pull import pull
from ctoops.usage.query import PAGE_LIMITS, Query

START = 1761955200  # 2025-11-01T00:00:00Z
END = START + 365 * DAY


THROTTLED = (
    b'{"error": {"message": "Rate limit reached for requests", "type": "requests", "param": null, '
    b'"code": "rate_limit_exceeded"}}'
)


def serve(latency: float, allow: int | None = None) -> ThreadingHTTPServer:
    lock = threading.Lock()
    state = {"in_flight": 0, "refused": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with lock:
                state["in_flight"] += 1
                crowded = allow is not None and state["in_flight"] > allow
                if crowded:
                    state["in_flight"] -= 1
                    state["refused"] += 1
            if crowded:
                self.send_response(429)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(THROTTLED)))
                self.end_headers()
                self.wfile.write(THROTTLED)
                return
            try:
                time.sleep(latency)
            finally:
                with lock:
                    state["in_flight"] -= 1
            status, headers, body = sandbox.handle("GET", self.path, {}, b"")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="seconds added to every answer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--allow", type=int, default=2, help="requests in flight the throttled server allows")
    args = parser.parse_args()

    server = serve(args.latency)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    query = Query("completions", Range(START, END), "1d", ("model",))
    windows = math.ceil(365 / PAGE_LIMITS["1d"])
    print(
        f"12 months of daily usage grouped by model: 365 buckets in {windows} windows, "
        f"{args.latency * 1000:.0f} ms injected per request, median of {args.repeat}"
    )
    for concurrency in (1, 2, 4, 8):
        walls = []
        for _ in range(args.repeat):
            client = HttpClient(url, errors=OpenAIErrors(), token="sk-admin-bench", timeout=30, max_retries=0)
            backend = OpenAIBackend(lambda admin, c=client: c)
            t0 = time.perf_counter()
            pulled = pull(backend, query, now=time.time(), concurrency=concurrency)
            walls.append(time.perf_counter() - t0)
            client.close()
            assert len(set(pulled.rows.column("start_time"))) == 365 and pulled.requests == windows
        wall = statistics.median(walls)
        ideal = math.ceil(windows / concurrency) * args.latency
        target = "  (target <= 1.50x)" if concurrency == 4 else ""
        print(f"  concurrency {concurrency}: {wall:6.2f} s, ideal {ideal:5.2f} s, ratio {wall / ideal:.2f}x{target}")
    server.shutdown()

    throttled = serve(args.latency, args.allow)
    url = f"http://127.0.0.1:{throttled.server_address[1]}/v1"
    walls, refused, lowest = [], [], []
    for _ in range(args.repeat):
        before = throttled.state["refused"]  # type: ignore[attr-defined]
        client = HttpClient(url, errors=OpenAIErrors(), token="sk-admin-bench", timeout=30, max_retries=2)
        backend = OpenAIBackend(lambda admin, c=client: c)
        t0 = time.perf_counter()
        pulled = pull(backend, query, now=time.time(), concurrency=4)
        walls.append(time.perf_counter() - t0)
        client.close()
        assert len(set(pulled.rows.column("start_time"))) == 365
        refused.append(throttled.state["refused"] - before)  # type: ignore[attr-defined]
        lowest.append(pulled.lowest_concurrency)
    throttled.shutdown()
    wall = statistics.median(walls)
    ideal = math.ceil(windows / args.allow) * args.latency
    print(
        f"under pressure (the server refuses more than {args.allow} in flight with 429): ctoops from 4, adapting: "
        f"{wall:6.2f} s, {statistics.median(refused):.0f} x 429, down to {min(lowest)} at a time; a client that "
        f"knew the limit: {ideal:5.2f} s; ratio {wall / ideal:.2f}x (complete: 365/365 days)"
    )


if __name__ == "__main__":
    main()
