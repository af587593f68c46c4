"""The object every command receives (``ctx.obj``): settings, the run's trace id, credentials
and a lazily built backend, plus the stderr channels (``log`` with ``-v``, ``notify`` always).
Nothing heavy is imported until a command asks for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ctoops import config
from ctoops.errors import BadInput, NotAuthenticated
from ctoops.pool import abandoned
from ctoops.redact import mask_url, redact, register, url_secrets

if TYPE_CHECKING:
    from ctoops.backends.base import Backend
    from ctoops.http import ErrorModel, HttpClient
    from ctoops.secrets import Resolved, SecretStore

TRACE_RE = re.compile(r"[0-9a-f]{32}")


FLAGS = {
    "api_url": ("--api-url", "OPENCTO_API_BASE_URL"),
    "workspace": ("--workspace", "OPENCTO_WORKSPACE"),
    "via": ("--via", "CTOOPS_VIA"),
    "sandbox": ("--sandbox", "CTOOPS_SANDBOX"),
    "timeout": ("--timeout", "CTOOPS_TIMEOUT"),
    "max_retries": ("--max-retries", "CTOOPS_MAX_RETRIES"),
    "openai_base_url": ("--openai-base-url", "OPENAI_BASE_URL"),
}


@dataclass(eq=False)
class AppContext:
    """The run's state: ``click_ctx`` is the root command's context, which holds the parsed
    global options and where each came from."""

    click_ctx: click.Context
    token_flag: str | None = None
    verbose: bool = False
    show_traceback: bool = False
    trace_id: str = ""
    _settings: config.Settings | None = None
    _store: SecretStore | None = None
    _backend: Backend | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.token_flag:
            register(self.token_flag)
        if not self.trace_id:
            self.trace_id = trace_id_from_env()

    @property
    def target(self) -> str:
        """What this run talks to: the worker's URL, OpenAI's, or the sandbox (credentials masked)."""
        s = self.settings
        if s.sandbox:
            return "sandbox (built-in simulation)"
        return mask_url(s.api_url if s.via == "opencto" else s.openai_base_url)

    # -- settings and secrets ---------------------------------------------------------------

    @property
    def settings(self) -> config.Settings:
        """The resolved settings; a broken config file is raised here, on first use (exit 2)."""
        if self._settings is None:
            ctx = self.click_ctx
            problem = ctx.meta.get("ctoops.config_error")
            if problem is not None:
                raise problem
            profile, file, where = ctx.meta.get("ctoops.profile") or (None, config.config_file(), None)
            from pathlib import Path

            path = Path(file)
            sources = {name: config.describe_source(ctx, name, flag, env) for name, (flag, env) in FLAGS.items()}
            if profile:
                sources["profile"] = where or "default"
            values = {name: ctx.params[name] for name in FLAGS}
            if values["sandbox"]:  # an unknown fault stops the run before any step (exit 2)
                from ctoops.sandbox import parse_faults

                parse_faults(os.environ.get("CTOOPS_SANDBOX_FAULTS", ""))
            self._settings = config.Settings(profile=profile, config_path=path, sources=sources, **values)
            for name in ("api_url", "openai_base_url"):
                if url_secrets(values[name]):
                    self.notify(
                        f"warning: {name.replace('_', '-')} ({sources[name]}) carries a credential; it is masked in "
                        "output, but belongs in the credential settings (OPENCTO_TOKEN, OPENAI_API_KEY), not the URL"
                    )
        return self._settings

    @property
    def store(self) -> SecretStore:
        if self._store is None:
            if self.settings.sandbox:  # never the OS keyring or the credentials file
                from ctoops.sandbox.store import SandboxStore

                self._store = SandboxStore(self.settings.profile)
            else:
                from ctoops.secrets import SecretStore

                self._store = SecretStore(self.settings.config_path.parent / "credentials.json")
        return self._store

    def token(self) -> Resolved:
        from ctoops.secrets import resolve, token_account

        s = self.settings
        return resolve(
            self.store,
            flag=self.token_flag,
            flag_name="--token",
            env="OPENCTO_TOKEN",
            account=token_account(s.profile, s.api_url),
        )

    def openai_key(self, admin: bool = False) -> Resolved:
        from ctoops.secrets import openai_account, resolve

        return resolve(
            self.store,
            flag=None,
            flag_name="",
            env="OPENAI_ADMIN_KEY" if admin else "OPENAI_API_KEY",
            account=openai_account(self.settings.profile, admin),
        )

    def require_token(self) -> str:
        found = self.token()
        if not found.value:
            note = f" ({found.note})" if found.note else ""
            raise NotAuthenticated(f"no OpenCTO token{note}: run `ctoops auth login` or set OPENCTO_TOKEN")
        return found.value

    def require_openai_key(self, admin: bool = False) -> str:
        found = self.openai_key(admin)
        if found.value:
            return found.value
        note = f" ({found.note})" if found.note else ""
        if admin:
            raise NotAuthenticated(
                f"no OpenAI admin key{note}: usage and costs need an admin key "
                "(platform.openai.com/settings/organization/admin-keys); set OPENAI_ADMIN_KEY "
                "or run `ctoops keys set --local --admin`"
            )
        raise NotAuthenticated(f"no OpenAI API key{note}: set OPENAI_API_KEY or run `ctoops keys set --local`")

    # -- stderr -------------------------------------------------------------------------------

    def log(self, line: str) -> None:
        """A ``-v`` line on stderr, redacted; none from a worker left behind by Ctrl-C."""
        if self.verbose and not abandoned():
            click.echo(f"ctoops: {redact(line)}", err=True)

    def notify(self, line: str) -> None:
        """One notice on stderr, ``ctoops: ...``, redacted; on a terminal wrapped at word
        boundaries to its width with a hanging indent (piped: one line, for grep). None from
        a worker thread the run left behind on Ctrl-C or SIGTERM (``pool.abandoned``)."""
        if abandoned():
            return
        text = f"ctoops: {redact(line)}"
        if sys.stderr.isatty():
            from ctoops.render import stderr_width, wrapped

            text = wrapped(text, width=stderr_width()) or text
        click.echo(text, err=True)

    # -- HTTP and backends ----------------------------------------------------------------------

    def http(
        self,
        errors: ErrorModel,
        base_url: str,
        token: str | None,
        *,
        trace: bool = False,
        headers: dict[str, str] | None = None,
        transport: Any = None,
    ) -> HttpClient:
        """An HTTP client for one service with this run's timeout, retries, ``-v`` log and
        notices; ``trace`` sends the run's trace headers (the worker's); closed at the end."""
        from ctoops.http import HttpClient

        s = self.settings
        client = HttpClient(
            base_url,
            errors=errors,
            token=token,
            timeout=s.timeout,
            max_retries=s.max_retries,
            trace_id=self.trace_id if trace else None,
            log=self.log,
            notify=self.notify,
            headers=headers,
            transport=transport,
        )
        self.on_close(client.close)
        return client

    def backend(self) -> Backend:
        if self._backend is None:
            from ctoops.backends import make_backend

            self._backend = make_backend(self)
        return self._backend

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the command ends (clients closed, temporary files removed)."""
        self._closers.append(fn)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def trace_id_from_env() -> str:
    """``CTOOPS_TRACE_ID`` when set (validated), else a fresh W3C trace id for this run."""
    value = os.environ.get("CTOOPS_TRACE_ID", "").strip()
    if not value:
        while True:
            candidate = os.urandom(16).hex()  # 32 lowercase hex digits, never all zeros
            if candidate.strip("0"):
                return candidate
    lowered = value.lower()
    if not TRACE_RE.fullmatch(lowered) or not lowered.strip("0"):
        raise BadInput(f"CTOOPS_TRACE_ID {value!r} is not a trace id: it must be 32 hex digits, not all zeros")
    return lowered
