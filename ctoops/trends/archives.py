"""Logpush archives read where they live: ``s3://bucket/prefix/`` on R2 (through its S3
endpoint) or S3, as sources for ``errors trend``.

The layout Logpush writes (``../shared/reference/cloudflare-live-sources.md`` §4,
``worker-logs.md`` §2.4): the job's path ends in ``{DATE}``, so objects sit in daily
``YYYYMMDD/`` folders [V Cloudflare's api-configuration docs], each named
``<start>_<end>_<random>.log.gz`` with the batch's first and last second in UTC as
``YYYYMMDDTHHMMSSZ`` [3P: seen in R2 listings; the suffix's form is unverified].

Given ``--since``/``--until``, only the day folders that overlap the range are listed, and
only the objects whose name times overlap it are read; both are widened by ``MARGIN_MS`` (a
batch that spans midnight, whatever folder it went to; late records). The counting still
filters every record on its own timestamp. Objects are read in key order (time order), by the
same readers as local files (gzip by its magic bytes, torn lines counted), several fetched
ahead at once (``_s3.AHEAD``), with memory bounded by ``_s3.AHEAD x _s3.HEAD`` besides the
readers' own chunks. What was listed, skipped by name, and read is told through
``Storage.notify``; nothing is skipped without being counted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ctoops.errors import BadInput, UpstreamError
from ctoops.trends.sources import StreamSource

MARGIN_MS = 300_000  # Logpush's longest batch interval (max_upload_interval_seconds: 30-300 s)
DAY_MS = 86_400_000
LIST_THREADS = 4  # day folders listed at once
PROGRESS_EVERY_S = 5.0
_TIMES = re.compile(r"(\d{8}T\d{6}Z)[_-](\d{8}T\d{6}Z)")
_DAY = re.compile(r"\d{8}")
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{2,254}")


@dataclass(frozen=True)
class Storage:
    """How to reach the archives. ``endpoint_url``: the S3 endpoint (R2:
    ``https://<ACCOUNT_ID>.r2.cloudflarestorage.com``; None: ``AWS_ENDPOINT_URL_S3``,
    ``AWS_ENDPOINT_URL``, the AWS profile's, else AWS S3). ``timeout`` in seconds (connect,
    and each read); ``max_retries`` per request. ``notify`` gets one-line notes (what was
    listed and skipped), ``progress`` a line every few seconds while objects are read, ``log``
    one line per S3 call (``-v``); each None to stay quiet."""

    endpoint_url: str | None = None
    timeout: float = 30.0
    max_retries: int = 3
    notify: Callable[[str], None] | None = None
    progress: Callable[[str], None] | None = None
    log: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Location:
    """``s3://bucket/prefix``: the bucket and the key prefix (``""`` for the whole bucket)."""

    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_url(url: str) -> Location:
    """``s3://bucket[/prefix]`` -> Location; BadInput (2) when it is not one."""
    rest = url[len("s3://") :] if url.startswith("s3://") else ""
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise BadInput(f"{url!r} is not an S3 location: expected s3://BUCKET/PREFIX/ (a bucket name is 3-255 chars)")
    return Location(bucket, prefix)


def name_times(key: str) -> tuple[int, int] | None:
    """The batch's (first, last) second in an object name, as epoch ms, or None when the
    name carries no such pair: ``20260101T000030Z_20260101T000100Z_a1b2c3d4.log.gz``."""
    found = _TIMES.search(key.rsplit("/", 1)[-1])
    if found is None:
        return None
    first, last = (_stamp(found.group(i)) for i in (1, 2))
    if first is None or last is None:
        return None
    return first, last


def _stamp(text: str) -> int | None:
    try:
        day = (int(text[0:4]), int(text[4:6]), int(text[6:8]))
        moment = datetime(*day, int(text[9:11]), int(text[11:13]), int(text[13:15]), tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) * 1000


