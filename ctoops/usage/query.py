"""What a usage or costs pull asks for, and the rules checked before any request."""

from __future__ import annotations

from dataclasses import dataclass

from ctoops.dates import DAY, HOUR, Range
from ctoops.errors import BadInput, Unsupported
from ctoops.usage.shapes import COSTS_GROUPS, KIND_GROUPS, LEGACY_GROUPS, costs_names, usage_names

# Bucket widths ctoops offers. OpenAI's bucket_width is 1m (a minute), 1h or 1d
# (openai-api.md §3.3); there is no monthly width, so 1mo is derived from 1d buckets.
BUCKETS = ("1d", "1h", "1mo")
BUCKET_SECONDS = {"1d": DAY, "1h": HOUR}
PAGE_LIMITS = {"1d": 31, "1h": 168}  # the usage API's maximum buckets per page (§3.3)
COSTS_LIMIT = 180  # the costs API's maximum (1d buckets only, §4)
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class Query:
    """One pull: ``kind`` is a usage kind ("completions", ...) or "costs"; ``span`` in unix
    seconds (end exclusive); ``bucket`` as asked (``1mo`` is fetched as ``1d``)."""

    kind: str
    span: Range
    bucket: str = "1d"
    group_by: tuple[str, ...] = ()

    @property
    def is_costs(self) -> bool:
        return self.kind == "costs"

    @property
    def fetch_bucket(self) -> str:
        """The width asked of the API: ``1mo`` is summed from ``1d``."""
        return "1d" if self.bucket == "1mo" else self.bucket

    @property
    def bucket_seconds(self) -> int:
        return BUCKET_SECONDS[self.fetch_bucket]

    @property
    def limit(self) -> int:
        return COSTS_LIMIT if self.is_costs else PAGE_LIMITS[self.fetch_bucket]

    @property
    def names(self) -> list[str]:
        return costs_names(self.group_by) if self.is_costs else usage_names(self.kind, self.group_by)

    @property
    def what(self) -> str:
        return "costs" if self.is_costs else f"usage {self.kind}"


def validate(query: Query, via: str) -> None:
    """Exit 2 before any request when the query breaks a rule of the API or the backend."""
    if query.bucket not in BUCKETS:
        raise BadInput(f"unknown bucket {query.bucket!r} (buckets: {', '.join(BUCKETS)})")
    if query.is_costs:
        allowed: tuple[str, ...] = COSTS_GROUPS
        if via == "opencto":
            raise Unsupported(
                "costs are not available via opencto: the worker has no costs proxy; use --via openai with an "
                "admin key (OPENAI_ADMIN_KEY)"
            )
        if query.bucket == "1h":
            raise BadInput("costs come in 1d buckets only (the costs API supports no other width); 1mo sums them")
    else:
        if query.kind not in KIND_GROUPS:
            raise BadInput(f"unknown usage kind {query.kind!r} (kinds: {', '.join(KIND_GROUPS)})")
        allowed = KIND_GROUPS[query.kind]
        if via == "opencto":
            if query.kind != "completions":
                raise BadInput(
                    f"{query.kind} usage is not available through the worker's usage proxy (its legacy answer is "
                    "not split by kind); use --via openai"
                )
            allowed = tuple(g for g in allowed if g in LEGACY_GROUPS.values())
    bad = [g for g in query.group_by if g not in allowed]
    if bad:
        where = "through the worker's usage proxy" if via == "opencto" and not query.is_costs else f"for {query.kind}"
        raise BadInput(f"cannot group by {bad[0]!r} {where}: the fields are {', '.join(allowed)}")
    if len(set(query.group_by)) != len(query.group_by):
        raise BadInput("a group-by field is repeated")
