# Imported only by the type-check copy of the bindings, never by what ships.
from typing import Iterator, Protocol, TypeVar

_T_co = TypeVar("_T_co", covariant=True)

class NonStrSequence(Protocol[_T_co]):
    """A sequence that is not a str.

    `typing.Sequence[str]` accepts a str, since a str is a sequence of str; jsii would then fail at
    run time. A str's `__contains__` only takes a str, so a str does not match this protocol, while
    lists and tuples (whose `__contains__` takes any object) do.
    """
    def __contains__(self, value: object, /) -> bool: ...
    def __getitem__(self, index: int, /) -> _T_co: ...
    def __iter__(self) -> Iterator[_T_co]: ...
    def __len__(self) -> int: ...
