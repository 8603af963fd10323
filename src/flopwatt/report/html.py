"""Self-contained HTML reports (``--report PATH.html``): figures as inline SVG (matplotlib) + tables.

Every number comes from the command's JSON payload; the file has no external references.
"""

from __future__ import annotations

import html
import io
from typing import Any

from flopwatt.errors import InputError

STYLE = """body{font:14px/1.4 system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .7em;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}h2{margin-top:1.6em}"""


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InputError("--report", "matplotlib installed (pip install 'flopwatt[report]')") from exc
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _table(rows: list[tuple], header: tuple) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _bar(parts: dict[str, float], title: str, unit: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 1.6))
    left = 0.0
    for name, value in parts.items():
        ax.barh([0], [value], left=left, label=f"{name} ({value:.3g} {unit})")
        left += value
    ax.set_yticks([])
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6), ncol=3, fontsize=8, frameon=False)
    return _svg(fig)


def _page(title: str, sections: list[str]) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>")


def train_report(p: dict[str, Any]) -> str:
    time = {k[5:]: v for k, v in p["time"].items() if k != "time/step" and v > 0}
    memory = {k[7:]: v / 2**30 for k, v in p["memory"].items() if k != "memory/total" and v > 0}
    fp = p["footprint"]
    plan = ", ".join(f"{k}={v}" for k, v in p["plan"].items())
    m = p["metrics"]
    i = p["inputs"]
    known = "energy/facility_j" in fp
    summary = [("model", i["model"]), ("system", i["system"]), ("devices", i["devices"]),
               ("plan", plan), ("step time (s)", f"{m['step_time_s']:.4g}"), ("MFU", f"{m['mfu']:.1%}"),
               ("expected wall time (days)", f"{fp['reliability/expected_wall_s'] / 86400:.4g}"),
               ("facility energy (MWh)", f"{fp['energy/facility_j'] / 3.6e9:,.1f}" if known else "unknown"),
               ("tCO2e", f"{fp['carbon/tco2e']:,.1f}" if known else "unknown"),
               ("run cost ($)", f"{fp['money/run_usd']:,.0f}" if "money/run_usd" in fp else "unknown")]
    movement = {k[9:-2]: v for k, v in fp.items() if k.startswith("movement/") and k.endswith("_j")}
    sections = [_table(summary, ("quantity", "value")),
                "<h2>Where a step's time goes</h2>", _bar(time, "step time", "s"),
                "<h2>Memory per device</h2>", _bar(memory, "memory per device", "GiB"),
                "<h2>Energy per device per step</h2>", _bar(movement, "on-chip work vs moving bytes", "J"),
                "<h2>Sensitivity: electricity price and PUE</h2>",
                _sensitivity(fp, i["site"]) if known else f"<p>unknown: {html.escape('; '.join(p['unknown']))}</p>",
                "<h2>Assumptions</h2>", _table([(a,) for a in p["assumptions"]], ("rule or default",))]
    return _page(f"flopwatt train: {i['model']} on {i['devices']:,} x {i['system']}", sections)


def _sensitivity(fp: dict[str, float], site: str) -> str:
    """Run cost and carbon when the price or the PUE changes (both enter linearly)."""
    it_mwh = fp["energy/it_j"] / 3.6e9
    pue = fp["facility/pue"]
    base_usd = fp.get("money/run_usd")
    price = fp["money/energy_usd"] / (it_mwh * pue * 1e3) if "money/energy_usd" in fp and it_mwh else None
    grid = fp["carbon/tco2e"] / (it_mwh * pue) if it_mwh else 0.0
    rows = []
    for new_pue in (1.05, 1.2, 1.4, 1.6):
        for factor in (0.5, 1.0, 2.0):
            usd = "unknown"
            if base_usd is not None and price is not None:
                usd = f"{base_usd + it_mwh * 1e3 * (new_pue * factor * price - pue * price):,.0f}"
            rows.append((f"{new_pue:.2f}", f"x{factor:g}", usd, f"{it_mwh * new_pue * grid:,.1f}"))
    return _table(rows, ("PUE", f"price vs {site}", "run $", "tCO2e"))


