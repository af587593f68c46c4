"""``ctoops auth login --cloudflare`` / ``logout --cloudflare``: the Cloudflare token (and the
account id it found) in the OS keyring, per profile (``ctoops.cloudflare.settings``).

The token is checked first with ``GET /user/tokens/verify`` (v4 envelope, ``result.status``
``"active"``); an account-owned token answers there with an authentication error, so when an
account id is known ``GET /accounts/{id}/tokens/verify`` is tried too. A refused token is
never stored (exit 3).
"""

from __future__ import annotations

from typing import Any

from ctoops.cloudflare.api import CloudflareApi, make_http
from ctoops.cloudflare.settings import keyring_account, resolve
from ctoops.errors import NotAuthenticated


def verify(api: CloudflareApi, account: str | None) -> str:
    """The token's status (``active``); raises NotAuthenticated when Cloudflare refuses it."""
    try:
        result = api.call("GET", "/user/tokens/verify")
    except NotAuthenticated:
        if not account:
            raise
        result = api.call("GET", f"/accounts/{account}/tokens/verify")
    status = str((result or {}).get("status", "unknown"))
    if status != "active":
        raise NotAuthenticated(f"Cloudflare says this token is {status!r}, not active: nothing was stored")
    return status


def login(app: Any, token: str, *, check: bool, insecure: bool) -> list[str]:
    """Store ``token`` (verified unless ``check`` is False) and, when the token has exactly one
    account and none is configured, that account's id. Returns the lines to print."""
    from ctoops.redact import mask

    s = app.settings
    configured = resolve(app)
    api = CloudflareApi(make_http(app, configured.base_url, token))
    account = configured.account_id.value
    lines = []
    if check:
        verify(api, account)
    if not account:
        accounts = api.call("GET", "/accounts", params={"per_page": 50}) or []
        ids = [a for a in accounts if isinstance(a, dict) and a.get("id")]
        if len(ids) == 1:
            account = str(ids[0]["id"])
            app.store.set(keyring_account("account-id", s.profile), account, insecure=insecure)
            lines.append(f"account {account} ({ids[0].get('name')}), the token's only account, saved too")
        else:
            lines.append(
                f"the token sees {len(ids)} accounts: set CLOUDFLARE_ACCOUNT_ID "
                "(or the profile's cloudflare_account_id)"
            )
    where = app.store.set(keyring_account("token", s.profile), token, insecure=insecure)
    profile = f" (profile {s.profile})" if s.profile else ""
    lines.insert(0, f"Cloudflare token {mask(token)} saved in {where}{profile}")
    return lines


def logout(app: Any) -> list[str]:
    """Delete every Cloudflare entry of the profile; returns what was removed."""
    s = app.settings
    removed = []
    for what in ("token", "account-id", "zone-id", "script"):
        for place in app.store.delete(keyring_account(what, s.profile)):
            removed.append(f"{what} from {place}")
    return removed
