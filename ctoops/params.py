"""Parameter types: one rule per kind of value, the same whether it comes from a flag, the
environment, a profile in the config file, or a runbook step's ``[step.with]`` table.

Each is a ``click.ParamType``; ``convert`` returns the clean value or fails with a message
that names the value and the rule (Click adds the parameter and, in ctoops, its source).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    ParamType = click.ParamType[Any, Any]  # click 8.5's value and input type parameters
else:
    ParamType = click.ParamType

FC = TypeVar("FC", bound=Callable[..., Any])

WORKSPACE_RE = re.compile(r"[a-zA-Z0-9._-]{1,80}")  # the worker's rule, matched whole


class UrlType(ParamType):
    """An http(s) base URL with a host and a valid port, its scheme lower-cased and trailing
    slash trimmed; no query or fragment. Credentials in it are registered as secrets before
    any message can show it.

    ``shipped``: the option's own default(s), returned as they are without parsing them
    (Click converts defaults on every run, ``--help`` included, and ``urllib.parse`` with
    ``ipaddress`` costs about 3 ms of startup); ``tests/test_params.py`` checks that each one
    passes the full check unchanged."""

    name = "url"

    def __init__(self, shipped: tuple[str, ...] = ()) -> None:
        self.shipped = frozenset(shipped)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str) and value in self.shipped:
            return value
        from urllib.parse import urlsplit

        from ctoops.redact import register, url_secrets

        text = str(value).strip().rstrip("/") if isinstance(value, str) else None
        if text is None:
            self.fail(f"{value!r} is not an http(s) URL", param, ctx)
        for secret in url_secrets(text):
            register(secret)  # before any message can show the value
        if re.search(r"[\s\x00-\x1f\x7f]", text):
            self.fail(f"{value!r} is not an http(s) URL (it holds a space or a control character)", param, ctx)
        try:
            parts = urlsplit(text)
            port = parts.port  # a ValueError for a port that is not a number in 0-65535
        except ValueError as exc:
            self.fail(f"{value!r} is not a valid URL ({exc})", param, ctx)
        if parts.scheme.lower() not in ("http", "https") or not text[len(parts.scheme) :].startswith("://"):
            self.fail(f"{value!r} is not an http(s) URL", param, ctx)
        if not parts.hostname:
            self.fail(f"{value!r} has no host", param, ctx)
        problem = _host_problem(parts.hostname, bracketed="[" in parts.netloc)
        if problem:
            self.fail(f"{value!r} has a host no request can reach ({problem})", param, ctx)
        if port == 0:
            self.fail(f"{value!r} has port 0; a port is 1-65535", param, ctx)
        if "?" in text or "#" in text:
            # httpx would append every request path to the query ('/v1?k=v/models'): a silent misroute
            self.fail(
                f"{value!r} has a query string or fragment; a base URL takes neither "
                "(credentials belong in the token and key settings)",
                param,
                ctx,
            )
        return parts.scheme.lower() + text[len(parts.scheme) :]


def _host_problem(host: str, bracketed: bool) -> str | None:
    """What makes ``host`` (a URL's, lower-cased) unusable for httpx and DNS, or None: an IPv4
    address out of range, an empty or over-long label, an A-label (``xn--``) that is no
    Punycode. An IPv6 literal (``bracketed``) was checked by ``urlsplit``."""
    if bracketed:
        return None
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", host):
        import ipaddress

        try:
            ipaddress.IPv4Address(host)
        except ValueError as exc:
            return str(exc)
        return None
    if host.isascii() and "xn--" not in host:
        # the common case, without the idna codec (about 1.5 ms of every run's startup): an
        # empty label ('a..b') or one over 63 characters is what the codec would refuse
        labels = host.removesuffix(".").split(".")
        if any(not label or len(label) > 63 for label in labels):
            return "label empty or too long"
        return None
    try:
        ascii_host = host.encode("idna")  # an empty label ('a..b') or one over 63 characters
        if not host.isascii() or "xn--" in host:
            import idna  # httpx's own IDNA check, needed only for these rare names

            idna.decode(ascii_host)
    except UnicodeError as exc:  # idna.IDNAError is one
        return str(exc)
    return None


class WorkspaceType(ParamType):
    """A workspace id by the worker's rule: 1-80 letters, digits, '.', '_' or '-'."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str) or not WORKSPACE_RE.fullmatch(value):
            self.fail(
                f"workspace id {value!r} breaks the worker's rule "
                "(1-80 characters of letters, digits, '.', '_' or '-')",
                param,
                ctx,
            )
        return value


class Seconds(ParamType):
    """A finite number of seconds in (0, ``maximum``]."""

    name = "seconds"

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or not 0 < number <= self.maximum:
            self.fail(f"{value!r} must be more than 0 and at most {self.maximum:g} seconds", param, ctx)
        return number


class WholeNumber(ParamType):
    """A whole number in [low, high]: an int or its digits, never a float or a boolean."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value))
        ):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        number = int(value)
        if not self.low <= number <= self.high:
            self.fail(f"{value!r} must be between {self.low} and {self.high}", param, ctx)
        return number


class Flag(ParamType):
    """A boolean: true/false, 1/0, yes/no, on/off (the environment and TOML spellings)."""

    name = "boolean"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        self.fail(f"{value!r} is not a boolean", param, ctx)


class Fraction(ParamType):
    """A rate threshold: a finite fraction in [0, 1] (0.05 is 5%); ``nan`` and ``inf`` are not."""

    name = "fraction"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{value!r} is not a fraction between 0 and 1", param, ctx)
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a fraction between 0 and 1 (0.05 is 5%)", param, ctx)
        if not math.isfinite(number) or not 0 <= number <= 1:
            self.fail(f"{value!r} is not a fraction between 0 and 1 (0.05 is 5%)", param, ctx)
        return number + 0.0  # -0.0 is 0.0 (it printed as "> -0.0%")


class Milliseconds(ParamType):
    """A finite, non-negative number of milliseconds."""

    name = "ms"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{value!r} is not a number of milliseconds", param, ctx)
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number of milliseconds", param, ctx)
        if not math.isfinite(number) or number < 0:
            self.fail(f"{value!r} must be a finite number of milliseconds, 0 or more", param, ctx)
        return number


class Text(ParamType):
    """A plain string (no table, list, number or boolean where text is due)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str):
            self.fail(f"{value!r} is not text", param, ctx)
        return value


