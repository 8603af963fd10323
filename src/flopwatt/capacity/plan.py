"""The capacity plan: period by period, demand -> devices -> megawatts -> money and carbon.

Each period (a year or a quarter):
1. devices bought ``refresh_years`` ago or earlier retire (their megawatts free up);
2. the period's demand is listed: training jobs active in it (a job starts on 1 January of its year
   and needs tokens / deadline tokens/s until its deadline), services at their grown rate
   (rate x (1 + growth)^(t - first_year));
3. demands with fewer candidates go first (services bound by latency before training that may go
   anywhere); each takes its ranked candidates (:mod:`flopwatt.capacity.candidates`) in turn: first
   the installed devices left idle (in cost order), then new ones (in cost order), as far as the
   site's facility megawatts (grid connection by year), the hardware's supply that year and the
   year's capex budget allow;
4. what no candidate can take is unmet, with the limits that stopped it (power, supply, budget) or why
   there was no candidate (latency, no-estimate, no-hardware).

Device counts are planned as continuous quantities (fleet scale: thousands of devices) and reported
rounded up; megawatts, energy and money are computed from the planned counts. The allocation is greedy
in a fixed order, so with unlimited supply and budget more megawatts never leave more demand unmet, and
the devices that demand requires (``devices_required``, the first-choice candidates with no limits)
never fall when demand rises (tests/test_capacity_properties.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flopwatt.capacity import ledger
from flopwatt.capacity.candidates import (
    Candidate,
    device_price_usd,
    serving_candidates,
    step_value,
    training_candidates,
)
from flopwatt.capacity.config import CapacityConfig, ServingDemand, TrainingDemand
from flopwatt.capacity.rates import RateCache

YEAR_S = 365.25 * 86400.0
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    year: int
    start: float
    """In years (2026.25 = 1 April 2026)."""
    length_s: float


@dataclass(slots=True)
class Cohort:
    """Devices of one hardware type bought at one site in one period."""

    site: str
    hw: str
    bought: float
    devices: float
    price_usd: float | None
    it_peak_w: float
    idle_w: float
    pue: float


@dataclass(slots=True)
class Need:
    """One demand in one period: work still to place (tokens/s), busy seconds, its candidates."""

    id: str
    kind: str
    rate: float
    busy_s: float
    candidates: list[Candidate]
    reasons: list[str]
    demand: TrainingDemand | ServingDemand
    taken: list[tuple[Candidate, float, bool]] = field(default_factory=list)
    """(candidate, devices, new) allocations."""
    limits: set[str] = field(default_factory=set)


def periods(cfg: CapacityConfig) -> list[Period]:
    out = []
    for year in range(cfg.first_year, cfg.last_year + 1):
        if cfg.step == "year":
            out.append(Period(str(year), year, float(year), YEAR_S))
        else:
            out += [Period(f"{year}Q{q + 1}", year, year + q / 4, YEAR_S / 4) for q in range(4)]
    return out


def _needs(cfg: CapacityConfig, rates: RateCache, p: Period) -> list[Need]:
    out = []
    end = p.start + p.length_s / YEAR_S
    for t in cfg.training:
        finish = t.year + t.deadline_s / YEAR_S
        busy = (min(finish, end) - max(t.year, p.start)) * YEAR_S
        if busy <= 0:
            continue
        cands, reasons = training_candidates(cfg, rates, t, p.start)
        out.append(Need(t.id, "training", t.tokens / t.deadline_s, busy, cands, reasons, t))
    for s in cfg.serving:
        if p.year < s.first_year or (s.last_year is not None and p.year > s.last_year):
            continue
        rate = s.output_tokens_per_s * (1 + s.growth_per_year) ** (p.start - s.first_year)
        cands, reasons = serving_candidates(cfg, rates, s, p.start)
        out.append(Need(s.id, "serving", rate, p.length_s, cands, reasons, s))
    return sorted(out, key=lambda n: (len({c.site.id for c in n.candidates}), n.kind == "training", n.id))


@dataclass(slots=True)
class State:
    """What carries from period to period: installed cohorts; and per period the limits left."""

    cohorts: list[Cohort] = field(default_factory=list)
    busy: dict[tuple[str, str], float] = field(default_factory=dict)
    supply_used: dict[tuple[str, int], float] = field(default_factory=dict)
    budget_used: dict[int, float] = field(default_factory=dict)

    def installed(self, site: str, hw: str) -> float:
        return sum(c.devices for c in self.cohorts if c.site == site and c.hw == hw)

    def facility_w(self, site: str) -> float:
        return sum(c.devices * c.it_peak_w * c.pue for c in self.cohorts if c.site == site)


def _buy_limit(cfg: CapacityConfig, state: State, c: Candidate, p: Period) -> tuple[float, str | None]:
    """Most new devices of ``c`` this period, and the limit that sets it (None = not limited)."""
    hw = c.hw
    if p.year < hw.available_from or (hw.available_until is not None and p.year > hw.available_until):
        return 0.0, "supply"
    limits = {"power": (step_value(c.site.mw_available, p.year) * 1e6 - state.facility_w(c.site.id))
              / (c.rate.it_peak_w_per_device * c.pue)}
    if hw.supply_per_year is not None:
        limits["supply"] = hw.supply_per_year - state.supply_used.get((hw.id, p.year), 0.0)
    budget = cfg.policy.budget_usd_per_year
    price = device_price_usd(hw)
    if budget is not None and price is None:
        limits["no-price"] = 0.0  # a budget cannot buy what has no published price
    elif budget is not None:
        unit = price + c.rate.it_peak_w_per_device * ledger.facility_usd_per_w()
        limits["budget"] = (budget - state.budget_used.get(p.year, 0.0)) / unit
    name = min(limits, key=limits.get)
    return max(limits[name], 0.0), name


def _place(cfg: CapacityConfig, state: State, need: Need, p: Period) -> float:
    """Allocate ``need`` over its candidates: installed devices left idle first (they are paid for), then
    new ones, each pass in the candidates' cost order; returns the rate (tokens/s) left unmet."""
    left = need.rate
    for new in (False, True):
        for c in need.candidates:
            if left <= EPS * need.rate:
                return 0.0
            key = (c.site.id, c.hw.id)
            wanted = left / c.work_per_device
            if new:
                most, limit = _buy_limit(cfg, state, c, p)
                take = min(wanted, most)
                if take < wanted * (1 - EPS) and limit:
                    need.limits.add(limit)
            else:
                take = min(wanted, max(state.installed(*key) - state.busy.get(key, 0.0), 0.0))
            if take <= 0:
                continue
            need.taken.append((c, take, new))
            if new:
                _install(state, c, take, p)
            state.busy[key] = state.busy.get(key, 0.0) + take
            left -= take * c.work_per_device
    return max(left, 0.0)


