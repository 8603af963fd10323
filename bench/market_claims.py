"""Market claims beside flopwatt's own figures, and the assumption that reconciles each (or why none can).

Claims and their sources: bench/data/market_claims.md. Each section prints the claim, what flopwatt
computes from its catalog under stated conditions, and either the assumption under which the two agree
or the missing catalog figure that keeps them apart. Nothing is tuned to a claim.
Run: ``python bench/market_claims.py [--skip-blackwell]`` (the Blackwell section takes ~10 s).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from flopwatt import api, catalog, economics
from flopwatt.api.requests import ServeRequest
from flopwatt.footprint import default_setting, facility_footprint

SERVE = {"model": "llama3.1-70b", "input_len": 1024, "output_len": 256, "precision": "fp8"}
ATLAS_W = 2000.0
"""Positron's stated Atlas server power (vendor, via aicerts.ai and awesomeagents.ai; bench/data/market_claims.md)."""
ATLAS_USER_TOKENS_PER_S = 280
"""Positron's stated Atlas speed per user on Llama 3.1 8B BF16 (vendor; same sources)."""
LPUS = 576
"""LPU v1 chips that hold Llama 3.1 70B in SRAM (230 MB each; 8 chips per GroqNode)."""


def _serve(acc: str, devices: int, **extra) -> dict:
    result = api.serve(ServeRequest(**{**SERVE, **extra}, accelerator=acc, devices=devices))
    return result.metrics


def groq() -> None:
    """Claim 1: Groq at 1/3-1/6 of NVIDIA's power. flopwatt serves Llama 3.1 70B on 576 LPUs (all weights in
    SRAM) and on 8 H100s at the same lengths, the H100s also at the LPUs' own per-user speed (TPOT SLO);
    energy per output token at the boards (IT), LPU hosts unpublished (0 W), LPU power = the catalog's
    300 W press estimate (accelerators.toml groq-lpu-v1)."""
    print("1. Groq LPU: '1/3 to 1/6 the power of NVIDIA GPUs' (issue 18 wording)")
    accs = catalog.accelerators()
    lpu_w, h100_w = accs["groq-lpu-v1"].board_power_w, accs["h100-sxm5-80gb"].board_power_w
    lpu = _serve("groq-lpu-v1", LPUS)
    free = _serve("h100-sxm5-80gb", 8)
    same = _serve("h100-sxm5-80gb", 8, tpot_slo_s=lpu["tpot_s"])
    print(f"   flopwatt: {LPUS} x LPU ({lpu_w:.0f} W each, estimate) {lpu['output_tokens_per_s']:,.0f} tok/s, TPOT "
          f"{lpu['tpot_s'] * 1e3:.1f} ms, {lpu['it_joules_per_output_token']:.2f} J/token (IT)")
    print(f"   8 x H100: {free['it_joules_per_output_token']:.2f} J/token at its best throughput (TPOT "
          f"{free['tpot_s'] * 1e3:.0f} ms); {same['it_joules_per_output_token']:.2f} J/token at the LPUs' TPOT "
          f"({same['output_tokens_per_s']:,.0f} tok/s)")
    ratio = lpu["it_joules_per_output_token"] / same["it_joules_per_output_token"]
    print(f"   per token at equal per-user speed the LPUs spend x{ratio:.1f} the H100s' energy: the claim does not "
          f"hold per token")
    for k in (3, 6):
        watts = same["it_joules_per_output_token"] / k * lpu["output_tokens_per_s"] / LPUS
        print(f"   it would at 1/{k} only if one LPU drew <= {watts:,.1f} W (vs {lpu_w:.0f} W estimated)")
    print(f"   per chip the LPU draws 1/{h100_w / lpu_w:.1f} of an H100 board ({h100_w:.0f} W): the claim can only "
          f"be a per-chip power ratio, and even then falls short of 1/3; {LPUS / 8:.0f}x the chips per replica "
          f"undo it per token")


