"""`ctoops errors trend s3://bucket/prefix/`: Logpush archives read from a loopback
S3-compatible server (moto's server mode on 127.0.0.1, authentication on; tests/support/
s3server.py), against the same objects read as local files, and against counts taken from
the generator's own event lists (tests/support/archive_data.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from archive_data import Archive, build
from s3server import S3Server

ROOT = Path(__file__).resolve().parents[2]

DAY = datetime(2026, 11, 21, tzinfo=UTC)
DAY_MS = int(DAY.timestamp() * 1000)
H = 3_600_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.fixture(scope="module")
def day(server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, Path]:
    """A day of Logpush objects (10-minute batches, from 23:45 the day before to 00:20 the day
    after, one batch across midnight) plus an old day folder, in the bucket and on disk."""
    archive = build("opencto/", DAY_MS - 15 * 60_000, DAY_MS + 24 * H + 20 * 60_000, offset_ms=5 * 60_000)
    old = build("opencto/", DAY_MS - 20 * 24 * H, DAY_MS - 20 * 24 * H + H, torn=False)
    archive.objects |= {k: v for k, v in old.objects.items() if k != old.empty}
    archive.events |= {k: v for k, v in old.events.items() if k != old.empty}
    local = tmp_path_factory.mktemp("archive")
    s3 = server.client()
    s3.create_bucket(Bucket="logs")
    for key, data in archive.objects.items():
        s3.put_object(Bucket="logs", Key=key, Body=data)
        path = local / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return archive, local / "opencto"


def rows(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def expected(archive: Archive, since: int, until: int) -> dict[str, tuple[int, int, int]]:
    """(requests, 429, 5xx) per bucket, from the generator's events."""
    totals: dict[str, list[int]] = {}
    for events in archive.events.values():
        for e in events:
            if e.bucket is None or not since <= e.ts_ms < until:
                continue
            t = totals.setdefault(e.bucket, [0, 0, 0])
            t[0] += 1
            t[1] += e.status == 429
            t[2] += e.status is None or 500 <= e.status <= 599
    return {b: (t[0], t[1], t[2]) for b, t in totals.items()}


