"""Backends behind one interface (``base.Backend``), chosen by ``--via`` and ``--sandbox``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.backends.base import Backend

if TYPE_CHECKING:
    from ctoops.context import AppContext

ADMIN_FIX = (
    "usage and costs need an OpenAI admin key (sk-admin-…, created at "
    "platform.openai.com/settings/organization/admin-keys): set OPENAI_ADMIN_KEY or run "
    "`ctoops keys set --local --admin`"
)


def make_backend(app: AppContext) -> Backend:
    """The backend for this run. Credentials are checked here, before any request is sent."""
    from ctoops.backends.openai import OpenAIBackend
    from ctoops.backends.opencto import OpenCTOBackend

    s = app.settings
    if s.sandbox:
        from ctoops.backends import sandbox

        return sandbox.make(app)
    if s.via == "opencto":
        return OpenCTOBackend(app.http("opencto", s.api_url, app.require_token()))
    return OpenAIBackend(
        lambda admin: app.http(
            "openai",
            s.openai_base_url,
            app.require_openai_key(admin),
            auth_fix=ADMIN_FIX if admin else None,
        )
    )


__all__ = ["Backend", "make_backend"]
