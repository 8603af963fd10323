"""Plain-text rendering of estimates, catalog entries and validation reports."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from flopwatt.perf import reasons
from flopwatt.units import duration, human


def describe_reasons(counts: dict[str, int]) -> str:
    """'oom (12), batch (3)' with explanations, for error lines."""
    return reasons.describe(counts)


def training_estimate(summary: dict[str, Any], header: dict[str, str]) -> str:
    plan, metrics, time, memory = summary["plan"], summary["metrics"], summary["time"], summary["memory"]
    lines = [f"{k}: {v}" for k, v in header.items()]
    chosen = summary["chosen"]
    if plan.get("recompute") == "full" and plan.get("recompute_layers", 1.0) < 1.0:
        plan = {**plan, "recompute": f"full({plan['recompute_layers']:.0%} of layers)"}
    knobs = ", ".join(f"{k}={plan[k]}" + ("*" if k in chosen else "") for k in
                      ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero_stage", "recompute",
                       "sequence_parallel"))
    lines.append(f"plan: {knobs}, global_batch={plan['global_batch']}")
    if chosen:
        lines.append("      (* chosen: fastest feasible plan among all combinations of the open knobs)")
    lines.append(f"step time: {duration(metrics['step_time_s'])}   tokens/s: {human(metrics['tokens_per_s'], 'tok/s')}")
    lines.append(f"MFU: {metrics['mfu']:.1%}   HFU: {metrics['hfu']:.1%}   "
                 f"model FLOP/s per device: {human(metrics['model_flops_per_s_per_device'], 'FLOP/s')}")
    if "time_to_train_s" in metrics:
        lines.append(f"time to train: {duration(metrics['time_to_train_s'])}")
    step = time["time/step"]
    lines.append("step time breakdown:")
    for key, value in time.items():
        if key != "time/step":
            lines.append(f"  {key[5:]:<12} {duration(value):>10}  {value / step:6.1%}")
    lines.append("memory per device:")
    for key, value in memory.items():
        lines.append(f"  {key[7:]:<12} {human(value, 'B', base=1024):>10}")
    if "footprint" in summary:
        lines.extend(footprint(summary["footprint"]))
    return "\n".join(lines)


def training_result(result: Any) -> str:
    """A training :class:`flopwatt.api.Result` as text: inputs, plan, times, memory, footprint, then the
    assumptions and advice."""
    i = result.inputs
    header = {"model": i["model"], "system": i["system"], "devices": str(i["devices"]), "stack": i["stack"],
              "precision": i["precision"], "seq_len": str(i["seq_len"]), "site": i["site"], "cooling": i["cooling"],
              "plans evaluated": str(result.plans_evaluated), "feasible": str(result.plans_feasible)}
    fabric_design = result.details.get("fabric")
    if fabric_design:
        header["fabric"] = f"{fabric_design['topology']}, {fabric_design['switches']:,} switches, media " \
                           f"{fabric_design['media_policy']}"
    summary = {"plan": result.plan, "chosen": result.chosen, "time": result.time, "memory": result.memory,
               "metrics": result.metrics, "footprint": result.footprint}
    return "\n".join([training_estimate(summary, header), *notes(result)])


def notes(result: Any) -> list[str]:
    """Unknown outputs, assumptions and advice lines of a result."""
    lines = [f"unknown: {u}" for u in result.unknown]
    if result.assumptions:
        lines += ["assumptions:", *(f"  - {a}" for a in result.assumptions)]
    lines += [f"advice: {a}" for a in result.advice]
    return lines


def footprint(fp: dict[str, float]) -> list[str]:
    """Reliability, energy, carbon and money lines of a run."""
    if "energy/it_j" not in fp:
        return ["run with interruptions:",
                f"  expected wall time {duration(fp['reliability/expected_wall_s'])}, goodput "
                f"{fp['reliability/goodput']:.1%}", "energy, carbon and money: unknown (see below)"]
    lines = [
        "run with interruptions:",
        f"  expected wall time {duration(fp['reliability/expected_wall_s'])}, goodput {fp['reliability/goodput']:.1%}, "
        f"~{fp['reliability/interruptions']:.0f} interruptions (job MTBF {duration(fp['reliability/mtbf_s'])})",
        f"  checkpoint every {duration(fp['reliability/checkpoint_interval_s'])} (Daly), "
        f"write {duration(fp['reliability/checkpoint_write_s'])}",
        "energy and carbon:",
        f"  IT power {human(fp['power/it_w'], 'W')} average, {human(fp['power/it_peak_w'], 'W')} peak; "
        f"PUE {fp['facility/pue']:.2f}; facility peak {human(fp['power/facility_peak_w'], 'W')}, "
        f"{fp['facility/racks']:.0f} racks",
        f"  energy {fp['energy/it_j'] / 3.6e9:,.0f} MWh IT, {fp['energy/facility_j'] / 3.6e9:,.0f} MWh facility; "
        f"{fp['carbon/tco2e']:,.0f} tCO2e",
    ]
    if "movement/hbm_j" in fp:
        parts = {"compute and on-chip": fp["movement/compute_and_on_chip_j"], "HBM": fp["movement/hbm_j"],
                 "scale-up": fp["movement/scale_up_j"], "scale-out": fp["movement/scale_out_j"]}
        total = sum(parts.values())
        lines.append("  energy per device per step: " + ", ".join(f"{k} {v / total:.1%}" for k, v in parts.items())
                     + f"; off-chip data movement {fp['movement/off_chip_share']:.1%}")
    return lines + _money_lines(fp)


def _money_lines(fp: dict) -> list[str]:
    """The money breakdown; a designed fabric has its own line, and an unpriced fabric part makes the totals
    unknown (the known lines are printed)."""
    fabric = fp.get("money/fabric_depreciation_usd")
    if "money/run_usd" in fp:
        return ["money:",
                f"  run ${fp['money/run_usd']:,.0f} (IT depreciation ${fp['money/it_depreciation_usd']:,.0f}, "
                + (f"fabric ${fabric:,.0f}, " if fabric is not None else "")
                + f"facility ${fp['money/facility_depreciation_usd']:,.0f}, energy ${fp['money/energy_usd']:,.0f}, "
                f"maintenance ${fp['money/maintenance_usd']:,.0f})",
                f"  ${fp['money/usd_per_device_hour']:.2f} per device-hour, "
                + (f"${fp['money/usd_per_million_tokens']:.2f} per million tokens; "
                   if "money/usd_per_million_tokens" in fp else "")
                + f"capex ${fp['money/capex_usd']:,.0f}"
                + (f" (fabric ${fp['money/fabric_capex_usd']:,.0f})" if "money/fabric_capex_usd" in fp else "")
                + f", 5-year TCO ${fp['money/tco_usd']:,.0f}"]
    why = [f"{fp['fabric/unpriced_parts']:,.0f} fabric parts unpriced"] if "fabric/unpriced_parts" in fp else []
    if "money/it_depreciation_usd" not in fp:
        why.insert(0, "no published price for this system's devices or nodes")
    known = [f"{label} ${fp[key]:,.0f}" for label, key in (
        ("IT depreciation", "money/it_depreciation_usd"), ("fabric", "money/fabric_depreciation_usd"),
        ("facility", "money/facility_depreciation_usd"), ("energy", "money/energy_usd")) if key in fp]
    return [f"money: totals unknown ({'; '.join(why)}); known: {', '.join(known)}"]


def catalog_list(kind: str, entries: dict[str, Any]) -> str:
    """One line per entry (id, name, retrieved date), its source indented below."""
    lines = [f"{kind} ({len(entries)}):"]
    for key, entry in entries.items():
        retrieved = getattr(entry, "retrieved", "") or "no date"
        lines.append(f"  {key:<24} {getattr(entry, 'name', '') or '':<40} retrieved {retrieved}")
        source = getattr(entry, "source", "") or "no source"
        lines.append(f"      source: {source}")
    return "\n".join(lines)


def catalog_entry(entry: Any) -> str:
    lines = []
    for f in fields(entry):
        value = getattr(entry, f.name)
        if is_dataclass(value):
            value = getattr(value, "id", value)
        lines.append(f"{f.name}: {value}")
    return "\n".join(lines)


def validation(report: dict[str, Any]) -> str:
    lines = [f"{'id':<11} {'metric':<18} {'measured':>12} {'predicted':>12} {'error':>8}"]
    for row in report["rows"]:
        error = (row["predicted"] - row["measured"]) / row["measured"]
        lines.append(f"{row['id']:<11} {row['metric']:<18} {row['measured']:>12.4g} {row['predicted']:>12.4g} "
                     f"{error:>+8.1%}")
    s = report["summary"]
    if s["n"]:
        lines.append(f"n={s['n']}  median APE {s['median_ape']:.1%}  p90 {s['p90_ape']:.1%}  max {s['max_ape']:.1%}")
    else:
        lines.append("n=0: no row evaluated")
    for skip in s["skipped"]:
        lines.append(f"skipped {skip['id']}: {skip['reason']}")
    return "\n".join(lines)


def reliability(out: dict, devices: int, days: float, with_checkpoint: bool) -> str:
    if with_checkpoint:
        over = f"{out['reliability/interruptions']:.1f} over {duration(out['reliability/expected_wall_s'])}"
    else:
        over = (f"{out['reliability/interruptions_failure_free']:.1f} over the failure-free {days:g} days "
                f"(unknown: {out['unknown'][0]})")
    lines = [f"job of {devices:,} devices, {days:g} days of failure-free work:",
             f"  job MTBF {duration(out['reliability/mtbf_s'])}; expected unexpected interruptions {over}",
             "  by component: " + ", ".join(f"{k} {v:.1f}" for k, v in out["reliability/by_component"].items())]
    if with_checkpoint:
        lines.append(f"  checkpoint write {duration(out['reliability/checkpoint_write_s'])}, every "
                     f"{duration(out['reliability/checkpoint_interval_s'])} (Daly); "
                     f"goodput {out['reliability/goodput']:.1%}")
    return "\n".join(lines)


def fabric(summary: dict[str, Any]) -> str:
    s, bom = summary, summary["bom"]
    lines = [f"{s['topology']}: {s['endpoints']:,} endpoints at {s['port_rate_bps'] / 1e9:g} Gb/s, "
             f"switch {s['switch']} (radix {s['radix']}), media {s['media_policy']}",
             f"  switches {s['switches']:,}; switch-to-switch links {s['switch_links']:,}; "
             f"endpoint links {s['endpoint_links']:,}",
             "  tiers: " + ", ".join(f"{t['name']} {t['switches']:,} ({t['links_up']:,} links up, {t['length_class']})"
                                     for t in s["tiers"]),
             f"  bisection {human(s['bisection_bps'], 'b/s')}; diameter {s['diameter_switch_hops']} switch hops; "
             f"oversubscription {s['oversubscription']:.2g}:1",
             "  bill of materials: " + ", ".join(f"{k} x{v:,}" for k, v in bom["parts"].items()),
             f"  total: {_bom_total(bom, 'usd')}; {_bom_total(bom, 'w')}"]
    if bom["unknown_price"] or bom["unknown_power"]:
        lines.append("  unknown (no published figure): price of " + (_counted(bom["unknown_price"]) or "-")
                     + "; power of " + (_counted(bom["unknown_power"]) or "-"))
    lines += [f"  note: {n}" for n in bom.get("notes", [])]
    if bom["pj_per_bit"]:
        lines.append("  energy per bit: " + ", ".join(f"{k} {v:.1f} pJ" for k, v in bom["pj_per_bit"].items()))
    return "\n".join(lines)


def _counted(parts: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v:,}" for k, v in parts.items())


def _bom_total(bom: dict[str, Any], kind: str) -> str:
    """'$5,619,200' when every part is priced, else 'unknown ($5,619,200 known + 2,048 unpriced parts)'."""
    if kind == "usd":
        known, total, missing, what = f"${bom['usd_known']:,.0f}", bom["usd_total"], bom["unpriced_parts"], "unpriced"
    else:
        known, total, missing, what = human(bom["w_known"], "W"), bom["w_total"], bom["unpowered_parts"], "unpowered"
    return known if total is not None else f"unknown ({known} known + {missing:,} {what} parts)"


def fabric_compare(summaries: list[dict[str, Any]]) -> str:
    """Topologies side by side; a '+' after a total marks parts without a published price or power."""
    header = (f"{'topology':<15} {'switches':>9} {'links':>9} {'bisection':>12} {'hops':>5} {'$ known':>15} "
              f"{'W known':>11}")
    lines = [header]
    flagged = False
    for s in summaries:
        bom = s["bom"]
        usd_flag, w_flag = ("+" if bom["usd_total"] is None else " "), ("+" if bom["w_total"] is None else " ")
        flagged = flagged or usd_flag == "+" or w_flag == "+"
        lines.append(f"{s['topology']:<15} {s['switches']:>9,} {s['switch_links'] + s['endpoint_links']:>9,} "
                     f"{human(s['bisection_bps'], 'b/s'):>12} {s['diameter_switch_hops']:>5} "
                     f"{bom['usd_known']:>14,.0f}{usd_flag} {human(bom['w_known'], 'W'):>10}{w_flag}")
    if flagged:
        lines.append("+ total unknown: parts without a published price or power are not in it "
                     "(flopwatt fabric --topology X lists them)")
    return "\n".join(lines)


def plan_eliminations(report: Any) -> str:
    parts = [f"{k}: {v:,}" for k, v in report.infeasible.items()]
    parts += [f"constraint {k} removed {v:,}" for k, v in report.eliminated.items() if v]
    return "; ".join(parts) or "no plan fits the menu"


def _plan_row(r: dict[str, Any]) -> str:
    usd = f"${r['usd'] / 1e6:,.2f}M" if r["usd"] != float("inf") else "unknown"
    mwh = f"{r['facility_mwh']:,.0f}" if r["facility_mwh"] != float("inf") else "unknown"
    tco2e = f"{r['tco2e']:,.0f}" if r["tco2e"] != float("inf") else "unknown"
    return (f"{r['wall_s'] / 86400:>8.1f} {usd:>10} {mwh:>9} {tco2e:>8} "
            f"{r['mfu']:>5.1%}  {r['system']} x{r['devices']} {r['stack']} {r['fabric']}/{r['media']}"
            f"/{r['oversubscription']:g} tp{r['tp']} pp{r['pp']} dp{r['dp']} v{r['vpp']} mb{r['micro_batch']} "
            f"z{r['zero_stage']} {r['recompute']}{' sp' if r['sequence_parallel'] else ''} gb{r['global_batch']} "
            f"@{r['site']}/{r['cooling']}")


def plan_market(market: dict[str, Any] | None) -> list[str]:
    """Lines naming the market filter and, for each system it removed, the rule and its source."""
    if market is None:
        return []
    lines = [f"market {market['market']}: searched {', '.join(market['systems'])}; removed "
             f"{len(market['removed'])} before the search" + (":" if market["removed"] else "")]
    for r in market["removed"]:
        lines += [f"  {r['system']}: {r['rule']}", f"    source: {r['source']}"]
    return lines


PLAN_LEGEND = ("configuration: system x devices, stack, fabric/media/oversubscription, tp pp dp, v = virtual "
               "stages, mb = micro-batch, z = ZeRO stage, recompute, sp = sequence parallel, gb = global batch, "
               "@site/cooling")


def plan_question(cfg: Any) -> list[str]:
    """The question a search answered, repeated above its answer."""
    limits = {"deadline": cfg.deadline_s and f"{cfg.deadline_s / 86400:g} days",
              "budget": cfg.budget_usd and f"${cfg.budget_usd:,.0f}",
              "power cap": cfg.power_cap_w and f"{cfg.power_cap_w / 1e6:g} MW", "PUE cap": cfg.pue_cap}
    given = ", ".join(f"{k} {v}" for k, v in limits.items() if v) or "none"
    return [f"question: train {cfg.model} on {cfg.tokens:,.0f} tokens of {cfg.seq_len}, global batch "
            f"{'/'.join(map(str, cfg.global_batches))}; systems {', '.join(cfg.systems)}; devices "
            f"{', '.join(map(str, cfg.devices))}; constraints: {given}"]


def plan(report: Any, out_dir: Any, market: dict[str, Any] | None = None, assumptions: list[str] | None = None,
         question: list[str] | None = None) -> str:
    head = f"{'days':>8} {'$ run':>10} {'MWh':>9} {'tCO2e':>8} {'MFU':>5}  configuration"
    lines = [*(question or []), *plan_market(market),
             f"{report.configurations:,} configurations in {report.seconds:.1f} s "
             f"({report.configurations_per_s:,.0f}/s, {report.items} chunks); "
             f"{report.feasible:,} feasible and within constraints",
             "infeasible: " + (", ".join(f"{k} {v:,}" for k, v in report.infeasible.items()) or "none"),
             "constraints removed: " + (", ".join(f"{k} {v:,}" for k, v in report.eliminated.items()) or "none"),
             f"Pareto front (time, $, MWh, tCO2e): {len(report.front)} configurations", head]
    shown = report.front if len(report.front) <= 25 else report.front[:25]
    lines += [_plan_row(r) for r in shown]
    if len(report.front) > len(shown):
        lines.append(f"  ... {len(report.front) - len(shown)} more on the front (--json lists all)")
    lines += [f"fastest {len(report.top)}:", head] + [_plan_row(r) for r in report.top]
    best = getattr(report, "best_per_system", [])
    if len(best) > 1:
        lines += ["fastest per system:", head] + [_plan_row(r) for r in best]
    lines.append(PLAN_LEGEND)
    if out_dir:
        lines.append(f"every feasible configuration: {out_dir}/part-*.*")
    if assumptions:
        lines += ["assumptions:", *(f"  - {a}" for a in assumptions)]
    return "\n".join(lines)
