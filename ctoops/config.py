"""Settings: flag > environment > profile in the config file > default, resolved by Click.

The config file is TOML (``CTOOPS_CONFIG``, else ``config.toml`` in the platform's user
config dir). It holds named profiles and never secrets::

    default_profile = "staging"

    [profiles.staging]
    api_url = "https://api.staging.example.com"
    workspace = "acme"

Before the root command parses its options, ``cli.CtoopsGroup`` loads the file and hands the
chosen profile to Click as ``ctx.default_map``; Click then resolves every global option in
the order above, and its parameter types (below) validate each value whatever its source.
``config show`` reads where each came from with ``ctx.get_parameter_source``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ctoops.errors import BadInput
from ctoops.params import Flag, Seconds, UrlType, WholeNumber, WorkspaceType

if TYPE_CHECKING:  # pathlib costs 5 ms of startup; --help reads the config file without it
    from pathlib import Path

__all__ = ["Flag", "Seconds", "Setting", "Settings", "UrlType", "WholeNumber", "WorkspaceType"]

DEFAULT_API_URL = "https://api.opencto.works"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_CONFIG_BYTES = 1 << 20
# the settings a profile may hold: the root command's parameter names
ROOT_KEYS = ("api_url", "workspace", "via", "sandbox", "timeout", "max_retries", "openai_base_url")
# Cloudflare's non-secret settings (no flags: ctoops.cloudflare.settings reads them from the profile)
CLOUDFLARE_KEYS = ("cloudflare_account_id", "cloudflare_zone_id", "cloudflare_script", "cloudflare_base_url")
PROFILE_KEYS = ROOT_KEYS + CLOUDFLARE_KEYS
SECRET_LIKE = re.compile(r"(token|key|secret|password)", re.IGNORECASE)
PROFILE_META = "__ctoops_profile__"  # beside the settings in ``default_map``: (profile name, file)


@dataclass(frozen=True)
class Settings:
    """Every resolved global setting; ``sources`` maps each name to where it came from
    ("flag --workspace", "env OPENCTO_WORKSPACE", "profile prod (<path>)", "default")."""

    api_url: str
    workspace: str
    via: str
    sandbox: bool
    timeout: float  # seconds, per network operation and per attempt in total
    max_retries: int
    openai_base_url: str
    profile: str | None
    config_path: Path
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def workspace_explicit(self) -> bool:
        """True when the workspace was chosen (flag, env or profile), not the implicit default."""
        return self.sources.get("workspace") != "default"


class Setting(click.Option):
    """A global option whose bad value is one line naming the setting and its source."""

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            name = (self.name or "").replace("_", "-")
            where = describe_source(ctx, self.name or "", self.opts[0], self.envvar)
            raise BadInput(f"invalid {name} (from {where}): {exc.message}") from None


def describe_source(ctx: click.Context, name: str, flag: str, envvar: Any) -> str:
    """Where Click took a parameter's value from, in words for people."""
    source = ctx.get_parameter_source(name)
    if source is click.core.ParameterSource.COMMANDLINE:
        return f"flag {flag}"
    if source is click.core.ParameterSource.ENVIRONMENT:
        return f"env {envvar if isinstance(envvar, str) else ', '.join(envvar or [])}"
    if source is click.core.ParameterSource.DEFAULT_MAP:
        name, path = (ctx.default_map or {}).get(PROFILE_META, (None, None))
        return f"profile {name} ({path})"
    return "default"


# -- the config file --------------------------------------------------------------------------


def config_file() -> str:
    """``CTOOPS_CONFIG``, else ``config.toml`` in the platform's user config dir, as a path
    string (the startup path: ``--help`` reads it without importing pathlib)."""
    explicit = os.environ.get("CTOOPS_CONFIG")
    if explicit:
        return os.path.expanduser(explicit)
    return os.path.join(click.get_app_dir("ctoops"), "config.toml")


def config_path() -> Path:
    """``config_file()`` as a Path."""
    from pathlib import Path

    return Path(config_file())


def load_file(path: str | Path) -> dict[str, Any]:
    """The parsed config file, ``{}`` when there is none. Raises BadInput (exit 2) for a file
    that is not a regular file, too large, not TOML, or breaks the rules (unknown keys, a
    secret in it), naming the file and the rule; the file is never rewritten."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return {}  # before importing tomllib: most runs, and every --help, have no file
    except OSError as exc:
        raise BadInput(f"cannot read the config file {path}: {exc.strerror}") from None
    import tomllib

    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"the config file {path} is not a regular file (a FIFO, device or folder?)")
    if info.st_size > MAX_CONFIG_BYTES:
        raise BadInput(f"the config file {path} is {info.st_size} bytes; a config file is at most 1 MiB")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise BadInput(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput(f"the config file {path} is not valid TOML: {exc}") from None
    for key in data:
        if key not in ("default_profile", "profiles"):
            raise BadInput(
                f"the config file {path}: unknown top-level key {key!r} "
                "(expected `default_profile` and [profiles.NAME] tables)"
            )
    if "default_profile" in data and not isinstance(data["default_profile"], str):
        raise BadInput(f"the config file {path}: `default_profile` must be a profile name")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise BadInput(f"the config file {path}: `profiles` must be tables like [profiles.NAME]")
    for name, body in profiles.items():
        for key, value in body.items():
            if key not in PROFILE_KEYS:
                known = f"(known: {', '.join(sorted(PROFILE_KEYS))})"
                if SECRET_LIKE.search(key):  # a name like a credential's: say where secrets go too
                    raise BadInput(
                        f"the config file {path}: profile {name!r} has unknown key {key!r} {known}; if it "
                        "is a credential, the config file never holds one: use `ctoops auth login` / "
                        "`ctoops keys set --local` (OS keyring) or the environment (OPENCTO_TOKEN, OPENAI_API_KEY)"
                    )
                raise BadInput(f"the config file {path}: profile {name!r} has unknown key {key!r} {known}")
            if isinstance(value, (dict, list)):
                raise BadInput(f"the config file {path}: profile {name!r} key {key!r} must be a single value")
    return data


def choose_profile(
    data: dict[str, Any], given: str | None, given_source: str, path: str | Path
) -> tuple[str | None, str]:
    """(profile name, where it came from): ``--profile``/``CTOOPS_PROFILE``, else the file's
    ``default_profile``, else none. Raises BadInput for a profile the file does not hold."""
    name, source = given, given_source
    if name is None and data.get("default_profile"):
        name, source = str(data["default_profile"]), f"config {path} (default_profile)"
    profiles: dict[str, Any] = data.get("profiles", {})
    if name is not None and name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise BadInput(f"profile {name!r} ({source}) is not in {path} (profiles there: {known})")
    return name, source
