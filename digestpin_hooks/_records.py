"""``NamedTuple`` for our records, without importing ``typing`` at run time.

Importing ``typing`` costs about 5 ms, and the lint hook runs on every
commit.  Type checkers see ``typing.NamedTuple`` itself; at run time the
class statement builds the same ``collections.namedtuple`` subclass that
``typing.NamedTuple`` would (fields from the annotations, defaults from the
assigned values, methods and docstring kept).
"""
from __future__ import annotations

# mypy takes any ``if TYPE_CHECKING:`` as true; at run time this one is False
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    class _NamedTupleMeta(type):
        def __new__(mcs, name, bases, namespace):  # noqa: N804
            if not namespace.get('_is_root'):
                fields = list(namespace.get('__annotations__', {}))
                defaults = [namespace[f] for f in fields if f in namespace]
                record = collections.namedtuple(
                    name, fields, defaults=defaults,
                    module=namespace['__module__'],
                )
                for key, value in namespace.items():
                    if key not in fields and key not in (
                        '__annotations__', '__module__', '__qualname__',
                    ):
                        setattr(record, key, value)
                record.__annotations__ = namespace.get('__annotations__', {})
                return record
            return super().__new__(mcs, name, bases, namespace)

    class NamedTuple(metaclass=_NamedTupleMeta):
        _is_root = True
