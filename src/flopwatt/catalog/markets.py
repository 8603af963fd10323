"""Which catalog accelerators can be sold to a buyer in a market (catalog markets.toml).

Every (market, accelerator) pair resolves to exactly one answer: the one rule that names both, or the
market's default. Two rules naming the same pair are an error at load time, so the answer never depends
on file order. Wire-in: ``from flopwatt.catalog.markets import allowed`` (not re-exported by
``flopwatt.catalog``; the lead owns that module).
"""

from __future__ import annotations

import functools
from typing import Any

from flopwatt.catalog import accelerators, check_keys, read_toml
from flopwatt.errors import InputError, unknown_id
from flopwatt.specs.market import Market, MarketRule


def _build(cls: type, owner: str, entry_id: str, entry: Any) -> Any:
    if not isinstance(entry, dict):
        raise InputError(owner, "a table")
    check_keys(owner, entry, cls)
    try:
        return cls(id=entry_id, **entry)
    except TypeError as exc:
        raise InputError(owner, f"fields of the right types ({exc})") from exc


@functools.cache
def _tables() -> tuple[dict[str, Market], dict[str, MarketRule], dict[tuple[str, str], MarketRule]]:
    data = dict(read_toml("markets.toml", "catalog markets.toml"))
    unknown = sorted(set(data) - {"market", "rule"})
    if unknown:
        raise InputError(f"catalog markets.toml [{unknown[0]}]", "market or rule tables")
    markets = {k: _build(Market, f"market {k}", k, v) for k, v in data.get("market", {}).items()}
    rules = {}
    for k, v in data.get("rule", {}).items():
        entry = dict(v) if isinstance(v, dict) else v
        if isinstance(entry, dict):
            entry.update({key: tuple(entry[key]) for key in ("markets", "accelerators")
                          if isinstance(entry.get(key), list)})
        rules[k] = _build(MarketRule, f"market rule {k}", k, entry)
    return markets, rules, _index(markets, rules)


def _index(markets: dict[str, Market], rules: dict[str, MarketRule]) -> dict[tuple[str, str], MarketRule]:
    """(market, accelerator) -> its one rule; unknown ids and a pair named twice are errors."""
    known = accelerators()
    index: dict[tuple[str, str], MarketRule] = {}
    for rule in rules.values():
        for market_id in rule.markets:
            if market_id not in markets:
                raise unknown_id(f"market rule {rule.id}.markets", market_id, markets)
            for acc_id in rule.accelerators:
                if acc_id not in known:
                    raise unknown_id(f"market rule {rule.id}.accelerators", acc_id, known)
                if (market_id, acc_id) in index:
                    other = index[(market_id, acc_id)].id
                    raise InputError(f"market rule {rule.id}", f"no pair already ruled ({market_id}/{acc_id} is in "
                                     f"rule {other})")
                index[(market_id, acc_id)] = rule
    return index


def markets() -> dict[str, Market]:
    return _tables()[0]


def market_rules() -> dict[str, MarketRule]:
    return _tables()[1]


def rule_for(market_id: str, accelerator_id: str) -> MarketRule | None:
    """The rule naming this pair, or None where the market's default applies."""
    _check_ids(market_id, accelerator_id)
    return _tables()[2].get((market_id, accelerator_id))


def status(market_id: str, accelerator_id: str) -> str:
    """One of flopwatt.specs.market.STATUSES for this pair."""
    rule = rule_for(market_id, accelerator_id)
    return markets()[market_id].default_status if rule is None else rule.status


def allowed(market_id: str, accelerator_id: str) -> tuple[bool, str]:
    """(True only when the status is 'allowed', one line saying which rule and why)."""
    rule = rule_for(market_id, accelerator_id)
    if rule is None:
        market = markets()[market_id]
        return market.default_status == "allowed", (f"{accelerator_id} in {market_id}: {market.default_status} "
                                                     f"(market default) - {market.default_rule}")
    return rule.status == "allowed", (f"{accelerator_id} in {market_id}: {rule.status} (rule {rule.id}, from "
                                      f"{rule.effective}) - {rule.rule}")


def _check_ids(market_id: str, accelerator_id: str) -> None:
    if market_id not in markets():
        raise unknown_id("market", market_id, markets())
    if accelerator_id not in accelerators():
        raise unknown_id("accelerator", accelerator_id, accelerators())


def ruling(market_id: str, accelerator_id: str) -> dict[str, str | bool]:
    """The answer for one pair as data: allowed, status, rule id ('' = market default), rule text, source."""
    rule = rule_for(market_id, accelerator_id)
    ok, text = allowed(market_id, accelerator_id)
    if rule is None:
        market = markets()[market_id]
        return {"accelerator": accelerator_id, "market": market_id, "allowed": ok, "status": market.default_status,
                "rule_id": "", "rule": text, "source": market.source}
    return {"accelerator": accelerator_id, "market": market_id, "allowed": ok, "status": rule.status,
            "rule_id": rule.id, "rule": text, "source": rule.source}


def excluded(market_id: str, accelerator_ids: list[str] | tuple[str, ...]) -> list[dict[str, str | bool]]:
    """The rulings of those accelerators that are not 'allowed' in ``market_id`` (in the order given)."""
    out = []
    for acc_id in dict.fromkeys(accelerator_ids):
        entry = ruling(market_id, acc_id)
        if not entry["allowed"]:
            out.append(entry)
    return out
