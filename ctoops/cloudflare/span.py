"""Time spans for the Cloudflare sources: UTC milliseconds, end exclusive, split into chunks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ctoops.errors import BadInput

DEFAULT_SINCE_S = 3600  # no --since: the last hour


@dataclass(frozen=True)
class Span:
    """``[start_ms, end_ms)`` in UTC milliseconds."""

    start_ms: int
    end_ms: int

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    def aligned(self, width_s: int) -> Span:
        """The span widened to whole ``width_s`` buckets of the UTC epoch."""
        width = width_s * 1000
        start = self.start_ms // width * width
        end = -(-self.end_ms // width) * width
        return Span(start, end)

    def split(self, width_s: int, most: int) -> list[Span]:
        """Consecutive chunks of at most ``most`` buckets of ``width_s`` (the last may be shorter)."""
        step = width_s * 1000 * max(1, most)
        return [Span(s, min(s + step, self.end_ms)) for s in range(self.start_ms, self.end_ms, step)]


def now() -> float:
    """Unix seconds from the one clock (``ctoops.checks.clock.now``, which tests pin)."""
    from ctoops.checks import clock

    return clock.now()


def span(since_ms: int | None, until_ms: int | None) -> Span:
    """The range asked for; the last hour when ``--since`` is left out, up to now by default."""
    current = int(now() * 1000)
    end = until_ms if until_ms is not None else current
    start = since_ms if since_ms is not None else end - DEFAULT_SINCE_S * 1000
    if end <= start:
        raise BadInput(f"--until ({iso(end)}) must come after --since ({iso(start)}): the range is empty")
    if start >= current:
        raise BadInput(f"--since {iso(start)} is in the future (now is {iso(current)})")
    return Span(start, end)


def iso(ms: int) -> str:
    """``2026-11-21T10:05:00Z`` for UTC milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    """UTC milliseconds from Cloudflare's times: ISO 8601 (``2026-01-01T00:01:00Z``) or the
    telemetry API's ``2026-01-01 00:01:00`` (UTC, no zone [3P]). ValueError when neither."""
    value = text.strip().replace(" ", "T", 1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
