"""Where secrets live: the OS keyring (time-boxed, checked), the environment, or, only when
the user asks with ``--insecure-storage``, a 0600 file.

Resolution order for a secret: flag (stdin or prompt) > environment > keyring > insecure file.
The keyring is never trusted blindly:

* every call runs in a thread with a timeout (a locked Secret Service can wait forever for
  an unlock prompt nobody sees, over SSH or in CI);
* the ``fail`` and ``null`` backends and plaintext backends (keyrings.alt) are detected and
  named, and never used for secrets: reads fall back to the environment, writes fail with
  exit 3 and the alternatives.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ctoops.errors import NotAuthenticated
from ctoops.redact import register

SERVICE = "ctoops"
DEFAULT_TIMEOUT = 3.0
T = TypeVar("T")


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str  # the backend class, e.g. "keyring.backends.SecretService.Keyring"
    problem: str | None = None  # why it is not usable


@dataclass(frozen=True)
class Resolved:
    """A secret and where it came from. ``value`` is None when none was found."""

    value: str | None
    source: str
    note: str | None = None  # e.g. why the keyring was not consulted


class KeyringTimeout(Exception):
    pass


def token_account(profile: str | None, api_url: str) -> str:
    return f"opencto-token:{profile or 'default'}:{api_url}"


def openai_account(profile: str | None, admin: bool) -> str:
    return f"openai-{'admin' if admin else 'api'}-key:{profile or 'default'}"


class SecretStore:
    """The keyring and the opt-in plaintext file, as one place to get, set and delete."""

    def __init__(self, insecure_path: Path, timeout: float | None = None) -> None:
        self.insecure_path = insecure_path
        if timeout is None:
            try:
                timeout = float(os.environ.get("CTOOPS_KEYRING_TIMEOUT", DEFAULT_TIMEOUT))
            except ValueError:
                timeout = DEFAULT_TIMEOUT
        self.timeout = timeout
        self._status: KeyringStatus | None = None
        self.file_problem: str | None = None  # why the plain-text file was not used

    # -- keyring ------------------------------------------------------------------------

    def status(self) -> KeyringStatus:
        if self._status is None:
            try:
                self._status = self._call(_detect, "finding the OS keyring")
            except KeyringTimeout as exc:
                self._status = KeyringStatus(False, "unknown", str(exc))
            except Exception as exc:  # a broken backend import or D-Bus failure
                self._status = KeyringStatus(False, "unknown", f"keyring failed to start: {_why(exc)}")
        return self._status

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """Run ``fn`` in a daemon thread; give up after ``timeout`` seconds."""
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=run, name="ctoops-keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            raise KeyringTimeout(
                f"the OS keyring did not answer within {self.timeout:g}s while {what} "
                "(a locked keyring waiting for an unlock prompt?)"
            )
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value

    def get(self, account: str) -> tuple[str | None, str]:
        """(secret or None, where it was looked for / why it was not)."""
        status = self.status()
        if status.usable:
            import keyring

            try:
                value = self._call(lambda: keyring.get_password(SERVICE, account), "reading a secret")
            except Exception as exc:
                return self._file_get(account), f"keyring {status.backend} failed: {_why(exc)}"
            if value:
                register(value)
                return value, f"keyring ({status.backend})"
        value = self._file_get(account)
        if value:
            return value, f"file {self.insecure_path} (plain text)"
        unsafe = f"; {self.file_problem}" if self.file_problem else ""
        if status.usable:
            return None, f"keyring ({status.backend}){unsafe}"
        return None, f"no usable keyring: {status.problem}{unsafe}"

    def set(self, account: str, secret: str, *, insecure: bool = False) -> str:
        """Store a secret; returns where. Exit 3 (with the alternatives) when nothing can."""
        register(secret)
        if insecure:
            self._file_set(account, secret)
            return f"file {self.insecure_path} (plain text, mode 0600)"
        status = self.status()
        if not status.usable:
            raise NotAuthenticated(self._no_store(status.problem or "unusable"))
        import keyring

        try:
            self._call(lambda: keyring.set_password(SERVICE, account, secret), "storing a secret")
        except Exception as exc:
            raise NotAuthenticated(self._no_store(f"keyring {status.backend} failed: {_why(exc)}")) from None
        return f"keyring ({status.backend})"

    def delete(self, account: str) -> list[str]:
        """Delete from the keyring and the insecure file; returns where something was deleted."""
        deleted: list[str] = []
        status = self.status()
        if status.usable:
            import keyring
            from keyring.errors import PasswordDeleteError

            def remove() -> bool:
                try:
                    keyring.delete_password(SERVICE, account)
                    return True
                except PasswordDeleteError:
                    return False

            try:
                if self._call(remove, "deleting a secret"):
                    deleted.append(f"keyring ({status.backend})")
            except Exception as exc:
                raise NotAuthenticated(f"could not delete from keyring {status.backend}: {_why(exc)}") from None
        if self._file_delete(account):
            deleted.append(f"file {self.insecure_path}")
        return deleted

    def _no_store(self, problem: str) -> str:
        return (
            f"no usable OS keyring to store the secret ({problem}); use an environment variable "
            "instead (OPENCTO_TOKEN, OPENAI_API_KEY, OPENAI_ADMIN_KEY: set it in your shell "
            "profile or CI secrets), or pass --insecure-storage to save it in plain text in "
            f"{self.insecure_path} (mode 0600)"
        )

    # -- the opt-in plaintext file ---------------------------------------------------------

    def _file_read(self, *, for_update: bool = False) -> dict[str, str]:
        """The file's secrets. A file others can read is not used (as ssh refuses an unprotected
        key): ``self.file_problem`` says why; an update rewrites it 0600. A file that is not a
        JSON object is an error (exit 3), never read as empty and overwritten."""
        try:
            info = self.insecure_path.stat()
        except FileNotFoundError:
            return {}
        if info.st_mode & 0o077 and not for_update:
            self.file_problem = (
                f"{self.insecure_path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}) and was "
                f"ignored; run `chmod 600 {self.insecure_path}`"
            )
            return {}
        try:
            data = json.loads(self.insecure_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NotAuthenticated(
                f"the credentials file {self.insecure_path} cannot be read ({_why(exc)}); fix or remove it"
            ) from None
        if not isinstance(data, dict):
            raise NotAuthenticated(f"the credentials file {self.insecure_path} is not a JSON object; fix or remove it")
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def _file_get(self, account: str) -> str | None:
        value = self._file_read().get(account)
        if isinstance(value, str) and value:
            register(value)
            return value
        return None

    def _file_set(self, account: str, secret: str) -> None:
        with self._file_lock():
            data = self._file_read(for_update=True)
            data[account] = secret
            self._file_write(data)

    def _file_delete(self, account: str) -> bool:
        if not self.insecure_path.exists():
            return False
        with self._file_lock():
            data = self._file_read(for_update=True)
            if account not in data:
                return False
            del data[account]
            self._file_write(data)
        return True

    def _file_lock(self) -> Any:
        """An exclusive lock around read-modify-write, so concurrent writers lose nothing."""
        from contextlib import contextmanager

        @contextmanager
        def locked() -> Iterator[None]:
            self.insecure_path.parent.mkdir(parents=True, exist_ok=True)
            lock = self.insecure_path.with_name(self.insecure_path.name + ".lock")
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_EX)
                except ImportError:  # pragma: no cover - Windows: no advisory locks here
                    pass
                yield
            finally:
                os.close(fd)

        return locked()

    def _file_write(self, data: dict[str, str]) -> None:
        from ctoops.files import atomic_write_text

        self.insecure_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.insecure_path, json.dumps(data, indent=2) + "\n", mode=stat.S_IRUSR | stat.S_IWUSR)


def _detect() -> KeyringStatus:
    import keyring
    from keyring.backends import chainer, fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            return KeyringStatus(False, _name(backend), "no OS keyring found (the chainer has no backends)")
        backend = members[0]  # the one that receives writes
    name = _name(backend)
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(False, name, f"no OS keyring found ({name})")
    if isinstance(backend, null.Keyring):
        return KeyringStatus(False, name, f"the keyring is disabled ({name})")
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or "plaintext" in type(backend).__name__.lower():
        return KeyringStatus(False, name, f"{name} is a plain (or password-prompted) file, not an OS keyring")
    return KeyringStatus(True, name)


def _name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _why(exc: BaseException) -> str:
    """The exception in one line, redacted: a keyring backend's message may carry the secret."""
    from ctoops.redact import redact

    return redact(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))


def resolve(store: SecretStore | None, *, flag: str | None, flag_name: str, env: str, account: str) -> Resolved:
    """flag > environment > keyring > insecure file. A credential with a control or
    non-ASCII character is BadInput (exit 2), never echoed."""
    from ctoops.keys import check_printable

    if flag:
        register(flag)
        return Resolved(check_printable(flag, flag_name), f"flag {flag_name}")
    value = os.environ.get(env)
    if value:
        register(value)
        return Resolved(check_printable(value, env), f"env {env}")
    if store is None:
        return Resolved(None, "nowhere")
    found, where = store.get(account)
    if found:
        return Resolved(check_printable(found, f"the secret in {where}"), where)
    return Resolved(None, "not set", note=where)
