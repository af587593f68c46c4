"""What the readers saw besides counted requests: the ledger that makes every skip visible.

Nothing read is dropped without landing here: records skipped (with the reason and the
``file:line`` of the first few), records decoded with U+FFFD replacement, files that could
not be read, and sources that are another kind of log. ``errors trend`` prints every
non-zero line of it on stderr; the runbook step reports the totals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_RECORD = 16 << 20  # bytes: a longer record is skipped and counted (DuckDB's default maximum_object_size)
KEEP = 5  # locations kept per reason

# reason -> how the notice line names it
REASONS = {
    "not-json": "not JSON (a torn record or a stray line)",
    "not-object": "JSON that is not an object",
    "oversized": f"longer than {MAX_RECORD >> 20} MiB",
    "no-timestamp": "without a timestamp",
    "timestamp": "with a timestamp that is neither epoch s/ms/us/ns nor RFC 3339",
    "status": "with a response status that is not an integer",
    "no-url": "a request event without a URL",
}


@dataclass
class Stats:
    """Counts of everything read that is not a counted request, with where to look.

    ``records``: JSON objects read (whatever they are). ``skipped[reason]``: records not
    counted, by ``REASONS`` key; ``where[reason]``: the first ``KEEP`` of them as
    ``source:line`` (line 1-based, of the decoded text). ``replaced``: records whose bytes were
    not valid UTF-8, counted after decoding with U+FFFD (a URL or path around the bad bytes
    still matches). ``unreadable``: ``(source, reason)`` for files that could not be read (or
    stopped being readable part-way: what came before still counts). ``other_logs``:
    ``(source, message)`` for inputs that are another kind of log (the zone ``http_requests``
    dataset, wrangler's text output). ``formats``: source -> the format read.
    """

    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    where: dict[str, list[str]] = field(default_factory=dict)
    replaced: int = 0
    replaced_where: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    other_logs: list[tuple[str, str]] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, where: str, count: int = 1) -> None:
        """Count ``count`` records skipped for ``reason`` (a ``REASONS`` key) at ``where``."""
        self.skipped[reason] += count
        seen = self.where.setdefault(reason, [])
        if len(seen) < KEEP:
            seen.append(where)

    def merge(self, other: Stats) -> None:
        """Add ``other``'s counts (a chunk's) to these."""
        self.records += other.records
        for reason, count in other.skipped.items():
            self.skipped[reason] += count
            seen = self.where.setdefault(reason, [])
            seen.extend(other.where.get(reason, [])[: KEEP - len(seen)])
        self.replaced += other.replaced
        self.replaced_where.extend(other.replaced_where[: KEEP - len(self.replaced_where)])

    @property
    def malformed(self) -> int:
        """Records skipped, whatever the reason."""
        return sum(self.skipped.values())

    @property
    def locations(self) -> list[str]:
        """The first few skipped records' ``source:line``, all reasons together."""
        return [w for reason in self.skipped for w in self.where.get(reason, [])][:KEEP]

    def lines(self) -> list[str]:
        """One human line per non-zero entry, for stderr."""
        out = []
        if self.skipped:
            parts = [
                f"{count} {REASONS.get(reason, reason)} (first at {', '.join(self.where.get(reason, []))})"
                for reason, count in self.skipped.items()
            ]
            out.append(f"skipped {_n(self.malformed, 'record')}: " + "; ".join(parts))
        if self.replaced:
            out.append(
                f"{_n(self.replaced, 'record')} held bytes that are not UTF-8, counted after replacing them "
                f"with U+FFFD (first at {', '.join(self.replaced_where)})"
            )
        for source, reason in self.unreadable:
            out.append(f"could not read {source}: {reason}")
        for source, message in self.other_logs:
            out.append(f"skipped {source}: {message}")
        return out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
