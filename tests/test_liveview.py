"""The live view's two forms: plain periodic lines (not a terminal) and the redrawn table
(a terminal), from snapshots; time is a seam (no waiting)."""

from __future__ import annotations

import io

from ctoops.liveview import LiveView

W0, W1 = 1795251600, 1795251660  # 09:00 and 09:01 UTC


def row(window, bucket, requests, s429, s5xx, **extra):
    return {
        "window_start": window,
        "bucket": bucket,
        "requests": requests,
        "status_429": s429,
        "status_5xx": s5xx,
        "rate_429": s429 / requests,
        "rate_5xx": s5xx / requests,
        "error_outcomes": 0,
        "sampled": False,
        **extra,
    }


ROWS = [row(W0, "realtime_token", 20, 2, 0), row(W1, "realtime_token", 10, 0, 3, gap=True, sampled=True)]


def test_plain_lines_every_interval_with_current_window_totals_and_breach():
    out, now = io.StringIO(), [100.0]
    view = LiveView(
        "1m",
        min_requests=5,
        plot=False,
        title="tail",
        max_5xx=0.2,
        terminal=False,
        out=out,
        clock=lambda: now[0],
        plain_every=10,
    )
    with view:
        view.update({"rows": ROWS, "state": "connected"})
        now[0] += 3
        view.update({"rows": ROWS, "state": "connected"})  # too soon: not drawn again
        now[0] += 10
        view.update({"rows": ROWS[:1]})
    lines = out.getvalue().splitlines()
    assert view.drawn == 2 and len(lines) == 2
    assert lines[0] == (
        "live 2026-11-21T09:01:00Z realtime_token: 10 req, 429 0.0%, 5xx 30.0% gap; total 30 req, 429 2, 5xx 3; "
        "BREACH: 1 window(s), latest realtime_token 2026-11-21T09:01:00Z 5xx; connected"
    )
    assert (
        lines[1].startswith("live 2026-11-21T09:00:00Z realtime_token: 20 req, 429 10.0%")
        and "within thresholds" in lines[1]
    )
    assert "\x1b[" not in out.getvalue()


def test_no_request_yet_says_so():
    out = io.StringIO()
    with LiveView("5m", min_requests=5, plot=False, title="stdin", terminal=False, out=out) as view:
        view.update({"rows": [], "state": "connected"})
    assert out.getvalue() == "live stdin: no request in the buckets yet (connected)\n"


def test_the_terminal_form_holds_the_table_totals_state_and_chart():
    from rich.console import Console

    view = LiveView("1m", min_requests=5, plot=True, title="Cloudflare live tail", max_429=0.05, terminal=False)
    console = Console(record=True, width=240, color_system=None)
    console.print(view.renderable(ROWS, "disconnected (closed by Cloudflare with code 1001)"))
    text = console.export_text()
    assert "Cloudflare live tail - last 2 window(s), UTC" in text
    assert "09:01" in text and "gap" in text  # compact, as the final table: nothing cut at 80 columns
    assert "realtime = realtime_token, proxy = cto_openai_proxy" in text
    assert "total realtime_token: 30 requests, 429 2 (6.7%), 5xx 3 (10.0%)" in text
    assert "BREACH: 1 window(s), latest realtime_token 2026-11-21T09:00:00Z 429" in text
    assert "tail disconnected (closed by Cloudflare with code 1001)" in text
    assert "realtime_token: 429 and 5xx rates per 1m window (UTC)" in text  # the chart


def test_the_live_table_fits_80_columns_with_nothing_cut():
    """At 80 columns every window read ``2026-11-2…`` and every bucket ``realtime_t…``."""
    from rich.console import Console

    view = LiveView("1m", min_requests=5, plot=False, title="stdin", terminal=False)
    console = Console(record=True, width=80, color_system=None)
    console.print(view.renderable(ROWS, None))
    text = console.export_text()
    assert "…" not in text, text
    assert "09:00" in text and "09:01" in text and " realtime " in text
