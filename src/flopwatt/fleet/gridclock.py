"""Mean grid carbon intensity or electricity price at the fleet's sites over many intervals at once.

:func:`flopwatt.energy.grid.mean_over` defines the figure (exact means of the hourly step function,
through a cumulative table over the year). A fleet policy asks for it thousands of times a simulated
day, each time for a few intervals at a few sites; calling ``mean_over`` once per site costs more in
numpy call overhead than in arithmetic. The clock stacks every site's tables once and evaluates the
same element-wise formulas for all sites in one pass, so each value is bit-for-bit what ``mean_over``
returns (tests/test_fleet_speed.py compares them).
"""

from __future__ import annotations

import math

import numpy as np

from flopwatt import catalog
from flopwatt.energy import grid
from flopwatt.errors import InputError

FEW = 16
"""Up to this many intervals are computed on Python floats (see ``GridClock._few``)."""


class GridClock:
    """``clock(which, site_index, start_s, end_s)``: mean 'carbon' (g/kWh) or 'price' ($/kWh) per interval."""

    def __init__(self, sites: list, start_s_of_year: float) -> None:
        profiles = catalog.grid_profiles()
        self.sites = sites
        self.profiles = [profiles.get(s.id) for s in sites]
        self.offset_s = start_s_of_year
        self._stacked: dict[str, tuple[np.ndarray, ...]] = {}
        self._lists: dict[str, tuple[list, ...]] = {}

    def _tables(self, which: str) -> tuple[np.ndarray, ...]:
        """Per site: hourly factors [S, 8760], their cumulative integral [S, 8761], annual figure, and the
        wholesale mean where the price moves about the tariff (grid._scale), else NaN."""
        if which not in self._stacked:
            tables = [grid._tables(p, which) for p in self.profiles]
            annual = np.array([grid._annual(s, which) for s in self.sites])
            wholesale = np.array([p.price_wholesale_mean_usd_per_kwh if which == "price" and p is not None
                                  and p.price_shape_by_month_hour is not None else np.nan for p in self.profiles])
            self._stacked[which] = (np.stack([t[0] for t in tables]), np.stack([t[1] for t in tables]),
                                    annual, wholesale)
        return self._stacked[which]

    def __call__(self, which: str, site: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
        if which not in grid.WHICH:
            raise InputError("which", "carbon or price", which)
        start = np.asarray(start_s, float) + self.offset_s
        end = np.asarray(end_s, float) + self.offset_s
        if start.shape != end.shape:
            start, end = np.broadcast_arrays(start, end)
        if np.any(end < start):
            raise InputError("end_s", "an interval end at or after its start", float(np.min(end - start)))
        site = np.asarray(site)
        if site.shape != start.shape:
            site = np.broadcast_to(site, start.shape)
        if start.size <= FEW:
            return self._few(which, site, start, end)
        factors, cumulative, annual, wholesale = self._tables(which)
        span = end - start
        safe = np.where(span > 0, span, 1.0)
        both = _integral_s(cumulative, factors, np.concatenate((site.ravel(), site.ravel())),
                           np.concatenate((end.ravel(), start.ravel())))
        mean = (both[:span.size].reshape(span.shape) - both[span.size:].reshape(span.shape)) / safe
        point = factors[site, np.floor(start / grid.HOUR_S).astype(np.int64) % grid.YEAR_HOURS]
        factor = np.where(span > 0, mean, point)
        if np.isnan(wholesale).all():
            return annual[site] * factor
        moves = ~np.isnan(wholesale[site])
        return np.where(moves, annual[site] + np.where(moves, wholesale[site], 0.0) * (factor - 1.0),
                        annual[site] * factor)

    def _few(self, which: str, site: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The same operations on Python floats, for the few intervals of one placement, where numpy's
        per-call overhead would dominate (IEEE double arithmetic either way: the same values)."""
        tables = self._floats(which)
        out = [_mean_one(tables, s, a, b)
               for s, a, b in zip(site.ravel().tolist(), start.ravel().tolist(), end.ravel().tolist(), strict=True)]
        return np.array(out, dtype=float).reshape(start.shape)

    def _floats(self, which: str) -> tuple[list, ...]:
        if which not in self._lists:
            self._lists[which] = tuple(t.tolist() for t in self._tables(which))
        return self._lists[which]

    def mean_one(self, which: str, site: int, start_s: float, end_s: float) -> float:
        """One interval (``end_s >= start_s``, not checked) on Python floats: the value ``__call__`` gives."""
        return _mean_one(self._floats(which), site, start_s + self.offset_s, end_s + self.offset_s)

    def means_from(self, which: str, start_s: float, sites: list[int], end_s: list[float]) -> list[float]:
        """``mean_one(which, s, start_s, e)`` for each (s, e); the start's integral is taken once per site."""
        factors, cumulative, annual, wholesale = self._floats(which)
        a, at_start, out = start_s + self.offset_s, {}, []
        for s, e in zip(sites, end_s, strict=True):
            b = e + self.offset_s
            if b - a > 0:
                if (ia := at_start.get(s)) is None:
                    ia = at_start[s] = _integral_one(cumulative[s], factors[s], a)
                f = (_integral_one(cumulative[s], factors[s], b) - ia) / (b - a)
            else:
                f = factors[s][math.floor(a / grid.HOUR_S) % grid.YEAR_HOURS]
            w = wholesale[s]
            out.append(annual[s] + w * (f - 1.0) if w == w else annual[s] * f)
        return out

    def over_runs(self, which: str, site: np.ndarray, start_s: np.ndarray, run_s: np.ndarray) -> np.ndarray:
        """[P, H]: the mean over ``[start_s[h], start_s[h] + run_s[p]]`` at ``site[p]``, for ``run_s > 0``."""
        start_s = np.asarray(start_s, float)[None, :]
        return self.spans(which, np.asarray(site)[:, None], start_s, start_s + np.asarray(run_s, float)[:, None])

    def run_means(self, which: str, site: np.ndarray, starts_s: np.ndarray, run_s: np.ndarray) -> np.ndarray:
        """[J, P, H]: ``spans(which, site[None, :, None], starts_s[:, None, :], starts_s[:, None, :] +
        run_s[:, :, None])`` for starts [J, H], run times [J, P] and the pools' sites [P].

        The same element-wise operations, so the same values, pool by pool on one site's 1-D tables, the
        integral to each start taken once per site rather than once per pool (deferral tables)."""
        factors, cumulative, annual, wholesale = self._tables(which)
        start = starts_s + self.offset_s
        out = np.empty((starts_s.shape[0], len(site), starts_s.shape[1]))
        to_start: dict[int, np.ndarray] = {}
        for p, s in enumerate(np.asarray(site).tolist()):
            fac, cum = factors[s], cumulative[s]
            if s not in to_start:
                to_start[s] = _integral_site(cum, fac, start)
            end = (starts_s + run_s[:, p, None]) + self.offset_s
            span = end - start
            positive = span > 0
            mean = (_integral_site(cum, fac, end) - to_start[s]) / np.where(positive, span, 1.0)
            if not positive.all():
                point = fac[np.floor(start / grid.HOUR_S).astype(np.int64) % grid.YEAR_HOURS]
                mean = np.where(positive, mean, point)
            w = wholesale[s]
            out[:, p, :] = annual[s] * mean if w != w else annual[s] + w * (mean - 1.0)  # w != w: NaN, no shape
        return out

    def spans(self, which: str, site: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
        """``__call__`` for arrays that broadcast together and intervals known to be ordered (not checked).

        The same element-wise operations, so the same values, without the checks, the broadcasting of
        every argument to one shape and the Python-float path: deferral decisions ask for a table of
        starts x pools (x jobs) at a time."""
        factors, cumulative, annual, wholesale = self._tables(which)
        start = start_s + self.offset_s
        end = end_s + self.offset_s
        span = end - start
        positive = span > 0
        mean = (_integral_s(cumulative, factors, site, end) - _integral_s(cumulative, factors, site, start)) / \
            np.where(positive, span, 1.0)
        if not positive.all():
            point = factors[site, np.floor(start / grid.HOUR_S).astype(np.int64) % grid.YEAR_HOURS]
            mean = np.where(positive, mean, point)
        w = wholesale[site]
        if np.isnan(w).all():
            return annual[site] * mean
        moves = ~np.isnan(w)
        return np.where(moves, annual[site] + np.where(moves, w, 0.0) * (mean - 1.0), annual[site] * mean)


def _integral_site(cumulative: np.ndarray, factors: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """``_integral_s`` at one site (its 1-D tables): the same operations, element by element, in place where
    an operand is not needed again. Where every time falls in year 0 (0 <= t and t / YEAR_S < 1, checked on
    the extremes: division is monotonic), years = 0 makes ``rest = t - 0.0`` = t and ``0.0 * cumulative[-1] +
    cumulative[hour]`` = cumulative[hour] (a sum with +0.0, where the table holds no -0.0): those operations
    are skipped, the values are the same."""
    if t_s.size and t_s.min() >= 0.0 and t_s.max() / grid.YEAR_S < 1.0 and not np.signbit(cumulative).any():
        rest, years = t_s, None
    else:
        years = np.floor(t_s / grid.YEAR_S)
        rest = years * grid.YEAR_S
        np.subtract(t_s, rest, out=rest)
    hour = np.floor(rest / grid.HOUR_S).astype(np.int64)
    np.maximum(hour, 0, out=hour)
    np.minimum(hour, grid.YEAR_HOURS - 1, out=hour)
    part = hour * grid.HOUR_S
    np.subtract(rest, part, out=part)
    part *= factors[hour]  # factors[hour] x (rest - hour x HOUR_S)
    if years is None:
        part += cumulative[hour]
        return part
    years *= cumulative[-1]
    years += cumulative[hour]
    years += part
    return years


def _mean_one(tables: tuple[list, ...], s: int, a: float, b: float) -> float:
    """One interval [a, b] (seconds of the year, offset applied) at site ``s``, on Python floats."""
    factors, cumulative, annual, wholesale = tables
    cum, fac = cumulative[s], factors[s]
    if b - a > 0:
        f = (_integral_one(cum, fac, b) - _integral_one(cum, fac, a)) / (b - a)
    else:
        f = fac[math.floor(a / grid.HOUR_S) % grid.YEAR_HOURS]
    w = wholesale[s]
    return annual[s] + w * (f - 1.0) if w == w else annual[s] * f  # w != w: NaN, no price shape


def _integral_one(cumulative: list[float], factors: list[float], t_s: float) -> float:
    """``_integral_s`` of one time on Python floats."""
    years = math.floor(t_s / grid.YEAR_S)
    rest = t_s - years * grid.YEAR_S
    hour = min(max(math.floor(rest / grid.HOUR_S), 0), grid.YEAR_HOURS - 1)
    return years * cumulative[-1] + cumulative[hour] + factors[hour] * (rest - hour * grid.HOUR_S)


def _integral_s(cumulative: np.ndarray, factors: np.ndarray, site: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """grid._integral_s for each element's own site (the same operations, element by element)."""
    years = np.floor(t_s / grid.YEAR_S)
    rest = t_s - years * grid.YEAR_S
    hour = np.minimum(np.maximum(np.floor(rest / grid.HOUR_S).astype(np.int64), 0), grid.YEAR_HOURS - 1)
    return years * cumulative[site, -1] + cumulative[site, hour] + factors[site, hour] * (rest - hour * grid.HOUR_S)
