"""Settings from ``[tool.digestpin]`` in pyproject.toml or ``[digestpin]`` in
setup.cfg, found from the current folder up to the repository root.

Every key is checked: an unknown key or a value of the wrong type is a
ConfigError (one line, exit status 2), never silently ignored.  Command-line
flags override what the file says.
"""
from __future__ import annotations

import os

from digestpin_hooks.model import Record
from digestpin_hooks.model import TrustRule
from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Final

# where digests come from; each hook takes those it can use, default first
SOURCES = ('local', 'pull', 'registry', 'daemon-registry')
FIX_SOURCES = ('local', 'pull', 'registry', 'daemon-registry')
UPDATE_SOURCES = ('pull', 'registry', 'local', 'daemon-registry')
VERIFY_SOURCES = ('registry', 'local', 'daemon-registry')
MAX_TIMEOUT = 3600.0  # an hour: past it a "timeout" is no bound at all
# --connections: kept-alive connections (one thread each) to one registry.
# Past 12 the registry source gained nothing measurable (100 references
# behind 25 ms round trips: 12 connections 460 ms, 16 451 ms); each is a
# thread and, on a real registry, a TLS handshake, and up to 8 registries
# are asked at once, so 16 keeps a run at 128 threads at most and well
# short of what a public registry may take for a crawler.
MAX_CONNECTIONS = 16


class ConfigError(Exception):
    """The configuration file is wrong; the message is one line."""


class Config(Record):
    """The configuration file that applies, and what it sets."""

    path: Final[str]  # '' when no file configures digestpin
    values: Final[dict[str, Any]]  # python names: keep_tag, trust_root, ...


def _codes(value: list[str], where: str) -> list[str]:
    """The codes upper-cased: ``dp001`` is DP001, in flags and pragmas too."""
    from digestpin_hooks.check.findings import RULES
    for code in value:
        if code.upper() not in RULES:
            raise ConfigError(
                f'{where}: ignore: unknown code {code!r} (known: '
                f'{", ".join(RULES)})',
            )
    return [code.upper() for code in value]


