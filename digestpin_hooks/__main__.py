"""digestpin: the hooks as subcommands (``digestpin lint …``)."""
from __future__ import annotations

import argparse
from typing import Sequence

from digestpin_hooks import fix
from digestpin_hooks import lint
from digestpin_hooks.lint import _formatter


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='digestpin',
        formatter_class=_formatter,
        description='Pin container images to content digests.',
    )
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True
    lint_parser = commands.add_parser(
        'lint', help='report images not pinned to a digest',
        formatter_class=_formatter,
    )
    lint.add_common_arguments(lint_parser)
    lint_parser.set_defaults(run=lint.run)
    fix_parser = commands.add_parser(
        'fix', help='pin images to the digests the Docker daemon knows',
        formatter_class=_formatter,
    )
    fix.add_fix_arguments(fix_parser)
    fix_parser.set_defaults(run=fix.run)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == '__main__':
    raise SystemExit(main())
