"""ctoops keys: OpenAI keys per workspace on the worker (BYOK), or local in the OS keyring."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import confirm, format_option, pass_app, read_secret

if TYPE_CHECKING:
    from ctoops.context import AppContext

LOCAL_HELP = "The local key in the OS keyring (used by --via openai), not the worker's."
ADMIN_HELP = "With --local: the admin key used for usage and costs."
STDIN_HELP = "Read the key from standard input (for scripts); otherwise a hidden prompt."
INSECURE_HELP = "With --local and no usable OS keyring: save in a 0600 plain-text file (prints a warning)."


@click.group()
def keys() -> None:
    """OpenAI keys: per workspace on the worker (BYOK), or local in the OS keyring.

    Keys are read from a hidden prompt or stdin, never from the command line, and shown
    only as a hint (****abcd).
    """


def _admin_needs_local(local: bool, admin: bool) -> None:
    from ctoops.errors import BadInput

    if admin and not local:
        raise BadInput("--admin goes with --local: the admin key is kept locally, the worker holds none")


@keys.command("set")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
@click.option("--admin", is_flag=True, help=ADMIN_HELP)
@click.option("--stdin", "from_stdin", is_flag=True, help=STDIN_HELP)
@click.option("--no-verify", is_flag=True, help="Save without asking OpenAI first whether it accepts the key.")
@click.option("--insecure-storage", is_flag=True, help=INSECURE_HELP)
@format_option
@pass_app
def keys_set(
    app: AppContext, local: bool, admin: bool, from_stdin: bool, no_verify: bool, insecure_storage: bool, fmt: str
) -> None:
    """Save an OpenAI key: on the worker for the workspace, or locally with --local.

    First OpenAI is asked whether it accepts the key (GET /models with it; for --admin a
    one-day costs page): a key OpenAI rejects is not saved (exit 1). --no-verify skips that.
    Without --local: PUT /api/v1/llm/keys/openai for --workspace; prints the worker's
    keyHint. The key must be at least 8 characters (the worker's rule). Note: the current
    worker does not use a workspace's key for OpenAI calls; it uses its own OPENAI_API_KEY.

    \b
    Examples:
      ctoops --workspace acme keys set
      printf %s "$KEY" | ctoops keys set --local --stdin
      printf %s "$ADMIN_KEY" | ctoops keys set --local --admin --stdin
    """
    from ctoops.keys import PROVIDER, check_api_key, clean_secret, key_warnings
    from ctoops.redact import mask, register
    from ctoops.render import emit
    from ctoops.secrets import openai_account

    _admin_needs_local(local, admin)
    label = "OpenAI admin key" if admin else "OpenAI API key"
    key = check_api_key(clean_secret(read_secret(label, from_stdin)))
    register(key)
    for warning in key_warnings(key, admin):
        app.notify(f"warning: {warning}")
    worker = None if local else app.backend()
    if worker is not None and worker.name != "opencto":
        from ctoops.backends.base import unsupported

        raise unsupported("saving a workspace key", worker.name, "the worker holds workspace keys; use --via opencto")
    if no_verify:
        app.notify("note: --no-verify: OpenAI was not asked whether it accepts this key")
    else:
        _verify_with_openai(app, key, admin)
    s = app.settings
    if local:
        where = app.store.set(openai_account(s.profile, admin), key, insecure=insecure_storage)
        if insecure_storage and not s.sandbox:
            app.notify(f"warning: the key is saved in plain text in {app.store.insecure_path}")
        record: dict[str, Any] = {
            "provider": PROVIDER,
            "kind": "admin" if admin else "api",
            "workspaceId": None,
            "keyHint": mask(key),
            "location": where,
        }
        env = "OPENAI_ADMIN_KEY" if admin else "OPENAI_API_KEY"
        if os.environ.get(env):
            app.notify(f"note: {env} is set and takes precedence over the stored key")
    else:
        assert worker is not None
        saved = worker.save_key(s.workspace, PROVIDER, key)
        if saved.key_hint and saved.key_hint != mask(key):
            app.notify(f"warning: the worker's hint {saved.key_hint} does not match the key sent ({mask(key)})")
        record = {**saved.as_record(), "kind": "api", "location": "worker"}
    emit(record, fmt, columns=["provider", "kind", "workspaceId", "keyHint", "location"])


@keys.command("list")
@click.option("--local", is_flag=True, help="Only the local keys (environment, keyring, file).")
@format_option
@pass_app
def keys_list(app: AppContext, local: bool, fmt: str) -> None:
    """List keys, never a secret: the worker's keys for the workspace and the local ones.

    Each row: provider, kind (api/admin), workspaceId, keyHint, createdAt, updatedAt and
    location (worker, env VAR, keyring with its backend, or the plain-text file).
    """
    from ctoops.render import emit

    s = app.settings
    rows: list[dict[str, Any]] = []
    if not local and (s.via == "opencto" or s.sandbox):
        for key in app.backend().list_keys(s.workspace):
            rows.append({**key.as_record(), "kind": "api", "location": "worker"})
    rows += _local_rows(app)
    emit(
        rows,
        fmt,
        columns=["provider", "kind", "workspaceId", "keyHint", "createdAt", "updatedAt", "location"],
    )
    if not rows and fmt == "table":
        app.notify("no keys found")


def _local_rows(app: AppContext) -> list[dict[str, Any]]:
    from ctoops.keys import PROVIDER
    from ctoops.redact import mask, register
    from ctoops.secrets import openai_account

    rows = []
    for admin, env in ((False, "OPENAI_API_KEY"), (True, "OPENAI_ADMIN_KEY")):
        kind = "admin" if admin else "api"
        found: list[tuple[str, str]] = []
        if os.environ.get(env):
            register(os.environ[env])
            found.append((os.environ[env], f"env {env}"))
        stored, where = app.store.get(openai_account(app.settings.profile, admin))
        if stored:
            found.append((stored, where))
        for value, location in found:
            rows.append(
                {
                    "provider": PROVIDER,
                    "kind": kind,
                    "workspaceId": None,
                    "keyHint": mask(value),
                    "createdAt": None,
                    "updatedAt": None,
                    "location": location,
                }
            )
    return rows


@keys.command("delete")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
@click.option("--admin", is_flag=True, help=ADMIN_HELP)
@click.option("--yes", is_flag=True, help="Do not ask (required without a terminal).")
@pass_app
def keys_delete(app: AppContext, local: bool, admin: bool, yes: bool) -> None:
    """Delete the workspace's key on the worker, or the local key with --local.

    Asks for confirmation on a terminal; needs --yes otherwise.
    """
    from ctoops.keys import PROVIDER
    from ctoops.secrets import openai_account

    _admin_needs_local(local, admin)
    s = app.settings
    if local:
        what = f"the local OpenAI {'admin' if admin else 'API'} key"
        confirm(f"delete {what}", yes)
        deleted = app.store.delete(openai_account(s.profile, admin))
        if deleted:
            click.echo(f"Deleted {what} from {', '.join(deleted)}")
        else:
            app.notify(f"{what} was not stored; nothing to delete")
        return
    from ctoops.redact import mask_url

    # the sandbox's worker is the simulation: never name the real one in its prompt
    where = "the sandbox's simulated worker" if s.sandbox else mask_url(s.api_url)
    confirm(f"delete the OpenAI key of workspace {s.workspace!r} on {where}", yes)
    worker = "the sandbox's simulated worker" if s.sandbox else "the worker"
    if app.backend().delete_key(s.workspace, PROVIDER):
        click.echo(f"Deleted the OpenAI key of workspace {s.workspace!r} on {worker}")
    else:
        app.notify(f"{worker} holds no OpenAI key for workspace {s.workspace!r}; nothing to delete")


def _verify_with_openai(app: AppContext, key: str, admin: bool) -> None:
    """Ask OpenAI whether it accepts ``key`` before it is saved; exit 1 (nothing saved) if not."""
    from ctoops import backends
    from ctoops.checks import run_check
    from ctoops.checks.credentials import openai_key_check
    from ctoops.errors import with_exit_code
    from ctoops.redact import mask

    backend = backends.openai_backend(app, key=key, admin_key=key)
    result = run_check("openai_key", openai_key_check(backend, mask(key), "the input", admin))
    if not result.ok:
        raise with_exit_code(f"not saved: {result.detail}", result.exit_code)
    app.notify(result.detail)


@keys.command("validate")
@click.option("--local", is_flag=True, help="Validate the local key against OpenAI, not the worker's.")
@click.option("--admin", is_flag=True, help=ADMIN_HELP)
@click.option("--stdin", "from_stdin", is_flag=True, help="Validate the key given on standard input, with OpenAI.")
@format_option
@pass_app
def keys_validate(app: AppContext, local: bool, admin: bool, from_stdin: bool, fmt: str) -> None:
    """Prove what can be proved about a key.

    \b
    --stdin: the key given on standard input, asked of OpenAI directly (GET /models, or a
             one-day costs page for --admin).
    --local: the same with the resolved local key (OPENAI_API_KEY / OPENAI_ADMIN_KEY >
             keyring).
    default: the workspace's key is listed on the worker (its hint), and the models proxy
             answers. The current worker never sends a workspace key to OpenAI (it uses its
             own OPENAI_API_KEY), so whether OpenAI accepts the workspace key cannot be
             proved through it: the result says so.
    A key OpenAI rejects (401 invalid_api_key) exits 1 with OpenAI's code; a quota 429
    exits 5.
    """
    from ctoops import backends
    from ctoops.checks import finish, run_checks
    from ctoops.checks.credentials import openai_key_check, worker_key_check
    from ctoops.checks.proxies import models_check
    from ctoops.keys import clean_secret
    from ctoops.redact import mask, register
    from ctoops.render import emit_checks

    _admin_needs_local(local, admin)
    s = app.settings
    if local or from_stdin:
        if from_stdin:
            key, source = clean_secret(read_secret("key", True)), "stdin"
            register(key)
        else:
            found = app.openai_key(admin)
            key, source = (found.value or app.require_openai_key(admin)), found.source
        openai = backends.openai_backend(app, key=key, admin_key=key)
        checks = [
            (
                "openai_admin_key" if admin else "openai_key",
                openai_key_check(openai, mask(key), source, admin),
            )
        ]
        header = {"keyHint": mask(key), "source": source, "kind": "admin" if admin else "api"}
    else:
        worker = backends.worker_backend(app)
        checks = [
            ("workspace_key", worker_key_check(worker, s.workspace)),
            ("models_proxy", models_check(worker)),
        ]
        header = {"apiUrl": app.target, "workspace": s.workspace, "traceId": app.trace_id}
    results = run_checks(checks)
    emit_checks(results, fmt, header=header)
    finish(results, "keys validate")
