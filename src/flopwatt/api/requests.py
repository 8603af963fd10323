"""Typed requests: the single definition of every setting of every entry point.

The CLI derives its options from these models (:mod:`flopwatt.cli_options`), ``--config`` TOML
tables and plan configs are validated by them, and the web server takes them as its JSON bodies.
``None`` means "choose for me" (plan knobs) or "not given" (overrides); every default a request
falls back to is listed in the result's assumptions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flopwatt.api import fields as f
from flopwatt.catalog.engine_profiles import DEFAULT_ENGINE
from flopwatt.errors import InputError

CLI_ONLY = "cli_only"
"""``json_schema_extra`` flag of fields the web does not take (file paths)."""


MarketRef = Annotated[str, Field(min_length=1, max_length=32, description=(
    "buyer's market, a catalog markets.toml id (us, eu, cn, ru, in, me): accelerators the catalog's sourced "
    "rules do not allow there are left out, each with its rule (default: no filter)"))]


class Request(BaseModel):
    """Base: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True, allow_inf_nan=False,
                              defer_build=True)


class SiteSettings(Request):
    """Where a run happens and at what prices (shared by training and serving)."""

    site: f.CatalogId = Field(f.DEFAULTS["site"], description="catalog site id (electricity price, grid carbon, "
                              "climate)")
    cooling: f.CatalogId = Field(f.DEFAULTS["cooling"], description="catalog cooling type (air, rear-door, "
                                 "direct-liquid, immersion)")
    pue: f.Pue | None = Field(None, description="a measured PUE to use instead of the cooling/climate estimate")
    electricity_usd_per_kwh: f.UsdPerKwh | None = Field(None, description="US$/kWh, instead of the site's",
                                                        json_schema_extra={"aliases": ["electricity-price"]})
    carbon_g_per_kwh: f.GramsPerKwh | None = Field(None, description="gCO2e/kWh, instead of the site's grid",
                                                   json_schema_extra={"aliases": ["carbon-intensity"]})
    price_factor: f.Factor = Field(1.0, description="multiplies accelerator/node prices (margins, discounts)")


