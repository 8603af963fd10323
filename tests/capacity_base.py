"""A small capacity config shared by the capacity tests (small models, few sites: fast estimates)."""

from __future__ import annotations

import copy

from flopwatt.capacity.config import parse_config

BASE = {
    "capacity": {"name": "t", "first_year": 2026, "last_year": 2027},
    "policy": {"refresh_years": 4, "utilisation_target": 0.6, "redundancy": 0.0, "training_estimate_devices": 64,
               "serving_estimate_devices": 8, "wan_bandwidth_bytes_per_s": 1e9},
    "hardware": {"h100": {"accelerator": "h100-sxm5-80gb", "available_from": 2024, "tiers": ["cloud"]},
                 "a100": {"accelerator": "a100-sxm4-80gb", "available_from": 2020, "tiers": ["cloud", "edge"]}},
    "sites": {"east": {"site": "us-virginia", "tier": "cloud", "cooling": "air", "mw_available": {"2026": 20}},
              "west": {"site": "us-oregon", "tier": "cloud", "cooling": "direct-liquid",
                       "mw_available": {"2026": 20}}},
    "training": {"small": {"model": "gpt3-1.3b", "tokens": 2e13, "year": 2026, "deadline_days": 30,
                           "global_batch": 512, "seq_len": 2048, "data_site": "east", "data_bytes": 1e12}},
    "serving": {"chat": {"model": "llama3-8b", "region": "us-east", "first_year": 2026, "requests_per_s": 2000,
                         "input_len": 1000, "output_len": 200, "ttft_slo_s": 1.0, "tpot_slo_s": 0.05,
                         "growth_per_year": 0.5}},
}


def config(**changes):
    """BASE with top-level tables replaced by ``changes`` (a value of None removes the table)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_config(data)


def tables(**changes):
    """BASE as a dict with ``changes`` merged one level into its tables."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value}
    return data
