"""Cloudflare settings: where the token, account, zone and script name come from.

Each setting, first found wins: the environment, the profile key (config file), the keyring
entry (``ctoops auth login --cloudflare``), then a lookup or default:

* API token: ``CLOUDFLARE_API_TOKEN``, then ``CF_API_TOKEN``; keyring ``cloudflare-token``
  (never a profile key: the config file holds no secret);
* account id: ``CLOUDFLARE_ACCOUNT_ID``, then ``CF_ACCOUNT_ID``; ``cloudflare_account_id``;
  keyring ``cloudflare-account-id``;
* zone id: ``CLOUDFLARE_ZONE_ID``; ``cloudflare_zone_id``; keyring ``cloudflare-zone-id``;
* script name: ``CLOUDFLARE_SCRIPT_NAME``; ``cloudflare_script``; keyring ``cloudflare-script``;
* API base URL: ``CLOUDFLARE_BASE_URL`` (the official SDKs' variable); ``cloudflare_base_url``.

``CLOUDFLARE_API_TOKEN`` wins over ``CF_API_TOKEN``: it is the name wrangler and Cloudflare's
SDKs read; ``CF_API_TOKEN`` is what the OpenCTO worker's own environment calls it, accepted so
that the same shell works. When both are set and differ, ctoops says which one it used.

Left unset: the account is the token's only account (``GET /accounts``); the zone is the
one named by a suffix of the API URL's host (``GET /zones?name=``); the script is
``opencto-api`` for the production URL (``api.opencto.works``, wrangler.toml's
``[env.production]``), the first label of a ``*.workers.dev`` host, else the Worker the
zone routes the host to (``GET /zones/{id}/workers/routes``, as ``wrangler tail`` resolves
a route). Those lookups live in ``ctoops.cloudflare.target``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click

from ctoops.cloudflare.api import DEFAULT_BASE_URL
from ctoops.errors import BadInput
from ctoops.params import UrlType
from ctoops.redact import register

PRODUCTION_HOST = "api.opencto.works"
PRODUCTION_SCRIPT = "opencto-api"  # wrangler.toml [env.production] name (cloudflare-live-sources.md §0)
PROFILE_KEYS = ("cloudflare_account_id", "cloudflare_zone_id", "cloudflare_script", "cloudflare_base_url")


def keyring_account(what: str, profile: str | None) -> str:
    """The keyring entry name for ``what`` (token, account-id, zone-id, script) in a profile."""
    return f"cloudflare-{what}:{profile or 'default'}"


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str  # "env CLOUDFLARE_ACCOUNT_ID", "profile prod (...)", "keyring (...)", "not set"


@dataclass(frozen=True)
class CloudflareSettings:
    """The Cloudflare settings as configured (before any API lookup)."""

    token: Setting
    account_id: Setting
    zone_id: Setting
    script: Setting
    base_url: str
    base_url_source: str
    host: str  # the worker's host, from the API URL (--api-url / OPENCTO_API_BASE_URL)

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def configured(self) -> bool:
        """True when a token is there: the live sources can be tried."""
        return bool(self.token.value)

    def rows(self) -> list[dict[str, Any]]:
        """``config show`` rows: setting, value (the token masked), source."""
        from ctoops.redact import mask

        token = self.token
        return [
            {
                "setting": "cloudflare_token",
                "value": mask(token.value) if token.value else None,
                "source": token.source,
            },
            {"setting": "cloudflare_account_id", "value": self.account_id.value, "source": self.account_id.source},
            {"setting": "cloudflare_zone_id", "value": self.zone_id.value, "source": self.zone_id.source},
            {"setting": "cloudflare_script", "value": self.script.value, "source": self.script.source},
            {"setting": "cloudflare_base_url", "value": self.base_url, "source": self.base_url_source},
        ]

    def shown(self) -> dict[str, str]:
        """Every setting and its source, for ``doctor logs`` and ``config show`` (token masked)."""
        from ctoops.redact import mask

        return {
            "cloudflare_token": f"{mask(self.token.value) if self.token.value else '(none)'} ({self.token.source})",
            "cloudflare_account_id": f"{self.account_id.value or '(lookup)'} ({self.account_id.source})",
            "cloudflare_zone_id": f"{self.zone_id.value or '(lookup)'} ({self.zone_id.source})",
            "cloudflare_script": f"{self.script.value or '(lookup)'} ({self.script.source})",
            "cloudflare_base_url": f"{self.base_url} ({self.base_url_source})",
        }


def default_script(api_url: str) -> str | None:
    """The script name the API URL implies, when it implies one (see the module docstring)."""
    host = (urlsplit(api_url).hostname or "").lower()
    if host == PRODUCTION_HOST:
        return PRODUCTION_SCRIPT
    if host.endswith(".workers.dev") and host.count(".") >= 3:
        return host.split(".", 1)[0]  # <script>.<subdomain>.workers.dev
    return None


def resolve(app: Any) -> CloudflareSettings:
    """The Cloudflare settings of this run (environment > profile > keyring > derived)."""
    s = app.settings
    profile = _profile(s)
    where = f"profile {s.profile} ({s.config_path})"

    def pick(envs: tuple[str, ...], key: str | None, ring: str | None) -> Setting:
        for env in envs:
            if os.environ.get(env, "").strip():
                return Setting(os.environ[env].strip(), f"env {env}")
        if key and profile.get(key):
            return Setting(str(profile[key]).strip(), where)
        if ring and not s.sandbox:
            value, source = app.store.get(keyring_account(ring, s.profile))
            if value:
                return Setting(value.strip(), source)
        return Setting(None, "not set")

    token = pick(("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"), None, "token")
    register(token.value)
    both = os.environ.get("CLOUDFLARE_API_TOKEN", "").strip(), os.environ.get("CF_API_TOKEN", "").strip()
    if all(both) and both[0] != both[1]:
        app.notify("CLOUDFLARE_API_TOKEN and CF_API_TOKEN differ: using CLOUDFLARE_API_TOKEN")
    account = pick(("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"), "cloudflare_account_id", "account-id")
    zone = pick(("CLOUDFLARE_ZONE_ID",), "cloudflare_zone_id", "zone-id")
    script = pick(("CLOUDFLARE_SCRIPT_NAME",), "cloudflare_script", "script")
    if script.value is None and (implied := default_script(s.api_url)):
        script = Setting(implied, f"derived from the API URL {s.api_url}")
    base = pick(("CLOUDFLARE_BASE_URL",), "cloudflare_base_url", None)
    try:  # the same rule as every base URL (http(s), no query or fragment, credentials registered)
        base_url = UrlType().convert(base.value or DEFAULT_BASE_URL, None, None)
    except click.BadParameter as exc:
        raise BadInput(f"invalid CLOUDFLARE_BASE_URL (from {base.source}): {exc.message}") from None
    for name, item in (("account id", account), ("zone id", zone)):
        if item.value and not item.value.replace("-", "").isalnum():
            raise BadInput(f"Cloudflare {name} from {item.source}: {item.value!r} is not an id (32 hex digits)")
    return CloudflareSettings(
        token=token,
        account_id=account,
        zone_id=zone,
        script=script,
        base_url=base_url,
        base_url_source=base.source if base.value else "default",
        host=(urlsplit(s.api_url).hostname or "").lower(),
    )


def _profile(s: Any) -> dict[str, Any]:
    if not s.profile:
        return {}
    from ctoops.config import load_file

    profile: dict[str, Any] = load_file(s.config_path).get("profiles", {}).get(s.profile, {})
    return profile