def _string_list(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: {key} must be a list of strings')
    return value


def _boolean(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f'{where}: {key} must be true or false')
    return value


def _source(value: Any, key: str, where: str) -> str:
    if value not in SOURCES:
        raise ConfigError(
            f'{where}: {key} must be one of {", ".join(SOURCES)}, not {value!r}',
        )
    return str(value)


def _timeout(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        0 < value <= MAX_TIMEOUT  # also false for nan
    ):
        raise ConfigError(
            f'{where}: {key} must be a number of seconds above 0 and at most '
            f'{MAX_TIMEOUT:g}',
        )
    return float(value)


def _connections(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (
        1 <= value <= MAX_CONNECTIONS
    ):
        raise ConfigError(
            f'{where}: {key} must be a whole number from 1 to {MAX_CONNECTIONS}',
        )
    return value


TRUST_KEYS = (
    'images', 'key', 'issuer', 'identity', 'identity-regexp', 'attestations', 'tlog',
)


def _trust_rule(table: Any, where: str, number: int) -> TrustRule:
    """One ``[[tool.digestpin.trust]]`` table, checked as strictly as the
    rest: its images, and either a key or a keyless signer."""
    if not isinstance(table, dict):
        raise ConfigError(f'{where} must be a table')
    for name in table:
        if name not in TRUST_KEYS:
            raise ConfigError(
                f'{where}: unknown key {name!r} (known: {", ".join(TRUST_KEYS)})',
            )
    images = _string_list(table.get('images'), 'images', where)
    if not images or not all(images):
        raise ConfigError(f'{where}: images must name at least one pattern')
    strings = {}
    for name in ('key', 'issuer', 'identity', 'identity-regexp'):
        value = table.get(name, '')
        if not isinstance(value, str):
            raise ConfigError(f'{where}: {name} must be a string')
        strings[name] = value
    attestations = _string_list(table.get('attestations', []), 'attestations', where)
    tlog = _boolean(table.get('tlog', False), 'tlog', where)
    key, issuer = strings['key'], strings['issuer']
    identity, identity_regexp = strings['identity'], strings['identity-regexp']
    if bool(key) == bool(issuer or identity or identity_regexp):
        raise ConfigError(
            f'{where}: give either key, or issuer with identity or identity-regexp',
        )
    if not key:
        if not issuer or bool(identity) == bool(identity_regexp):
            raise ConfigError(
                f'{where}: a keyless rule needs issuer and one of identity, '
                f'identity-regexp',
            )
        if identity_regexp:
            import re
            try:
                re.compile(identity_regexp, re.ASCII)  # as keyless compiles it
            except re.error as e:
                raise ConfigError(f'{where}: identity-regexp: {e}') from None
    if tlog and not key:
        # a keyless rule cannot do without the log: saying so would only
        # suggest that false turns it off
        raise ConfigError(
            f'{where}: tlog = true is for key rules (keyless rules always '
            f'require a transparency-log entry)',
        )
    return TrustRule(
        tuple(images), key, issuer, identity, identity_regexp,
        tuple(attestations), tlog, number,
    )


def _trust(value: Any, key: str, where: str) -> tuple[TrustRule, ...]:
    if not isinstance(value, list):
        raise ConfigError(f'{where}: {key} must be an array of tables ([[tool.digestpin.trust]])')
    return tuple(
        _trust_rule(table, f'{where}: trust rule {number}', number)
        for number, table in enumerate(value, 1)
    )


def _path(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f'{where}: {key} must be a file name')
    return value


# Keys a file may not set, and where to say it instead.  The file comes
# with the code it checks (a pull request's pyproject.toml, read by a CI
# job of the base branch), and these choose where the machine's registry
# logins go: the daemon is sent them (X-Registry-Auth) for every pull, and
# an insecure registry is asked, login and all, over plain HTTP.  A file
# naming tcp://ITS-HOST:2375 was sent the CI user's login and had its
# digest written.  Docker keeps both to the machine (DOCKER_HOST and
# contexts; the daemon's own insecure-registries), and so do the hooks.
MACHINE_KEYS = {
    'docker-host': '--docker-host, DOCKER_HOST or `docker context use`',
    'insecure-registries': '--insecure-registry',
}

KEYS = {
    'allow': _string_list,
    'ignore': lambda v, k, w: _codes(_string_list(v, k, w), w),
    'strict': _boolean,
    'keep-tag': _boolean,
    'source': _source,
    'timeout': _timeout,
    'connections': _connections,
    'trust': _trust,
    'trust-root': _path,
}


def validate(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f'{where} must be a table of settings')
    values = {}
    for key, value in table.items():
        if key in MACHINE_KEYS:
            raise ConfigError(
                f'{where}: {key} cannot be set in a file: it chooses where registry '
                f'credentials are sent, and the file comes with the code it checks; '
                f'use {MACHINE_KEYS[key]}',
            )
        check = KEYS.get(key)
        if check is None:
            raise ConfigError(
                f'{where}: unknown key {key!r} (known: {", ".join(KEYS)})',
            )
        values[key.replace('-', '_')] = check(value, key, where)
    return values


def _from_pyproject(path: str, text: str) -> dict[str, Any] | None:
    if 'digestpin' not in text:
        return None  # spare the TOML parser on every commit
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        document = tomllib.loads(text)
    except ValueError as e:
        raise ConfigError(f'{path}: invalid TOML: {e}') from None
    except RecursionError:
        raise ConfigError(f'{path}: invalid TOML: nested too deep') from None
    tool = document.get('tool')
    if not isinstance(tool, dict) or 'digestpin' not in tool:
        return None
    values = validate(tool['digestpin'], f'{path} [tool.digestpin]')
    if 'trust' in values:
        # a key's path is the file's, as a user reads it: from its folder
        folder = os.path.dirname(os.path.abspath(path))
        values['trust'] = tuple(
            rule.replace(key=os.path.join(folder, rule.key)) if rule.key else rule
            for rule in values['trust']
        )
    return _trust_root_from(path, values)


def _trust_root_from(path: str, values: dict[str, Any]) -> dict[str, Any]:
    """A trust root's path is the file's, as a user reads it: from its folder."""
    if 'trust_root' in values:
        values['trust_root'] = os.path.join(
            os.path.dirname(os.path.abspath(path)), values['trust_root'],
        )
    return values


def _cfg_value(key: str, raw: str, where: str) -> Any:
    """setup.cfg holds strings: read them as the TOML types they stand for."""
    text = raw.strip()
    if key in ('allow', 'ignore'):
        return [
            item.strip() for line in text.splitlines()
            for item in line.split(',') if item.strip()
        ]
    if key in ('strict', 'keep-tag'):
        lowered = text.lower()
        if lowered in ('true', 'yes', 'on', '1'):
            return True
        if lowered in ('false', 'no', 'off', '0'):
            return False
        raise ConfigError(f'{where}: {key} must be true or false, not {text!r}')
    if key == 'timeout':
        try:
            return float(text)
        except ValueError:
            raise ConfigError(
                f'{where}: timeout must be a number of seconds, not {text!r}',
            ) from None
    if key == 'connections':
        if text.isascii() and text.isdigit() and len(text) <= 4:
            return int(text)
        raise ConfigError(
            f'{where}: connections must be a whole number from 1 to '
            f'{MAX_CONNECTIONS}, not {text!r}',
        )
    return text


def _from_setup_cfg(path: str, text: str) -> dict[str, Any] | None:
    if '[digestpin]' not in text:
        return None
    import configparser
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        raise ConfigError(f'{path}: {" ".join(str(e).split())}') from None
    if not parser.has_section('digestpin'):
        return None
    where = f'{path} [digestpin]'
    if parser.has_option('digestpin', 'trust'):
        raise ConfigError(
            f'{where}: trust rules can be written in pyproject.toml only '
            f'([[tool.digestpin.trust]])',
        )
    table = {
        key: _cfg_value(key, raw, where) if key in KEYS else raw
        for key, raw in parser.items('digestpin')
    }
    return _trust_root_from(path, validate(table, where))


def _read(path: str) -> str | None:
    """The file's text; None when there is none (a regular file only, 1 MiB
    at most: a FIFO named pyproject.toml must not hang every commit)."""
    if not os.path.lexists(path):
        return None
    try:
        return read_regular(path, MAX_SMALL_FILE_BYTES).data.decode('utf-8')
    except (OSError, UnicodeDecodeError) as e:
        reason = str(e) if isinstance(e, ReadError) else f'cannot read: {e}'
        raise ConfigError(f'{path}: {reason}') from None


def _search_ends(folder: str, parent: str) -> bool:
    """Whether the search stops at ``folder``: it holds ``.git``, it is the
    user's home, or ``parent`` is on another file system (a mount point)."""
    if os.path.exists(os.path.join(folder, '.git')):
        return True
    if folder == os.path.expanduser('~'):
        return True
    try:
        return os.stat(folder).st_dev != os.stat(parent).st_dev
    except OSError:
        return True


def load_config(start: str = '.') -> Config:
    """The nearest configuration: from ``start`` up to the folder that holds
    ``.git``, the user's home, or a file system boundary, whichever is first
    (a ``/tmp/pyproject.toml`` must not configure every folder below it)."""
    folder = os.path.abspath(start)
    while True:
        for name, reader in (
            ('pyproject.toml', _from_pyproject),
            ('setup.cfg', _from_setup_cfg),
        ):
            path = os.path.join(folder, name)
            text = _read(path)
            if text is not None:
                values = reader(path, text)
                if values is not None:
                    return Config(path, values)
        parent = os.path.dirname(folder)
        if parent == folder or _search_ends(folder, parent):
            return Config('', {})
        folder = parent