def folder_day(name: str) -> int | None:
    """00:00 UTC (epoch ms) of a ``YYYYMMDD`` folder name, None for any other name."""
    if not _DAY.fullmatch(name):
        return None
    return _stamp(f"{name}T000000Z")


@dataclass
class Listing:
    """What listing found: the objects to read (key, size), in key order, and what it left out."""

    objects: list[tuple[str, int]]
    listed: int = 0  # objects listed (read or skipped by name)
    skipped: int = 0  # listed, but their name times fall outside the range
    undated: int = 0  # read whole: no times in their names
    days_read: int = 0  # day folders listed
    days_left: int = 0  # day folders outside the range, not listed
    newest_ms: int | None = None  # the latest batch end seen in a name
    days_seen: list[str] = field(default_factory=list)  # every day folder's name, read or not


def sources(
    url: str, *, since_ms: int | None = None, until_ms: int | None = None, storage: Storage | None = None
) -> list[StreamSource]:
    """The objects under ``url`` whose names fall in ``[since_ms, until_ms)`` (epoch ms, None:
    open), in key order, as StreamSources named ``s3://bucket/key``, read through a shared
    fetch-ahead pool. Errors before anything is read: BadInput (2) for a bad URL, a missing
    bucket, nothing under the prefix or nothing in the range; NotAuthenticated (3) for a
    missing or refused credential; UpstreamError (4) when the storage fails; RateLimited (5)."""
    from ctoops.trends import _s3

    storage = storage or Storage()
    where = parse_url(url)
    s3 = _s3.client(storage, storage.log)
    endpoint = str(s3.meta.endpoint_url)
    lister = _Lister(s3, where.bucket, endpoint, since_ms, until_ms)
    listing = lister.run(where.prefix)
    if not listing.objects:
        _nothing(where, listing)
    _tell(storage, where, listing, since_ms is not None or until_ms is not None)
    names = [f"s3://{where.bucket}/{key}" for key, _ in listing.objects]
    fetcher = _s3.Fetcher(s3, where.bucket, names, endpoint, storage.max_retries)
    opened = _progress(storage.progress, len(names), fetcher.open)
    return [
        StreamSource(name, partial(opened, i), size)
        for i, (name, (_, size)) in enumerate(zip(names, listing.objects, strict=True))
    ]


def _progress(say: Callable[[str], None] | None, total: int, open_: Callable[[int], Any]) -> Callable[[int], Any]:
    if say is None:
        return open_
    last = [time.monotonic()]

    def opened(index: int) -> Any:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            say(f"reading object {index + 1:,} of {total:,}")
        return open_(index)

    return opened


def _nothing(where: Location, listing: Listing) -> None:
    """Exit 2, saying what is there instead: the newest batch or the day folders' span."""
    if listing.listed:
        newest = f"; the newest batch listed ends {_iso(listing.newest_ms)}" if listing.newest_ms else ""
        raise BadInput(
            f"no object under {where} falls in --since/--until: {listing.listed:,} listed, "
            f"all outside{newest} (Logpush delivers batches a minute or more late)"
        )
    if listing.days_seen:
        days = sorted(listing.days_seen)
        raise BadInput(
            f"no object under {where} falls in --since/--until: its {len(days):,} day folders run from "
            f"{days[0]} to {days[-1]} (UTC)"
        )
    raise BadInput(f"no objects under {where}")


def _iso(ms: int | None) -> str:
    from ctoops.dates import iso_second

    return iso_second((ms or 0) / 1000)


def _tell(storage: Storage, where: Location, listing: Listing, ranged: bool) -> None:
    if storage.notify is None:
        return
    size = sum(size for _, size in listing.objects)
    days = f" in {listing.days_read:,} day folder{'s' if listing.days_read != 1 else ''}" if listing.days_read else ""
    shown = f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 1024:,.1f} KiB"
    reading = f"reading {len(listing.objects):,} ({shown})"
    objects = "object" if listing.listed == 1 else "objects"
    line = f"{where}: listed {listing.listed:,} {objects}{days}; {reading}"
    if listing.days_left:
        line += f"; {listing.days_left:,} day folders outside --since/--until not listed"
    storage.notify(line)
    if listing.skipped:
        storage.notify(
            f"skipped {listing.skipped:,} objects whose names put them outside --since/--until "
            f"(kept {MARGIN_MS // 60000} min either side)"
        )
    if ranged and listing.undated:
        storage.notify(f"{listing.undated:,} objects have no batch times in their names: read whole")