def _install(state: State, c: Candidate, devices: float, p: Period) -> None:
    from flopwatt.capacity.candidates import idle_w_per_device

    price = device_price_usd(c.hw)
    state.cohorts.append(Cohort(c.site.id, c.hw.id, p.start, devices, price, c.rate.it_peak_w_per_device,
                                idle_w_per_device(c.hw)[0], c.pue))
    state.supply_used[(c.hw.id, p.year)] = state.supply_used.get((c.hw.id, p.year), 0.0) + devices
    unit = (price or 0.0) + c.rate.it_peak_w_per_device * ledger.facility_usd_per_w()
    state.budget_used[p.year] = state.budget_used.get(p.year, 0.0) + devices * unit


def required_devices(needs: list[Need]) -> float:
    """Devices the period's demand needs on each demand's first-choice candidate, with no limits."""
    return sum(n.rate / n.candidates[0].work_per_device for n in needs if n.candidates)


def run_plan(cfg: CapacityConfig, rates: RateCache | None = None) -> dict:
    """The whole plan as plain values (periods x sites), see :mod:`flopwatt.capacity.output`. ``rates`` may
    be shared between what-if runs of configs with the same policy (the estimates do not change)."""
    rates = rates or RateCache(cfg)
    state = State()
    out = []
    for p in periods(cfg):
        state.cohorts = [c for c in state.cohorts if p.start - c.bought < cfg.policy.refresh_years - EPS]
        state.busy = {}
        needs = _needs(cfg, rates, p)
        unmet = {n.id: _place(cfg, state, n, p) for n in needs}
        out.append(ledger.period_summary(cfg, rates, state, p, needs, unmet, required_devices(needs)))
    return {"periods": out, "estimates": rates.calls}
