"""Backends behind one interface (``base.Backend``), chosen by ``--via`` and ``--sandbox``.

(The factories are not named after the submodules: importing ``ctoops.backends.opencto``
binds that name on this package.)

Credentials are resolved here, before any request is sent: a missing one is exit 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.backends.base import Backend

if TYPE_CHECKING:
    from ctoops.backends.openai import OpenAIBackend
    from ctoops.backends.opencto import OpenCTOBackend
    from ctoops.context import AppContext

ADMIN_FIX = (
    "usage and costs need an OpenAI admin key (sk-admin-…, created at "
    "platform.openai.com/settings/organization/admin-keys): set OPENAI_ADMIN_KEY or run "
    "`ctoops keys set --local --admin`"
)


def make_backend(app: AppContext) -> Backend:
    """The backend for this run: ``--via`` chooses, ``--sandbox`` simulates it."""
    return worker_backend(app) if app.settings.via == "opencto" else openai_backend(app)


def worker_backend(app: AppContext, token: str | None = None) -> OpenCTOBackend:
    """The worker, with ``token`` or the resolved one (flag > env > keyring)."""
    from ctoops.backends.opencto import OpenCTOBackend

    s = app.settings
    if s.sandbox:
        from ctoops.backends import sandbox

        return OpenCTOBackend(sandbox.client(app, "opencto"), sandbox=True)
    return OpenCTOBackend(app.http("opencto", s.api_url, token or app.require_token()))


def openai_backend(app: AppContext, key: str | None = None, admin_key: str | None = None) -> OpenAIBackend:
    """OpenAI directly, with the given keys or the resolved ones (env > keyring), each
    resolved only when an operation needs it."""
    from ctoops.backends.openai import OpenAIBackend

    s = app.settings
    if s.sandbox:
        from ctoops.backends import sandbox

        return OpenAIBackend(lambda admin: sandbox.client(app, "openai"), sandbox=True)

    def client(admin: bool):  # type: ignore[no-untyped-def]
        given = admin_key if admin else key
        return app.http(
            "openai",
            s.openai_base_url,
            given or app.require_openai_key(admin),
            auth_fix=ADMIN_FIX if admin else None,
        )

    return OpenAIBackend(client)


__all__ = ["Backend", "make_backend", "openai_backend", "worker_backend"]