class _Lister:
    """Lists a prefix, descending into day folders only where they overlap the range."""

    def __init__(self, s3: Any, bucket: str, endpoint: str, since_ms: int | None, until_ms: int | None) -> None:
        self.s3, self.bucket, self.endpoint = s3, bucket, endpoint
        self.ranged = since_ms is not None or until_ms is not None
        self.low = -(2**62) if since_ms is None else since_ms - MARGIN_MS
        self.high = 2**62 if until_ms is None else until_ms + MARGIN_MS
        self.listing = Listing([])

    def run(self, prefix: str) -> Listing:
        if prefix and not prefix.endswith("/"):
            objects, folders = self._level(prefix)  # an object's key, or a folder named without its "/"
            exact = [obj for obj in objects if obj["Key"] == prefix]
            if exact:
                self._consider(exact[0])
                return self._done()
            if prefix + "/" not in folders:
                raise BadInput(f"no object or folder s3://{self.bucket}/{prefix}")
            prefix += "/"
        if not self.ranged:
            for obj in self._all(prefix):
                self._consider(obj)
            return self._done()
        days: list[str] = []
        self._walk(prefix, days)
        if days:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(LIST_THREADS, thread_name_prefix="ctoops-s3-list") as pool:
                for found in pool.map(lambda day: list(self._all(day)), days):
                    for obj in found:
                        self._consider(obj)
        return self._done()

    def _done(self) -> Listing:
        self.listing.objects.sort()
        return self.listing

    def _walk(self, prefix: str, days: list[str]) -> None:
        objects, folders = self._level(prefix)
        for obj in objects:
            self._consider(obj)
        for folder in folders:
            name = folder[len(prefix) : -1]
            day = folder_day(name)
            if day is not None:
                self.listing.days_seen.append(name)
            if day is None:
                self._walk(folder, days)
            elif day < self.high and day + DAY_MS > self.low:
                days.append(folder)
                self.listing.days_read += 1
            else:
                self.listing.days_left += 1

    def _consider(self, obj: dict[str, Any]) -> None:
        key, size = str(obj["Key"]), int(obj.get("Size") or 0)
        if key.endswith("/") and not size:
            return  # a folder marker some tools write, not an object
        self.listing.listed += 1
        times = name_times(key)
        if times is None:
            self.listing.undated += 1
        else:
            first, last = times
            newest = self.listing.newest_ms
            self.listing.newest_ms = last if newest is None else max(newest, last)
            if first >= self.high or last + 1000 <= self.low:  # names hold whole seconds
                self.listing.skipped += 1
                return
        self.listing.objects.append((key, size))

    def _level(self, prefix: str) -> tuple[list[dict[str, Any]], list[str]]:
        objects: list[dict[str, Any]] = []
        folders: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            objects += page.get("Contents", [])
            folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return objects, folders

    def _all(self, prefix: str) -> Any:
        for page in self._pages(Prefix=prefix):
            yield from page.get("Contents", [])

    def _pages(self, **params: Any) -> Any:
        from ctoops.trends._s3 import call

        what = f"s3://{self.bucket}/{params['Prefix']}"
        token: str | None = None
        while True:  # ListObjectsV2 pages of up to 1,000 keys, R2 and S3 alike
            extra = {"ContinuationToken": token} if token else {}
            page = call(self.s3.list_objects_v2, what, self.endpoint, Bucket=self.bucket, **params, **extra)
            if "Name" not in page and "KeyCount" not in page:  # botocore parses any XML, even a web page
                raise UpstreamError(f"the storage at {self.endpoint} answered something that is not S3 for {what}")
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
