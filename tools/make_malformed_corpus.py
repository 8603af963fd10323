"""Write tests/data/malformed_cli.json: bad (and a few edge-but-valid) command lines for every sub-command.

Each entry: ``args`` (``{tmp}`` = a scratch directory, ``{root}`` = the repository, ``{busy_port}`` = a port
held open by the test), optional ``files`` (name -> text, or ``{"base": repo path, "lines": n,
"replace": [[old, new], ...]}``), optional ``dirs`` (created), and ``expect``: ``"error"`` with ``field``
(a text the one stderr line must contain) or ``"ok"`` (exit 0, optionally ``stdout`` contained).
Run: ``python tools/make_malformed_corpus.py`` (the JSON is committed; the test reads only the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "malformed_cli.json"
NUMBERS = ["nan", "inf", "-inf", "-1", "abc", "", "1e400"]
SERVE = ["serve", "--input-len", "1000", "--output-len", "200"]
TRAIN = ["train", "--devices", "384", "--no-advise"]
FABRIC = ["fabric", "--endpoints", "4096"]


def err(args: list[str], field: str, **extra) -> dict:
    return {"args": args, "expect": "error", "field": field, **extra}


def ok(args: list[str], stdout: str = "", **extra) -> dict:
    return {"args": args, "expect": "ok", "stdout": stdout, **extra}


def flag_values(base: list[str], flags: dict[str, list[str]]) -> list[dict]:
    return [err([*base, flag, value], flag) for flag, values in flags.items() for value in values]


def train() -> list[dict]:
    whole = [*NUMBERS, "0", "1.5", "1e12"]
    out = flag_values(TRAIN, {"--devices": whole, "--global-batch": whole, "--seq-len": whole,
                              "--tokens": [*NUMBERS, "0", "1e30", "15Q"], "--tp": ["0", "nan", "2.5", "1e12"],
                              "--pp": ["0", "-3", "inf"], "--dp": ["0", "x"], "--vpp": ["0", "1e9"],
                              "--micro-batch": ["0", "nan"], "--ep": ["0"], "--cp": ["0", "-2"],
                              "--pue": ["nan", "inf", "0.5", "11"], "--pue-cap": ["nan", "0"],
                              "--electricity-usd-per-kwh": ["nan", "-1", "1e6"],
                              "--carbon-g-per-kwh": ["inf", "-5", "1e9"], "--price-factor": ["0", "nan", "1e9"],
                              "--oversubscription": ["0.5", "nan", "100"], "--rails": ["0", "abc", "5000"],
                              "--radix": ["2", "nan", "1e9"]})
    out += flag_values(TRAIN, {"--precision": ["fp3", "int4", "BF16", ""], "--zero": ["4", "-1", "x"],
                               "--recompute": ["partial"], "--fabric": ["mesh", ""], "--media": ["laser"]})
    out += [err([*TRAIN, "--model", ""], "--model"), err([*TRAIN, "--model", "x" * 600], "--model"),
            err([*TRAIN, "--model", "gpt9"], "model"), err([*TRAIN, "--accelerator", "h1000"], "accelerator"),
            err([*TRAIN, "--accelerator", ""], "--accelerator"), err([*TRAIN, "--system", "nope"], "system"),
            err([*TRAIN, "--stack", "nope"], "stack"), err([*TRAIN, "--site", "mars"], "site"),
            err([*TRAIN, "--cooling", "ice"], "cooling"),
            err([*TRAIN, "--fabric", "rail-only", "--switch", "x"], "switch"),
            err([*TRAIN, "--fabric", "torus", "--torus", "0,4"], "--torus"),
            err([*TRAIN, "--fabric", "torus", "--torus", "a,b"], "--torus"),
            err([*TRAIN, "--fabric", "dragonfly", "--dragonfly", "1,2"], "--dragonfly"),
            err([*TRAIN, "--devices"], "--devices"), err([*TRAIN, "--bogus", "1"], "--bogus"),
            err(["train", "--model", "{tmp}/missing.json"], "model"),
            err(["train", "--model", "{tmp}/bad.json"], "bad.json", files={"bad.json": "{not json"}),
            err(["train", "--model", "{tmp}/list.json"], "JSON object", files={"list.json": "[1, 2]"}),
            err(["train", "--model", "{tmp}/neg.json"], "hidden_size", files={"neg.json": json.dumps(
                {"model_type": "llama", "hidden_size": -4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096})}),
            err(["train", "--model", "{tmp}/nanmodel.json"], "hidden_size", files={"nanmodel.json":
                '{"model_type": "llama", "hidden_size": NaN, "num_hidden_layers": 32, "num_attention_heads": 32, '
                '"intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096}'}),
            err(["train", "--model", "{tmp}/bad-model.toml"], "model", files={"bad-model.toml": "[models\n"}),
            err(["train", "--model", "{tmp}/adir.json"], "model", dirs=["adir.json"]),
            err(["train", "--accelerator", "{tmp}/acc.toml"], "accelerator", files={"acc.toml": "x = 1\n"})]
    out += config_cases()
    out.append(ok(["train", "--devices", "384", "--no-advise", "--tokens", "15T"], "time to train"))
    return out


def config_cases() -> list[dict]:
    cases = {"model = 5": "model", "devices = -3": "devices", "devices = nan": "devices",
             "devices = inf": "devices", "tokens = -inf": "tokens", "devices = '1e12'": "devices",
             "devices = 1e12": "devices", "global_batch = [1, 2]": "global_batch", "precision = 'fp3'": "precision",
             "modle = 'gpt3-175b'": "modle", "zero = true": "zero", "advise = 'maybe'": "advise",
             "devices = 1.5": "devices", "tp = 0": "tp", "pue = nan": "pue", "site = 7": "site",
             "fabric = 'torus'\ntorus = [0, 2]": "torus", "devices = {a = 1}": "devices"}
    out = [err(["train", "--config", "{tmp}/run.toml"], field, files={"run.toml": f"[train]\n{line}\n"})
           for line, field in cases.items()]
    out += [err(["train", "--config", "{tmp}"], "--config"),
            err(["train", "--config", "{tmp}/none.toml"], "--config"),
            err(["train", "--config", "{tmp}/run.toml"], "[train]", files={"run.toml": ""}),
            err(["train", "--config", "{tmp}/run.toml"], "[train]", files={"run.toml": "[train]\n[serve]\n"}),
            err(["train", "--config", "{tmp}/run.toml"], "[train]", files={"run.toml": "[serve]\nmodel='x'\n"}),
            err(["train", "--config", "{tmp}/run.toml"], "single [train] table", files={"run.toml": "train = 5\n"}),
            err(["train", "--config", "{tmp}/run.toml"], "--config", files={"run.toml": "\x00\x01\x02"}),
            err(["train", "--config", "{tmp}/run.toml"], "--config", files={"run.toml": "[train]\nmodel = \n"}),
            err(["train", "--config", "{tmp}/run.toml", "--devices", "0"], "--devices",
                files={"run.toml": "[train]\nmodel = 'gpt3-175b'\n"})]
    return out


def serve() -> list[dict]:
    out = flag_values(SERVE, {"--devices": [*NUMBERS, "0", "1e12", "2.5"], "--input-len": [*NUMBERS, "0", "1e9"],
                              "--output-len": ["nan", "0", "-5", "x"], "--ttft-slo-s": ["0", "nan", "-1", "1e5"],
                              "--tpot-slo-s": ["0", "inf", "1e6"], "--slo-percentile": ["0", "100", "nan"],
                              "--power-cap-w": ["0", "-300", "nan", "1e9"], "--tp": ["0", "1e12", "x"],
                              "--pp": ["0"], "--ep": ["0", "nan"], "--prefill-devices": ["0", "nan"],
                              "--pue": ["0.2"], "--price-factor": ["-1"]})
    out += flag_values(SERVE, {"--precision": ["fp3", "BF16"], "--kv-precision": ["fp3", "int2"],
                               "--kv-admission": ["lazy"]})
    out += [err([*SERVE, "--tp", "3"], "--tp"), err([*SERVE, "--tp", "5"], "--tp"),
            err([*SERVE, "--model", "nope"], "model"), err([*SERVE, "--accelerator", "nope"], "accelerator"),
            err(["serve", "--output-len", "100"], "--input-len"),
            err(["serve", "--lengths-from", "{tmp}/none.csv"], "none.csv"),
            err(["serve", "--lengths-from", "{tmp}"], "cannot read trace"),
            err(["serve", "--lengths-from", "{tmp}/t.csv"], "t.csv", files={"t.csv": "a,b\n1,2\n"}),
            err(["serve", "--lengths-from", "{tmp}/t.csv"], "t.csv",
                files={"t.csv": "TIMESTAMP,ContextTokens,GeneratedTokens\n0,nan,5\n"}),
            err(["serve", "--lengths-from", "{tmp}/t.csv"], "t.csv",
                files={"t.csv": "TIMESTAMP,ContextTokens,GeneratedTokens\n"}),
            err(["serve", "--lengths-from", "{tmp}/t.csv"], "t.csv",
                files={"t.csv": "TIMESTAMP,ContextTokens,GeneratedTokens\n0,-5,5\n"}),
            err([*SERVE, "--site", "mars"], "site"), err([*SERVE, "--disaggregate", "x"], "mode"),
            err([*SERVE, "--prefill-devices", "8"], "prefill"),
            ok([*SERVE, "--tpot-slo-s", "200"], "output tokens/s"),
            ok([*SERVE, "--accelerator", "a100-sxm4-80gb"], "weight-only")]
    compare = ["serve", "compare", "--input-len", "1000", "--output-len", "200"]
    out += [err([*compare, "--accelerator", ""], "--accelerator"),
            err([*compare, "--accelerator", "h100-sxm5-80gb,nope"], "accelerator"),
            err([*compare, "--accelerator", ",".join(["h100-sxm5-80gb"] * 40)], "--accelerator"),
            err([*compare, "--accelerator", "h100-sxm5-80gb", "--devices", "8,x"], "--devices"),
            err([*compare, "--accelerator", "h100-sxm5-80gb", "--devices", "0"], "--devices"),
            err([*compare, "--accelerator", "h100-sxm5-80gb", "--devices", "nan"], "--devices"),
            err([*compare, "--accelerator", "h100-sxm5-80gb,a100-sxm4-80gb", "--devices", "8,8,8"], "devices"),
            err([*compare, "--accelerator", "h100-sxm5-80gb", "--tp", "3"], "--tp"),
            err(["serve", "compare", "--accelerator", "h100-sxm5-80gb"], "--input-len"),
            err(["serve", "comparee"], "compare")]
    return out


def fabric() -> list[dict]:
    out = flag_values(FABRIC, {"--endpoints": [*NUMBERS, "0", "1e12", "2.5"],
                               "--radix": ["0", "3", "nan", "1e9"], "--rails": ["0", "nan"],
                               "--oversubscription": ["0", "nan", "inf", "1e3"], "--media": ["laser"],
                               "--topology": ["mesh", "", "torus,mesh", ",".join(["fat-tree"] * 9)]})
    out += [err(["fabric"], "endpoints"),
            err([*FABRIC, "--topology", "torus", "--torus", "0,2"], "--torus"),
            err([*FABRIC, "--topology", "torus", "--torus", "2,2,2,2"], "--torus"),
            err([*FABRIC, "--topology", "torus", "--torus", "x"], "--torus"),
            err(["fabric", "--topology", "torus", "--torus", "2,2", "--endpoints", "1000"], "torus"),
            err(["fabric", "--topology", "torus", "--torus", "64,64,64", "--endpoints", "1000"], "torus"),
            err([*FABRIC, "--topology", "dragonfly", "--dragonfly", "0,1,1"], "--dragonfly"),
            err([*FABRIC, "--topology", "dragonfly", "--dragonfly", "4,4"], "--dragonfly"),
            err(["fabric", "--endpoints", "1000", "--topology", "dragonfly", "--dragonfly", "100000,100000,100000"],
                "dragonfly"),
            err([*FABRIC, "--topology", "dragonfly", "--dragonfly", "16,32,16", "--radix", "32"], "dragonfly"),
            err([*FABRIC, "--switch", "nope"], "switch"),
            err(["fabric", "compare", "--endpoints", "4096", "--topology", "fat-tree,mesh"], "--topology"),
            err(["fabric", "desing", "--endpoints", "4096"], "design"),
            err([*FABRIC, "--report", "{tmp}/no/such/dir/r.html"], "--report"),
            ok(["fabric", "--topology", "torus", "--torus", "10,10,10", "--endpoints", "1000"], "1,000"),
            ok(["fabric", "compare", "--endpoints", "4096", "--topology", "fat-tree,rail-optimized"])]
    return out


PLAN = ("[workload]\nmodel = 'gpt3-1.3b'\ntokens = 30e9\nglobal_batch = 256\n"
        "[menu]\naccelerators = ['a100-sxm4-80gb']\ndevices = [8]\n[output]\ntop_k = 3\n")


def plan() -> list[dict]:
    swaps = {"model = 'gpt3-1.3b'": [("model = 5", "model"), ("model = ''", "model"), ("model = 'nope'", "model")],
             "tokens = 30e9": [("tokens = nan", "tokens"), ("tokens = inf", "tokens"), ("tokens = -1", "tokens"),
                               ("tokens = 'lots'", "tokens"), ("tokens = 0", "tokens")],
             "global_batch = 256": [("global_batch = []", "global_batch"), ("global_batch = [0]", "global_batch"),
                                    ("global_batch = 'x'", "global_batch"), ("global_batch = nan", "global_batch")],
             "devices = [8]": [("devices = [1073741824]", "devices"), ("devices = []", "devices"),
                               ("devices = [-8]", "devices"), ("devices = {min = 16, max = 8}", "devices"),
                               ("devices = {min = 0, max = 8}", "devices"), ("devices = [nan]", "devices"),
                               ("devices = 'many'", "devices"), ("devices = {min = 1}", "devices")],
             "accelerators = ['a100-sxm4-80gb']": [("accelerators = []", "accelerators"),
                                                   ("accelerators = ['nope']", "accelerator"),
                                                   ("accelerators = [1]", "accelerators")],
             "top_k = 3": [("top_k = -1", "top_k"), ("top_k = 0", "top_k"), ("top_k = 1e9", "top_k"),
                           ("top_k = nan", "top_k")],
             "[output]": [("[outputs]", "outputs"), ("[constraints]\ndeadline_days = nan\n[output]", "deadline_days"),
                          ("[constraints]\nbudget_usd = -1\n[output]", "budget_usd"),
                          ("[constraints]\npower_cap_mw = inf\n[output]", "power_cap_mw"),
                          ("[plan]\ntp = 0\n[output]", "tp"), ("[plan]\nzero_stage = 7\n[output]", "zero_stage"),
                          ("[plan]\nrecompute = 'some'\n[output]", "recompute"),
                          ("[menu.extra]\nx = 1\n[output]", "extra")],
             PLAN.split("[menu]")[0]: [("", "[workload]"), ("workload = 3\n[w]\n", "[w]")]}
    out = [err(["plan", "{tmp}/p.toml", "--no-progress"], field,
                files={"p.toml": PLAN.replace(old, new, 1)}) for old, news in swaps.items() for new, field in news]
    good = {"p.toml": PLAN}
    out += [err(["plan", "{tmp}", "--no-progress"], "plan config"),
            err(["plan", "{tmp}/p.toml"], "plan config", files={"p.toml": "[workload\n"}),
            err(["plan", "{tmp}/p.toml"], "plan config", files={"p.toml": "\xff\xfe binary"}),
            err(["plan", "{tmp}/p.toml", "--out", "{tmp}/p.toml", "--format", "csv"], "--out", files=good),
            err(["plan", "{tmp}/p.toml", "--out", "{tmp}/full", "--format", "csv"], "--out",
                files={**good, "full/x.txt": "x"}),
            err(["plan", "{tmp}/p.toml", "--workers", "0"], "--workers", files=good),
            err(["plan", "{tmp}/p.toml", "--workers", "nan"], "--workers", files=good),
            err(["plan", "{tmp}/p.toml", "--format", "xlsx"], "--format", files=good),
            err(["plan", "{tmp}/p.toml", "--backend", "spark"], "--backend", files=good),
            err(["plan", "{tmp}/p.toml", "--report", "{tmp}/no/dir/r.html", "--no-progress"], "--report", files=good),
            err(["plan", "{tmp}/p.toml", "--report", "{tmp}/p.toml", "--no-progress"], "--report", files=good),
            ok(["plan", "{tmp}/p.toml", "--no-progress", "--workers", "1"], "Pareto", files=good)]
    return out


FLEET = "examples/fleet-3site.toml"


def fleet() -> list[dict]:
    def bad(old: str, new: str, field: str, args: tuple[str, ...] = ()) -> dict:
        replace = [[old, new], ["../data/traces", "{root}/data/traces"], ["../data/traces", "{root}/data/traces"]]
        return err(["fleet", "{tmp}/f.toml", "--max-jobs", "20", *args], field,
                   files={"f.toml": {"base": FLEET, "replace": replace}})
    out = [bad("devices = 128", "devices = -1", "devices"), bad("devices = 128", "devices = nan", "devices"),
           bad("devices = 128", "devices = 'x'", "devices"), bad("devices = 128", "devices = 1e12", "devices"),
           bad("devices = 128", "devices = 0", "devices"), bad('site = "us-oregon"', 'site = "mars"', "site"),
           bad('site = "us-oregon"', "site = 5", "site"), bad('system = "dgx-2-v100"', 'system = "nope"', "system"),
           bad("share = 0.3", "share = -0.3", "share"), bad("share = 0.3", "share = nan", "share"),
           bad("deadline_factor = 4.0", "deadline_factor = 0", "deadline_factor"),
           bad('model = "gpt3-125m"', 'model = "nope"', "model"), bad("seed = 1", "seed = 'one'", "seed"),
           bad("service_interval_s = 300", "service_interval_s = 0", "service_interval_s"),
           bad("service_interval_s = 300", "service_interval_s = nan", "service_interval_s"),
           bad('path = "../data/traces/philly_jobs.csv.gz"', 'path = "/nonexistent.csv"', "trace"),
           bad("rate_scale = 2.0", "rate_scale = -2", "rate_scale"),
           bad("rate_scale = 2.0", "rate_scale = inf", "rate_scale"),
           bad("ttft_slo_s = 1.0", "ttft_slo_s = 0", "ttft_slo_s"),
           bad('precision = "fp8"', 'precision = "fp3"', "precision"),
           bad("[fleet]", "[fleeet]", "fleeet"), bad("global_batch = 256", "global_batch = 0", "global_batch"),
           bad('user_region = "europe-west"', 'user_region = "atlantis"', "user_region"),
           bad("devices = 128", "devices = 128", "--seed", ("--seed", "-1")),
           bad("devices = 128", "devices = 128", "--max-jobs", ("--max-jobs", "0")),
           bad("devices = 128", "devices = 128", "--trace", ("--trace", "{tmp}/none.csv")),
           bad("devices = 128", "devices = 128", "--policy", ("--policy", "fastest")),
           bad("devices = 128", "devices = 128", "--seed", ("--seed", "x")),
           *[err(["fleet", "{tmp}/f.toml", "--max-jobs", "20", "--trace", "{tmp}/t.csv"], "t.csv",
                 files={"f.toml": {"base": FLEET, "replace": [["../data/traces", "{root}/data/traces"]] * 2},
                        "t.csv": trace}) for trace in ("a,b\n1,2\n", "timestamp,duration,num_gpus,gpu_time,cluster\n",
                                                      "timestamp,duration,num_gpus,gpu_time,cluster\n"
                                                      "2017-10-09 07:01:55,nan,1,66.0,c\n",
                                                      "timestamp,duration,num_gpus,gpu_time,cluster\n"
                                                      "2017-10-09 07:01:55,66,-1,66.0,c\n")],
           err(["fleet", "{tmp}"], "fleet"), err(["fleet", "{tmp}/none.toml"], "fleet"),
           err(["fleet", "{tmp}/f.toml"], "fleet", files={"f.toml": "[fleet\n"}),
           err(["fleet", "{tmp}/f.toml"], "fleet", files={"f.toml": ""})]
    return out


CAPACITY = "examples/capacity-russia.toml"


def capacity() -> list[dict]:
    def bad(old: str, new: str, field: str) -> dict:
        return err(["capacity", "{tmp}/c.toml"], field, files={"c.toml": {"base": CAPACITY, "replace": [[old, new]]}})
    out = [bad("first_year = 2026", "first_year = 1900", "first_year"),
           bad("last_year = 2030", "last_year = 2020", "last_year"), bad('step = "year"', 'step = "week"', "step"),
           bad("refresh_years = 6", "refresh_years = 0", "refresh_years"),
           bad("utilisation_target = 0.65", "utilisation_target = 1.5", "utilisation_target"),
           bad("utilisation_target = 0.65", "utilisation_target = nan", "utilisation_target"),
           bad("redundancy = 0.05", "redundancy = -1", "redundancy"),
           bad("budget_usd_per_year = 1.5e9", "budget_usd_per_year = inf", "budget_usd_per_year"),
           bad("supply_per_year = 8000", "supply_per_year = -1", "supply_per_year"),
           bad("supply_per_year = 8000", "supply_per_year = 'x'", "supply_per_year"),
           bad('accelerator = "a100-sxm4-80gb"', 'accelerator = "nope"', "accelerator"),
           bad('site = "ru-moscow"', 'site = "mars"', "site"), bad('tier = "cloud"', 'tier = 5', "tier"),
           bad("mw_available = { 2026 = 8, 2030 = 40 }", "mw_available = { 2026 = -8 }", "mw_available"),
           bad("mw_available = { 2026 = 8, 2030 = 40 }", "mw_available = { x = 8 }", "mw_available"),
           bad("rtt_s = { moscow = 0.004 }", "rtt_s = { moscow = nan }", "rtt_s"),
           bad("tokens = 10e12", "tokens = nan", "tokens"), bad("tokens = 10e12", "tokens = 0", "tokens"),
           bad("deadline_days = 120", "deadline_days = -1", "deadline_days"),
           bad('model = "llama3-70b"\ntokens', 'model = "nope"\ntokens', "model"),
           bad("requests_per_s = 2500", "requests_per_s = -1", "requests_per_s"),
           bad("requests_per_s = 2500", "requests_per_s = inf", "requests_per_s"),
           bad("input_len = 1500", "input_len = 0", "input_len"),
           bad("ttft_slo_s = 1.5", "ttft_slo_s = nan", "ttft_slo_s"),
           bad('region = "moscow"', 'region = "nowhere"', "region"),
           bad("[capacity]", "[capacityy]", "capacityy"),
           bad("growth_per_year = 0.7", "growth_per_year = nan", "growth_per_year"),
           err(["capacity", "{tmp}"], "capacity"), err(["capacity", "{tmp}/none.toml"], "capacity"),
           err(["capacity", "{tmp}/c.toml"], "capacity", files={"c.toml": "[capacity\n"}),
           err(["capacity", "{tmp}/c.toml", "--csv", "{tmp}/no/dir/x.csv"], "--csv",
               files={"c.toml": {"base": CAPACITY, "replace": []}})]
    return out


VISIBLE = "validation/visible.csv"
RELIABILITY = "validation/reliability.csv"


def validate() -> list[dict]:
    def bad(value: str) -> dict:
        return err(["validate", "{tmp}/v.csv"], "MEG21-01", files={"v.csv": {
            "base": VISIBLE, "lines": 2, "replace": [[",tflops_per_device,137,", f",tflops_per_device,{value},"]]}})
    out = [bad(v) for v in ("nan", "NaN", "inf", "-inf", "0", "-137", "1e400", "abc", "")]
    for old, new, field in ((",24,2304,", ",nan,2304,", "layers"), (",24,2304,", ",-24,2304,", "layers"),
                            (",24,2304,", ",0,2304,", "layers"), (",a100-sxm4-80gb,32,", ",a100-sxm4-80gb,nan,",
                                                                  "n_devices"),
                            (",a100-sxm4-80gb,32,", ",a100-sxm4-80gb,0,", "n_devices"),
                            (",a100-sxm4-80gb,32,", ",a100-sxm4-80gb,-32,", "n_devices"),
                            (",1.7,24,", ",inf,24,", "params_b"), (",512,,full,", ",inf,,full,", "global_batch")):
        out.append(err(["validate", "{tmp}/v.csv"], field, files={"v.csv": {"base": VISIBLE, "lines": 2,
                                                                            "replace": [[old, new]]}}))
    for old, new, field in ((",16384,54,", ",nan,54,", "n_devices"), (",16384,54,", ",0,54,", "n_devices"),
                            (",16384,54,", ",-5,54,", "n_devices"), (",419,", ",,", "count"),
                            (",16384,54,", ",16384,-54,", "days"), (",16384,54,", ",16384,inf,", "days"),
                            (",16384,54,", ",16384,0,", "days"), (",419,", ",nan,", "count"),
                            (",419,", ",-3,", "count"), (",419,", ",1.5,", "count"), (",419,", ",0,", "count")):
        out.append(err(["validate", "{tmp}/r.csv"], field, files={"r.csv": {"base": RELIABILITY, "lines": [0, 3],
                                                                            "replace": [[old, new]]}}))
    out += [err(["validate", "{tmp}"], "validation file"), err(["validate", "{tmp}/none.csv"], "validation file"),
            err(["validate", "{tmp}/v.csv"], "header", files={"v.csv": ""}),
            ok(["validate", "{tmp}/r.csv"], "LLAMA3R-03", files={"r.csv": {"base": RELIABILITY, "lines": [0, 3]}}),
            err(["validate", "{tmp}/v.csv"], "header", files={"v.csv": "\xff\xfe\x00"}),
            err(["validate", "{tmp}/v.csv", "--kind", "x"], "--kind", files={"v.csv": ""}),
            ok(["validate", "{tmp}/v.csv"], "MEG21-01", files={"v.csv": {"base": VISIBLE, "lines": 2}})]
    return out


def others() -> list[dict]:
    out = [err(["catalog", "widgets"], "kind"), err(["catalog", "models", "nope"], "model"),
           err(["catalog", "models", ""], "model"), err(["catalog", "sites", "x" * 300], "site"),
           err(["catalog", "--catalog", "{tmp}/none"], "catalog"),
           err(["catalog", "--catalog", "{tmp}/o.toml"], "o.toml", files={"o.toml": "[accelerators\n"}),
           err(["catalog", "--catalog", "{tmp}/o.toml"], "o.toml", files={"o.toml": "[accelerators.x]\nname = 5\n"}),
           err(["catalog", "--catalog", "{tmp}/o.toml"], "o.toml", files={"o.toml": "[widgets.x]\nname = 'x'\n"}),
           err(["catalog", "--catalog", "{tmp}/o.toml"], "o.toml", files={"o.toml": "accelerators = 5\n"})]
    acc = {"base": "tests/fixtures/catalog/my-accelerator.toml"}
    for old, new, field in (("bf16 = 1.187e15", "bf16 = nan", "peak_flops_per_s"),
                            ("hbm_bytes = 85899345920", "hbm_bytes = -1", "hbm_bytes"),
                            ("board_power_w = 840", "board_power_w = inf", "board_power_w"),
                            ("devices_per_node = 8", "devices_per_node = 0", "devices_per_node"),
                            ('retrieved = "2026-12-06"', "", "retrieved"),
                            ("latency_s = 3e-6", "latency_s = 'fast'", "latency_s")):
        out.append(err(["catalog", "--catalog", "{tmp}/o.toml"], field,
                       files={"o.toml": {**acc, "replace": [[old, new]]}}))
        out.append(err(["train", "--catalog", "{tmp}/o.toml", "--accelerator", "h100-oc"], field,
                       files={"o.toml": {**acc, "replace": [[old, new]]}}))
    out += [err(["catalog", "--catalog", "{tmp}/cat"], "accelerator h1",
                files={"cat/accelerators.toml": "[h1]\nname = 5\n"}),
            err(["catalog", "--catalog", "{tmp}/cat"], "catalog", dirs=["cat"]),
            err(["serve", "--model", "{tmp}/c.json", "--input-len", "10", "--output-len", "5"], "c.json",
                files={"c.json": "{"}),
            ok(["train", "--catalog", "{tmp}/o.toml", "--accelerator", "h100-oc", "--devices", "64", "--no-advise",
                "--model", "gpt3-1.3b", "--global-batch", "256"], "h100-oc", files={"o.toml": acc})]
    out += flag_values(["reliability", "--days", "30"], {"--devices": [*NUMBERS, "0", "1e12", "2.5"]})
    out += flag_values(["reliability", "--devices", "1000"], {"--days": [*NUMBERS, "0", "1e9"]})
    out += flag_values(["reliability", "--devices", "1000", "--days", "30"], {"--params": ["nan", "0", "-7", "1e30"]})
    out += [err(["reliability", "--days", "30"], "--devices"),
            ok(["reliability", "--devices", "1000", "--days", "30"], "interruptions"),
            ok(["reliability", "--devices", "1000", "--days", "30", "--params", "70e9"], "checkpoint")]
    out += [err(["web", "--port", p], "--port") for p in ("0", "-1", "70000", "abc", "nan", "{busy_port}")]
    out += [err(["web", "--host", h, "--port", "{free_port}"], "--host")
            for h in ("999.999.1.1", "no-such-host.invalid", "8.8.8.8", "::zz")]
    out += [err([], "command"), err(["nope"], "command"), err(["--json"], "command")]
    return out


def main() -> None:
    corpus = [*train(), *serve(), *fabric(), *plan(), *fleet(), *capacity(), *validate(), *others()]
    lines = ",\n".join(json.dumps(entry, ensure_ascii=True) for entry in corpus)
    OUT.write_text("[\n" + lines + "\n]\n", encoding="utf-8")
    print(f"{len(corpus)} invocations -> {OUT}")


if __name__ == "__main__":
    main()
