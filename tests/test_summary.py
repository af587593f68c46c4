"""The thresholds summary (k6's style) and the ✓/✗ marks."""

from __future__ import annotations

from ctoops.checks.rates import Thresholds, judge
from ctoops.summary import can_draw, mark, mark_style, thresholds_lines


def rows(*spec: tuple[str, int, int, int]) -> list[dict]:
    """(bucket, requests, 429s, 5xx) per window, five minutes apart from 2026-11-24T06:00Z."""
    return [
        {
            "window_start": 1795500000 + i * 300,
            "bucket": bucket,
            "requests": n,
            "status_429": s429,
            "status_5xx": s5xx,
            "rate_429": s429 / n,
            "rate_5xx": s5xx / n,
            "error_outcomes": 0,
            "sampled": False,
        }
        for i, (bucket, n, s429, s5xx) in enumerate(spec)
    ]


def test_every_threshold_is_listed_with_its_worst_value_also_when_all_passed():
    verdict = judge(rows(("realtime_token", 30, 1, 0), ("realtime_token", 40, 1, 0)), Thresholds(0.05, 0.02, 20))
    lines = thresholds_lines(verdict, symbols=True)
    assert lines[0] == "thresholds (windows of 20+ requests)"
    assert lines[1:] == [
        "  ✓ realtime_token  429 ≤ 5.0%    worst 3.3% at 11-24 06:00, 30 requests",
        "  ✓ realtime_token  5xx ≤ 2.0%    worst 0.0% at 11-24 06:05, 40 requests",
    ]


def test_a_breach_is_marked_and_an_unjudged_group_is_said_to_be():
    verdict = judge(rows(("realtime_token", 40000, 4000, 0), ("cto_openai_proxy", 5, 0, 5)), Thresholds(0.05, None, 20))
    lines = thresholds_lines(verdict, symbols=False)
    assert "1 window under 20 requests not judged" in lines[0]
    assert lines[1].startswith("  NOT JUDGED cto_openai_proxy  429 <= 5.0%") and "not judged" in lines[1]
    assert lines[2].startswith("  FAIL       realtime_token    429 <= 5.0%")
    assert "worst 10.0% at 11-24 06:00, 40,000 requests" in lines[2]
    assert len(lines) == 3  # no 5xx threshold set: none listed


def test_the_summary_fits_80_columns():
    verdict = judge(
        rows(("cto_openai_proxy", 123456, 61728, 9999), ("realtime_token", 5, 0, 0)), Thresholds(0.05, 0.02, 20)
    )
    assert all(len(line) <= 80 for line in thresholds_lines(verdict, symbols=True))


def test_no_threshold_no_summary():
    assert thresholds_lines(judge(rows(("realtime_token", 30, 1, 0)), Thresholds(None, None, 20)), symbols=True) == []


def test_marks():
    assert mark("PASS", symbols=True) == "✓ PASS" and mark("FAIL", symbols=False) == "FAIL"
    assert mark_style("✗ FAIL") == "red" and mark_style("PASS") == "green" and mark_style("detail") is None
    assert can_draw("utf-8") and not can_draw("ascii") and not can_draw(None)


def test_a_rate_over_its_limit_never_reads_as_equal():
    from ctoops.checks.rates import pct_pair

    assert pct_pair(0.00444, 0.004) == ("0.44%", "0.40%")
    assert pct_pair(0.0525, 0.05) == ("5.2%", "5.0%") or pct_pair(0.0525, 0.05) == ("5.3%", "5.0%")
    assert pct_pair(0.05, 0.05) == ("5.0%", "5.0%")
    verdict = judge(rows(("cto_openai_proxy", 450, 0, 2)), Thresholds(None, 0.004, 20))
    assert "worst 0.44% at" in thresholds_lines(verdict, symbols=False)[1]
    assert "0.44% > 0.40%" in verdict.failure() and "0.44% > 0.40%" in verdict.breach_lines()[0]
