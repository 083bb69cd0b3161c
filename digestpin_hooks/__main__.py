"""digestpin: the hooks as subcommands (``digestpin lint …``)."""
from __future__ import annotations

if __name__ == '__main__':
    import os
    import sys
    # python -m put the folder it was started in, the checkout being
    # scanned, first on sys.path (without -P): every module imported on
    # first use (yaml, base64, the docker SDK) was found there before the
    # standard library's and the installed ones, and its code ran
    try:
        if sys.path and sys.path[0] == os.getcwd():
            del sys.path[0]
    except OSError:
        pass  # no current folder: nothing is found in it
    # python -m digestpin_hooks: as the console script starts, this module
    # imported again by name inside its guard, so that a ^C while the
    # hooks' modules are imported ends in one line, 130
    from digestpin_hooks.console import digestpin
    raise SystemExit(digestpin())

import sys

from digestpin_hooks import cli
from digestpin_hooks import fix
from digestpin_hooks import lint
from digestpin_hooks import update
from digestpin_hooks import verify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence

COMMANDS = {
    'lint': (lint, 'report images not pinned to a digest'),
    'fix': (fix, 'pin images to the digests the Docker daemon knows'),
    'update': (update, "move pins to their tag's current digest"),
    'verify': (verify, 'check that pins exist, are current and fit the platform'),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser_for('digestpin', 'Pin container images to content digests.')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True
    subparsers = {}
    for name, (module, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, formatter_class=cli.formatter)
        cli.add_version(sub, f'digestpin {name}')
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
        subparsers[name] = sub
    words = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(words)
    if unknown:
        # argparse hands a subcommand's unknown options back up to the top
        # level, whose usage does not show the options the user meant
        after_command = words.index(unknown[0]) > words.index(args.command)
        (subparsers[args.command] if after_command else parser).error(
            f'unrecognized arguments: {" ".join(unknown)}',
        )
    # one prefix per hook, however it is started: the console script's name
    return cli.run(f'digestpin-{args.command}', args.run, args)
