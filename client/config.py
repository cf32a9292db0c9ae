"""Client configuration: targets, ``.env`` files and ``RUNQL_*`` overrides, resolved into frozen ``Settings``.

Values are looked up, first hit wins: keyword arguments, then the process environment, then the ``.env`` file
of the current directory (read with ``dotenv_values`` when a client is configured: never at import, and
``os.environ`` is never modified), then the defaults. Variables (see ``.env.sample``):

``SSO_CLIENT_ID``, ``SSO_CLIENT_SECRET``, ``ENVIRONMENT`` (the public client's), and ``RUNQL_BASE_URL``,
``RUNQL_TOKEN_URL``, ``RUNQL_AUDIENCE``, ``RUNQL_CONNECT_TIMEOUT``, ``RUNQL_READ_TIMEOUT``, ``RUNQL_CONCURRENCY``,
``RUNQL_RETRIES``, ``RUNQL_BACKOFF``, ``RUNQL_PAGE_SIZE``, ``RUNQL_TOKEN_CACHE``.

>>> s = resolve_settings("local", environ={}, env_file=None)
>>> s.base_url, s.email, s.auth
('http://localhost:9500', 'api@api', None)
>>> s = resolve_settings("production", environ={"SSO_CLIENT_ID": "me", "SSO_CLIENT_SECRET": "s3cret"})
>>> s.auth.audience, s.auth.client_secret
('cmsrunregistry-sso-proxy', Secret('********'))
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

import httpx
from dotenv import dotenv_values

from client.errors import ArgumentTypeError, ConfigError, UnknownOptionError
from querylang.catalogue import Catalogue

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "OPTION_NAMES",
    "TARGETS",
    "TOKEN_URL",
    "Options",
    "Secret",
    "Settings",
    "TokenSettings",
    "check_options",
    "check_target",
    "resolve_settings",
]

#: CERN SSO token endpoint (client-credentials grant).
TOKEN_URL = "https://auth.cern.ch/auth/realms/cern/api-access/token"
#: Named targets: base URL and token audience (``None``: no token, ``email: api@api`` header instead).
TARGETS: Mapping[str, tuple[str, str | None]] = {
    "production": ("https://cmsrunregistry.web.cern.ch/api", "cmsrunregistry-sso-proxy"),
    "development": ("https://dev-cmsrunregistry.web.cern.ch/api", "dev-cmsrunregistry-sso-proxy"),
    "local": ("http://localhost:9500", None),
    "embedded": ("", None),
}
#: Rows per page. The service has no cap and a fixed cost per request (it counts the matches every time), so
#: large pages are fastest: measured with benchmarks/fetch.py (11,902 runs, quiet machine), 20 000 rows take 1.01 s,
#: 10 000 rows 1.14 s and 5 000 rows 1.28 s (one raw request: 1.20 s). Smaller pages lower the peak memory of a
#: large listing (the bodies in flight), but less than they cost: for 50,000 runs, 1.8x the DataFrame (traced)
#: with 20 000 rows, 1.2x with 5 000.
DEFAULT_PAGE_SIZE = 20_000
LOCAL_EMAIL = "api@api"
EnvFile = str | os.PathLike[str] | None | Literal[False]


class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or tracebacks; ``reveal()`` gives the value.

    >>> s = Secret("hunter2")
    >>> s, f"{s}", s.reveal()
    (Secret('********'), '********', 'hunter2')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str:
        raise ArgumentTypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class TokenSettings:
    """Where and how to get a bearer token (client-credentials grant)."""

    token_url: str
    audience: str
    client_id: str
    client_secret: Secret = field(repr=False)
    cache_path: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a client needs, resolved and validated. ``base_url`` is empty until an embedded server runs."""

    target: str
    base_url: str
    auth: TokenSettings | None
    email: str | None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    concurrency: int = 4
    retries: int = 4
    backoff: float = 0.25
    page_size: int = DEFAULT_PAGE_SIZE
    synthetic: bool = False


class Options(TypedDict, total=False):
    """The settings a client takes as keywords (``RunRegistry(target, **options)``, ``setup(target, **options)``);
    each overrides its ``RUNQL_*`` variable (``client_id``/``client_secret``: ``SSO_CLIENT_ID``/``_SECRET``)."""

    base_url: str
    token_url: str
    audience: str
    client_id: str
    client_secret: str | Secret
    connect_timeout: float
    read_timeout: float
    concurrency: int
    retries: int
    backoff: float
    page_size: int
    token_cache: str | os.PathLike[str]


#: The keywords of :class:`Options`, sorted.
OPTION_NAMES: tuple[str, ...] = tuple(sorted(Options.__annotations__))


def check_options(given: Iterable[str], allowed: Iterable[str], *, where: str) -> None:
    """Refuse a keyword not in ``allowed`` with an ``UnknownOptionError`` (a ``ConfigError`` and a ``TypeError``)
    naming the allowed ones and the closest.

    >>> check_options({"retrys": 2}, OPTION_NAMES, where="RunRegistry()")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    client.errors.UnknownOptionError: RunRegistry() got an unknown option 'retrys'; did you mean 'retries'? ...
    """
    names = sorted(allowed)
    for name in given:
        if name not in names:
            hint = Catalogue.suggest(name, names)
            did_you_mean = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise UnknownOptionError(
                f"{where} got an unknown option {name!r}{did_you_mean} (allowed: {', '.join(names)})"
            )


