"""[tool.digestpin] / [digestpin]: every key, overrides, and the errors."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from digestpin_hooks import fix
from digestpin_hooks import update
from digestpin_hooks import verify
from digestpin_hooks.cli import apply_config
from digestpin_hooks.config import Config
from digestpin_hooks.config import ConfigError
from digestpin_hooks.config import load_config
from digestpin_hooks.lint import main as lint_main


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / 'repo'
    (root / '.git').mkdir(parents=True)
    (root / 'sub' / 'deeper').mkdir(parents=True)
    monkeypatch.chdir(root / 'sub' / 'deeper')
    return root


def parsed(module: object, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)  # type: ignore[attr-defined]
    args = parser.parse_args(list(argv))
    apply_config(args)
    return args


PYPROJECT = '''
[project]
name = "x"

[tool.digestpin]
allow = ["localhost:5000/*"]
ignore = ["DP003"]
strict = true
keep-tag = false
source = "registry"
timeout = 3
connections = 3
'''

SETUP_CFG = '''
[metadata]
name = x

[digestpin]
allow =
    localhost:5000/*
ignore = DP003
strict = yes
keep-tag = false
source = registry
timeout = 3
connections = 3
'''


@pytest.mark.parametrize(('name', 'text'), (('pyproject.toml', PYPROJECT), ('setup.cfg', SETUP_CFG)))
def test_every_key_from_the_repository_root(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)
    config = load_config()
    assert config.path == str(repo / name)
    assert config.values == {
        'allow': ['localhost:5000/*'], 'ignore': ['DP003'], 'strict': True,
        'keep_tag': False, 'source': 'registry', 'timeout': 3.0, 'connections': 3,
    }
    args = parsed(fix)
    assert (args.allow, args.ignore, args.strict, args.keep_tag, args.source,
            args.docker_host, args.timeout, args.connections) == (
        ['localhost:5000/*'], ['DP003'], True, False, 'registry', None, 3.0, 3,
    )
    assert parsed(update).connections == parsed(verify).connections == 3


def test_command_line_overrides_the_file(repo: Path) -> None:
    (repo / 'pyproject.toml').write_text(PYPROJECT)
    args = parsed(
        fix, '--no-strict', '--keep-tag', '--source', 'pull', '--docker-host',
        'unix:///tmp/mine.sock', '--timeout', '7', '--allow', 'ghcr.io/*',
        '--ignore', 'DP002', '--connections', '16',
    )
    assert (args.strict, args.keep_tag, args.source, args.docker_host, args.timeout,
            args.connections) == (False, True, 'pull', 'unix:///tmp/mine.sock', 7.0, 16)
    assert args.allow == ['localhost:5000/*', 'ghcr.io/*']
    assert args.ignore == ['DP003', 'DP002']


@pytest.mark.parametrize(('name', 'text', 'key', 'instead'), (
    ('pyproject.toml', '[tool.digestpin]\ndocker-host = "unix:///tmp/other.sock"\n', 'docker-host',
     '--docker-host, DOCKER_HOST or `docker context use`'),
    ('setup.cfg', '[digestpin]\ndocker-host = tcp://example.com:2375\n', 'docker-host',
     '--docker-host, DOCKER_HOST or `docker context use`'),
    ('pyproject.toml', '[tool.digestpin]\ninsecure-registries = ["ghcr.io"]\n', 'insecure-registries',
     '--insecure-registry'),
    ('setup.cfg', '[digestpin]\ninsecure-registries = registry.lan:5000\n', 'insecure-registries',
     '--insecure-registry'),
))
def test_a_file_cannot_choose_where_credentials_go(
        repo: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, key: str, instead: str,
) -> None:
    """The file comes with the code it checks (a pull request's
    pyproject.toml, read by a CI job of the base branch): naming the daemon
    (sent X-Registry-Auth, the registries' logins) or a registry to ask over
    plain HTTP is the machine's to say, as Docker keeps both."""
    (repo / name).write_text(text)
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    for main in (lint_main, fix.main, update.main, verify.main):
        assert main([str(repo / 'Dockerfile')]) == 2
        out, err = capsys.readouterr()
        assert out == ''
        section = '[tool.digestpin]' if name == 'pyproject.toml' else '[digestpin]'
        assert err.endswith(
            f'error: {repo / name} {section}: {key} cannot be set in a file: it chooses where '
            f'registry credentials are sent, and the file comes with the code it checks; '
            f'use {instead}\n',
        ), err
        assert err.count('\n') == 1


def test_defaults_without_a_file(repo: Path) -> None:
    args = parsed(fix)
    assert (args.allow, args.ignore, args.strict, args.keep_tag, args.source,
            args.docker_host, args.timeout, args.connections) == (
        [], [], False, True, 'local', None, 10.0, 8,
    )
    assert parsed(update).source == 'pull'
    assert parsed(verify).source == 'registry'


def test_source_a_command_lacks_keeps_its_default(repo: Path) -> None:
    (repo / 'setup.cfg').write_text('[digestpin]\nsource = pull\n')
    assert parsed(fix).source == 'pull'
    assert parsed(verify).source == 'registry'  # verify cannot pull


def test_nearest_file_wins_and_search_stops_at_the_root(repo: Path, tmp_path: Path) -> None:
    (repo / 'pyproject.toml').write_text('[tool.digestpin]\nstrict = true\n')
    (repo / 'sub' / 'setup.cfg').write_text('[digestpin]\nstrict = false\n')
    assert load_config().values == {'strict': False}
    (repo / 'sub' / 'setup.cfg').unlink()
    assert load_config().values == {'strict': True}
    (repo / 'pyproject.toml').unlink()
    (tmp_path / 'setup.cfg').write_text('[digestpin]\nstrict = true\n')  # above the root
    assert load_config() == Config('', {})


def test_files_without_our_section_are_skipped(repo: Path) -> None:
    (repo / 'sub' / 'pyproject.toml').write_text('[tool.black]\nline-length = 80\n')
    (repo / 'setup.cfg').write_text('[digestpin]\ntimeout = 4\n')
    assert load_config().values == {'timeout': 4.0}


@pytest.mark.parametrize(
    ('name', 'text', 'message'),
    (
        ('pyproject.toml', '[tool.digestpin]\nstrikt = true\n',
         "[tool.digestpin]: unknown key 'strikt' (known: allow, ignore, strict, keep-tag, source, timeout, connections, trust, trust-root)"),
        ('pyproject.toml', '[tool.digestpin]\nstrict = "yes"\n', '[tool.digestpin]: strict must be true or false'),
        ('pyproject.toml', '[tool.digestpin]\nallow = "x/*"\n', '[tool.digestpin]: allow must be a list of strings'),
        ('pyproject.toml', '[tool.digestpin]\nignore = ["DP999"]\n', "[tool.digestpin]: ignore: unknown code 'DP999'"),
        ('pyproject.toml', '[tool.digestpin]\nsource = "cache"\n', "[tool.digestpin]: source must be one of local, pull, registry, daemon-registry, not 'cache'"),
        ('pyproject.toml', '[tool.digestpin]\ntimeout = -1\n', '[tool.digestpin]: timeout must be a number of seconds above 0'),
        ('pyproject.toml', '[tool.digestpin]\nkeep-tag = 1\n', '[tool.digestpin]: keep-tag must be true or false'),
        ('pyproject.toml', '[tool.digestpin\n', 'invalid TOML'),
        ('setup.cfg', '[digestpin]\nstrict = maybe\n', "[digestpin]: strict must be true or false, not 'maybe'"),
        ('setup.cfg', '[digestpin]\ntimeout = soon\n', "[digestpin]: timeout must be a number of seconds, not 'soon'"),
        ('setup.cfg', '[digestpin]\nfoo = 1\n', "[digestpin]: unknown key 'foo'"),
    ),
)
def test_bad_configuration_is_one_line_and_exit_2(
        repo: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str,
) -> None:
    (repo / name).write_text(text)
    with pytest.raises(ConfigError, match=None):
        load_config()
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    assert lint_main([str(repo / 'Dockerfile')]) == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert len(err.splitlines()) == 1
    assert err.startswith(f'digestpin-lint: error: {repo / name}')
    assert message in err


def test_config_changes_what_lint_reports(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / 'Dockerfile').write_text('FROM localhost:5000/a:1\nFROM b:1\nARG X\nFROM $X\n')
    assert lint_main([str(repo / 'Dockerfile')]) == 1
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ['DP001', 'DP001', 'DP003']
    (repo / 'pyproject.toml').write_text(
        '[tool.digestpin]\nallow = ["localhost:5000/*"]\nignore = ["DP001"]\nstrict = true\n',
    )
    assert lint_main([str(repo / 'Dockerfile')]) == 1  # DP003 made an error
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ['DP003']
    assert lint_main(['--no-strict', str(repo / 'Dockerfile')]) == 0


@pytest.mark.parametrize(('name', 'text'), (
    ('pyproject.toml', '[tool.digestpin]\nignore = ["dp001"]\n'),
    ('setup.cfg', '[digestpin]\nignore = dp001, Dp003\n'),
))
def test_ignored_codes_in_any_case(
        repo: Path, capsys: pytest.CaptureFixture[str], name: str, text: str,
) -> None:
    (repo / name).write_text(text)
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    assert lint_main([str(repo / 'Dockerfile')]) == 0
    assert capsys.readouterr() == ('', '')
    assert parsed(verify).ignore[0] == 'DP001'


TRUST = '''
[tool.digestpin]
timeout = 3

[[tool.digestpin.trust]]
images = ["ghcr.io/acme/*", "registry.example.com/base/*"]
key = "keys/cosign.pub"
attestations = ["https://slsa.dev/provenance/v1"]

[[tool.digestpin.trust]]
images = ["docker.io/library/*"]
key = "/etc/other.pub"
tlog = true
'''


def test_trust_rules_in_order_with_key_paths_from_the_files_folder(repo: Path) -> None:
    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.model import trust_rule_for
    (repo / 'pyproject.toml').write_text(TRUST)
    rules = load_config().values['trust']
    assert rules == (
        TrustRule(
            ('ghcr.io/acme/*', 'registry.example.com/base/*'),
            str(repo / 'keys' / 'cosign.pub'), '', '', '',
            ('https://slsa.dev/provenance/v1',), False, 1,
        ),
        TrustRule(('docker.io/library/*',), '/etc/other.pub', '', '', '', (), True, 2),
    )
    assert parsed(verify).trust == rules
    assert trust_rule_for(rules, 'ghcr.io/acme/app') == rules[0]
    assert trust_rule_for(rules, 'docker.io/library/node') == rules[1]
    assert trust_rule_for(rules, 'ghcr.io/other/app') is None


def test_keyless_rules_and_the_trust_root_from_the_files_folder(repo: Path) -> None:
    from digestpin_hooks.model import TrustRule
    (repo / 'pyproject.toml').write_text(
        '[tool.digestpin]\ntrust-root = "sigstore/trusted_root.json"\n\n'
        '[[tool.digestpin.trust]]\nimages = ["ghcr.io/acme/*"]\n'
        'issuer = "https://token.actions.githubusercontent.com"\n'
        'identity = "https://github.com/acme/base/.github/workflows/release.yml@refs/heads/main"\n\n'
        '[[tool.digestpin.trust]]\nimages = ["ghcr.io/*"]\n'
        'issuer = "https://token.actions.githubusercontent.com"\n'
        'identity-regexp = "https://github.com/acme/.*"\n',
    )
    values = load_config().values
    assert values['trust_root'] == str(repo / 'sigstore' / 'trusted_root.json')
    assert values['trust'] == (
        TrustRule(
            ('ghcr.io/acme/*',), '', 'https://token.actions.githubusercontent.com',
            'https://github.com/acme/base/.github/workflows/release.yml@refs/heads/main', '',
            (), False, 1,
        ),
        TrustRule(
            ('ghcr.io/*',), '', 'https://token.actions.githubusercontent.com', '',
            'https://github.com/acme/.*', (), False, 2,
        ),
    )
    assert parsed(verify).trust_root == str(repo / 'sigstore' / 'trusted_root.json')
    assert parsed(verify, '--trust-root', 'x.json').trust_root == 'x.json'


@pytest.mark.parametrize(
    ('text', 'message'),
    (
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nkye = "k.pub"\n',
         "trust rule 1: unknown key 'kye' (known: images, key, issuer, identity, identity-regexp, attestations, tlog)"),
        ('[[tool.digestpin.trust]]\nkey = "k.pub"\n', 'trust rule 1: images must be a list of strings'),
        ('[[tool.digestpin.trust]]\nimages = []\nkey = "k.pub"\n', 'trust rule 1: images must name at least one pattern'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nkey = 1\n', 'trust rule 1: key must be a string'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\n',
         'trust rule 1: give either key, or issuer with identity or identity-regexp'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nkey = "k"\nissuer = "https://x"\n',
         'trust rule 1: give either key, or issuer with identity or identity-regexp'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nkey = "k"\nattestations = "x"\n',
         'trust rule 1: attestations must be a list of strings'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nkey = "k"\ntlog = "yes"\n', 'trust rule 1: tlog must be true or false'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nissuer = "https://x"\nidentity = "me"\n'
         'tlog = true\n',
         'trust rule 1: tlog = true is for key rules (keyless rules always require a '
         'transparency-log entry)'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nissuer = "https://x"\n',
         'trust rule 1: a keyless rule needs issuer and one of identity, identity-regexp'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nissuer = "https://x"\nidentity = "me"\n'
         'identity-regexp = "m.*"\n',
         'trust rule 1: a keyless rule needs issuer and one of identity, identity-regexp'),
        ('[[tool.digestpin.trust]]\nimages = ["a/*"]\nissuer = "https://x"\nidentity-regexp = "("\n',
         'trust rule 1: identity-regexp: missing ), unterminated subpattern at position 0'),
        ('[tool.digestpin]\ntrust-root = 1\n', 'trust-root must be a file name'),
        ('[tool.digestpin]\ntrust-root = ""\n', 'trust-root must be a file name'),
        ('[tool.digestpin]\ntrust = {images = ["a/*"]}\n', 'trust must be an array of tables'),
        ('[tool.digestpin]\ntrust = ["a/*"]\n', 'trust rule 1 must be a table'),
    ),
)
def test_bad_trust_rules_are_one_line_and_exit_2(
        repo: Path, capsys: pytest.CaptureFixture[str], text: str, message: str,
) -> None:
    (repo / 'pyproject.toml').write_text(text)
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    assert lint_main([str(repo / 'Dockerfile')]) == 2
    out, err = capsys.readouterr()
    assert out == ''
    prefix = f'digestpin-lint: error: {repo / "pyproject.toml"} [tool.digestpin]: '
    assert err.startswith(prefix + message)
    assert err.count('\n') == 1


