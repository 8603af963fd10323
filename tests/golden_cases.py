"""The CLI examples whose outputs are kept as golden files (tests/golden/NAME.out).

Regenerate after an intended change with ``python tests/golden_cases.py`` and review the diff.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "train_defaults": ["train"],
    "train_gpt3_megatron2021_json": ["train", "--model", "gpt3-175b", "--accelerator", "a100-sxm4-80gb",
                                     "--devices", "1536", "--tp", "8", "--pp", "12", "--global-batch", "1536",
                                     "--seq-len", "2048", "--tokens", "300e9", "--micro-batch", "1",
                                     "--recompute", "full", "--stack", "megatron-2021", "--json"],
    "train_llama3_70b_h100": ["train", "--model", "llama3-70b", "--accelerator", "h100-sxm5-80gb",
                              "--devices", "512", "--global-batch", "512", "--tokens", "15T"],
    "train_guizhou_liquid": ["train", "--model", "llama2-70b", "--accelerator", "h100-sxm5-80gb", "--devices", "1024",
                             "--global-batch", "1024", "--tokens", "2T", "--site", "cn-guizhou", "--cooling",
                             "direct-liquid"],
    "reliability_opt": ["reliability", "--devices", "992", "--days", "61", "--params", "175e9"],
    "validate_energy": ["validate", "validation/visible.csv", "--kind", "energy"],
    "validate_reliability": ["validate", "validation/reliability.csv"],
    "fabric_fat_tree_k64": ["fabric", "--topology", "fat-tree", "--endpoints", "65536", "--switch", "eth-51t2-800g"],
    "fabric_compare": ["fabric", "compare", "--topology", "fat-tree,rail-optimized,rail-only,dragonfly,torus",
                       "--endpoints", "8192", "--switch", "eth-51t2-800g", "--media", "lpo"],
    "train_fabric_rail_only": ["train", "--devices", "2048", "--fabric", "rail-only", "--oversubscription", "2",
                               "--json"],
    "catalog_accelerators": ["catalog", "accelerators"],
    "catalog_sites": ["catalog", "sites"],
    "capacity_russia": ["capacity", "examples/capacity-russia.toml"],
    "validate_train": ["validate", "validation/visible.csv", "--kind", "train"],
    "fleet_compare_2000": ["fleet", "examples/fleet-3site.toml", "--policy", "compare", "--max-jobs", "2000"],
    "validate_infer": ["validate", "validation/visible.csv", "--kind", "infer"],
    "serve_llama2_70b_h100_mlperf_server": ["serve", "--model", "llama2-70b", "--accelerator", "h100-sxm5-80gb",
                                            "--devices", "8", "--input-len", "800", "--output-len", "294",
                                            "--ttft-slo", "2", "--tpot-slo", "0.2", "--slo-percentile", "99"],
    "serve_405b_h200_prompt_queue": ["serve", "--model", "llama3.1-405b", "--accelerator", "h200-sxm-141gb",
                                     "--devices", "8", "--input-len", "9429", "--output-len", "685", "--ttft-slo", "6",
                                     "--tpot-slo", "0.175", "--slo-percentile", "99"],
    "serve_compare": ["serve", "compare", "--model", "llama2-70b", "--accelerator",
                      "h100-sxm5-80gb,h200-sxm-141gb,b200-sxm-180gb,mi300x", "--devices", "8", "--input-len", "1024",
                      "--output-len", "256", "--ttft-slo", "2", "--tpot-slo", "0.1"],
    "serve_compare_perf_per_watt_and_dollar": ["serve", "compare", "--model", "llama3.1-70b", "--accelerator",
                                               "h100-sxm5-80gb,b200-sxm-180gb,mi355x,ascend-910c,groq-lpu-v1,tpu-v6e",
                                               "--devices", "8,8,8,8,576,8", "--input-len", "1024", "--output-len",
                                               "256"],
    "serve_compare_market_cn": ["serve", "compare", "--model", "llama3.1-70b", "--accelerator",
                                "h100-sxm5-80gb,h20,ascend-910c,v100-sxm2-32gb", "--devices", "8", "--input-len",
                                "1024", "--output-len", "256", "--market", "cn"],
}


def run(args: list[str]) -> str:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "flopwatt", *args], capture_output=True, text=True, cwd=root,
                          timeout=120, check=True)
    return proc.stdout


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, args in CASES.items():
        (GOLDEN / f"{name}.out").write_text(run(args))
        print(f"wrote {name}.out")