def totals(out: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    found: dict[str, list[int]] = {}
    for r in out:
        t = found.setdefault(r["bucket"], [0, 0, 0])
        t[0] += r["requests"]
        t[1] += r["status_429"]
        t[2] += r["status_5xx"]
    return {b: (t[0], t[1], t[2]) for b, t in found.items()}


# -- counts ---------------------------------------------------------------------------------------


def signed_in(monkeypatch: pytest.MonkeyPatch, server: S3Server) -> None:
    """The valid credential, the usual way: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret)


def test_whole_prefix_counts_equal_local_files_and_the_generator(ctoops, server, day, monkeypatch):
    archive, local = day
    signed_in(monkeypatch, server)
    remote = ctoops("errors", "trend", "s3://logs/opencto/", "--endpoint-url", server.url, "--format", "json")
    here = ctoops("errors", "trend", str(local), "--format", "json")
    assert rows(remote) == rows(here)
    assert totals(rows(remote)) == expected(archive, 0, 2**62)
    listed = len(archive.objects)
    assert f"s3://logs/opencto/: listed {listed:,} objects; reading {listed:,}" in remote.stderr
    # the torn record is skipped and counted, named by its object and line
    torn_line = len(archive.events[archive.torn]) + 1
    torn = "skipped 1 record: 1 not JSON (a torn record or a stray line) (first at "
    assert f"{torn}s3://logs/{archive.torn}:{torn_line})" in remote.stderr
    assert f"{torn}{local.parent / archive.torn}:{torn_line})" in here.stderr
    assert archive.multi_member and archive.objects[archive.empty] == b""


def test_since_until_lists_only_the_days_and_reads_only_the_objects_named_in_range(ctoops, server, day, monkeypatch):
    archive, local = day
    signed_in(monkeypatch, server)
    since, until = "2026-11-21T00:00:00Z", "2026-11-21T06:00:00Z"
    args = ("--since", since, "--until", until, "--window", "1h", "--format", "json")
    remote = ctoops("-v", "errors", "trend", "s3://logs/opencto/", "--endpoint-url", server.url, *args)
    here = ctoops("errors", "trend", str(local), *args)
    assert rows(remote) == rows(here)
    assert totals(rows(remote)) == expected(archive, ms(since), ms(until))
    # which objects should have been fetched, from their names alone (5 minutes either side)
    low, high = ms(since) - 300_000, ms(until) + 300_000
    wanted = []
    for key in archive.objects:
        first, last = (
            ms(f"{t[:4]}-{t[4:6]}-{t[6:8]}T{t[9:11]}:{t[11:13]}:{t[13:15]}Z") for t in key.split("/")[-1].split("_")[:2]
        )
        if first < high and last + 1000 > low:
            wanted.append(key)
    assert remote.stderr.count("S3 GetObject 200") == len(wanted)
    # the midnight-spanning batch filed under the day before is among them
    assert any(k.startswith("opencto/20261120/20261120T235500Z") for k in wanted)
    folders = {key.split("/")[1] for key in archive.objects}
    listed = {
        f for f in folders if ms(f"{f[:4]}-{f[4:6]}-{f[6:]}") < high and ms(f"{f[:4]}-{f[4:6]}-{f[6:]}") + 24 * H > low
    }
    assert listed == {"20261120", "20261121"}  # the day before, for the batch across midnight
    assert f"in 2 day folders; reading {len(wanted)} " in remote.stderr
    assert f"{len(folders) - 2} day folders outside --since/--until not listed" in remote.stderr
    skipped = sum(1 for k in archive.objects if k.split("/")[1] in listed) - len(wanted)
    assert f"skipped {skipped:,} objects whose names put them outside --since/--until" in remote.stderr


def test_nothing_named_in_the_range_is_exit_2_with_the_newest_batch(ctoops, server, day, monkeypatch):
    signed_in(monkeypatch, server)
    result = ctoops("errors", "trend", "s3://logs/opencto/", "--endpoint-url", server.url, "--since", "2026-12-01")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no object under s3://logs/opencto/ falls in --since/--until: ")
    assert "its 4 day folders run from 20261101 to 20261122 (UTC)" in result.stderr
    assert "Traceback" not in result.all
    # a day listed, and nothing in it named in the range: the newest batch is told
    result = ctoops(
        "errors", "trend", "s3://logs/opencto/", "--endpoint-url", server.url, "--since", "2026-11-22T12:00:00Z"
    )
    assert result.exit_code == 2
    assert "the newest batch listed ends 2026-11-22T00:19:45Z" in result.stderr


def test_one_object_by_its_key(ctoops, server, day, monkeypatch):
    archive, local = day
    signed_in(monkeypatch, server)
    key = archive.multi_member[0]
    remote = ctoops("errors", "trend", f"s3://logs/{key}", "--endpoint-url", server.url, "--format", "json")
    assert rows(remote) == rows(ctoops("errors", "trend", str(local.parent / key), "--format", "json"))


def test_memory_stays_flat_as_the_objects_grow(server, tmp_path):
    """Peak RSS of a ctoops process reading N and then 4N objects (~1,000 events each),
    taken as the process's own VmHWM (benchmarks/peak_rss.py says why not ru_maxrss)."""
    s3 = server.client()
    s3.create_bucket(Bucket="growth")
    n = 40
    for name, count in (("small/", n), ("large/", 4 * n)):
        archive = build(name, DAY_MS, DAY_MS + count * 600_000, every_ms=600, batch_ms=600_000)
        for key, data in archive.objects.items():
            s3.put_object(Bucket="growth", Key=key, Body=data)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CTOOPS_", "PYTHON_KEYRING"))}
    env |= {"AWS_ACCESS_KEY_ID": server.key_id, "AWS_SECRET_ACCESS_KEY": server.secret}
    env |= {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull}
    peaks, requests = {}, {}
    for name in ("small/", "large/"):
        peak = tmp_path / f"{name[:-1]}.peak"
        args = ["errors", "trend", f"s3://growth/{name}", "--endpoint-url", server.url, "--format", "json"]
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "peak_rss.py"), str(peak), "ctoops", *args],
            capture_output=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr.decode()
        peaks[name] = int(peak.read_text()) / 1024  # MiB
        requests[name] = sum(r["requests"] for r in json.loads(done.stdout))
    assert requests["large/"] > 3.9 * requests["small/"] > 3.9 * 20_000
    # 4x the objects and events (~40 MB more NDJSON through the readers): not even +16 MiB
    assert peaks["large/"] - peaks["small/"] < 16, peaks
