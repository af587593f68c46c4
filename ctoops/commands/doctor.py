"""ctoops doctor: what this deployment lets ctoops see, and what would let it see more."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ctoops.commands._options import format_option, pass_app

if TYPE_CHECKING:
    from ctoops.context import AppContext


@click.group()
def doctor() -> None:
    """Diagnose the log sources: which work for this deployment now, and how to enable the rest."""


@doctor.command("logs")
@format_option
@pass_app
def doctor_logs(app: AppContext, fmt: str) -> None:
    """Which sources `errors trend` can read for this deployment, what each shows, and the
    setting that would enable the others.

    Probes Workers Observability, GraphQL analytics and the live tail with one read-only
    call each (no tail is created). Exits 0 when a Cloudflare source is usable, 1 when none
    is, 3 with no Cloudflare token (files are always usable). With --sandbox: the built-in
    log sample and files (exit 0); Cloudflare is not simulated, so nothing is probed.

    \b
    Examples:
      ctoops doctor logs
      CLOUDFLARE_API_TOKEN=... CLOUDFLARE_ACCOUNT_ID=... ctoops doctor logs --format json
    """
    from ctoops.checks.clock import now
    from ctoops.cloudflare import doctor as core
    from ctoops.cloudflare.settings import resolve
    from ctoops.errors import CheckFailed, NotAuthenticated
    from ctoops.render import emit

    if app.settings.sandbox:  # no Cloudflare call, no keyring: the simulation's own sources
        app.notify("sandbox: the simulation's log sources, not a real deployment's")
        emit(
            [f.row() for f in core.sandbox()],
            fmt,
            columns=["source", "usable", "shows", "needs", "detail"],
            blocks=True,
        )
        return
    settings = resolve(app)
    if settings.configured:
        from ctoops.cloudflare.target import make_target

        target = make_target(app, settings)
        findings = core.probe(target, now_ms=lambda: int(now() * 1000))
    else:
        findings = core.unconfigured()
    emit([f.row() for f in findings], fmt, columns=["source", "usable", "shows", "needs", "detail"], blocks=True)
    for name, shown in settings.shown().items():
        app.notify(f"{name}: {shown}")
    if not settings.configured:
        raise NotAuthenticated(
            "no Cloudflare token: only files can be read; set CLOUDFLARE_API_TOKEN "
            "or run `ctoops auth login --cloudflare`"
        )
    if not any(f.usable for f in findings if f.source in ("observability", "graphql", "live")):
        raise CheckFailed("no Cloudflare source can see this worker: see the `needs` column")
