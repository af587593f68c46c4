"""The ops-path family (runbook step 4): the models list and a small usage range answer.

Through the worker these are its proxies (``/api/v1/cto/openai/models``, ``/usage``); via
OpenAI, ``/v1/models`` and the organization usage API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.backends.base import UsageRequest
from ctoops.checks import Check, Outcome, clock
from ctoops.dates import DAY, day_start, iso_day
from ctoops.errors import CheckFailed, OpenAIRejected

if TYPE_CHECKING:
    from ctoops.backends.base import Backend


def models_check(backend: Backend, match: str | None = None) -> Check:
    """A check that the model list answers and, with ``match`` (a glob or a substring), that
    some model matches it; an empty list (or no match) fails with exit 1."""

    def check() -> Outcome:
        from ctoops.models import select_models

        chosen = select_models(backend.list_models(), match)
        if not chosen:
            raise CheckFailed(f"no model matches {match!r}" if match else "the model list is empty")
        said = f"{len(chosen)} models match {match!r}" if match else f"{len(chosen)} models listed"
        return Outcome(said, {"models": len(chosen)})

    return check


def usage_check(backend: Backend) -> Check:
    """A check that usage for yesterday (UTC, by ``clock.now``) answers in a documented shape.

    The worker's usage proxy calls OpenAI's legacy ``/v1/usage`` without its ``date``
    parameter; OpenAI's "Missing query parameter 'date'" answer is named as that known
    worker defect (opencto-worker-api.md, "OpenAI operational proxies")."""

    def check() -> Outcome:
        from ctoops.usage import DATE_PARAM_MEANING, is_date_param_error, parse_usage

        end = day_start(clock.now())
        start = end - DAY
        try:
            body = backend.usage_page(UsageRequest("completions", start, end, "1d", (), limit=1))
        except OpenAIRejected as exc:
            if is_date_param_error(exc.openai_message):
                raise CheckFailed(
                    f"{exc.format_message()}: {DATE_PARAM_MEANING}", status=exc.status, code=exc.code
                ) from None
            raise
        page = parse_usage(body, "completions", (), "the usage answer")
        requests = sum(v for v in page.rows.column("num_model_requests") if v is not None)
        shape = "organization usage page" if page.shape == "page" else "legacy /v1/usage list"
        return Outcome(
            f"usage for {iso_day(start)}: {shape}, {requests} requests",
            {"usageShape": page.shape, "requests": requests},
        )

    return check
