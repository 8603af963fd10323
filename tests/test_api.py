"""The typed API as the one definition of every setting, and every entry point as an adapter over it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import api, catalog
from flopwatt.api.requests import FabricRequest, ReliabilityRequest, ServeCompareRequest, ServeRequest, TrainRequest
from flopwatt.cli import build_parser, run_command
from flopwatt.cli_options import flags
from flopwatt.errors import InputError

SRC = Path(__file__).resolve().parents[1] / "src" / "flopwatt"
FIXTURES = Path(__file__).parent / "fixtures"
TRAIN = {"model": "llama3-8b", "accelerator": "h100-sxm5-80gb", "devices": 64, "global_batch": 256,
         "tokens": 2e11, "site": "fi-hamina", "cooling": "direct-liquid"}
SERVE = {"model": "llama3.1-70b", "accelerator": "h200-sxm-141gb", "devices": 8, "input_len": 1024,
         "output_len": 256, "tpot_slo_s": 0.05}


def _options(command: str) -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return {s for a in sub._actions for s in a.option_strings}


@pytest.mark.parametrize(("command", "cls"), [("train", TrainRequest), ("serve", ServeCompareRequest),
                                              ("fabric", FabricRequest), ("reliability", ReliabilityRequest)])
def test_cli_options_are_derived_from_the_request_model(command, cls):
    expected = {s for name, info in cls.model_fields.items() for s in flags(name, info)}
    expected |= {f"--no-{s[2:]}" for name, info in cls.model_fields.items() for s in flags(name, info)
                 if "bool" in str(info.annotation)}
    own = {"-h", "--help", "--json", "--catalog", "--report", "--config"}
    assert _options(command) - own == expected


@pytest.mark.parametrize(("path", "cls"), [("/v1/train", TrainRequest), ("/v1/serve", ServeRequest),
                                           ("/v1/fabric", FabricRequest), ("/v1/reliability", ReliabilityRequest)])
def test_web_schema_is_the_request_model(path, cls):
    pytest.importorskip("fastapi")
    from flopwatt.server.app import openapi

    schema = openapi()
    ref = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert set(properties) == set(cls.model_fields)


def test_toml_config_keys_are_the_request_fields(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text("[train]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in TRAIN.items()) + "\n")
    payload, _ = run_command(["train", "--config", str(cfg), "--json"])
    assert payload["inputs"]["model"] == "llama3-8b"
    cfg.write_text("[train]\nglobal-batch = 128\ntokens = \"15T\"\n")  # hyphens and quantity strings as the CLI
    payload, _ = run_command(["train", "--config", str(cfg), "--json"])
    assert payload["inputs"]["global_batch"] == 128 and payload["inputs"]["tokens"] == 15e12
    cfg.write_text("[train]\nglobal_bach = 128\n")
    with pytest.raises(InputError, match=r"\[train\]\.global_bach"):
        run_command(["train", "--config", str(cfg)])


def _cli_args(body: dict) -> list[str]:
    return [x for k, v in body.items() for x in (f"--{k.replace('_', '-')}", str(v))]


def test_train_numbers_are_identical_from_every_entry_point(tmp_path):
    python = api.train(TrainRequest(**TRAIN)).payload()
    cli, _ = run_command(["train", *_cli_args(TRAIN), "--json"])
    cfg = tmp_path / "run.toml"
    cfg.write_text("[train]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in TRAIN.items()) + "\n")
    toml, _ = run_command(["train", "--config", str(cfg), "--json"])
    answers = [python, cli, toml]
    if _has_web():
        answers.append(_web().post("/v1/train", json=TRAIN).json())
    for other in answers[1:]:
        assert other["plan"] == python["plan"]
        assert other["metrics"] == python["metrics"] and other["footprint"] == python["footprint"]


def test_serve_numbers_are_identical_from_every_entry_point():
    python = api.serve(ServeRequest(**SERVE)).payload()
    cli, _ = run_command(["serve", *_cli_args(SERVE), "--json"])
    answers = [cli]
    if _has_web():
        answers.append(_web().post("/v1/serve", json=SERVE).json())
    for other in answers:
        assert other["plan"] == python["plan"] and other["metrics"] == python["metrics"]


def _has_web() -> bool:
    try:
        import fastapi  # noqa: F401
    except ImportError:
        return False
    return True


def _web():
    from fastapi.testclient import TestClient

    from flopwatt.server.app import create_app

    return TestClient(create_app())


def _imports(path: Path, modules: set[str], *, top_level_only: bool) -> set[str]:
    """Modules of flopwatt that ``path`` imports: ``from a import b`` depends on ``a.b`` when that is a module,
    else on ``a`` (a package's __init__ loaded only on the way to a submodule is not counted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flopwatt"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("flopwatt"))
    return out


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_no_import_cycles_and_server_and_cli_apart():
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    names = set(modules)
    graph = {m: {i for i in _imports(p, names, top_level_only=True) if i in modules and i != m}
             for m, p in modules.items()}
    for module, path in modules.items():
        every = _imports(path, names, top_level_only=False)
        if module.startswith("flopwatt.server"):
            assert not any(i.startswith("flopwatt.cli") for i in every), module
        if module.startswith("flopwatt.cli"):
            assert not any(i.startswith("flopwatt.server") for i in every), module
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*trail, m, n])}")
            if n not in state:
                visit(n, [*trail, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_names_people_type_resolve_and_are_stated():
    result = api.train(TrainRequest(**{**TRAIN, "model": "Llama 3.3 70B Instruct", "devices": 512}))
    assert result.inputs["model"] == "llama3.3-70b"
    assert any("name normalisation" in a for a in result.assumptions)
    for name, model_id in [("Meta-Llama-3-70B", "llama3-70b"), ("meta-llama/Llama-3.1-8B", "llama3.1-8b")]:
        assert catalog.model_by_name(name).id == model_id


def test_models_and_hardware_from_files():
    hf = api.train(TrainRequest(**{**TRAIN, "model": str(FIXTURES / "hf" / "llama-3.1-8b.json")}))
    catalog_model = api.train(TrainRequest(**{**TRAIN, "model": "llama3.1-8b"}))
    assert hf.metrics["mfu"] == pytest.approx(catalog_model.metrics["mfu"], rel=0.02)
    own = api.train(TrainRequest(**{**TRAIN, "model": str(FIXTURES / "catalog" / "my-model.toml"),
                                    "accelerator": str(FIXTURES / "catalog" / "my-accelerator.toml")}))
    assert own.inputs["accelerator"] == "h100-oc" and own.feasible
    assert any("borrowed from h100-sxm5-80gb" in a for a in own.assumptions)
    catalog.reset_overlays()
    with pytest.raises(InputError, match="accelerator"):
        api.train(TrainRequest(**{**TRAIN, "accelerator": "h100-oc"}))


def test_a_broken_overlay_names_its_file_and_leaves_the_catalog_as_it_was(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[accelerators.x]\nname = 'x'\n")
    with pytest.raises(InputError, match="bad.toml"):
        catalog.use_overlay(bad)
    assert "x" not in catalog.accelerators()


def test_an_infeasible_plan_is_a_result_with_a_reason():
    result = api.train(TrainRequest(**{**TRAIN, "model": "gpt3-175b", "devices": 8, "global_batch": 8}))
    assert not result.feasible and result.reason == "oom" and result.infeasible["oom"] > 0
    served = api.serve(ServeRequest(**{**SERVE, "tpot_slo_s": 1e-4}))
    assert not served.feasible and served.reason == "slo" and "fastest TPOT" in served.message


def test_advice_names_a_faster_stack_and_why_none_is_feasible():
    """Llama 3.1 405B on 16,384 H100: Megatron-LM 2024 splits its 126 layers uniformly and cannot pipeline them
    deeply; the advice names a stack at least 1.2x faster. With no feasible plan, it names what refused them."""
    base = dict(model="llama3.1-405b", accelerator="h100-sxm5-80gb", devices=16384, global_batch=2048, seq_len=8192,
                tokens="15T")
    slow = api.train(TrainRequest(**base, stack="megatron-lm-2024"))
    named = [a for a in slow.advice if a.startswith("stack ")]
    assert slow.feasible and len(named) == 1 and "x faster than megatron-lm-2024" in named[0]
    other = named[0].split()[1]
    faster = api.train(TrainRequest(**base, stack=other, advise=False))
    assert faster.metrics["step_time_s"] * 1.2 <= slow.metrics["step_time_s"]
    none = api.train(TrainRequest(**base, stack="megatron-2022"))
    assert not none.feasible and any("plans refused" in a for a in none.advice)
    assert any("megatron-2022 has no feasible plan" in a for a in none.advice)


def test_validate_skips_unknown_frameworks_models_and_metrics_and_never_reads_notes():
    from flopwatt.validate import read_rows, validate

    rows = read_rows(Path(__file__).resolve().parents[1] / "validation" / "visible.csv")
    train = next(r for r in rows if r["id"] == "MEG21-04")
    odd = [{**train, "id": "X-01", "framework": "mlperf-nvidia"},
           {**train, "id": "X-02", "metric": "watts_per_token"},
           {**train, "id": "X-03", "model": "Some Model 7B", "params_b": ""},
           {**train, "id": "X-04", "accelerator": "tpu-v99"},
           {**train, "id": "X-05", "kind": "finetune"}]
    report = validate([train, *odd])
    assert report["summary"]["n"] == 1 and len(report["summary"]["skipped"]) == 5
    assert report["summary"]["coverage"] == pytest.approx(1 / 6)
    reasons = " ".join(s["reason"] for s in report["summary"]["skipped"])
    assert "mlperf-nvidia" in reasons and "watts_per_token" in reasons and "tpu-v99" in reasons
    same = validate([{**train, "notes": "counts the extra recompute; model flops; swiglu; TDP; PUE 1.5"}])
    assert same["rows"][0]["predicted"] == report["rows"][0]["predicted"]


CACHE_CASES = [
    {"model": "llama3-70b", "devices": 1024, "global_batch": 1024, "tokens": 1e12},  # open knobs, 13,764 plans
    {"model": "gpt3-175b", "devices": 1024, "global_batch": 1536, "tokens": 3e11, "stack": "megatron-2021"},
    {"model": "llama3.1-405b", "devices": 64, "global_batch": 64, "tokens": 1e12},  # no plan fits
    {"model": "llama3-70b", "devices": 1000, "global_batch": 1024, "tokens": 1e12},  # no plan divides the batch
    {"model": "mixtral-8x7b", "devices": 512, "global_batch": 1024, "tokens": 1e12, "advise": False},
]


def _fresh_search(body: dict) -> tuple:
    """The whole space evaluated without the cache: fastest plan's figures, counts, and the fastest other
    stack (the advice's candidate), as the estimate computed them before it was cached."""
    from flopwatt.api.training import _plan_request
    from flopwatt.estimate import estimate_training
    from flopwatt.specs import TrainingWorkload

    req = TrainRequest(**body)
    result = api.train(req)
    model, system = catalog.get("models", result.inputs["model"]), catalog.get("systems", result.inputs["system"])
    workload = TrainingWorkload(model=model, seq_len=result.inputs["seq_len"], tokens=req.tokens,
                                precision=result.inputs["precision"])
    stack = catalog.get("stacks", result.inputs["stack"])
    est = estimate_training(workload, system, stack, _plan_request(req))
    summary = est.best_summary() if est.best is not None else None
    steps = {other.id: estimate_training(workload, system, other, _plan_request(req)) for other in
             catalog.stacks().values()
             if other.id != stack.id and other.parallel_block == stack.parallel_block} if req.advise else {}
    fastest = None  # the first of the fastest, in catalog order (ties go to the earlier stack)
    for sid, e in steps.items():
        step = float(e.result.metrics["step_time_s"][e.best]) if e.best is not None else None
        if step is not None and (fastest is None or step < fastest[0]):
            fastest = (step, sid)
    return summary, est.infeasible_counts(), len(est.result), fastest


@pytest.mark.parametrize("body", CACHE_CASES)
def test_the_cached_plan_search_gives_the_answer_of_a_fresh_search(body):
    """estimate.choose caches the search per plan space (tokens apart): cold, warm and other-token answers
    equal the uncached whole-space evaluation, number for number, advice included."""
    from flopwatt import estimate

    estimate._CHOICES.clear()
    cold = api.train(TrainRequest(**body))
    assert api.train(TrainRequest(**body)) == cold  # every search a cache hit now
    more = {**body, "tokens": body["tokens"] * 3}
    warm_other = api.train(TrainRequest(**more))
    estimate._CHOICES.clear()
    assert api.train(TrainRequest(**more)) == warm_other
    summary, counts, evaluated, fastest = _fresh_search(body)
    assert (cold.plans_evaluated, cold.infeasible) == (evaluated, {k: v for k, v in counts.items() if k != "ok"}
                                                       if summary is None else counts)
    if summary is None:
        assert not cold.feasible
    else:
        assert (cold.plan, cold.time, cold.memory) == (summary["plan"], summary["time"], summary["memory"])
        assert cold.metrics == summary["metrics"]  # time_to_train_s of these tokens, not the cached ones
        assert warm_other.metrics["time_to_train_s"] == pytest.approx(3 * cold.metrics["time_to_train_s"])
    named = [a for a in cold.advice if a.startswith("stack ")]
    mine = cold.time.get("time/step", float("inf"))
    if fastest is not None and fastest[0] * 1.2 <= mine:
        assert named and named[0].startswith(f"stack {fastest[1]} ")
    else:
        assert not named


def test_the_plan_search_cache_is_bounded_and_keyed_by_the_catalog_tables():
    from flopwatt import estimate

    estimate._CHOICES.clear()
    body = {**TRAIN, "advise": False}
    api.train(TrainRequest(**body))
    assert len(estimate._CHOICES) == 1
    api.train(TrainRequest(**{**body, "tokens": 5e11, "site": "us-iowa"}))  # same plan space: a hit
    assert len(estimate._CHOICES) == 1
    catalog.clear_caches()  # new efficiency tables (as after an overlay): a new key
    api.train(TrainRequest(**body))
    assert len(estimate._CHOICES) == 2
    assert estimate.CHOICE_CACHE_ENTRIES >= 1 and len(estimate._CHOICES) <= estimate.CHOICE_CACHE_ENTRIES


def test_the_web_pool_serves_waiting_requests_in_arrival_order():
    """server.pool hands a freed worker to the longest-waiting request (a queue, not a polling race)."""
    import asyncio

    from flopwatt.server import pool as web_pool

    workers = web_pool.Pool(size=1)
    done = []

    async def one(i: int) -> None:
        status, _ = await workers.run("reliability", json.dumps({"devices": 100 + i, "days": 3}), 120)
        done.append((i, status))

    async def together() -> None:
        await asyncio.gather(*(one(i) for i in range(6)))  # arrive in this order while the one worker starts

    try:
        asyncio.run(together())
        assert done == [(i, "ok") for i in range(6)]
        assert workers.starting == 0 and not workers.waiting and not workers.busy and len(workers.idle) == 1
    finally:
        workers.close()


PRUNE_CASES = [
    {"model": "llama3-70b", "accelerator": "h100-sxm5-80gb", "devices": 1000, "global_batch": 3000, "tokens": 15e12,
     "stack": "megatron-2021"},  # another stack is named in the advice
    {"model": "llama3-70b", "accelerator": "h100-sxm5-80gb", "devices": 1000, "global_batch": 2000, "tokens": 15e12},
    {"model": "llama3.1-405b", "accelerator": "h100-sxm5-80gb", "devices": 16, "global_batch": 64, "tokens": 1e12,
     "stack": "meta-llama3"},  # no feasible plan: every count matters
    {"model": "mixtral-8x7b", "accelerator": "tpu-v5p", "devices": 512, "global_batch": 1024, "tokens": 1e12,
     "stack": "maxtext"},
    {"model": "llama3-70b", "accelerator": "h100-sxm5-80gb", "devices": 1024, "global_batch": 2048, "tokens": 1e12,
     "fabric": "fat-tree", "oversubscription": 4.0},  # a fabric: only communication changes, still >= 0
]


def _exhaustively(body: dict) -> tuple:
    """api.train with the pruned search (perf/bounds.py) and with every plan of every stack evaluated."""
    from flopwatt import estimate

    try:
        estimate.clear_choices()
        pruned = api.train(TrainRequest(**body))
        estimate.SEARCH_PRUNED = False
        estimate.clear_choices()
        whole = api.train(TrainRequest(**body))
    finally:
        estimate.SEARCH_PRUNED = True
        estimate.clear_choices()
    return pruned, whole


@pytest.mark.parametrize("body", PRUNE_CASES)
def test_the_pruned_search_gives_the_exhaustive_result_and_advice(body):
    """Plan, figures, counts of refusal reasons and the advice (each other stack's fastest plan, searched only as
    far as it could change the advice) equal those of evaluating every plan, number for number."""
    pruned, whole = _exhaustively(body)
    assert pruned == whole
    if body.get("stack") == "megatron-2021":
        assert any(a.startswith("stack ") for a in pruned.advice)


@settings(max_examples=6, deadline=None)
@given(model=st.sampled_from(("llama3-8b", "llama3-70b", "gpt3-175b", "mixtral-8x7b")),
       accelerator=st.sampled_from(("h100-sxm5-80gb", "a100-sxm4-40gb", "mi300x", "tpu-v5p")),
       devices=st.sampled_from((64, 256, 512, 1000, 1024)), batch=st.sampled_from((1, 2, 3)),
       stack=st.sampled_from(("megatron-core", "megatron-2022", "torchtitan", "meta-llama3", "deepspeed-megatron")))
def test_random_requests_give_the_exhaustive_result(model, accelerator, devices, batch, stack):
    pruned, whole = _exhaustively({"model": model, "accelerator": accelerator, "devices": devices,
                                   "global_batch": batch * devices, "tokens": 1e12, "stack": stack})
    assert pruned == whole


def test_serve_max_batch_caps_each_scheduler_and_says_so():
    """max_batch (vLLM max_num_seqs): the plan's batch per engine scheduler stays within it, the estimate lists it
    beside the engine profile's own, and fewer sequences cannot give more tokens/s than the uncapped search."""
    from flopwatt import api

    common = {"model": "llama3.1-70b", "accelerator": "h100-sxm5-80gb", "devices": 8, "input_len": 1000,
              "output_len": 1000, "precision": "fp8"}
    free = api.serve(api.ServeRequest(**common))
    capped = api.serve(api.ServeRequest(**common, max_batch=16))
    assert capped.plan["batch_per_replica"] <= 16 < free.plan["batch_per_replica"]
    assert capped.metrics["output_tokens_per_s"] < free.metrics["output_tokens_per_s"]
    assert "max batch: 16 sequences per engine scheduler (asked; the engine profile's: 1024)" in capped.assumptions
