"""A loopback Cloudflare API answering in the documented shapes, from a list of events.

It plays ``../shared/reference/cloudflare-live-sources.md`` §2 (telemetry keys/query: the v4
envelope, ``result.calculations[].series[].data[]`` with ``groups``, ``count``,
``sampleInterval``; series times as ``YYYY-MM-DD HH:MM:SS`` [3P]) and §3 (GraphQL
``httpRequestsAdaptiveGroups`` with ``count``, ``avg.sampleInterval``, ``dimensions``; the
``settings`` node; ``{data: null, errors}`` on 200), plus §1.1 (tail create/delete).

It is how the cassettes in ``cassettes/test_contract_cloudflare/`` were produced
(``tests/support/record_cf.py``) and the server the live-tail tests talk to. It aggregates
the events with plain ``collections.Counter``, not with ctoops' code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cf_traffic import ACCOUNT, ZONE, Event
from fakeserver import FakeServer, Reply, Seen

PREFIX = "/client/v4"
TELEMETRY = f"{PREFIX}/accounts/{ACCOUNT}/workers/observability/telemetry"
DIMENSION_S = {"datetimeMinute": 60, "datetimeFiveMinutes": 300, "datetimeHour": 3600}


@dataclass
class Scenario:
    """Knobs for the documented variants."""

    sample_interval: int = 1  # telemetry: rows sampled 1 in N (count raw, sampleInterval N)
    graphql_sample_interval: int = 1  # GraphQL: count already scaled, avg.sampleInterval N
    observability_enabled: bool = True
    permission_error: bool = False  # 403 with the v4 envelope (code 10000)
    graphql_errors: list[dict[str, Any]] | None = None  # {data: null, errors} on HTTP 200
    graphql_zone_visible: bool = True
    max_duration: int = 86400
    not_older_than: int = 2678400  # 31 days
    max_page_size: int = 10000
    group_limit_honoured: int | None = None  # drop group rows beyond this many (telemetry)
    host_seen: bool = True
    tail_denied: bool = False
    seen_requests: list[str] = field(default_factory=list)


def envelope(result: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result}


def denied() -> Reply:
    return Reply(
        403,
        json={
            "success": False,
            "errors": [{"code": 10000, "message": "Authentication error"}],
            "messages": [],
            "result": None,
        },
    )


def cf_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class FakeCloudflare:
    def __init__(self, server: FakeServer, traffic: list[Event], scenario: Scenario | None = None) -> None:
        self.server = server
        self.traffic = traffic
        self.s = scenario or Scenario()
        server.route("POST", f"{TELEMETRY}/keys", self.keys)
        server.route("POST", f"{TELEMETRY}/query", self.query)
        server.route("POST", f"{PREFIX}/graphql", self.graphql)
        server.route("GET", f"{PREFIX}/zones", self.zones)
        server.route("GET", f"{PREFIX}/accounts", self.accounts)
        script = f"{PREFIX}/accounts/{ACCOUNT}/workers/scripts/opencto-api"
        server.route("GET", f"{script}/script-settings", self.script_settings)
        server.route("GET", f"{script}/tails", self.tails)
        server.route("GET", f"{PREFIX}/user/tokens/verify", self.verify)

    def verify(self, seen: Seen) -> Reply:
        """GET /user/tokens/verify: {id, status} and the "valid and active" message."""
        if self.s.permission_error:
            return Reply(
                401,
                json={
                    "success": False,
                    "errors": [{"code": 1000, "message": "Invalid API Token"}],
                    "messages": [],
                    "result": None,
                },
            )
        message = {"code": 10000, "message": "This API Token is valid and active", "type": None}
        return Reply(
            json={**envelope({"id": "f267e341f3dd4697bd3b9f71dd96247f", "status": "active"}), "messages": [message]}
        )

    def script_settings(self, seen: Seen) -> Reply:
        """cloudflare-python ScriptSetting: logpush, observability {enabled, head_sampling_rate}."""
        if self.s.permission_error:
            return denied()
        observability = {"enabled": self.s.observability_enabled, "head_sampling_rate": 1 / self.s.sample_interval}
        return Reply(json=envelope({"logpush": False, "observability": observability, "tail_consumers": None}))

    def tails(self, seen: Seen) -> Reply:
        if self.s.permission_error or self.s.tail_denied:
            return denied()
        return Reply(json=envelope([]))

    def zones(self, seen: Seen) -> Reply:
        """GET /zones?name=: the zone list (v4 envelope with result_info), exact name match."""
        if self.s.permission_error:
            return denied()
        found = (
            [{"id": ZONE, "name": "opencto.works", "status": "active"}]
            if seen.query.get("name") == "opencto.works"
            else []
        )
        info = {"page": 1, "per_page": 20, "count": len(found), "total_count": len(found)}
        return Reply(json={**envelope(found), "result_info": info})

    def accounts(self, seen: Seen) -> Reply:
        if self.s.permission_error:
            return denied()
        return Reply(
            json={
                **envelope([{"id": ACCOUNT, "name": "OpenCTO", "type": "standard"}]),
                "result_info": {"page": 1, "per_page": 50, "count": 1, "total_count": 1},
            }
        )

    @property
    def base_url(self) -> str:
        return self.server.url + PREFIX

    # -- Workers Observability ----------------------------------------------------------------

    def _in(self, body: dict[str, Any]) -> list[Event]:
        frame = body["timeframe"]
        return [e for e in self.traffic if frame["from"] <= e.ts_ms < frame["to"]]

    def keys(self, seen: Seen) -> Reply:
        if self.s.permission_error:
            return denied()
        if not self.s.observability_enabled or not self._in(seen.json()):
            return Reply(json=envelope([]))
        keys = ["$metadata.service", "$workers.event.request.path", "$workers.event.response.status"]
        return Reply(json=envelope([{"key": k, "type": "string", "lastSeenAt": 1795258000000} for k in keys]))

    def query(self, seen: Seen) -> Reply:
        if self.s.permission_error:
            return denied()
        body = seen.json()
        params = body["parameters"]
        paths = set()
        for f in params["filters"]:
            if f["key"] == "$workers.event.request.path":
                paths = set(f["value"].split(","))
        chosen = [e for e in self._in(body) if e.path in paths]
        n = self.s.sample_interval
        chosen = chosen[::n]  # head sampling: one in n logged
        frame = body["timeframe"]
        buckets = body.get("granularity") or 1
        width = (frame["to"] - frame["from"]) // buckets

        def key(e: Event) -> tuple:
            return (e.path, e.method, e.status, e.outcome)

        def agg(events: list[Event], interval: int) -> list[dict[str, Any]]:
            counted = Counter(key(e) for e in events)
            out = []
            for (path, method, status, outcome), count in sorted(counted.items(), key=lambda kv: str(kv[0])):
                groups = [
                    {"key": "$workers.event.request.path", "value": path},
                    {"key": "$workers.event.request.method", "value": method},
                    {"key": "$workers.event.response.status", "value": status},
                    {"key": "$workers.outcome", "value": outcome},
                ]
                out.append(
                    {"groups": groups, "value": count, "count": count, "interval": interval, "sampleInterval": n}
                )
            limit = self.s.group_limit_honoured
            return out[:limit] if limit is not None else out

        grouped = "groupBys" in params
        if not grouped:
            aggregates = [{"value": len(chosen), "count": len(chosen), "interval": 1, "sampleInterval": n}]
            calc = {"alias": "requests", "calculation": "count()", "aggregates": aggregates, "series": []}
        else:
            series = []
            for i in range(buckets):
                lo = frame["from"] + i * width
                inside = [e for e in chosen if lo <= e.ts_ms < lo + width]
                data = agg(inside, width // 1000)
                series.append({"time": cf_time(lo), "data": data})
            calc = {"alias": "requests", "calculation": "count()", "aggregates": agg(chosen, 1), "series": series}
        result = {
            "run": {
                "id": "run_ctoops_fake",
                "accountId": ACCOUNT,
                "dry": True,
                "granularity": buckets,
                "status": "COMPLETED",
                "timeframe": frame,
            },
            "statistics": {"elapsed": 0.012, "rows_read": len(chosen), "bytes_read": 1024 * len(chosen)},
            "calculations": [calc],
        }
        return Reply(
            json={"success": True, "errors": [], "messages": [{"message": "Successful request"}], "result": result}
        )

    # -- GraphQL ----------------------------------------------------------------------------

    def graphql(self, seen: Seen) -> Reply:
        if self.s.permission_error:
            return denied()
        if self.s.graphql_errors is not None:
            return Reply(json={"data": None, "errors": self.s.graphql_errors})
        body = seen.json()
        query, variables = body["query"], body.get("variables") or {}
        if not self.s.graphql_zone_visible:
            return Reply(json={"data": {"viewer": {"zones": []}}, "errors": None})
        if "settings" in query:
            node = {
                "enabled": True,
                "maxDuration": self.s.max_duration,
                "maxPageSize": self.s.max_page_size,
                "notOlderThan": self.s.not_older_than,
            }
            return Reply(
                json={
                    "data": {"viewer": {"zones": [{"settings": {"httpRequestsAdaptiveGroups": node}}]}},
                    "errors": None,
                }
            )
        start, end = parse_iso(variables["start"]), parse_iso(variables["end"])
        if (end - start) / 1000 > self.s.max_duration:
            return Reply(
                json={
                    "data": None,
                    "errors": [
                        {
                            "message": "query time range is too large",
                            "path": ["viewer"],
                            "extensions": {"timestamp": "2026-11-21T12:00:00Z"},
                        }
                    ],
                }
            )
        inside = [e for e in self.traffic if start <= e.ts_ms < end] if self.s.host_seen else []
        zone: dict[str, Any] = {}
        if "seen:" in query:
            zone["seen"] = [{"count": len(inside)}] if inside else []
        paths = set(re.search(r"clientRequestPath_in: \[([^\]]*)\]", query).group(1).replace('"', "").split(", "))
        limit = int(re.search(r"rows: httpRequestsAdaptiveGroups\(limit: (\d+)", query).group(1))
        dimension = re.search(r"orderBy: \[(\w+)_ASC\]", query).group(1)
        width = DIMENSION_S[dimension] * 1000
        n = self.s.graphql_sample_interval
        counted = Counter(
            (e.ts_ms // width * width, e.path, e.method, e.edge_status) for e in inside if e.path in paths
        )
        groups = [
            {
                "count": count,
                "avg": {"sampleInterval": n},
                "dimensions": {
                    dimension: iso(ts),
                    "clientRequestPath": path,
                    "clientRequestHTTPMethodName": method,
                    "edgeResponseStatus": status,
                },
            }
            for (ts, path, method, status), count in sorted(counted.items())
        ]
        zone["rows"] = groups[:limit]
        self.s.seen_requests.append(f"{variables['start']}..{variables['end']} -> {len(zone['rows'])}")
        return Reply(json={"data": {"viewer": {"zones": [zone]}}, "errors": None})


def dumps(data: Any) -> str:
    return json.dumps(data)
