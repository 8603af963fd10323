"""One result type for training and serving estimates.

Infeasible is data: ``feasible`` is False, ``reason`` names the most frequent reason from the shared
vocabulary (:mod:`flopwatt.perf.reasons`) and ``infeasible`` counts every reason over the plans
evaluated. Footprint figures that need an unpublished catalog figure are absent and ``unknown``
says why; ``assumptions`` lists every default and stated rule the numbers rest on; ``advice`` says
what limited the answer and what would lift it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flopwatt.perf import reasons


class Result(BaseModel):
    """A training or serving estimate (the best plan of those evaluated)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["train", "serve"]
    inputs: dict[str, Any] = Field(description="resolved inputs: model, system, devices, precision, lengths, place")
    feasible: bool
    reason: str | None = Field(None, description="why no plan is feasible (shared vocabulary), if none is")
    message: str | None = Field(None, description="the reason in words, with the counts")
    plans_evaluated: int
    plans_feasible: int
    infeasible: dict[str, int] = Field(default_factory=dict, description="plans per infeasibility reason")
    plan: dict[str, Any] = Field(default_factory=dict)
    chosen: list[str] = Field(default_factory=list, description="plan knobs left open and chosen")
    time: dict[str, float] = Field(default_factory=dict, description="step or iteration time breakdown, s")
    memory: dict[str, float] = Field(default_factory=dict, description="memory per device, B")
    metrics: dict[str, Any] = Field(default_factory=dict)
    footprint: dict[str, float] = Field(default_factory=dict, description="power W, energy J, money $, tCO2e, "
                                        "reliability")
    unknown: list[str] = Field(default_factory=list, description="outputs left unknown, and why")
    assumptions: list[str] = Field(default_factory=list)
    advice: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict, description="fabric design, colocated optimum, ...")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def infeasible(kind: str, inputs: dict, counts: dict[str, int], evaluated: int, notes: list[str],
               message: str | None = None) -> Result:
    """A result with no feasible plan: the most frequent reason, and the counts."""
    bad = {k: v for k, v in counts.items() if k != "ok"}
    reason = max(bad, key=bad.get) if bad else "devices"
    text = message or f"no feasible plan of {evaluated:,}: {reasons.describe(bad) or reasons.EXPLANATIONS[reason]}"
    return Result(kind=kind, inputs=inputs, feasible=False, reason=reason, message=text, plans_evaluated=evaluated,
                  plans_feasible=0, infeasible=bad, assumptions=notes)