def plan_report(p: dict[str, Any]) -> str:
    plt = _plt()
    front = p["pareto_front"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    days = [r["wall_s"] / 86400 for r in front]
    usd = [r["usd"] / 1e6 if r["usd"] != float("inf") else float("nan") for r in front]
    points = ax.scatter(days, usd, c=[r["tco2e"] for r in front], cmap="viridis")
    fig.colorbar(points, label="tCO2e")
    ax.set_xlabel("expected wall time (days)")
    ax.set_ylabel("run cost (M$)")
    ax.set_title("Pareto front: time, $, MWh, tCO2e")
    rows = [(f"{r['wall_s'] / 86400:.1f}", f"{r['usd']:,.0f}", f"{r['facility_mwh']:,.0f}", f"{r['tco2e']:,.0f}",
             f"{r['system']} x{r['devices']} {r['stack']} tp{r['tp']} pp{r['pp']} dp{r['dp']} {r['fabric']} "
             f"@{r['site']}/{r['cooling']}") for r in front]
    counts = [("configurations", f"{p['configurations']:,}"), ("feasible within constraints",
                                                                 f"{p['feasible_after_constraints']:,}"),
              ("infeasible", ", ".join(f"{k} {v:,}" for k, v in p["infeasible"].items()) or "none"),
              ("removed by constraints", ", ".join(f"{k} {v:,}" for k, v in p["eliminated"].items()) or "none")]
    return _page("flopwatt plan", [_table(counts, ("", "")), _svg(fig),
                                   _table(rows, ("days", "$", "MWh", "tCO2e", "configuration"))])


def _diagram(d: dict[str, Any]) -> str:
    """Tiers as rows of boxes (endpoints at the bottom), annotated with counts and the links between."""
    plt = _plt()
    tiers = [t for t in d["tiers"] if t["switches"] or t["name"] == "endpoints"]
    fig, ax = plt.subplots(figsize=(8, 0.9 * len(tiers) + 0.6))
    for level, tier in enumerate(tiers):
        count = d["endpoints"] if tier["name"] == "endpoints" else tier["switches"]
        shown = min(count, 16)
        for i in range(shown):
            x = (i + 0.5) / shown
            ax.add_patch(plt.Rectangle((x - 0.02, level - 0.15), 0.04, 0.3,
                                       color="#7fa7e0" if tier["name"] == "endpoints" else "#1f5fbf"))
        ax.text(1.02, level, f"{tier['name']}: {count:,}" + (" (16 drawn)" if count > shown else ""), va="center")
        if tier["links_up"] and level + 1 < len(tiers):
            ax.text(0.5, level + 0.5, f"{tier['links_up']:,} links ({tier['length_class']})", ha="center",
                    va="center", fontsize=8, color="#555")
            for i in range(min(shown, 8)):
                ax.plot([(i + 0.5) / min(shown, 8)] * 2, [level + 0.15, level + 0.85], color="#bbb", lw=0.6)
    ax.set_xlim(0, 1.45)
    ax.set_ylim(-0.6, len(tiers) - 0.4)
    ax.axis("off")
    ax.set_title(f"{d['topology']}: {d['endpoints']:,} endpoints, {d['switches']:,} switches")
    return _svg(fig)


def fabric_report(s: dict[str, Any] | list[dict[str, Any]]) -> str:
    designs = s if isinstance(s, list) else [s]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for i, d in enumerate(designs):
        bottom = 0
        for tier in d["tiers"]:
            if tier["switches"]:
                ax.bar([i], [tier["switches"]], bottom=bottom, label=f"{d['topology']}: {tier['name']}")
                bottom += tier["switches"]
    ax.set_xticks(range(len(designs)), [d["topology"] for d in designs])
    ax.set_ylabel("switches")
    ax.legend(fontsize=7, ncol=2)
    rows = [(d["topology"], f"{d['switches']:,}", f"{d['switch_links'] + d['endpoint_links']:,}",
             f"{d['bisection_bps'] / 1e12:,.1f}", d["diameter_switch_hops"], f"{d['bom']['usd_known']:,.0f}",
             f"{d['bom']['w_known'] / 1e3:,.1f}") for d in designs]
    bom = [(d["topology"], k, f"{v:,}") for d in designs for k, v in d["bom"]["parts"].items()]
    header = ("topology", "switches", "links", "bisection Tb/s", "hops", "$ (known)", "kW (known)")
    sections = [*(_diagram(d) for d in designs), _svg(fig), _table(rows, header), "<h2>Bill of materials</h2>",
                _table(bom, ("topology", "part", "count"))]
    return _page(f"flopwatt fabric: {designs[0]['endpoints']:,} endpoints", sections)


def fleet_report(p: dict[str, Any]) -> str:
    """Policies side by side: the metrics table, utilisation per pool, and each policy against FIFO."""
    from flopwatt.report.fleet import metric_rows

    plt = _plt()
    runs = p["runs"]
    names = list(runs)
    labels, columns = metric_rows(runs)
    table = _table([(label, *(col[i] for col in columns)) for i, label in enumerate(labels)], ("metric", *names))
    pools = list(next(iter(runs.values()))["pools"])
    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        ax.bar([i + k * width for i in range(len(pools))], [runs[name]["pools"][q]["utilisation"] * 100 for q in pools],
               width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(pools))], pools, fontsize=8)
    ax.set_ylabel("utilisation (%)")
    ax.set_title("utilisation by pool")
    ax.legend(fontsize=8, frameon=False)
    sections = [table, "<h2>Utilisation by pool</h2>", _svg(fig)]
    if "versus_fifo" in next(iter(runs.values())):
        keys = [k for k in runs[names[0]]["versus_fifo"] if all(runs[n]["versus_fifo"][k] is not None for n in names)]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        for k, name in enumerate(names):
            ax.bar([i + k * width for i in range(len(keys))], [runs[name]["versus_fifo"][m] for m in keys], width,
                   label=name)
        ax.axhline(1.0, color="#444", lw=0.8)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))], [k.replace("_", " ") for k in keys], fontsize=8)
        ax.set_ylabel("x FIFO")
        ax.set_title("each policy against FIFO on the same pools")
        ax.legend(fontsize=8, frameon=False)
        sections += ["<h2>Against FIFO</h2>", _svg(fig)]
    return _page(f"flopwatt fleet: {p['fleet']} ({p['jobs']:,} jobs)", sections)
