"""Text report of ``flopwatt fleet``: one column per policy, its ratios to FIFO, pool utilisation."""

from __future__ import annotations

from typing import Any

DAY_S = 86400.0


def _fmt(value: Any, scale: float = 1.0, digits: str = ".3g") -> str:
    return "-" if value is None else format(value / scale, digits)


def _rows(run: dict) -> list[tuple[str, str]]:
    t, e, s = run["training"], run["energy"], run["services"]["overall"]
    rejected = sum(t["rejected"].values())
    return [
        ("jobs completed / rejected", f"{t['completed']:,} / {rejected:,}"),
        ("mean JCT (h)", _fmt(t["jct_s"]["mean"], 3600)),
        ("p99 JCT (h)", _fmt(t["jct_s"]["p99"], 3600)),
        ("mean queueing delay (h)", _fmt(t["queueing_delay_s"]["mean"], 3600)),
        ("p99 queueing delay (h)", _fmt(t["queueing_delay_s"]["p99"], 3600)),
        ("mean deferral (h)", _fmt(t["mean_deferral_s"], 3600)),
        ("deadline misses", f"{t['deadline_misses']:,} of {t['flexible_jobs']:,}"),
        ("makespan (days)", _fmt(t["makespan_s"], DAY_S)),
        ("utilisation", _fmt(run["utilisation"], 0.01, ".1f") + " %"),
        ("effective compute (ref-s per device-s)", _fmt(run["effective_compute"]["reference_device_s_per_device_s"])),
        ("service SLO attainment", _fmt(s["slo_attainment"], 0.01, ".1f") + " %" if s["slo_attainment"] is not None
         else "-"),
        ("energy (MWh)", _fmt(e["total_mwh"], digits=".4g")),
        ("electricity ($)", _fmt(e["total_electricity_usd"], digits=",.0f")),
        ("carbon (tCO2e)", _fmt(e["total_tco2e"], digits=".4g")),
    ]


def _ratio_rows(run: dict) -> list[tuple[str, str]]:
    v = run.get("versus_fifo")
    if not v:
        return []
    return [(f"x FIFO: {k.replace('_', ' ')}", _fmt(val, digits=".3f")) for k, val in v.items()]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return out


def metric_rows(runs: dict) -> tuple[list[str], list[list[str]]]:
    """(metric labels, one column of formatted values per run) — the text and HTML reports share them."""
    per_run = [dict(_rows(r) + _ratio_rows(r)) for r in runs.values()]
    first = next(iter(runs.values()))
    labels = [k for k, _ in _rows(first)] + [k for k, _ in _ratio_rows(first)]
    return labels, [[p.get(k, "-") for k in labels] for p in per_run]


def fleet_table(payload: dict) -> str:
    runs = payload["runs"]
    names = list(runs)
    labels, columns = metric_rows(runs)
    lines = [f"fleet {payload['fleet']}: {payload['jobs']:,} jobs, pools {', '.join(payload['pools'])} "
             f"(seed {payload['seed']})", ""]
    lines += _table(["metric", *names], [[k, *(col[i] for col in columns)] for i, k in enumerate(labels)])
    lines += ["", "utilisation by pool (%)"]
    pools = list(next(iter(runs.values()))["pools"])
    lines += _table(["pool", *names], [[p, *(_fmt(runs[n]["pools"][p]["utilisation"], 0.01, ".1f") for n in names)]
                                      for p in pools])
    for name, run in runs.items():
        bound = run["energy"]["idle_upper_bound_pools"]
        if bound:
            lines.append(f"\n{name}: idle energy of {', '.join(bound)} is an upper bound (no idle power published)")
            break
    return "\n".join(lines)
