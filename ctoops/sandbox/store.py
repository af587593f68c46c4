"""The sandbox's secret store: in memory, for one run; the OS keyring and the credentials file
are never read or written under ``--sandbox``.

It starts with one simulated OpenAI API key and one admin key (the simulated OpenAI accepts
them), so ``keys list --local`` and ``keys validate --local`` have something to show on a
machine with no key at all. ``set`` keeps a secret until the run ends; ``delete`` forgets it.
"""

from __future__ import annotations

from pathlib import Path

from ctoops.secrets import KeyringStatus, SecretStore, openai_account

WHERE = "the sandbox (in memory, this run only)"
API_KEY = "sk-proj-SandboxSimulatedApiKey0000000000sbx1"
ADMIN_KEY = "sk-admin-SandboxSimulatedAdminKey000000000sbx2"


class SandboxStore(SecretStore):
    """A ``SecretStore`` whose every read and write stays in this process (``--sandbox``).

    ``get`` returns ``(secret or None, WHERE)``; ``set`` returns ``WHERE`` and ignores
    ``insecure`` (nothing is written anywhere); ``delete`` returns ``[WHERE]`` when it forgot
    something, else ``[]``. Never raises for a missing keyring: there is none to miss.
    """

    def __init__(self, profile: str | None) -> None:
        super().__init__(Path(WHERE), timeout=0.0)
        self._secrets: dict[str, str] = {
            openai_account(profile, False): API_KEY,
            openai_account(profile, True): ADMIN_KEY,
        }

    def status(self) -> KeyringStatus:
        return KeyringStatus(True, WHERE)

    def get(self, account: str) -> tuple[str | None, str]:
        return self._secrets.get(account), WHERE

    def set(self, account: str, secret: str, *, insecure: bool = False) -> str:
        self._secrets[account] = secret
        return WHERE

    def delete(self, account: str) -> list[str]:
        return [WHERE] if self._secrets.pop(account, None) is not None else []
