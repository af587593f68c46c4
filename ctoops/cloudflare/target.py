"""The deployment as Cloudflare knows it: account, zone and script, looked up when not set.

``Target`` is built once per run from :class:`~ctoops.cloudflare.settings.CloudflareSettings`
and the v4 API; each id is looked up only when a source needs it and no setting gave it.
Lookups (all v4 envelopes, ``../shared/reference/cloudflare-live-sources.md`` §0-1):

* account: ``GET /accounts`` - the token's accounts; exactly one is used, several are exit 2
  naming them (set ``CLOUDFLARE_ACCOUNT_ID``);
* zone: ``GET /zones?name=<suffix>`` for each suffix of the worker's host with at least two
  labels, longest first; a ``*.workers.dev`` host is in no zone (exit 2: the zone dataset
  cannot see it);
* script: ``GET /zones/{zone}/workers/routes`` and the route whose pattern matches the host
  (wrangler's ``getWorkerForZone``).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from ctoops.cloudflare.api import CloudflareApi
from ctoops.cloudflare.settings import CloudflareSettings
from ctoops.errors import BadInput, NotAuthenticated


class CannotSee(BadInput):
    """A source that cannot see this worker (exit 2): not enabled, wrong zone, no events."""


@dataclass
class Target:
    """Account, zone and script of the deployment, with where each came from."""

    settings: CloudflareSettings
    api: CloudflareApi
    notes: dict[str, str] = field(default_factory=dict)  # setting -> how it was found
    # re-entrant: script() looks the zone up (zone_id()) while holding it
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _account: str | None = None
    _zone: str | None = None
    _script: str | None = None

    @property
    def host(self) -> str:
        return self.settings.host

    def account_id(self) -> str:
        """The account id: the setting, else the token's only account."""
        with self._lock:
            if self._account is None:
                self._account = self._find_account()
            return self._account

    def zone_id(self) -> str:
        """The zone carrying the worker's host; exit 2 for a ``*.workers.dev`` host or none found."""
        with self._lock:
            if self._zone is None:
                self._zone = self._find_zone()
            return self._zone

    def script(self) -> str:
        """The Worker script's name."""
        with self._lock:
            if self._script is None:
                self._script = self._find_script()
            return self._script

    # -- lookups ------------------------------------------------------------------------------

    def _find_account(self) -> str:
        s = self.settings.account_id
        if s.value:
            self.notes["account_id"] = s.source
            return s.value
        accounts = self.api.call("GET", "/accounts", params={"per_page": 50}) or []
        ids = [(a.get("id"), a.get("name")) for a in accounts if isinstance(a, dict) and a.get("id")]
        if len(ids) == 1:
            self.notes["account_id"] = f"the token's only account ({ids[0][1]})"
            return str(ids[0][0])
        if not ids:
            raise NotAuthenticated(
                "the Cloudflare token sees no account (GET /accounts is empty): set CLOUDFLARE_ACCOUNT_ID, "
                "and give the token access to the account"
            )
        listed = ", ".join(f"{i} ({n})" for i, n in ids[:5])
        raise BadInput(f"the Cloudflare token sees {len(ids)} accounts ({listed}): set CLOUDFLARE_ACCOUNT_ID")

    def _find_zone(self) -> str:
        s = self.settings.zone_id
        if s.value:
            self.notes["zone_id"] = s.source
            return s.value
        host = self.host
        if not host:
            raise BadInput("no worker host to find the zone from: set --api-url or CLOUDFLARE_ZONE_ID")
        if host.endswith(".workers.dev"):
            raise CannotSee(
                f"{host} is a *.workers.dev host, which is in no zone: the GraphQL zone dataset cannot see this "
                "worker (use --source observability or live, or route the worker on a zone)"
            )
        labels = host.split(".")
        for i in range(len(labels) - 1):
            name = ".".join(labels[i:])
            zones = self.api.call("GET", "/zones", params={"name": name}) or []
            for zone in zones:
                if isinstance(zone, dict) and zone.get("name") == name and zone.get("id"):
                    self.notes["zone_id"] = f"the zone {name}, looked up from the host {host}"
                    return str(zone["id"])
        raise CannotSee(
            f"no zone this token can read carries {host} (GET /zones?name=... for each suffix): set "
            "CLOUDFLARE_ZONE_ID, or give the token Zone Read on the worker's zone"
        )

    def _find_script(self) -> str:
        s = self.settings.script
        if s.value:
            self.notes["script"] = s.source
            return s.value
        zone = self.zone_id()
        routes = self.api.call("GET", f"/zones/{zone}/workers/routes") or []
        for route in routes:
            if not isinstance(route, dict) or not route.get("script"):
                continue
            pattern = str(route.get("pattern", ""))
            host_pattern = pattern.split("/", 1)[0]
            if fnmatch.fnmatchcase(self.host, host_pattern):
                self.notes["script"] = f"the zone's route {pattern}"
                return str(route["script"])
        raise BadInput(
            f"no Worker route of the zone matches {self.host}: set CLOUDFLARE_SCRIPT_NAME to the worker's script name"
        )


def make_target(app: Any, settings: CloudflareSettings | None = None) -> Target:
    """The run's Target; exit 3 when no Cloudflare token is configured."""
    from ctoops.cloudflare import settings as cf_settings
    from ctoops.cloudflare.api import make_http

    found = settings or cf_settings.resolve(app)
    if not found.token.value:
        raise NotAuthenticated(
            "no Cloudflare API token: set CLOUDFLARE_API_TOKEN (or CF_API_TOKEN), or run "
            "`ctoops auth login --cloudflare`"
        )
    return Target(found, CloudflareApi(make_http(app, found.base_url, found.token.value)))
