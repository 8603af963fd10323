"""A board power limit below a device's rated power: how much slower its arithmetic runs.

A power limit is enforced by lowering the clock (and with it the voltage) until the board draws no
more than the limit. Dynamic power is ``C V^2 f`` (Hennessy & Patterson, Computer Architecture,
6th ed., Sec. 1.5); with the voltage scaled in proportion to the clock across the DVFS range
(ASSUMED) it goes as ``f^3``. Taking the device's published idle draw as the power that does not
scale with the clock, and the rated board power as the draw of a kernel that keeps the arithmetic
units busy at the full clock (ASSUMED: the uncapped kernel is at the limit),

    f(P_cap) / f_max = ((P_cap - P_idle) / (P_board - P_idle)) ** (1/3),   capped at 1.

Compute-bound kernel time scales by ``f_max / f``; HBM runs on its own clock, so memory-bound time
does not change (:class:`flopwatt.perf.compute.DeviceRates` keeps the bandwidth). Nothing here is
fitted: MLPerf v4.0 measured 0.805x on DGX-H100 at 450 W against the same round's uncapped run
(17,561.6 vs 21,805.8 tokens/s, llama2-70b Offline), where this rule gives a clock of 0.84x.
"""

from __future__ import annotations

from flopwatt.errors import InputError
from flopwatt.specs import Accelerator

DVFS_EXPONENT = 3.0
"""Dynamic power ~ f^3 when voltage tracks frequency (module docstring; an assumption, not fitted)."""


def clock_ratio(acc: Accelerator, power_cap_w: float | None) -> float:
    """f / f_max of ``acc`` under a board power limit (1 without a limit or at/above the board power)."""
    if power_cap_w is None or acc.board_power_w is None or power_cap_w >= acc.board_power_w:
        if power_cap_w is not None and acc.board_power_w is None:
            raise InputError("--power-cap-w", f"an accelerator with a published board power ({acc.id} has none)")
        return 1.0
    if acc.idle_power_w is None:
        raise InputError("--power-cap-w", f"an accelerator with a published idle power ({acc.id} has none: the "
                         "power that does not scale with the clock is unknown)")
    if power_cap_w <= acc.idle_power_w:
        raise InputError("--power-cap-w", f"a limit above {acc.id}'s idle draw ({acc.idle_power_w:g} W)",
                         power_cap_w)
    share = (power_cap_w - acc.idle_power_w) / (acc.board_power_w - acc.idle_power_w)
    return share ** (1.0 / DVFS_EXPONENT)


def capped_board_power_w(acc: Accelerator, power_cap_w: float | None) -> float | None:
    """The most a device draws: its board power, or the limit below it."""
    if acc.board_power_w is None or power_cap_w is None:
        return acc.board_power_w
    return min(acc.board_power_w, power_cap_w)
