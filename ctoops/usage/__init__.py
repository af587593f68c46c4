"""Usage and costs, for on-call and for finance: one package, one module per concern.

* ``shapes``: every documented answer shape (usage page, costs page, legacy list) read into
  rows, wrong types named (exit 4);
* ``rows``: the column store the parsers fill;
* ``query``: what a pull asks for, and the rules checked before any request;
* ``pull``: windows, paging and cursors, concurrency; ``adaptive``: fewer requests at a time
  while the API answers 429;
* ``frame``: the Arrow table (and pandas frame) and exact sums; ``1mo`` buckets;
* ``settled``: the settled-through mark; ``forecast``: the month-end forecast;
  ``budget``: the budget gate;
* ``report``: the sections a summary or report shows; ``export``: CSV/JSON/Parquet;
  ``workbook``: the Excel workbook.

Importing this package costs no pandas or pyarrow: the heavy modules import them inside.
"""

from ctoops.usage.shapes import (
    DATE_PARAM_MEANING,
    KIND_GROUPS,
    KIND_METRICS,
    Page,
    is_date_param_error,
    parse_costs,
    parse_usage,
)

__all__ = [
    "DATE_PARAM_MEANING",
    "KIND_GROUPS",
    "KIND_METRICS",
    "Page",
    "is_date_param_error",
    "parse_costs",
    "parse_usage",
]