def positron() -> None:
    """Claim 2: Positron 3-6x perf/W (and 2-3x perf/$) vs Vera Rubin. Atlas is not in the catalog (vendor
    figures only: 8 Archer FPGA cards, 32 GB HBM each, 2,000 W per server; no peak, no memory bandwidth, no
    price), and Rubin's board power is unpublished; flopwatt checks the vendor's H200 baseline and states what
    Atlas would have to deliver per token for each ratio to hold."""
    print("2. Positron: '3-6x performance per watt vs Vera Rubin' (issue 18; vendor: Atlas 280 vs 180 tok/s per "
          "user at 2,000 W vs 5,900 W for a DGX H200, Llama 3.1 8B BF16)")
    per_user = {"model": "llama3.1-8b", "precision": "bf16"}
    h200 = _serve("h200-sxm-141gb", 8, **per_user, tpot_slo_s=1 / ATLAS_USER_TOKENS_PER_S)
    users = h200["output_tokens_per_s"] * h200["tpot_s"]
    print(f"   vendor's own metric (per-user tok/s per W): Atlas {ATLAS_USER_TOKENS_PER_S / ATLAS_W:.3f}, its DGX "
          f"H200 {180 / 5900:.4f} -> x{ATLAS_USER_TOKENS_PER_S / ATLAS_W / (180 / 5900):.1f}")
    print(f"   flopwatt: 8 x H200 reach {ATLAS_USER_TOKENS_PER_S} tok/s per user too (TPOT "
          f"{h200['tpot_s'] * 1e3:.2f} ms) for ~{users:.0f} users at once, {h200['output_tokens_per_s']:,.0f} tok/s "
          f"at {h200['it_power_w']:,.0f} W = {h200['it_joules_per_output_token']:.2f} J/token: per-user speed per "
          f"W ignores how many users share the watts")
    for k in (3, 6):
        need = k * ATLAS_W / h200["it_joules_per_output_token"]
        print(f"   x{k} per token vs H200 holds only if one Atlas serves >= {need:,.0f} tok/s "
              f"(>= {need / ATLAS_USER_TOKENS_PER_S:.0f} users at {ATLAS_USER_TOKENS_PER_S} tok/s)")
    rubin = _serve("rubin", 8, **per_user, tpot_slo_s=1 / ATLAS_USER_TOKENS_PER_S, cooling="direct-liquid")
    per_package = rubin["output_tokens_per_s"] / 8
    need = [k * ATLAS_W / 1e3 * per_package for k in (3, 6)]
    print(f"   Rubin: board power unpublished, so its J/token is unknown; flopwatt gives {per_package:,.0f} tok/s per "
          f"package at the same per-user speed, so vs a package drawing P kW the x3 / x6 claims need one Atlas at "
          f">= {need[0]:,.0f} / P and {need[1]:,.0f} / P tok/s; perf/$ (2-3x) cannot be examined: neither Atlas "
          f"nor Rubin has a published price")
    hgx = catalog.get("systems", "hgx-h200")
    print(f"   baseline check: vendor says 5,900 W per DGX H200; catalog node maximum {hgx.node_power_max_w:,.0f} W "
          f"- the claim's baseline draws {5900 / hgx.node_power_max_w:.0%} of it")


def blackwell() -> None:
    """Claim 3: 25x less inference energy, GB200 NVL72 FP4 vs H100 FP8, GPT-MoE-1.8T at the claim's SLOs
    (bench/blackwell_vs_hopper.py finds the best plan of each); energy per output token at the boards (IT)."""
    from blackwell_vs_hopper import best  # bench/ is on sys.path when this file runs as a script

    print("3. Blackwell: '25x lower energy' GB200 NVL72 vs H100 (GPT-MoE-1.8T, TTFT 5 s, TPOT 50 ms)")
    h100, gb200 = catalog.get("systems", "dgx-h100"), catalog.get("systems", "gb200-nvl72")
    slo = (5.0, 0.05)
    hopper = best(h100, 64, "fp8", slo, None)
    black = best(gb200, 72, "fp4", slo, None)
    if hopper is None or black is None:
        print("   no feasible plan on one side: cannot compare")
        return
    hj, bj = (x["metrics"]["it_joules_per_output_token"] for x in (hopper, black))
    speed = black["metrics"]["tokens_per_s_per_device"] / hopper["metrics"]["tokens_per_s_per_device"]
    power = gb200.accelerator.board_power_w / h100.accelerator.board_power_w
    print(f"   flopwatt: H100 FP8 {hj:.2f} J/token, GB200 FP4 {bj:.2f} J/token (IT): x{hj / bj:.1f} less energy "
          f"(= x{speed:.2f} tokens/s per GPU / x{power:.2f} board power)")
    print(f"   reconciles only if per-GPU throughput rose ~x{25 * power:.0f} (25 x the power ratio); flopwatt's chain "
          f"(blackwell_vs_hopper.py) attributes x{speed:.1f}: the claim's remaining factor is in NVIDIA's baseline "
          f"(H100 plan and software), not in silicon, NVLink or FP4 as modelled")


