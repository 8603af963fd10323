"""One result type for training and serving estimates.

Infeasible is data: ``feasible`` is False, ``reason`` names the most frequent reason from the shared
vocabulary (:mod:`flopwatt.perf.reasons`) and ``infeasible`` counts every reason over the plans
evaluated. Footprint figures that need an unpublished catalog figure are absent and ``unknown``
says why; ``assumptions`` lists every default and stated rule the numbers rest on; ``advice`` says
what limited the answer and what would lift it.

The fields (types, defaults, descriptions) are those of :class:`flopwatt.api.outcome.Outcome`, defined
there once; :class:`Result` is the validated pydantic model built from them.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from flopwatt.api import outcome
from flopwatt.api.outcome import Outcome


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _field(f: dataclasses.Field) -> Any:
    description = f.metadata.get("description")
    if f.default is not dataclasses.MISSING:
        return Field(f.default, description=description)
    if f.default_factory is not dataclasses.MISSING:
        return Field(default_factory=f.default_factory, description=description)
    return Field(description=description)


_HINTS = typing.get_type_hints(Outcome)
Result = create_model("Result", __base__=_Base, __module__=__name__, __doc__=Outcome.__doc__,
                      **{f.name: (_HINTS[f.name], _field(f)) for f in dataclasses.fields(Outcome)})


def from_outcome(found: Outcome) -> Result:
    """The validated result of an :class:`~flopwatt.api.outcome.Outcome`."""
    return Result(**found.values())


def infeasible(kind: str, inputs: dict, counts: dict[str, int], evaluated: int, notes: list[str],
               message: str | None = None) -> Result:
    """A result with no feasible plan: the most frequent reason, and the counts."""
    return from_outcome(outcome.infeasible(kind, inputs, counts, evaluated, notes, message))
