"""How close a 12-month usage pull gets to the ideal for its concurrency.

A real HTTP server on 127.0.0.1 answers the organization usage API (ctoops' sandbox
simulation: the documented page shape with cursors) after an injected latency per request.
ctoops pulls 365 daily buckets: 12 windows of at most 31 days (one page each). The ideal
wall time is ceil(windows / concurrency) x latency; the target is within 1.5x of it.

    python benchmarks/usage_pull.py [--latency 0.25] [--repeat 3]
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
from ctoops.pull import PAGE_LIMITS, Query, pull

START = 1761955200  # 2025-11-01T00:00:00Z
END = START + 365 * DAY


def serve(latency: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(latency)
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
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="seconds added to every answer")
    parser.add_argument("--repeat", type=int, default=3)
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
            pulled = pull(backend, query, concurrency=concurrency)
            walls.append(time.perf_counter() - t0)
            client.close()
            assert len(set(pulled.rows.column("start_time"))) == 365 and pulled.requests == windows
        wall = statistics.median(walls)
        ideal = math.ceil(windows / concurrency) * args.latency
        target = "  (target <= 1.50x)" if concurrency == 4 else ""
        print(f"  concurrency {concurrency}: {wall:6.2f} s, ideal {ideal:5.2f} s, ratio {wall / ideal:.2f}x{target}")
    server.shutdown()


if __name__ == "__main__":
    main()
