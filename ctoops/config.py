"""Settings resolution: flag > environment > profile in the config file > default.

The config file is TOML (``CTOOPS_CONFIG``, else ``config.toml`` in the platform's user
config dir). It holds named profiles and never secrets::

    default_profile = "staging"

    [profiles.staging]
    api_url = "https://api.staging.example.com"
    workspace = "acme"

Every resolved value remembers where it came from, for ``ctoops config show``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctoops.errors import BadInput

DEFAULT_API_URL = "https://api.opencto.works"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
WORKSPACE_RE = re.compile(r"^[a-zA-Z0-9._-]{1,80}$")
VIAS = ("opencto", "openai")


@dataclass(frozen=True)
class Option:
    """A global setting: its name in the profile, its environment variable, its default."""

    name: str
    env: str | None
    default: Any
    flag: str | None = None


OPTIONS: tuple[Option, ...] = (
    Option("api_url", "OPENCTO_API_BASE_URL", DEFAULT_API_URL, "--api-url"),
    Option("workspace", "OPENCTO_WORKSPACE", "default", "--workspace"),
    Option("via", "CTOOPS_VIA", "opencto", "--via"),
    Option("sandbox", "CTOOPS_SANDBOX", False, "--sandbox"),
    Option("timeout", "CTOOPS_TIMEOUT", 30.0, "--timeout"),
    Option("max_retries", "CTOOPS_MAX_RETRIES", 3, "--max-retries"),
    Option("openai_base_url", "OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL),
)
# Cloudflare's non-secret settings are profile keys too (ctoops.cloudflare.settings reads them)
PROFILE_KEYS = {o.name for o in OPTIONS} | {
    "cloudflare_account_id",
    "cloudflare_zone_id",
    "cloudflare_script",
    "cloudflare_base_url",
}
SECRET_LIKE = re.compile(r"(token|key|secret|password)", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    api_url: str
    workspace: str
    via: str
    sandbox: bool
    timeout: float
    max_retries: int
    openai_base_url: str
    profile: str | None
    config_path: Path
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def workspace_explicit(self) -> bool:
        """True when the workspace was chosen (flag, env or profile), not the implicit default."""
        return self.sources.get("workspace") != "default"


def config_path() -> Path:
    explicit = os.environ.get("CTOOPS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    import click

    return Path(click.get_app_dir("ctoops")) / "config.toml"


def load_file(path: Path) -> dict[str, Any]:
    """The parsed config file, ``{}`` when there is none. Bad files are a clear exit 2."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BadInput(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"the config file {path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise BadInput(f"the config file {path}: `profiles` must be tables like [profiles.NAME]")
    for key in data:
        if key not in ("default_profile", "profiles"):
            raise BadInput(
                f"the config file {path}: unknown top-level key {key!r} "
                "(expected `default_profile` and [profiles.NAME] tables)"
            )
    for name, body in profiles.items():
        for key in body:
            if key in PROFILE_KEYS:
                continue
            if SECRET_LIKE.search(key):
                raise BadInput(
                    f"the config file {path}: profile {name!r} holds {key!r}, but the config file "
                    "never holds secrets; remove it and use `ctoops auth login` / `ctoops keys set "
                    "--local` (OS keyring) or the environment (OPENCTO_TOKEN, OPENAI_API_KEY)"
                )
            raise BadInput(
                f"the config file {path}: profile {name!r} has unknown key {key!r} "
                f"(known: {', '.join(sorted(PROFILE_KEYS))})"
            )
    return data


def resolve(given: dict[str, tuple[Any, str | None]], profile_given: tuple[str | None, str | None]) -> Settings:
    """Resolve every setting.

    ``given`` maps a setting name to (value, source) as Click parsed it from the command line
    or the environment; source is ``None`` when neither set it. ``profile_given`` is the same
    for ``--profile``.
    """
    path = config_path()
    data = load_file(path)
    profiles: dict[str, dict[str, Any]] = data.get("profiles", {})

    profile_name, profile_source = profile_given
    if profile_name is None and data.get("default_profile"):
        profile_name, profile_source = str(data["default_profile"]), f"config {path} (default_profile)"
    if profile_name is not None and profile_name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise BadInput(f"profile {profile_name!r} ({profile_source}) is not in {path} (profiles there: {known})")
    profile = profiles.get(profile_name, {}) if profile_name else {}

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in OPTIONS:
        value, source = given.get(opt.name, (None, None))
        if source is None and opt.env and opt.flag is None and os.environ.get(opt.env):
            # settings with no flag (OPENAI_BASE_URL) are read from the environment here
            value, source = os.environ[opt.env], f"env {opt.env}"
        if source is None and opt.name in profile:
            value, source = profile[opt.name], f"profile {profile_name} ({path})"
        if source is None:
            value, source = opt.default, "default"
        values[opt.name] = _validate(opt.name, value, source)
        sources[opt.name] = source
    if profile_name:
        sources["profile"] = profile_source or "default"
    return Settings(profile=profile_name, config_path=path, sources=sources, **values)


def _validate(name: str, value: Any, source: str) -> Any:
    where = f"{name.replace('_', '-')} from {source}"
    if name in ("api_url", "openai_base_url"):
        text = str(value).rstrip("/")
        if not re.match(r"^https?://[^/\s]+", text):
            raise BadInput(f"{where}: {value!r} is not an http(s) URL")
        return text
    if name == "workspace":
        text = str(value)
        if not WORKSPACE_RE.match(text):
            raise BadInput(
                f"{where}: workspace id {text!r} breaks the worker's rule "
                "(1-80 characters of letters, digits, '.', '_' or '-')"
            )
        return text
    if name == "via":
        if value not in VIAS:
            raise BadInput(f"{where}: {value!r} is not one of {', '.join(VIAS)}")
        return value
    if name == "sandbox":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise BadInput(f"{where}: {value!r} is not a boolean")
    if name == "timeout":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{where}: {value!r} is not a number of seconds") from None
        if not 0 < number <= 600:
            raise BadInput(f"{where}: {value!r} must be more than 0 and at most 600 seconds")
        return number
    if name == "max_retries":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise BadInput(f"{where}: {value!r} is not a whole number") from None
        if not 0 <= number <= 10:
            raise BadInput(f"{where}: {value!r} must be between 0 and 10")
        return number
    return value