def test_trust_rules_only_in_pyproject(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / 'setup.cfg').write_text('[digestpin]\ntrust = images=a/*\n')
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    assert lint_main([str(repo / 'Dockerfile')]) == 2
    assert capsys.readouterr().err == (
        f'digestpin-lint: error: {repo / "setup.cfg"} [digestpin]: trust rules can be '
        f'written in pyproject.toml only ([[tool.digestpin.trust]])\n'
    )


WHOLE = 'must be a whole number from 1 to 16'
CONNECTIONS_RANGE = f'connections {WHOLE}'


@pytest.mark.parametrize(('name', 'text', 'message'), (
    ('pyproject.toml', 'connections = 0', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('pyproject.toml', 'connections = 17', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('pyproject.toml', 'connections = -3', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('pyproject.toml', 'connections = 4.0', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('pyproject.toml', 'connections = true', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('pyproject.toml', 'connections = "4"', f'[tool.digestpin]: {CONNECTIONS_RANGE}'),
    ('setup.cfg', 'connections = 0', f'[digestpin]: {CONNECTIONS_RANGE}'),
    ('setup.cfg', 'connections = 99999', f"[digestpin]: {CONNECTIONS_RANGE}, not '99999'"),
    ('setup.cfg', 'connections = many', f"[digestpin]: {CONNECTIONS_RANGE}, not 'many'"),
    ('setup.cfg', 'connections = 4.0', f"[digestpin]: {CONNECTIONS_RANGE}, not '4.0'"),
    ('setup.cfg', 'connections = \u0663', f"[digestpin]: {CONNECTIONS_RANGE}, not '\u0663'"),
))
@pytest.mark.parametrize('module', (fix, update, verify))
def test_connections_out_of_range_in_the_file_is_one_line_and_exit_2(
        repo: Path, capsys: pytest.CaptureFixture[str], name: str, text: str,
        message: str, module: object,
) -> None:
    section = '[tool.digestpin]' if name == 'pyproject.toml' else '[digestpin]'
    (repo / name).write_text(f'{section}\n{text}\n')
    (repo / 'Dockerfile').write_text('FROM a:1\n')
    prog = f'digestpin-{module.__name__.rpartition(".")[2]}'  # type: ignore[attr-defined]
    assert module.main([str(repo / 'Dockerfile')]) == 2  # type: ignore[attr-defined]
    assert capsys.readouterr() == ('', f'{prog}: error: {repo / name} {message}\n')


@pytest.mark.parametrize('value', ('0', '17', '-1', '2.5', 'eight', '', '\u0663', '9' * 5000))
@pytest.mark.parametrize('module', (fix, update, verify))
def test_connections_out_of_range_on_the_command_line(
        repo: Path, capsys: pytest.CaptureFixture[str], value: str, module: object,
) -> None:
    prog = f'digestpin-{module.__name__.rpartition(".")[2]}'  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exit:
        module.main([f'--connections={value}', 'Dockerfile'])  # type: ignore[attr-defined]
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith(f'usage: {prog} ')
    assert err.splitlines()[-1] == (
        f'{prog}: error: argument --connections: {WHOLE}, not {value!r}'
    )


def test_connections_default_is_the_registry_pools() -> None:
    from digestpin_hooks.cli import DEFAULT_CONNECTIONS
    from digestpin_hooks.config import MAX_CONNECTIONS
    from digestpin_hooks.resolve.answers import SourceOptions
    from digestpin_hooks.resolve.registry import CONNECTIONS_PER_REGISTRY
    from digestpin_hooks.resolve.sources import open_source
    assert DEFAULT_CONNECTIONS == CONNECTIONS_PER_REGISTRY == 8
    assert SourceOptions(None, 1.0).connections == CONNECTIONS_PER_REGISTRY
    assert open_source('registry', None, 1.0).options.connections == CONNECTIONS_PER_REGISTRY  # type: ignore[attr-defined]
    assert MAX_CONNECTIONS == 16
