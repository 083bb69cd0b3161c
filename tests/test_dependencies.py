"""setup.cfg declares every package the code imports, each with a lower
bound, and the lowest declared versions work: they are installed together in
a throwaway environment, where the lint, fix and configuration tests run."""
from __future__ import annotations

import ast
import configparser
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / 'digestpin_hooks'


def requirements() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / 'setup.cfg')
    return [
        line.strip() for line in config['options']['install_requires'].splitlines()
        if line.strip() and not line.strip().startswith('#')
    ]


def lowest() -> dict[str, str]:
    """{distribution: the version its ``>=`` bound names}."""
    found = {}
    for requirement in requirements():
        match = re.match(r'([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\b', requirement)
        assert match, f'no lower bound: {requirement}'
        found[match[1]] = match[2]
    return found


def imported_distributions() -> set[str]:
    """The distributions whose modules the package imports (anywhere, also
    inside functions and ``except ImportError``), found by reading it."""
    names: set[str] = set()
    for path in PACKAGE.rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split('.')[0])
    names -= set(sys.stdlib_module_names) | {'digestpin_hooks', '__future__'}
    # tomli is imported only where tomllib (3.11) is missing
    mapping = importlib.metadata.packages_distributions()
    return {('tomli' if name == 'tomli' else mapping[name][0]) for name in names}


def extras(name: str) -> dict[str, str]:
    """{distribution: lower bound} of an extra (``keyless``: sigstore, which
    the package imports only for keyless trust rules)."""
    config = configparser.ConfigParser()
    config.read(ROOT / 'setup.cfg')
    found = {}
    for line in config['options.extras_require'][name].splitlines():
        match = re.match(r'([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\b', line.strip())
        if line.strip():
            assert match, f'no lower bound: {line}'
            found[match[1]] = match[2]
    return found


def test_every_imported_package_is_declared_with_a_lower_bound() -> None:
    declared = {name.lower() for name in (*lowest(), *extras('keyless'))}
    assert {name.lower() for name in imported_distributions()} == declared
    assert len(lowest()) == len(requirements())  # none without a bound


def test_the_lowest_declared_versions_run_lint_and_fix(tmp_path: Path) -> None:
    """pip installs the requirements as declared, constrained to ``==`` their
    lower bounds (binary wheels only), into a venv without pip; the tests run
    there with pytest from this environment, behind the venv's packages."""
    venv = tmp_path / 'lowest'
    subprocess.run((sys.executable, '-m', 'venv', '--without-pip', str(venv)), check=True)
    python = venv / 'bin' / 'python'
    versions = lowest()
    # tomli is not installed on Python 3.11+ (its marker): install it too,
    # for the fallback run below
    constraints = tmp_path / 'lowest.txt'
    constraints.write_text(''.join(f'{name}=={version}\n' for name, version in versions.items()))
    installed = subprocess.run(
        (sys.executable, '-m', 'pip', '--python', str(python), 'install', '-q',
         '--disable-pip-version-check', '--only-binary=:all:',
         '--constraint', str(constraints), *requirements(), f'tomli=={versions["tomli"]}'),
        capture_output=True, text=True,
    )
    assert installed.returncode == 0, installed.stderr
    purelib = subprocess.run(
        (str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'),
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    # after the venv's own packages: pytest and the test helpers from here
    Path(purelib, 'outer.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('PYTHONHOME', None)
    env.pop('PYTEST_ADDOPTS', None)  # the outer run's options are not this run's

    probe = subprocess.run(
        (str(python), '-c',
         'import importlib.metadata as m; '
         'print(" ".join(f"{d}=={m.version(d)}" for d in '
         f'{sorted(versions)!r}))'),
        check=True, capture_output=True, text=True, env=env,
    )
    assert probe.stdout.split() == [f'{d}=={versions[d]}' for d in sorted(versions)]

    tests = subprocess.run(
        (str(python), '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-o', 'addopts=',
         'tests/test_lint.py', 'tests/test_fix.py', 'tests/test_config.py',
         'tests/test_faults.py::test_an_unreachable_daemon_is_one_sentence',
         'tests/test_faults.py::test_a_daemon_failure_is_one_sentence',
         'tests/test_registry_faults.py::test_a_sound_registry_verifies',
         'tests/test_registry_faults.py::test_a_failing_status',
         # the slow ones are about other things than the dependencies
         '--deselect', 'tests/test_fix.py::test_corpus_round_trip', '-k', 'not timed'),
        capture_output=True, text=True, cwd=ROOT, env=env,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert ' passed' in tests.stdout and 'skipped' not in tests.stdout, tests.stdout[-500:]

    # Python < 3.11 reads pyproject.toml with tomli: the lowest one
    (tmp_path / '.git').mkdir()
    (tmp_path / 'pyproject.toml').write_text('[tool.digestpin]\nignore = ["DP001"]\n')
    (tmp_path / 'Dockerfile').write_text('FROM a:1\n')
    fallback = subprocess.run(
        (str(python), '-c',
         'import sys; sys.modules["tomllib"] = None\n'
         'from digestpin_hooks.lint import main\n'
         'rc = main(["Dockerfile"])\n'
         'assert sys.modules["tomli"].__name__ == "tomli"\n'
         'raise SystemExit(rc)\n'),
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert (fallback.returncode, fallback.stdout, fallback.stderr) == (0, '', '')
