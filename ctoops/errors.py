"""ctoops' error tree. Every failure a user can meet is one of these, with its exit code.

    CtoopsError (click.ClickException)           printed as one line on stderr
    ├── CheckFailed ................... 1  a check or threshold failed
    │   └── OpenAIRejected ............ 1  OpenAI refused a request (4xx), directly or via the worker
    │                                      (its 429s exit 5 and its 5xx exit 4, see ``exit_code``)
    ├── BadInput ...................... 2  bad usage or input, or a request the worker refused (400)
    │   └── Unsupported ............... 2  an operation the chosen backend cannot serve
    ├── NotAuthenticated .............. 3  ctoops has no usable credential, or it was refused
    ├── UpstreamError ................. 4  unreachable, timed out, 5xx after retries, not JSON
    ├── RateLimited ................... 5  429 after retries, or a quota/billing 429
    └── InternalError ................ 70  a bug in ctoops

The codes are the contract's (docs/cli.md, "Exit codes"); scripts depend on them.
Messages name the cause and, where one exists, the fix. They go through ``redact`` before
they are printed, so a secret that slipped into one is masked.
"""

from __future__ import annotations

from enum import IntEnum
from typing import IO, Any

import click

from ctoops.redact import redact


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    NOT_AUTHENTICATED = 3
    UPSTREAM = 4
    RATE_LIMITED = 5
    INTERNAL = 70


class CtoopsError(click.ClickException):
    """A failure a user can meet: one redacted line, and the contract's exit code (the
    class's, or ``exit_code`` given for one instance)."""

    default_exit_code: int = ExitCode.CHECK_FAILED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        data: dict[str, Any] | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(redact(message))
        self._exit_code = int(exit_code if exit_code is not None else self.default_exit_code)
        self.status = status  # the HTTP status behind the error, when there was one
        self.code = code  # the API's error code (the worker's ``code``, OpenAI's ``error.code``)
        self.data = data or {}  # fields a failed check still reports (never a secret)

    @property  # click declares a class variable; ctoops gives each error its own
    def exit_code(self) -> int:  # type: ignore[override]
        """The contract's exit code for this error."""
        return self._exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


class CheckFailed(CtoopsError):
    default_exit_code = ExitCode.CHECK_FAILED


class OpenAIRejected(CheckFailed):
    """OpenAI answered with its error envelope; ``status``, ``code``, ``type`` as sent."""

    def __init__(self, message: str, *, status: int, code: str | None, type: str | None, openai_message: str) -> None:
        exit_code = ExitCode.RATE_LIMITED if status == 429 else ExitCode.UPSTREAM if status >= 500 else None
        super().__init__(message, status=status, code=code, exit_code=exit_code)
        self.type = type
        self.openai_message = openai_message


class BadInput(CtoopsError):
    default_exit_code = ExitCode.BAD_INPUT


class Unsupported(BadInput):
    pass


class NotAuthenticated(CtoopsError):
    default_exit_code = ExitCode.NOT_AUTHENTICATED


class UpstreamError(CtoopsError):
    default_exit_code = ExitCode.UPSTREAM


class RateLimited(CtoopsError):
    default_exit_code = ExitCode.RATE_LIMITED


class InternalError(CtoopsError):
    default_exit_code = ExitCode.INTERNAL


class Terminated(SystemExit):
    """SIGTERM (a service manager, ``kill``, a CI job cancelled), raised in the main thread by
    ctoops' handler: the run ends as on Ctrl-C, every ``finally`` running, with one line and
    exit 143 (128 + SIGTERM). A ``SystemExit``, so no ``except Exception`` swallows it."""


def with_exit_code(message: str, code: int) -> CtoopsError:
    """An error for a set of failed checks, carrying the exit code they settled on."""
    return CtoopsError(message, exit_code=code)
