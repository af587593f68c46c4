"""DuckDB reads the JSON: the record rules of ``records.py``, written in SQL.

Why DuckDB: its JSON reader, given the columns, parses Logpush NDJSON several times faster
than Arrow's (``docs/trends-engine.md`` has the measurements), reads gzip and many files in
parallel, and keeps memory bounded. Every leaf is read as text and checked here exactly as
``records.py`` checks it, so a record DuckDB would read leniently (``429.5`` as a status,
``true`` as a number) is flagged instead.

DuckDB's counts are used only for input it read cleanly: a file or chunk it refuses (a torn
record, invalid UTF-8, a value of the wrong shape), or in which it finds a record to skip or
a sampling notice (whose place in the stream matters), is handed back (``None``) and read
record by record, which counts and locates every skip. Output: ``Group`` tuples, one per
distinct (kind, window, method, candidate URL, status, outcome), per file when asked.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ctoops.trends.ledger import MAX_RECORD
from ctoops.trends.records import RFC3339, Group, Params

if TYPE_CHECKING:
    from ctoops.trends.layout import Layout

# what DuckDB raises for input it cannot read as given (anything else is a bug: raised)
_REFUSALS = ("InvalidInputException", "ConversionException", "IOException", "OutOfMemoryException")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def columns(layout: Layout) -> str:
    """The ``columns`` map for ``read_json``: only the fields the rules read, all as text."""
    k = layout.keys
    request = f"STRUCT({_q(k['url'])} VARCHAR, {_q(k['method'])} VARCHAR)"
    response = f"STRUCT({_q(k['status'])} VARCHAR)"
    if layout.kind == "tail":
        event = f"STRUCT({_q(k['request'])} {request}, {_q(k['response'])} {response}, {_q(k['type'])} VARCHAR)"
        fields = {k["ts"]: "VARCHAR", k["outcome"]: "VARCHAR", k["event"]: event}
    else:
        event = f"STRUCT({_q(k['request'])} {request}, {_q(k['response'])} {response})"
        fields = {k["ts"]: "VARCHAR", k["outcome"]: "VARCHAR", k["type"]: "VARCHAR", k["event"]: event}
    return "{" + ", ".join(f"{_lit(name)}: {_lit(kind)}" for name, kind in fields.items()) + "}"


def query(layout: Layout, params: Params, relation: str, by_file: bool) -> str:
    """The grouping query over ``relation`` (a ``read_json(...)`` call)."""
    k = layout.keys
    ev = _q(k["event"])
    tail = layout.kind == "tail"
    etype = f"{ev}.{_q(k['type'])}" if tail else _q(k["type"])
    since = f"ts_ms < {params.since_ms}" if params.since_ms is not None else "FALSE"
    until = f"ts_ms >= {params.until_ms}" if params.until_ms is not None else "FALSE"
    candidate = " OR ".join(f"contains(url, {_lit(c)})" for c in params.candidates) or "FALSE"
    window_ms, window_s = params.window_ms, params.window_ms // 1000
    file_col = "filename" if by_file else "NULL"
    return f"""