def resolve_settings(
    target: str | None = None,
    *,
    env_file: EnvFile = None,
    environ: Mapping[str, str] | None = None,
    **options: Unpack[Options],
) -> Settings:
    """Resolve a target and options (see :class:`Options`) into ``Settings``.

    ``env_file``: a path, ``None`` for ``./.env`` if it exists, or ``False`` to read no file.
    ``environ``: the variables to use instead of ``os.environ`` (tests). An unknown option is an
    ``UnknownOptionError``.
    """
    check_options(options, OPTION_NAMES, where="resolve_settings()")
    env = _Environment(environ if environ is not None else os.environ, _read_env_file(env_file))
    return _settings(target, env, **options)


def _settings(
    target: str | None,
    env: _Environment,
    *,
    base_url: str | None = None,
    token_url: str | None = None,
    audience: str | None = None,
    client_id: str | None = None,
    client_secret: str | Secret | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    concurrency: int | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    page_size: int | None = None,
    token_cache: str | os.PathLike[str] | None = None,
) -> Settings:
    name = target or env.get("ENVIRONMENT") or "production"
    url, default_audience = _target_endpoint(name)
    aud = audience or env.get("RUNQL_AUDIENCE") or default_audience
    secret = (
        client_secret if isinstance(client_secret, Secret) else _secret(client_secret or env.get("SSO_CLIENT_SECRET"))
    )
    auth = None
    if aud is not None and name != "embedded":
        auth = _token_settings(
            name,
            token_url=token_url or env.get("RUNQL_TOKEN_URL") or TOKEN_URL,
            audience=aud,
            client_id=client_id or env.get("SSO_CLIENT_ID"),
            client_secret=secret,
            cache=token_cache or env.get("RUNQL_TOKEN_CACHE"),
        )
    return Settings(
        target=name if name in TARGETS else "url",
        base_url=_normalise_url(base_url or env.get("RUNQL_BASE_URL") or url, "base URL"),
        auth=auth,
        email=None if auth else LOCAL_EMAIL,
        connect_timeout=_float(connect_timeout, env, "RUNQL_CONNECT_TIMEOUT", 10.0),
        read_timeout=_float(read_timeout, env, "RUNQL_READ_TIMEOUT", 120.0),
        concurrency=_int(concurrency, env, "RUNQL_CONCURRENCY", 4),
        retries=_int(retries, env, "RUNQL_RETRIES", 4, minimum=0),
        backoff=_float(backoff, env, "RUNQL_BACKOFF", 0.25),
        page_size=_int(page_size, env, "RUNQL_PAGE_SIZE", DEFAULT_PAGE_SIZE),
        synthetic=name == "embedded",
    )


@dataclass(frozen=True)
class _Environment:
    process: Mapping[str, str]
    dotenv: Mapping[str, str | None]

    def get(self, key: str) -> str | None:
        value = self.process.get(key)
        if value is None or value == "":
            value = self.dotenv.get(key)
        return value or None


def _read_env_file(env_file: EnvFile) -> Mapping[str, str | None]:
    if env_file is False:
        return {}
    path = Path(env_file) if env_file is not None else Path.cwd() / ".env"
    if env_file is None and not path.is_file():
        return {}
    if not path.is_file():
        raise ConfigError(f"env_file {str(path)!r} does not exist")
    return dotenv_values(path)


def check_target(name: object) -> str:
    """``name`` if it is a target (a named one or an http(s) base URL), else a ``ConfigError``.

    The message starts like the public client's (``Invalid setup target``), so scripts that match it still do.

    >>> check_target("embedded")
    'embedded'
    """
    if isinstance(name, str) and (name in TARGETS or name.startswith(("http://", "https://"))):
        return name
    raise ConfigError(
        f'Invalid setup target "{name}". Valid options: "local", "development", "production", "embedded" '
        'or a base URL such as "http://127.0.0.1:9500"'
    )


def _target_endpoint(name: str) -> tuple[str, str | None]:
    return TARGETS.get(check_target(name), (name, None))


def _token_settings(
    name: str, *, token_url: str, audience: str, client_id: str | None, client_secret: Secret | None, cache: object
) -> TokenSettings:
    if not client_id or client_secret is None:
        raise ConfigError(
            f"target {name!r} needs SSO credentials: set SSO_CLIENT_ID and SSO_CLIENT_SECRET in the environment "
            "or in a .env file (see .env.sample); to try runql without credentials use target='embedded' "
            "(a built-in synthetic registry)"
        )
    cache_path = Path(os.fspath(cache)).expanduser() if isinstance(cache, (str, os.PathLike)) else None
    return TokenSettings(
        token_url=_normalise_url(token_url, "token URL"),
        audience=audience,
        client_id=client_id,
        client_secret=client_secret,
        cache_path=cache_path,
    )


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _normalise_url(url: str, what: str) -> str:
    if url == "":
        return url
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"invalid {what} {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"invalid {what} {url!r}: expected http(s)://host[:port][/path]")
    return url.rstrip("/")


def _float(value: float | None, env: _Environment, key: str, default: float) -> float:
    parsed = _option(value, env, key, float)
    found = default if parsed is None else float(parsed)
    if found <= 0:
        raise ConfigError(f"{_option_name(key)} must be positive, got {found!r}")
    return found


def _int(value: int | None, env: _Environment, key: str, default: int, *, minimum: int = 1) -> int:
    parsed = _option(value, env, key, int)
    found = default if parsed is None else int(parsed)
    if found < minimum:
        raise ConfigError(f"{_option_name(key)} must be >= {minimum}, got {found!r}")
    return found


def _option(value: float | None, env: _Environment, key: str, parse: type[int] | type[float]) -> float | None:
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{_option_name(key)} must be a number, got {value!r}")
        return value
    raw = env.get(key)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"environment variable {key} must be {parse.__name__}, got {raw!r}") from None


def _option_name(key: str) -> str:
    return f"{key.removeprefix('RUNQL_').lower()} ({key})"
