"""JSON with comments and trailing commas (dev containers' ``devcontainer.json``)
read into the same position-keeping nodes as YAML.

``json`` keeps no positions and refuses comments, so this reader is ours:
one pass over the text, its own stack (no recursion), the YAML reader's
limits on depth and size.  Strings become double-quoted scalars with their
exact spans, so a fix edits the string in place and every comment, space
and comma around it stays.
"""
from __future__ import annotations

from digestpin_hooks.read.yaml_nodes import MAX_DEPTH
from digestpin_hooks.read.yaml_nodes import MAX_NODES
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from digestpin_hooks.read.yaml_nodes import Node

_ESCAPES = {'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
_LITERAL_CHARACTERS = frozenset(
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.',
)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1

    def error(self, message: str) -> YamlError:
        return YamlError(f'invalid JSON: line {self.line}: {message}')

    def skip(self) -> None:
        """Blanks and comments."""
        text = self.text
        n = len(text)
        while self.at < n:
            c = text[self.at]
            if c == '\n':
                self.line += 1
                self.at += 1
            elif c in ' \t\r\ufeff':
                self.at += 1
            elif text.startswith('//', self.at):
                end = text.find('\n', self.at)
                self.at = n if end < 0 else end
            elif text.startswith('/*', self.at):
                end = text.find('*/', self.at + 2)
                if end < 0:
                    raise self.error('unterminated /* comment')
                self.line += text.count('\n', self.at, end)
                self.at = end + 2
            else:
                return

    def string(self) -> Scalar:
        text = self.text
        start = self.at
        line = self.line
        parts = []
        i = start + 1
        while True:
            end = i
            while end < len(text) and text[end] not in '"\\\n':
                end += 1
            parts.append(text[i:end])
            if end >= len(text) or text[end] == '\n':
                raise self.error('unterminated string')
            if text[end] == '"':
                self.at = end + 1
                return Scalar(''.join(parts), '"', start, self.at, line)
            escape = text[end + 1:end + 2]
            if escape == 'u':
                digits = text[end + 2:end + 6]
                if len(digits) != 4 or not all(c in '0123456789abcdefABCDEF' for c in digits):
                    raise self.error('malformed \\u escape')
                parts.append(chr(int(digits, 16)))
                i = end + 6
            elif escape in _ESCAPES:
                parts.append(_ESCAPES[escape])
                i = end + 2
            else:
                raise self.error('malformed escape')

    def literal(self) -> Scalar:
        text = self.text
        start = self.at
        end = start
        while end < len(text) and text[end] in _LITERAL_CHARACTERS:
            end += 1
        if end == start:
            raise self.error(f'unexpected {text[start]!r}')
        self.at = end
        return Scalar(text[start:end], '', start, end, self.line)


def parse_jsonc(text: str) -> list[Node | None]:
    """The one document of a JSON-with-comments text (a list, as YAML's)."""
    reader = _Reader(text)
    # open collections; for a mapping, the key waiting for its value
    stack: list[tuple[YamlMapping | YamlSequence, Scalar | None]] = []
    root: Node | None = None
    nodes = 0
    # what may come next: 'value', 'key' (or '}'), 'comma' (',' or close)
    expect = 'value'
    while True:
        reader.skip()
        if reader.at >= len(text):
            break
        c = text[reader.at]
        if expect == 'end':
            raise reader.error('more than one value at the top')
        if expect == 'comma':
            if c == ',':
                reader.at += 1
                expect = 'key' if isinstance(stack[-1][0], YamlMapping) else 'value'
                continue
            if c not in '}]':
                raise reader.error(f'expected , or a closing bracket, not {c!r}')
        if c in '}]':
            if not stack:
                raise reader.error(f'unexpected {c!r}')
            collection, key = stack[-1]
            if (c == '}') != isinstance(collection, YamlMapping) or key is not None:
                raise reader.error(f'unexpected {c!r}')
            reader.at += 1
            stack.pop()
            node: Node = collection
        elif expect == 'key':
            if c != '"':
                raise reader.error(f'expected a string key, not {c!r}')
            key_node = reader.string()
            reader.skip()
            if text[reader.at:reader.at + 1] != ':':
                raise reader.error('expected : after a key')
            reader.at += 1
            stack[-1] = (stack[-1][0], key_node)
            expect = 'value'
            continue
        elif c in '{[':
            if len(stack) >= MAX_DEPTH:
                raise reader.error(f'nested more than {MAX_DEPTH} levels deep')
            opened: YamlMapping | YamlSequence = (
                # the dev containers CLI's jsonc-parser keeps a repeated
                # key's later value, as JavaScript objects do
                YamlMapping([], reader.at, reader.line, later_wins=True) if c == '{'
                else YamlSequence([], reader.at, reader.line)
            )
            reader.at += 1
            stack.append((opened, None))
            expect = 'key' if c == '{' else 'value'
            nodes += 1
            continue
        elif c == '"':
            node = reader.string()
        else:
            node = reader.literal()
        nodes += 1
        if nodes > MAX_NODES:
            raise reader.error(f'more than {MAX_NODES} nodes')
        if not stack:
            root = node
            expect = 'end'
            continue
        parent, key = stack[-1]
        if isinstance(parent, YamlMapping):
            assert key is not None
            parent.pairs.append((key, node))
            stack[-1] = (parent, None)
        else:
            parent.items.append(node)
        expect = 'comma'
    if stack:
        raise reader.error('unclosed bracket at the end')
    return [root]
