"""Keyring backends for the tests, selected through PYTHON_KEYRING_BACKEND (keyring's own
mechanism), so ctoops talks to them through the real ``keyring`` API in this process and in
subprocesses alike.

* ``FileKeyring``: a JSON file named by CTOOPS_TEST_KEYRING_FILE; what one process stores,
  the next one reads.
* ``HangingKeyring``: never answers, like a locked Secret Service waiting for an unlock
  prompt nobody sees.
* ``LockedKeyring``: refuses, like a collection that failed to unlock.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 20  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ["CTOOPS_TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._path.write_text(json.dumps(data))


class HangingKeyring(KeyringBackend):
    priority = 20  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3600)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(3600)

    def delete_password(self, service: str, username: str) -> None:
        time.sleep(3600)


class LockedKeyring(KeyringBackend):
    priority = 20  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class LeakyKeyring(KeyringBackend):
    """Fails with an error text that carries the secret it was given, as some backends do."""

    priority = 20  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import PasswordSetError

        raise PasswordSetError(f"cannot store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("not found")
