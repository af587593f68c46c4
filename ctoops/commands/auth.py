"""ctoops auth: the OpenCTO session token, kept in the OS keyring per profile and API URL."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from ctoops.commands._options import format_option, pass_app, read_secret

if TYPE_CHECKING:
    from ctoops.context import AppContext

INSECURE_HELP = "With no usable OS keyring, save in a 0600 plain-text file instead (prints a warning)."


@click.group()
def auth() -> None:
    """Sign in to the OpenCTO worker: store, check and remove the session token."""


@auth.command("login")
@click.option("--with-token", is_flag=True, help="Read the token from standard input (for scripts).")
@click.option("--no-verify", is_flag=True, help="Store without asking the worker whether it accepts the token.")
@click.option("--insecure-storage", is_flag=True, help=INSECURE_HELP)
@click.option(
    "--cloudflare", is_flag=True, help="Store a Cloudflare API token instead (errors trend's Cloudflare sources)."
)
@pass_app
def auth_login(app: AppContext, with_token: bool, no_verify: bool, insecure_storage: bool, cloudflare: bool) -> None:
    """Store the OpenCTO token in the OS keyring for this profile and API URL.

    The token is read from a hidden prompt, or from stdin with --with-token; never from the
    command line. It is checked against the worker first (a 401 stores nothing). With
    --cloudflare: a Cloudflare API token, checked with Cloudflare (and the token's account id,
    when it has exactly one), for `errors trend` and `doctor logs`.

    \b
    Examples:
      ctoops auth login
      echo "$OPENCTO_TOKEN" | ctoops --profile prod auth login --with-token
      ctoops auth login --cloudflare
    """
    if app.settings.sandbox:  # before any prompt: the simulation needs no token and keeps none
        app.notify("sandbox: no token is needed, nothing was stored")
        return
    if cloudflare:
        from ctoops.cloudflare.login import login
        from ctoops.keys import clean_secret
        from ctoops.redact import register

        secret = clean_secret(read_secret("Cloudflare API token", with_token, "--with-token"), "token")
        register(secret)
        for line in login(app, secret, check=not no_verify, insecure=insecure_storage):
            click.echo(line)
        if os.environ.get("CLOUDFLARE_API_TOKEN") or os.environ.get("CF_API_TOKEN"):
            app.notify("note: CLOUDFLARE_API_TOKEN / CF_API_TOKEN is set and takes precedence over the stored token")
        return
    from ctoops import backends
    from ctoops.checks.credentials import token_check
    from ctoops.keys import clean_secret
    from ctoops.redact import mask, register
    from ctoops.secrets import token_account

    s = app.settings
    token = clean_secret(read_secret("OpenCTO token", with_token, "--with-token"), "token")
    register(token)
    if not no_verify:
        backend = backends.worker_backend(app, token)
        token_check(backend, s.workspace, mask(token), "the prompt")()
    where = app.store.set(token_account(s.profile, s.api_url), token, insecure=insecure_storage)
    if insecure_storage and not s.sandbox:
        app.notify(f"warning: the token is saved in plain text in {app.store.insecure_path}")
    profile = f" (profile {s.profile})" if s.profile else ""
    click.echo(f"Logged in to {s.api_url}{profile}: token {mask(token)} saved in {where}")
    if os.environ.get("OPENCTO_TOKEN"):
        app.notify("note: OPENCTO_TOKEN is set and takes precedence over the stored token")


@auth.command("status")
@format_option
@pass_app
def auth_status(app: AppContext, fmt: str) -> None:
    """Check the token: where it comes from, whether the worker is up and accepts it.

    Calls /api/v1/health (no auth) and an authenticated route. Exits 3 when the token is
    missing or rejected, 4 when the worker cannot be reached.
    """
    from ctoops import backends
    from ctoops.checks import finish, run_checks
    from ctoops.checks.credentials import health_check, token_check
    from ctoops.errors import NotAuthenticated
    from ctoops.redact import mask
    from ctoops.render import emit_checks

    s = app.settings
    found = app.token() if not s.sandbox else None
    header = {
        "apiUrl": app.target if s.sandbox else s.api_url,
        "workspace": s.workspace,
        "token": mask(found.value) if found and found.value else ("sandbox" if s.sandbox else None),
        "tokenSource": (found.source if found.value else f"not set ({found.note or found.source})")
        if found
        else "sandbox",
        "keyring": app.store.status().backend if not s.sandbox else None,
        "traceId": app.trace_id,
    }
    if found is not None and not found.value:
        emit_checks([], fmt, header=header)
        raise NotAuthenticated("not logged in: run `ctoops auth login` or set OPENCTO_TOKEN")
    backend = backends.worker_backend(app, found.value if found else None)
    hint = header["token"] or ""
    results = run_checks(
        [
            ("worker_health", health_check(backend)),
            ("token_accepted", token_check(backend, s.workspace, str(hint), str(header["tokenSource"]))),
        ]
    )
    emit_checks(results, fmt, header=header)
    finish(results, "auth status")


@auth.command("logout")
@click.option("--cloudflare", is_flag=True, help="Remove the stored Cloudflare token and ids instead.")
@pass_app
def auth_logout(app: AppContext, cloudflare: bool) -> None:
    """Remove the stored token for this profile and API URL (keyring and insecure file)."""
    from ctoops.secrets import token_account

    s = app.settings
    if s.sandbox:
        app.notify("sandbox: no token is stored for the simulation; nothing was removed")
        return
    if cloudflare:
        from ctoops.cloudflare.login import logout

        removed = logout(app)
        if removed:
            click.echo(f"Removed the Cloudflare {', '.join(removed)}")
        else:
            app.notify("no stored Cloudflare token or ids for this profile; nothing to remove")
        return

    deleted = app.store.delete(token_account(s.profile, s.api_url))
    if deleted:
        click.echo(f"Logged out of {s.api_url}: removed the token from {', '.join(deleted)}")
    else:
        app.notify(f"no stored token for {s.api_url}; nothing to remove")
