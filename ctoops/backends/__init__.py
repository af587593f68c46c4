"""Backends behind one interface (``base.Backend``), chosen by ``--via`` and ``--sandbox``.

(The factories are not named after the submodules: importing ``ctoops.backends.opencto``
binds that name on this package.)

Credentials are resolved here, before any request is sent: a missing one is exit 3.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ctoops.backends.base import Backend

if TYPE_CHECKING:
    from ctoops.backends.openai import OpenAIBackend
    from ctoops.backends.opencto import OpenCTOBackend
    from ctoops.context import AppContext


def make_backend(app: AppContext) -> Backend:
    """The backend for this run: ``--via`` chooses, ``--sandbox`` simulates it."""
    return worker_backend(app) if app.settings.via == "opencto" else openai_backend(app)


def worker_backend(app: AppContext, token: str | None = None) -> OpenCTOBackend:
    """The worker, with ``token`` or the resolved one (flag > env > keyring)."""
    from ctoops.backends.opencto import OpenCTOBackend, WorkerErrors

    s = app.settings
    if s.sandbox:
        from ctoops import sandbox

        return OpenCTOBackend(sandbox.client(app, "opencto"), sandbox=True)
    errors = WorkerErrors(s.api_url)
    return OpenCTOBackend(app.http(errors, s.api_url, token or app.require_token(), trace=True))


def openai_backend(app: AppContext, key: str | None = None, admin_key: str | None = None) -> OpenAIBackend:
    """OpenAI directly, with the given keys or the resolved ones (env > keyring), each
    resolved only when an operation needs it."""
    from ctoops.backends.openai import ADMIN_FIX, KEY_FIX, OpenAIBackend, OpenAIErrors
    from ctoops.http import HttpClient

    s = app.settings
    if s.sandbox:
        from ctoops import sandbox

        return OpenAIBackend(lambda admin: sandbox.client(app, "openai"), sandbox=True)

    # the official SDK's OPENAI_ORG_ID / OPENAI_PROJECT_ID (openai-api.md §6.5)
    headers = {
        header: os.environ[env]
        for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project"))
        if os.environ.get(env)
    }

    def client(admin: bool) -> HttpClient:
        given = admin_key if admin else key
        errors = OpenAIErrors(ADMIN_FIX if admin else KEY_FIX)
        return app.http(errors, s.openai_base_url, given or app.require_openai_key(admin), headers=headers)

    return OpenAIBackend(client)


__all__ = ["Backend", "make_backend", "openai_backend", "worker_backend"]
