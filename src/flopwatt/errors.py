"""User-facing errors.

Every mistake a user can make (a bad file, field, value or catalog id) becomes one
:class:`InputError` naming the field and what was expected. The CLI prints its message as one
line and exits with status 2. Library code never raises it for infeasible *plans*: those are
data (a mask and a reason code, see :mod:`flopwatt.perf.feasibility`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InputError(ValueError):
    """A user error: ``field`` names what was wrong, the message says what was expected."""

    def __init__(self, field: str, expected: str, got: object = None, *, message: str | None = None) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        got_text = "" if got is None else f", got {got!r}"
        super().__init__(f"{field}: {message}" if message else f"{field}: expected {expected}{got_text}")


def unknown_id(field: str, given: str, known: Iterable[str]) -> InputError:
    """An :class:`InputError` for an unknown catalog id, suggesting the closest known ids."""
    known = sorted(known)
    close = difflib.get_close_matches(given, known, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known ids: {', '.join(known)}"
    return InputError(field, "a known id", given, message=f"unknown id {given!r}; {hint}")


class ArgumentError(InputError):
    """A command-line style argument error (from argparse): the message is already complete."""

    def __init__(self, prog: str, message: str) -> None:
        self.prog = prog
        super().__init__("argument", message, message=message)

    def __str__(self) -> str:
        return self.expected