def split_names(text: str) -> tuple[str, ...]:
    """The names in ``text``, comma-separated, each stripped of spaces. Raises ValueError
    with a message naming the value and the empty item, for an empty value or an empty item
    (``,realtime_token``, ``model,,project_id``, ``model,``): a stray comma is a mistake,
    never a silent skip. The one reader of every comma-separated list ctoops takes."""
    items = [item.strip() for item in text.split(",")]
    if len(items) == 1 and not items[0]:
        raise ValueError(f"{text!r} names nothing: give one or more names separated by commas")
    for i, item in enumerate(items, 1):
        if not item:
            raise ValueError(
                f"{text!r} has an empty name: item {i} of {len(items)} is empty "
                "(names are separated by single commas, with none at either end)"
            )
    return tuple(items)


class Names(ParamType):
    """A list of names: a TOML array (``[]`` is none) or a comma-separated string
    (``split_names``); an empty name in either is refused. Each one of ``choices`` when
    given. Returns a tuple."""

    name = "names"

    def __init__(self, choices: Sequence[str] | None = None) -> None:
        self.choices = tuple(choices) if choices else None

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, str):
            try:
                items = list(split_names(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value]  # an empty array is no names, as a TOML file says it
            if not all(items):
                where = f"item {items.index('') + 1} of {len(items)} is empty"
                self.fail(f"{list(value)!r} has an empty name: {where}", param, ctx)
        else:
            self.fail(f"{value!r} is not a list of names", param, ctx)
        if self.choices is not None:
            for item in items:
                if item not in self.choices:
                    self.fail(f"{item!r} is not one of {', '.join(self.choices)}", param, ctx)
        return tuple(items)


def names_option(*param_decls: str, **attrs: Any) -> Callable[[FC], FC]:
    """A repeatable option of comma-separated names (``--group-by model,project_id``, or
    ``--group-by model --group-by project_id``): each value read by ``Names`` (an empty name
    is exit 2, naming it), all of them joined into one tuple, in the order given."""

    def joined(ctx: click.Context, param: click.Parameter, value: Any) -> tuple[str, ...]:
        return tuple(name for group in value or () for name in group)

    return click.option(*param_decls, type=Names(), multiple=True, callback=joined, **attrs)