class FabricSettings(Request):
    """A scale-out fabric design (the train options after ``fabric``, and ``flopwatt fabric``)."""

    switch: f.CatalogId = Field(f.DEFAULTS["switch"], description="catalog switch id (sets radix and port rate)")
    media: f.MediaPolicy = Field("auto", description="link media policy")
    oversubscription: f.Oversubscription = 1.0
    rails: int | None = Field(None, ge=1, le=1024, description="NICs per node on separate rails "
                              "(default: the system's)")
    radix: int | None = Field(None, ge=4, le=4096, description="switch ports, overriding the part's (what-if)")
    dragonfly: f.Shape | None = Field(None, description="dragonfly shape P,A,H (default: balanced for the radix)")
    torus: f.Shape | None = Field(None, description="torus dimensions X,Y[,Z] (default: most cubic)")

    @field_validator("dragonfly", "torus", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return tuple(int(x) for x in value.replace("x", ",").split(","))
            except ValueError as exc:
                raise ValueError(f"integers like 8,16,8, got {value!r}") from exc
        return value

    @field_validator("dragonfly", "torus")
    @classmethod
    def _positive_dims(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(d < 1 or d > 100_000 for d in value):
            raise ValueError("positive integers like 8,16,8")
        return value

    @field_validator("dragonfly")
    @classmethod
    def _three(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and len(value) != 3:
            raise ValueError("three integers P,A,H")
        return value


class TrainRequest(SiteSettings, FabricSettings):
    """One training estimate: plan knobs left out are chosen (the fastest feasible plan)."""

    model: f.ModelRef = f.DEFAULTS["train.model"]
    accelerator: f.AcceleratorRef | None = Field(None, description=f"catalog accelerator id or TOML fragment "
                                                 f"(default {f.DEFAULTS['train.accelerator']})")
    system: f.SystemRef | None = None
    devices: f.Devices = f.DEFAULTS["train.devices"]
    global_batch: f.GlobalBatch = f.DEFAULTS["train.global_batch"]
    seq_len: f.SeqLen | None = None
    tokens: f.Tokens = f.DEFAULTS["train.tokens"]
    precision: f.Precision | None = Field(None, description="matmul precision (default: bf16, or fp16 where "
                                          "the device has no bf16)")
    stack: f.CatalogId = Field(f.DEFAULTS["train.stack"], description="software stack profile id")
    tp: f.Degree | None = None
    pp: f.Degree | None = None
    dp: f.Degree | None = None
    vpp: f.Degree | None = None
    micro_batch: f.Degree | None = None
    ep: f.Degree | None = None
    cp: f.Degree | None = None
    zero: f.Zero | None = Field(None, description="ZeRO stage; chosen when left out")
    recompute: f.Recompute | None = Field(None, description="activation recomputation; chosen when left out")
    sequence_parallel: bool | None = Field(None, description="Megatron sequence parallelism; chosen when left out")
    pue_cap: f.Pue | None = Field(None, description="policy cap: fail if the facility's PUE exceeds it")
    fabric: f.Topology | None = Field(None, description="scale-out topology (default: ideal non-blocking network)")
    advise: bool = Field(True, description="also estimate every other catalog stack and name one that is at "
                         "least 1.2x faster (one more estimate per stack; no number of the result changes)")


class ServeRequest(SiteSettings):
    """One serving estimate: TP, EP, PP and the batch with the most output tokens/s within memory and SLOs."""

    model: f.ModelRef = f.DEFAULTS["serve.model"]
    accelerator: f.AcceleratorRef = f.DEFAULTS["serve.accelerator"]
    devices: f.Devices = f.DEFAULTS["serve.devices"]
    input_len: f.TokenCount | None = Field(None, description="mean prompt tokens (or lengths_from)")
    output_len: f.TokenCount | None = Field(None, description="mean generated tokens (or lengths_from)")
    lengths_from: str | None = Field(None, max_length=4096, description=(
        "a request trace (Azure LLM schema TIMESTAMP,ContextTokens,GeneratedTokens): means and spread of its "
        "lengths instead of input_len/output_len"), json_schema_extra={CLI_ONLY: True})
    output_cv: f.LengthCv | None = Field(None, description=(
        "spread of the generated lengths around output_len (standard deviation / mean; gamma distributed): sets the "
        "length-biased KV of a busy slot and, with prompts, the drain of a finite run; default: every request "
        "generates output_len (0)"))
    dataset: f.CatalogId | None = Field(None, description=(
        "a request set of the catalog (flopwatt catalog datasets): its mean prompt length, length spread and "
        "generation cap; output_len, if given, rescales its outputs to that generated mean"))
    precision: f.ServePrecision = Field(f.DEFAULTS["serve.precision"], description="weight/compute precision")
    kv_precision: f.ServePrecision | None = Field(None, description="KV-cache precision (default: fp8 with "
                                                  "quantised weights, else bf16)")
    ttft_slo_s: f.Seconds | None = Field(None, description="time-to-first-token target, s",
                                         json_schema_extra={"aliases": ["ttft-slo"]})
    tpot_slo_s: f.Seconds | None = Field(None, description="time-per-output-token target, s",
                                         json_schema_extra={"aliases": ["tpot-slo"]})
    slo_percentile: f.Percentile = 50.0
    engine: f.CatalogId = Field(DEFAULT_ENGINE, description=(
        "serving engine profile (flopwatt catalog engines): sets the KV allocation, prefill chunk, token budget, "
        "max batch and CUDA-graph padding; a deployment profile also fixes tp/pp/ep unless given"))
    max_batch: f.Sequences | None = Field(None, description=(
        "most sequences one engine scheduler runs at once (vLLM max_num_seqs, TensorRT-LLM max_batch_size); each "
        "attention group of an expert-parallel replica schedules its own; default: the engine profile's"))
    gpu_memory_utilization: f.MemoryShare | None = Field(None, description=(
        "share of each device's memory the engine may fill: weights, start-up activation peak and KV where the engine "
        "profiles its peak (vLLM --gpu-memory-utilization), else weights and KV (SGLang --mem-fraction-static); "
        "default: the engine profile's"))
    prompts: f.Sequences | None = Field(None, description=(
        "a finite run: prompts sent at once (a benchmark at request rate inf, e.g. vLLM/SGLang --num-prompts, or "
        "an offline batch); throughput over the whole run, the last sequences' drain included; default: an endless "
        "stream at full load (steady state)"))
    kv_admission: Literal["reserve", "on-demand"] | None = Field(None, description=(
        "reserve KV for prompt + output at admission (TensorRT-LLM default) or grow it (vLLM); default: "
        "the engine's"))
    power_cap_w: f.Watts | None = Field(None, description="board power limit per device: compute slows by the "
                                        "DVFS cube rule, the device draws at most the limit")
    tp: f.Degree | None = None
    pp: f.Degree | None = Field(None, description="pipeline stages (searched on SRAM-only chips, else 1)")
    ep: f.Degree | None = Field(None, description="MoE only: attention groups sharing the experts (searched)")
    overlap_all_to_all: bool | None = Field(None, description="MoE with ep > 1: two micro-batches hide each "
                                            "other's expert All-to-Alls (searched when left out)")
    disaggregate: bool = Field(False, description="prefill and decode on separate pools (P:D split searched)")
    prefill_devices: f.Devices | None = Field(None, description="devices of the prefill pool (implies "
                                              "disaggregate; default: searched)")


class ServeCompareRequest(ServeRequest):
    """Several accelerators side by side on one workload at equal SLOs."""

    accelerator: list[f.AcceleratorRef] = Field(min_length=1, max_length=32, description=(
        "accelerators to compare (CLI: comma-separated)"))
    devices: list[f.Devices] = Field([f.DEFAULTS["serve.devices"]], min_length=1, max_length=32, description=(
        "one device count for all, or one per accelerator (CLI: comma-separated)"))
    engine: list[f.CatalogId] = Field([DEFAULT_ENGINE], min_length=1, max_length=32, description=(
        "one serving engine profile for all, or one per accelerator (CLI: comma-separated)"))
    market: MarketRef | None = None

    @field_validator("accelerator", "devices", "engine", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class FabricRequest(FabricSettings):
    """Design one or several scale-out fabrics: counts, bill of materials, $ and W."""

    topology: list[f.Topology] = Field(["rail-optimized"], min_length=1, max_length=8, description=(
        "one or several topologies (CLI: comma-separated)"))
    endpoints: f.Devices = Field(description="NICs to connect (one per device)")

    @field_validator("topology", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class ReliabilityRequest(Request):
    """Interruptions, checkpoint interval and goodput of a job of ``devices`` over ``days`` failure-free days."""

    devices: f.Devices
    days: float = Field(gt=0, le=36_500, description="failure-free duration of the job, days")
    params: float | None = Field(None, ge=1, le=1e16, description="model parameters (sets the checkpoint size; "
                                 "without it the checkpoint write time is unknown)")


def parse(cls: type[Request], data: dict[str, Any], label: Any = None) -> Request:
    """Validate ``data`` into ``cls``; the first problem becomes one InputError naming the field
    (``label(name)`` spells it for the entry point: ``--global-batch``, ``[train].global_batch``)."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, label, cls) from None


def input_error(exc: ValidationError, label: Any = None, cls: type[BaseModel] | None = None) -> InputError:
    """One InputError from pydantic's first error: field, what was expected, what was given."""
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains the rest
    name = ".".join(str(p) for p in err["loc"]) or "request"
    field = label(name) if label else name
    if err["type"] == "extra_forbidden":
        return InputError(field, "a known setting", message="unknown setting")
    if err["type"] == "missing":
        return InputError(field, "a value (required)")
    got = err.get("input")
    return InputError(field, _expected(err, _is_int(cls, err["loc"])),
                      got if isinstance(got, (int, float, str, bool)) else None)


def _is_int(cls: type[BaseModel] | None, loc: tuple) -> bool:
    """Whether the field at ``loc`` holds whole numbers (for the wording of a bound)."""
    info = None
    for part in loc:
        if cls is None or not isinstance(part, str) or part not in cls.model_fields:
            break
        info = cls.model_fields[part]
        cls = info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) \
            else None
    return info is not None and "int" in str(info.annotation) and "float" not in str(info.annotation)


BOUNDS = {"greater_than_equal": ">= {}", "greater_than": "> {}", "less_than_equal": "of at most {}",
          "less_than": "below {}"}


def _expected(err: dict, whole: bool) -> str:
    """What pydantic's error says was expected, in the words of the CLI: 'an integer >= 1', 'a number > 0'."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in BOUNDS:
        bound = next(iter(ctx.values()))
        return f"{'an integer' if whole else 'a number'} {BOUNDS[kind].format(bound)}"
    if kind == "too_short":
        return "one or more values (the list is empty)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} values"
    if kind.startswith("int_"):
        return "an integer"
    if kind.startswith("float_"):
        return "a number"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '').replace(chr(39), '')}"
    return err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")


def _listed(value: Any) -> Any:
    """A scalar menu entry means a one-item list."""
    return value if isinstance(value, list) or value is None else [value]


class DeviceRange(Request):
    min: f.Devices
    max: f.Devices


class PlanWorkload(Request):
    """[workload] of a plan search: what is trained (lists: each value is searched)."""

    model: f.ModelRef
    tokens: f.Tokens
    seq_len: f.SeqLen | None = None
    global_batch: list[f.GlobalBatch] = Field([f.DEFAULTS["train.global_batch"]], min_length=1, max_length=64)
    precision: list[f.Precision] | None = Field(None, min_length=1, max_length=6)

    _lists = field_validator("global_batch", "precision", mode="before")(classmethod(lambda cls, v: _listed(v)))


class PlanMenu(Request):
    """[menu] of a plan search: the choices to combine."""

    accelerators: list[f.AcceleratorRef] = Field([f.DEFAULTS["train.accelerator"]], min_length=1, max_length=64)
    systems: list[f.SystemRef] | None = Field(None, min_length=1, max_length=64)
    devices: list[f.Devices] | DeviceRange = Field([f.DEFAULTS["train.devices"]])
    stacks: list[f.CatalogId] = Field([f.DEFAULTS["train.stack"]], min_length=1, max_length=64)
    fabrics: list[Literal["ideal"] | f.Topology] = Field(["ideal"], min_length=1, max_length=6)
    media: list[f.MediaPolicy] = Field(["auto"], min_length=1, max_length=5)
    oversubscription: list[f.Oversubscription] = Field([1.0], min_length=1, max_length=16)
    switch: f.CatalogId = f.DEFAULTS["switch"]
    cooling: list[f.CatalogId] = Field([f.DEFAULTS["cooling"]], min_length=1, max_length=16)
    sites: list[f.CatalogId] = Field([f.DEFAULTS["site"]], min_length=1, max_length=64)
    market: MarketRef | None = None

    _lists = field_validator("accelerators", "systems", "stacks", "fabrics", "media", "oversubscription", "cooling",
                             "sites", mode="before")(classmethod(lambda cls, v: _listed(v)))

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, value: Any) -> Any:
        return value if isinstance(value, (list, dict)) else [value]

    @field_validator("devices")
    @classmethod
    def _few(cls, value: Any) -> Any:
        if isinstance(value, list) and not 1 <= len(value) <= 256:
            raise ValueError("1 to 256 device counts")
        return value


class PlanKnobs(Request):
    """[plan] of a plan search: knobs fixed for every configuration."""

    tp: f.Degree | None = None
    pp: f.Degree | None = None
    dp: f.Degree | None = None
    vpp: f.Degree | None = None
    micro_batch: f.Degree | None = None
    zero_stage: f.Zero | None = None
    recompute: f.Recompute | None = None
    sequence_parallel: bool | None = None


class PlanConstraints(Request):
    """[constraints] of a plan search: limits a configuration must meet."""

    deadline_days: float | None = Field(None, gt=0, le=36_500)
    budget_usd: float | None = Field(None, gt=0, le=1e15)
    power_cap_mw: float | None = Field(None, gt=0, le=1e6)
    max_devices: f.Devices | None = None
    pue_cap: f.Pue | None = None


class PlanOutput(Request):
    top_k: int = Field(10, ge=1, le=1000, description="fastest configurations to list")


class PlanSearchRequest(Request):
    """A design-space search (``flopwatt plan CONFIG.toml``, ``/v1/plan``): Pareto front of time, $, MWh, tCO2e."""

    # Defaults made without validation (model_construct: each field's own default, exactly what PlanMenu() gives),
    # so that importing the requests does not build these models' validators (every command's start).
    workload: PlanWorkload
    menu: PlanMenu = PlanMenu.model_construct()
    plan: PlanKnobs = PlanKnobs.model_construct()
    constraints: PlanConstraints = PlanConstraints.model_construct()
    output: PlanOutput = PlanOutput.model_construct()


def plan_label(prefix: str = ""):
    """Spell a plan-config field as its table and key: ``[workload].tokens``."""
    def label(name: str) -> str:
        table, _, rest = name.partition(".")
        return f"{prefix}[{table}].{rest}" if rest else f"{prefix}[{table}]"
    return label


# --- fleet and capacity (the web's /v1/fleet and /v1/capacity; the CLI reads the same configs from files)
CONFIG_TOML_MAX_CHARS = 65_536
"""Largest config text the web takes (the bundled examples are 2-4 kB)."""
FLEET_MAX_JOBS = 5_000
"""Most trace jobs one web fleet request may simulate (the CLI's --max-jobs has no bound)."""
FleetPolicy = Literal["fifo", "max-throughput", "carbon-aware", "price-aware", "latency-aware"]
"""The built-in policies (flopwatt.fleet.policies.POLICIES; the web takes no module:Class)."""
ExampleName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$", description=(
    "a bundled example: examples/KIND-NAME.toml of the repository (GET /v1/examples lists them)"))]
ConfigText = Annotated[str, Field(min_length=1, max_length=CONFIG_TOML_MAX_CHARS, description=(
    "the text of a TOML config in the command's schema (file references only to the bundled traces)"))]


class _ConfigSource(Request):
    """A bundled example or a config's text: exactly one."""

    example: ExampleName | None = None
    config_toml: ConfigText | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _ConfigSource:
        if (self.example is None) == (self.config_toml is None):
            raise ValueError("exactly one of example or config_toml")
        return self


class FleetRequest(_ConfigSource):
    """A fleet simulation (``flopwatt fleet CONFIG``; ``/v1/fleet``) under one or several policies."""

    policies: list[FleetPolicy] = Field(["fifo", "max-throughput", "carbon-aware", "price-aware", "latency-aware"],
                                        min_length=1, max_length=5, description="policies to simulate (fifo is "
                                        "the baseline of the ratios)")
    max_jobs: int = Field(500, ge=1, le=FLEET_MAX_JOBS, description=(
        "simulate at most the first N trace jobs (and refuse more [[jobs]] entries than N)"))
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="seed of the trace jobs' class draw "
                             "(default: the config's [fleet].seed)")


class CapacityRequest(_ConfigSource):
    """A capacity build-out plan (``flopwatt capacity CONFIG``; ``/v1/capacity``)."""
