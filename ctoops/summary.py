"""Verdicts a person sees at a glance: ✓/✗ marks and the thresholds summary (k6's style).

The marks: ``✓ PASS`` / ``✗ FAIL`` / ``– SKIP`` (green, red, yellow) on a terminal that
can show them; the plain words ``PASS`` / ``FAIL`` / ``SKIP`` when piped, so logs and
scripts read what they always read. Colour itself is the caller's (``NO_COLOR``, a TTY).

The thresholds summary (``errors trend`` with ``--max-429-rate``/``--max-5xx-rate``, and
the runbook's rates step) lists each threshold of each route group with the worst value
measured among the windows judged, and its mark; it is printed when everything passed too,
and says "not judged" where no window had ``min_requests`` requests (``checks/rates.py``
holds the verdict: this module only words it). Nothing here prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctoops.checks.rates import Verdict

SYMBOLS = {"PASS": "✓", "FAIL": "✗", "SKIP": "–", "NOT JUDGED": "–"}
STYLES = {"PASS": "green", "FAIL": "red", "SKIP": "yellow", "NOT JUDGED": "yellow"}


def can_draw(encoding: str | None) -> bool:
    """Whether a stream of this encoding can show ✓ ✗ – (not on a C/ASCII locale)."""
    try:
        "✓✗–≤".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def mark(status: str, *, symbols: bool) -> str:
    """``PASS`` -> ``✓ PASS`` with ``symbols`` (a terminal that can draw them), else ``PASS``."""
    return f"{SYMBOLS[status]} {status}" if symbols and status in SYMBOLS else status


def short_mark(status: str, *, symbols: bool) -> str:
    """For a list where the colour and position say the rest: ``✓`` / ``✗`` / ``–`` with
    ``symbols``, else the word (``PASS``, ``FAIL``, ``NOT JUDGED``), padded to one width."""
    if symbols and status in SYMBOLS:
        return SYMBOLS[status]
    return status.ljust(max(len(s) for s in SYMBOLS))


def mark_style(text: str) -> str | None:
    """The rich style of a mark's text (``✓ PASS`` or ``PASS``): green, red, yellow."""
    for status, style in STYLES.items():
        if text.endswith(status):
            return style
    return None


def thresholds_lines(verdict: Verdict, *, symbols: bool) -> list[str]:
    """The k6-style summary of ``verdict`` (``ctoops.checks.rates.Verdict``): a header,
    then per route group one line per threshold set, times in UTC:
    ``✓ realtime_token  429 ≤ 5.0%  worst 3.3% at 11-24 06:05, 30 requests``. Empty when
    no threshold was set."""
    from ctoops.checks.rates import pct, pct_pair
    from ctoops.dates import iso_second

    t = verdict.thresholds
    if not t.any:
        return []
    le = "≤" if symbols else "<="
    header = f"thresholds (windows of {t.min_requests}+ requests"
    header += f"; {verdict.not_judged_note()})" if verdict.unjudged else ")"
    lines = [header]
    breached = {(b.bucket, b.what) for b in verdict.breaches}
    limits = [(what, limit) for what, limit in (("429", t.max_429), ("5xx", t.max_5xx)) if limit is not None]
    width = max(len(g["bucket"]) for g in verdict.groups) if verdict.groups else 0
    for group in verdict.groups:
        for what, limit in limits:
            worst: dict[str, Any] | None = group[f"worst_{what}"]
            rule = f"{what} {le} {pct(limit)}".ljust(len(f"5xx {le} 100.0%"))
            if worst is None:
                status, measured = "NOT JUDGED", f"not judged: no window with {t.min_requests}+ requests"
            else:
                status = "FAIL" if (group["bucket"], what) in breached else "PASS"
                when = iso_second(worst["window_start"])[5:16].replace("T", " ")
                shown = pct_pair(worst["rate"], limit)[0] if status == "FAIL" else pct(worst["rate"])
                measured = f"worst {shown} at {when}, {worst['requests']:,} requests"
            lines.append(f"  {short_mark(status, symbols=symbols)} {group['bucket'].ljust(width)}  {rule}  {measured}")
    if not verdict.groups:
        lines.append(f"  {short_mark('NOT JUDGED', symbols=symbols)} no request in the route groups")
    return lines