def _tco(cooling: str, pue: float, usd_per_kwh: float | None = None, devices: int = 1024) -> dict[str, float]:
    """5-year TCO parts of ``devices`` H100s at full board power (dgx-h100) in Virginia at a given PUE."""
    setting = dataclasses.replace(default_setting("us-virginia", cooling), pue_override=pue, tco_years=5.0)
    if usd_per_kwh is not None:
        setting = dataclasses.replace(setting, site=dataclasses.replace(setting.site,
                                                                         electricity_usd_per_kwh=usd_per_kwh))
    system = catalog.get("systems", "dgx-h100")
    board = system.accelerator.board_power_w
    fp = facility_footprint(system, devices, setting, device_w=(board, board), wall_s=np.array([3600.0]))
    return {k: float(v[0]) for k, v in fp.items()}


def _it_owning(devices: int = 1024) -> float:
    """IT capex of the dgx-h100 cluster and 5 years of its maintenance (the part of TCO cooling leaves alone)."""
    it_capex = float(economics.it_capex_usd(catalog.get("systems", "dgx-h100"), np.array([devices]))[0])
    return it_capex * (1 + catalog.economics().maintenance_fraction_per_year * 5.0)


def liquid_cooling() -> None:
    """Claim 4: PUE 1.55 -> 1.06 cuts 5-year TCO by 15 %. flopwatt: air at PUE 1.55 vs direct-liquid at 1.06
    (facility capex x1.085, facility_costs.toml), 1,024 H100 at full power, Virginia industrial price."""
    print("4. Liquid cooling: 'PUE 1.55 -> 1.06 cuts 5-year TCO by 15 %' (issue 18 wording)")
    air, liquid = _tco("air", 1.55), _tco("direct-liquid", 1.06)
    cut = 1 - liquid["money/tco_usd"] / air["money/tco_usd"]
    price = default_setting("us-virginia").site.electricity_usd_per_kwh
    print(f"   flopwatt: 5-year TCO ${air['money/tco_usd'] / 1e6:,.1f}M air vs ${liquid['money/tco_usd'] / 1e6:,.1f}M "
          f"liquid: {cut:.1%} cut at ${price:.4f}/kWh (energy bill alone: {1 - 1.06 / 1.55:.1%} cut)")
    # TCO is linear in the electricity price: solve for the price at which the cut is 15 %
    p0, p1 = 0.05, 0.50
    a0, a1 = _tco("air", 1.55, p0)["money/tco_usd"], _tco("air", 1.55, p1)["money/tco_usd"]
    l0, l1 = _tco("direct-liquid", 1.06, p0)["money/tco_usd"], _tco("direct-liquid", 1.06, p1)["money/tco_usd"]
    slope_a, slope_l = (a1 - a0) / (p1 - p0), (l1 - l0) / (p1 - p0)
    base_a, base_l = a0 - slope_a * p0, l0 - slope_l * p0
    target = (0.85 * base_a - base_l) / (slope_l - 0.85 * slope_a)
    it_share = air["money/capex_usd"] / air["money/tco_usd"]
    facility_only = [fp["money/tco_usd"] - _it_owning() for fp in (air, liquid)]
    print(f"   without the IT hardware (facility capex + energy only, a colocation view): "
          f"{1 - facility_only[1] / facility_only[0]:.1%} cut")
    if target > 0:
        print(f"   reconciles at ${target:.2f}/kWh (capex is {it_share:.0%} of the air TCO here, so the PUE gain "
              f"moves TCO only where energy dominates)")
    else:
        print(f"   cannot reach 15 % at any price (capex is {it_share:.0%} of the air TCO here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-blackwell", action="store_true", help="leave out the ~10 s Blackwell section")
    args = parser.parse_args()
    groq()
    positron()
    if not args.skip_blackwell:
        blackwell()
    liquid_cooling()


if __name__ == "__main__":
    main()