WITH raw AS (
  SELECT {_q(k["ts"])} AS ts_raw,
         {ev}.{_q(k["request"])}.{_q(k["method"])} AS method,
         {ev}.{_q(k["request"])}.{_q(k["url"])} AS url,
         {ev}.{_q(k["response"])}.{_q(k["status"])} AS status_raw,
         {_q(k["outcome"])} AS outcome,
         {etype} AS etype,
         {ev} IS NOT NULL AS has_event,
         {ev}.{_q(k["request"])} IS NOT NULL AS has_request,
         {file_col} AS file
  FROM {relation}
), typed AS (
  SELECT *, TRY_CAST(ts_raw AS BIGINT) AS ts_int, TRY_CAST(status_raw AS BIGINT) AS status FROM raw
), timed AS (
  SELECT *, CASE
      WHEN ts_int IS NOT NULL AND CAST(ts_int AS VARCHAR) = ts_raw THEN CASE
          WHEN ts_int <= 0 THEN NULL
          WHEN ts_int < 100000000000 THEN ts_int * 1000
          WHEN ts_int < 100000000000000 THEN ts_int
          WHEN ts_int < 100000000000000000 THEN ts_int // 1000
          ELSE ts_int // 1000000 END
      WHEN regexp_full_match(ts_raw, {_lit(RFC3339)}) THEN
          epoch_ms(TRY_CAST(regexp_replace(upper(ts_raw), '(\\.[0-9]{{3}})[0-9]+', '\\1') AS TIMESTAMPTZ))
    END AS ts_ms
  FROM typed
), kinds AS (
  SELECT *, CASE
      WHEN {"TRUE" if tail else "FALSE"} AND has_event AND NOT has_request
           AND etype IN ('overload', 'overload-stop') THEN 'notice:' || etype
      WHEN ts_raw IS NULL THEN 'bad:no-timestamp'
      WHEN ts_ms IS NULL OR ts_ms <= 0 THEN 'bad:timestamp'
      WHEN status_raw IS NOT NULL AND (status IS NULL OR CAST(status AS VARCHAR) <> status_raw) THEN 'bad:status'
      WHEN url IS NULL AND (has_request OR ({"FALSE" if tail else "TRUE"} AND etype = 'fetch')) THEN 'bad:no-url'
      WHEN url IS NULL OR NOT ({"TRUE" if tail else "FALSE"} OR etype IS NULL OR etype = 'fetch') THEN 'other'
      WHEN {since} OR {until} THEN 'outside'
      ELSE 'request' END AS kind
  FROM timed
)
SELECT kind,
       file,
       CASE WHEN kind = 'request' THEN ts_ms // {window_ms} * {window_s} END AS window_start,
       CASE WHEN kind = 'request' THEN method END AS method,
       CASE WHEN kind = 'request' AND ({candidate}) THEN url END AS url,
       CASE WHEN kind = 'request' THEN status END AS status,
       CASE WHEN kind = 'request' THEN outcome END AS outcome,
       count(*) AS n,
       min(ts_ms) AS min_ts,
       max(ts_ms) AS max_ts
FROM kinds
GROUP BY ALL
"""


def relation(layout: Layout, compression: str, by_file: bool) -> str:
    """``read_json`` over the file list given as the query's one parameter."""
    fmt = "unstructured" if layout.pretty else "newline_delimited"
    return (
        f"read_json(?, format = '{fmt}', compression = '{compression}', columns = {columns(layout)}, "
        f"filename = {'true' if by_file else 'false'}, ignore_errors = false, "
        f"maximum_object_size = {MAX_RECORD})"
    )


class Engine:
    """One DuckDB connection (in memory), used from one thread at a time."""

    def __init__(self) -> None:
        import duckdb

        self.con = duckdb.connect(":memory:", config={"preserve_insertion_order": False})
        self.lock = threading.Lock()

    def interrupt(self) -> None:
        """Stop the running query (Ctrl-C on a file read)."""
        self.con.interrupt()

    def files(
        self, paths: list[str], layout: Layout, compression: str, params: Params
    ) -> dict[str, list[Group]] | None:
        """Groups per file for ``paths`` (same layout and compression); None when DuckDB
        refuses any of them (the caller splits the batch)."""
        by_file = len(paths) > 1  # grouping by file name costs; one file needs none
        sql = query(layout, params, relation(layout, compression, by_file=by_file), by_file=by_file)
        rows = self._run(sql, [paths])
        if rows is None:
            return None
        out: dict[str, list[Group]] = {path: [] for path in paths}
        for kind, file, window, method, url, status, outcome, n, low, high in rows:
            group = (kind, window, method, url, status, outcome, n, 1.0, low, high)
            out.setdefault(file if by_file else paths[0], []).append(group)
        return out

    def chunk(self, path: str, layout: Layout, params: Params) -> list[Group] | None:
        """Groups for one chunk file; None when DuckDB refuses it or it holds a record to
        skip or a sampling notice (the record reader then reads it)."""
        sql = query(layout, params, relation(layout, "none", by_file=False), by_file=False)
        rows = self._run(sql, [[path]])
        if rows is None:
            return None
        groups: list[Group] = []
        for kind, _file, window, method, url, status, outcome, n, low, high in rows:
            if kind.startswith(("bad:", "notice:")):
                return None
            groups.append((kind, window, method, url, status, outcome, n, 1.0, low, high))
        return groups

    def _run(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]] | None:
        with self.lock:
            try:
                return self.con.execute(sql, args).fetchall()
            except Exception as exc:
                if type(exc).__name__ in _REFUSALS:
                    return None
                raise


def clean(groups: list[Group]) -> bool:
    """Whether a file's groups hold no record to skip and no sampling notice."""
    return not any(g[0].startswith(("bad:", "notice:")) for g in groups)
