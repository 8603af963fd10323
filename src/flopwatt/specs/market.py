"""Markets (where a buyer sits) and the rules that say which accelerators can be sold there.

A rule names its markets, its accelerators, a status and the regulation or fact it rests on
(catalog markets.toml). Status ``allowed`` is the only one under which a sale goes ahead without
further steps; ``licence`` needs a government licence (granted case by case or presumed denied, as the
rule text says), ``prohibited`` is a ban, ``not-offered`` means the vendor does not sell it there (e.g.
rent-only or not yet shipping) and ``unknown`` means no source was found either way.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import one_of

STATUSES = ("allowed", "licence", "prohibited", "not-offered", "unknown")


def _iso_date(owner: str, name: str, value: str) -> None:
    try:
        datetime.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{owner}.{name}", "an ISO date (YYYY-MM-DD)", value) from exc


@dataclass(frozen=True, kw_only=True, slots=True)
class Market:
    """A buyer's jurisdiction, with the status that applies where no rule names an accelerator."""

    id: str
    name: str
    default_status: str
    default_rule: str
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        one_of(f"market {self.id}", "default_status", self.default_status, STATUSES)
        _iso_date(f"market {self.id}", "retrieved", self.retrieved)


@dataclass(frozen=True, kw_only=True, slots=True)
class MarketRule:
    """One sourced rule: these accelerators have this status in these markets, from ``effective`` on."""

    id: str
    markets: tuple[str, ...]
    accelerators: tuple[str, ...]
    status: str
    rule: str
    effective: str
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"market rule {self.id}"
        one_of(owner, "status", self.status, STATUSES)
        _iso_date(owner, "effective", self.effective)
        _iso_date(owner, "retrieved", self.retrieved)
        for name in ("markets", "accelerators"):
            value = getattr(self, name)
            if not value or not all(isinstance(v, str) and v for v in value):
                raise InputError(f"{owner}.{name}", "a non-empty list of ids", value)
