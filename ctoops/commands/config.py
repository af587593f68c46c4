"""ctoops config: where settings come from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ctoops.commands._options import format_option, pass_app

if TYPE_CHECKING:
    from ctoops.context import AppContext


@click.group()
def config() -> None:
    """Show the resolved settings and the config file's path."""


@config.command("show")
@format_option
@pass_app
def config_show(app: AppContext, fmt: str) -> None:
    """Each setting, its value and where it came from (flag, env, profile, default).

    Secrets are shown masked (****abcd); the keyring is only read, never written.
    """
    from ctoops.redact import mask, mask_url
    from ctoops.render import emit

    s = app.settings
    if s.sandbox:  # the settings as they stand; the run itself would use none of the URLs
        app.notify("sandbox: a run answers from the simulation; the URLs and credentials below are not used")
    rows = [
        {"setting": name, "value": getattr(s, name), "source": s.sources[name]}
        for name in ("api_url", "workspace", "via", "sandbox", "timeout", "max_retries", "openai_base_url")
    ]
    for row in rows:
        if row["setting"].endswith("url"):
            row["value"] = mask_url(row["value"])
    rows.insert(0, {"setting": "profile", "value": s.profile, "source": s.sources.get("profile", "none")})
    for label, found in (
        ("token", app.token()),
        ("openai_api_key", app.openai_key(admin=False)),
        ("openai_admin_key", app.openai_key(admin=True)),
    ):
        source = found.source if found.value else f"not set ({found.note or found.source})"
        rows.append({"setting": label, "value": mask(found.value) if found.value else None, "source": source})
    from ctoops.cloudflare.settings import resolve as cloudflare_settings

    rows += cloudflare_settings(app).rows()
    rows.append(
        {
            "setting": "keyring",
            "value": app.store.status().backend,
            "source": "usable" if app.store.status().usable else app.store.status().problem,
        }
    )
    rows.append(
        {
            "setting": "config_file",
            "value": str(s.config_path),
            "source": "exists" if s.config_path.exists() else "absent",
        }
    )
    rows.append(
        {
            "setting": "trace_id",
            "value": app.trace_id,
            "source": "env CTOOPS_TRACE_ID" if _env_trace() else "fresh for this run",
        }
    )
    emit(rows, fmt, columns=["setting", "value", "source"])


@config.command("path")
@pass_app
def config_path(app: AppContext) -> None:
    """Print the config file's path (CTOOPS_CONFIG overrides it)."""
    from ctoops.config import config_path as path

    click.echo(str(path()))


def _env_trace() -> bool:
    import os

    return bool(os.environ.get("CTOOPS_TRACE_ID"))
