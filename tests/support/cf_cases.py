"""The Cloudflare contract cases: one cassette each in cassettes/test_contract_cloudflare/.

Each case is (what it shows and where its shape comes from, the fake's scenario, the CLI
arguments, extra environment). ``tests/support/record_cf.py`` records them from
``cf_fake.FakeCloudflare``; ``tests/test_contract_cloudflare.py`` replays them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cf_traffic import ACCOUNT, ZONE

RANGE = ("--since", "2026-11-21T09:00:00Z", "--until", "2026-11-21T11:00:00Z")
OBS = "../shared/reference/cloudflare-live-sources.md §2 (telemetry keys/query, v4 envelope) and worker-logs.md §4"
GQL = "../shared/reference/cloudflare-live-sources.md §3 (httpRequestsAdaptiveGroups, settings, errors) and worker-logs.md §5"


@dataclass(frozen=True)
class Case:
    about: str
    shapes: str
    scenario: dict[str, Any]
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


IDS = {"CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "CLOUDFLARE_ZONE_ID": ZONE}

CASES: dict[str, Case] = {
    "test_observability_normal_range": Case(
        "two hours of traffic, counted per hour by Workers Observability",
        OBS,
        {},
        ("errors", "trend", "--source", "observability", *RANGE, "--window", "1h", "--format", "json"),
        IDS,
    ),
    "test_observability_sampled_range": Case(
        "head sampling 1 in 10: raw counts with sampleInterval 10",
        OBS,
        {"sample_interval": 10},
        ("errors", "trend", "--source", "observability", *RANGE, "--window", "1h", "--format", "json"),
        IDS,
    ),
    "test_observability_empty_range": Case(
        "a range after the traffic: no key in the range, keys in the 7 days kept",
        OBS,
        {},
        ("errors", "trend", "--source", "observability", "--since", "2026-11-21T11:00:00Z", "--window", "5m"),
        IDS,
    ),
    "test_observability_disabled": Case(
        "Workers Logs off for the script: telemetry/keys empty over 7 days",
        OBS,
        {"observability_enabled": False},
        ("errors", "trend", "--source", "observability", *RANGE),
        IDS,
    ),
    "test_auto_falls_back_to_graphql": Case(
        "auto with Workers Logs off: the zone's GraphQL counts instead",
        f"{OBS}; {GQL}",
        {"observability_enabled": False},
        ("errors", "trend", *RANGE, "--window", "1h", "--format", "json"),
        IDS,
    ),
    "test_observability_permission_error": Case(
        "a token without Workers Observability Read: 403, v4 envelope code 10000",
        OBS,
        {"permission_error": True},
        ("errors", "trend", "--source", "observability", *RANGE),
        IDS,
    ),
    "test_observability_paged_long_range": Case(
        "7 days in 5-minute windows: 2016 buckets, fetched as 2 concurrent queries of at most 1440",
        OBS,
        {},
        (
            "errors",
            "trend",
            "--source",
            "observability",
            "--since",
            "2026-11-14T12:00:00Z",
            "--window",
            "5m",
            "--format",
            "json",
        ),
        IDS,
    ),
    "test_graphql_normal_range": Case(
        "the same two hours as the zone's edge saw them",
        GQL,
        {},
        ("errors", "trend", "--source", "graphql", *RANGE, "--window", "1h", "--format", "json"),
        IDS,
    ),
    "test_graphql_sampled_range": Case(
        "adaptive sampling: count already an estimate, avg.sampleInterval 10",
        GQL,
        {"graphql_sample_interval": 10},
        ("errors", "trend", "--source", "graphql", *RANGE, "--window", "1h", "--format", "json"),
        IDS,
    ),
    "test_graphql_empty_range": Case(
        "a zone that does not carry the worker: no request for the host at all",
        GQL,
        {"host_seen": False},
        ("errors", "trend", "--source", "graphql", *RANGE),
        IDS,
    ),
    "test_graphql_permission_error": Case(
        "a token without Analytics Read on the zone: errors on HTTP 200",
        GQL,
        {
            "graphql_errors": [
                {
                    "message": "not authorized for that account",
                    "path": ["viewer", "zones", "0"],
                    "extensions": {"timestamp": "2026-11-21T12:00:00Z"},
                }
            ]
        },
        ("errors", "trend", "--source", "graphql", *RANGE),
        IDS,
    ),
    "test_graphql_error_on_200": Case(
        "{data: null, errors} on HTTP 200: a failure, never zero",
        GQL,
        {
            "graphql_errors": [
                {
                    "message": "unable to execute query, please try again later",
                    "path": ["viewer"],
                    "extensions": {"timestamp": "2026-11-21T12:00:00Z"},
                }
            ]
        },
        ("errors", "trend", "--source", "graphql", *RANGE),
        IDS,
    ),
    "test_graphql_paged_long_range": Case(
        "maxDuration 1 h and maxPageSize 25: 2 chunks fetched concurrently, each over several pages",
        GQL,
        {"max_duration": 3600, "max_page_size": 25},
        ("errors", "trend", "--source", "graphql", *RANGE, "--window", "1m", "--format", "json"),
        IDS,
    ),
    "test_only_token_account_and_url": Case(
        "issue 13's 'done when': a token, an account id and the worker's URL; the zone looked up, the script "
        "derived; auto = observability; 5xx over 2 % fails",
        f"{OBS}; GET /zones?name= (v4 envelope, §0)",
        {},
        ("errors", "trend", "--since", "24h", "--window", "1h", "--plot", "--max-5xx-rate", "0.02"),
        {"CLOUDFLARE_ACCOUNT_ID": ACCOUNT},
    ),
    "test_graphql_zone_looked_up": Case(
        "no CLOUDFLARE_ZONE_ID: the zone found from the host's suffixes",
        f"{GQL}; GET /zones?name= (v4 envelope)",
        {},
        ("errors", "trend", "--source", "graphql", *RANGE, "--window", "1h", "--format", "json"),
        {"CLOUDFLARE_ACCOUNT_ID": ACCOUNT},
    ),
}
