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
from flopwatt.api.requests import ServeCompareRequest
from flopwatt.footprint import default_setting, facility_footprint

LPU_UNVERIFIED_W = 300.0
"""hardware-facts.md row 'Groq LPU': '~300 W third-party', marked unverified (not a catalog figure)."""
SERVE = {"model": "llama3.1-70b", "input_len": 1024, "output_len": 256, "precision": "fp8"}


def groq() -> None:
    """Claim 1: Groq at 1/3-1/6 of NVIDIA's power. flopwatt serves Llama 3.1 70B on 576 LPUs (all weights in
    SRAM) and on 8 H100s at the same lengths; the LPU's board power is unpublished, so the section solves for
    the board power at which the claim holds (per output token, IT power, LPU hosts left out)."""
    print("1. Groq LPU: '1/3 to 1/6 the power of NVIDIA GPUs' (issue 18 wording)")
    h100, lpu = api.serve_compare(ServeCompareRequest(**SERVE, accelerator=["h100-sxm5-80gb", "groq-lpu-v1"],
                                                      devices=[8, 576]))
    hm, gm = h100.metrics, lpu.metrics
    h100_w = catalog.accelerators()["h100-sxm5-80gb"].board_power_w
    print(f"   flopwatt: 8 x H100 {hm['output_tokens_per_s']:,.0f} tok/s at {hm['it_joules_per_output_token']:.3f} "
          f"J/token (IT); 576 x LPU {gm['output_tokens_per_s']:,.0f} tok/s, TPOT {gm['tpot_s'] * 1e3:.1f} ms vs "
          f"{hm['tpot_s'] * 1e3:.1f} ms; LPU J/token unknown ({'; '.join(lpu.unknown)})")
    for k in (3, 6):
        watts = hm["it_joules_per_output_token"] / k * gm["output_tokens_per_s"] / 576
        print(f"   reconciles at 1/{k} of H100's energy per token if one LPU draws <= {watts:,.0f} W")
    chip_s = 576 / gm["output_tokens_per_s"] / (8 / hm["output_tokens_per_s"])
    lpu_j = 576 * LPU_UNVERIFIED_W / gm["output_tokens_per_s"]
    print(f"   the LPUs spend {chip_s:.0f}x the chip-seconds per token of the H100s; at the only LPU power figure "
          f"found (~{LPU_UNVERIFIED_W:.0f} W, third-party, unverified) that is {lpu_j:.1f} J/token, "
          f"{lpu_j / hm['it_joules_per_output_token']:.0f}x H100's; per chip it is 1/"
          f"{h100_w / LPU_UNVERIFIED_W:.1f} of an H100 board ({h100_w:.0f} W): the claim can only be a per-chip "
          f"power ratio, and even then falls short of 1/3")


def positron() -> None:
    """Claim 2: Positron 3-6x perf/W vs Vera Rubin. Neither side's power is in the catalog; only the H200
    baseline of the Atlas claim (5,900 W per 8-GPU DGX H200) can be set against flopwatt's figure."""
    print("2. Positron: '3-6x performance per watt vs Vera Rubin' (issue 18; vendor: Asimov 5x tokens/W)")
    rubin = catalog.accelerators()["rubin"]
    print(f"   cannot be reconciled: Positron Atlas/Asimov are not in the catalog (vendor claims only) and Rubin's "
          f"board power is {'unpublished' if rubin.board_power_w is None else rubin.board_power_w}")
    hgx = catalog.get("systems", "hgx-h200")
    print(f"   partial check of the Atlas baseline: vendor says 5,900 W per DGX H200; catalog node maximum "
          f"{hgx.node_power_max_w:,.0f} W ({hgx.devices_per_node} x {hgx.accelerator.board_power_w:.0f} W boards "
          f"+ host) - the claim's baseline draws {5900 / hgx.node_power_max_w:.0%} of the node maximum")


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
