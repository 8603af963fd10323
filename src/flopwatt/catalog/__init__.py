"""The sourced catalog: TOML files shipped with the package, loaded into frozen specs.

Each file is a table of entries keyed by id. Every entry carries ``source`` (document and
table/page) and ``retrieved`` (ISO date). Keys are checked exactly, so a typo is an error and
never a silent default. Figures nobody has published are left out (``None`` = unknown).
"""

from __future__ import annotations

import functools
import os
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from flopwatt.catalog import names
from flopwatt.catalog.efficiency import CollectiveTable, EfficiencyCatalog, GemmTable
from flopwatt.catalog.parse_cache import CACHE_ENV, cache_dir, parse_cached, parse_toml
from flopwatt.economics import Economics
from flopwatt.errors import InputError, unknown_id
from flopwatt.reliability import DAY_S, FailureModel
from flopwatt.specs import Accelerator, Link, ModelSpec, StackProfile, System
from flopwatt.specs.grid import GridProfile
from flopwatt.specs.model import MLASpec, MoESpec
from flopwatt.specs.network import Medium, Nic, Switch
from flopwatt.specs.site import Cooling, Site
from flopwatt.specs.workload import PowerLimit, ServingDataset

KINDS = ("accelerators", "systems", "models", "stacks", "sites", "cooling", "engines", "datasets")


BUILTIN_DIR = Path(__file__).parent
"""The built-in catalog files (plain files next to this module)."""


def read_toml(path: Path | str, what: str) -> dict[str, Any]:
    """Parse a TOML file (a Path; a str names a built-in catalog file); any parse error becomes one
    InputError naming the file."""
    try:
        if isinstance(path, Path):
            return parse_toml(path.read_text(encoding="utf-8"))
        return parse_cached(path, (BUILTIN_DIR / path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(what, "an existing TOML file", str(path)) from exc
    except OSError as exc:  # a directory, no permission
        raise InputError(what, f"a readable TOML file ({exc.strerror})", str(path)) from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise InputError(what, f"valid TOML ({exc})", str(path)) from exc


OVERLAY_ENV = "FLOPWATT_CATALOG"
"""Environment variable: user catalog directories (``os.pathsep``-separated) overlaying the built-in one."""
FILES = {"accelerators": "accelerators.toml", "systems": "systems.toml", "models": "models.toml",
         "stacks": "stacks.toml", "sites": "sites.toml", "cooling": "cooling.toml", "efficiency": "efficiency.toml"}
"""Catalog kinds a user catalog directory (same file names) or a catalog fragment (top-level tables) may hold."""
_overlays: list[tuple[str, dict[str, Any]]] = []
"""(where, {kind: entries}) of user catalog directories and fragments, in the order they were added."""


def use_overlay(path: Path) -> list[str]:
    """Overlay a user catalog directory (files named as the built-in ones) or one TOML fragment whose
    top-level tables are catalog kinds (``[accelerators.ID]``, ``[systems.ID]``, ``[efficiency.gemm.ID]``...).
    Entries are validated exactly like built-in ones; an entry with a built-in id replaces it.
    Returns the ``kind/id`` entries it defines."""
    path = Path(path)
    if path.is_dir():
        data = {kind: read_toml(path / name, f"catalog {path / name}") for kind, name in FILES.items()
                if (path / name).is_file()}
        if not data:
            raise InputError("catalog", f"a directory with one of {', '.join(FILES.values())}", str(path))
    else:
        data = read_toml(path, "catalog fragment")
        unknown = sorted(set(data) - set(FILES))
        if unknown or not data:
            raise InputError(f"{path} [{unknown[0] if unknown else ''}]",
                             f"top-level tables among {', '.join(FILES)}")
    for kind, table in data.items():
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise InputError(f"{path} [{kind}]", "tables of entries keyed by id")
    _overlays.append((str(path), data))
    clear_caches()
    _check_overlay(str(path))
    return [f"{kind}/{entry}" for kind, table in data.items() for entry in table]


def _check_overlay(where: str) -> None:
    """Load every kind once so a bad overlay fails now, naming its file, and is then removed."""
    try:
        for loader in (accelerators, systems, models, stacks, sites, cooling, efficiency):
            loader()
    except InputError as exc:
        _overlays.pop()
        clear_caches()
        raise InputError(f"{where}: {exc.field}", exc.expected, exc.got,
                         message=str(exc).removeprefix(f"{exc.field}: ")) from exc


def overlay_paths() -> list[str]:
    """Where the user catalogs in use came from (to apply them again in a worker process)."""
    return [where for where, _ in _overlays]


def reset_overlays() -> None:
    """Back to the built-in catalog (and whatever ``FLOPWATT_CATALOG`` names)."""
    _overlays.clear()
    clear_caches()


def _env_overlays() -> None:
    for part in filter(None, os.environ.get(OVERLAY_ENV, "").split(os.pathsep)):
        if not any(where == str(Path(part)) for where, _ in _overlays):
            use_overlay(Path(part))


def _merged(kind: str) -> dict[str, Any]:
    """The built-in catalog file of ``kind`` with every overlay's entries on top (efficiency: per table)."""
    _env_overlays()
    data = dict(read_toml(FILES[kind], f"catalog {FILES[kind]}"))
    for _, overlay in _overlays:
        extra = overlay.get(kind, {})
        if kind == "efficiency":
            for table, entries in extra.items():
                data[table] = {**data.get(table, {}), **entries} if isinstance(entries, dict) else entries
        else:
            data.update(extra)
    return data


def overlay_entries(kind: str) -> set[str]:
    """Ids of ``kind`` that come from a user overlay (for the assumptions of a result)."""
    return {entry for _, overlay in _overlays for entry in overlay.get(kind, {})}


def check_keys(owner: str, entry: dict[str, Any], cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Exact key check against the dataclass ``cls``: unknown keys and missing required keys fail."""
    names = {f.name for f in fields(cls)} - set(skip)
    unknown = sorted(set(entry) - names - set(skip))
    if unknown:
        raise InputError(f"{owner}.{unknown[0]}", f"one of the known keys ({', '.join(sorted(names))})")
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    required -= set(skip) | {"id"}
    missing = sorted(required - set(entry))
    if missing:
        raise InputError(f"{owner}.{missing[0]}", "a value (required key is missing)")


def _build(cls: type, owner: str, entry_id: str, entry: dict[str, Any], **extra: Any) -> Any:
    check_keys(owner, entry, cls, skip=tuple(extra))
    try:
        return cls(id=entry_id, **entry, **extra)
    except TypeError as exc:  # wrong value type for a field
        raise InputError(owner, f"fields of the right types ({exc})") from exc


def _table(filename: str, cls: type, label: str, *, prepare: Any = dict) -> dict[str, Any]:
    """Every entry of a catalog TOML file built into ``cls`` with exact keys (``prepare`` adapts raw entries);
    the kinds a user catalog may hold include the overlays' entries."""
    kind = filename.removesuffix(".toml")
    data = _merged(kind) if kind in FILES else read_toml(filename, f"catalog {filename}")
    return {k: _build(cls, f"{label} {k}", k, prepare(v)) for k, v in data.items()}


@functools.cache
def accelerators() -> dict[str, Accelerator]:
    return _table("accelerators.toml", Accelerator, "accelerator")


@functools.cache
def models() -> dict[str, ModelSpec]:
    return {k: build_model(k, v, f"model {k}") for k, v in _merged("models").items()}


def build_model(model_id: str, entry: dict[str, Any], owner: str) -> ModelSpec:
    """One model table of the catalog's schema (models.toml) as a ModelSpec, keys checked exactly."""
    if not isinstance(entry, dict):
        raise InputError(owner, "a table of model fields")
    v = dict(entry)
    if "aliases" in v:
        v["aliases"] = tuple(v["aliases"])
    for key, cls in (("moe", MoESpec), ("mla", MLASpec)):
        if key in v:
            if not isinstance(v[key], dict):
                raise InputError(f"{owner}.{key}", "a table")
            check_keys(f"{owner}.{key}", v[key], cls)
            try:
                v[key] = cls(**v[key])
            except TypeError as exc:
                raise InputError(f"{owner}.{key}", f"fields of the right types ({exc})") from exc
    return _build(ModelSpec, owner, model_id, v)


@functools.cache
def stacks() -> dict[str, StackProfile]:
    return _table("stacks.toml", StackProfile, "stack", prepare=lambda v: _tuples(v, "zero_stages"))


def _tuples(entry: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``entry`` with the TOML arrays under ``keys`` (where present) as tuples."""
    return {**entry, **{k: tuple(entry[k]) for k in keys if k in entry}}


def _link(owner: str, entry: dict[str, Any]) -> Link:
    if not isinstance(entry, dict):
        raise InputError(owner, "a table with technology, bandwidth_bytes_per_s, latency_s")
    check_keys(owner, entry, Link)
    for key in ("bandwidth_bytes_per_s", "latency_s"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{owner}.{key}", "a number", value)
    return Link(**entry)


@functools.cache
def systems() -> dict[str, System]:
    data = _merged("systems")
    accs = accelerators()
    out = {}
    for k, v in data.items():
        v = dict(v)
        owner = f"system {k}"
        acc_id = v.pop("accelerator", None)
        if acc_id not in accs:
            raise unknown_id(f"{owner}.accelerator", str(acc_id), accs)
        if "network_keywords" in v:
            v["network_keywords"] = tuple(v["network_keywords"])
        v["scale_up"] = _link(f"{owner}.scale_up", v.get("scale_up"))
        v["scale_out"] = _link(f"{owner}.scale_out", v.get("scale_out"))
        out[k] = _build(System, owner, k, v, accelerator=accs[acc_id])
    return out


@functools.cache
def efficiency() -> EfficiencyCatalog:
    data = _merged("efficiency")
    for acc, like in data.pop("like", {}).items():  # a user device borrowing a catalog device's tables
        for table in ("gemm", "memory", "overlap", "low_precision"):
            if like in data.get(table, {}) and acc not in data[table]:
                data[table][acc] = data[table][like]
    return EfficiencyCatalog.from_dict(data)


def efficiency_borrowed() -> dict[str, str]:
    """{user accelerator: catalog accelerator} whose efficiency tables it borrows (``[efficiency.like]``)."""
    return {acc: like for _, overlay in _overlays
            for acc, like in overlay.get("efficiency", {}).get("like", {}).items()}


@functools.cache
def network_parts() -> dict[str, dict[str, Any]]:
    """{'switch': {...}, 'nic': {...}, 'medium': {...}} from network_parts.toml."""
    data = read_toml("network_parts.toml", "catalog network_parts.toml")
    kinds = {"switch": Switch, "nic": Nic, "medium": Medium}
    unknown = set(data) - set(kinds)
    if unknown:
        raise InputError(f"catalog network_parts.toml [{sorted(unknown)[0]}]", "switch, nic or medium tables")
    return {kind: {k: _build(cls, f"{kind} {k}", k, dict(v)) for k, v in data.get(kind, {}).items()}
            for kind, cls in kinds.items()}


@functools.cache
def data_movement() -> dict[str, Any]:
    """Energy per bit by tier (data_movement.toml), tables with their sources."""
    data = read_toml("data_movement.toml", "catalog data_movement.toml")
    for table in ("hbm", "scale_up", "scale_out"):
        if "source" not in data.get(table, {}):
            raise InputError(f"catalog data_movement.toml [{table}]", "a table with a source")
    return data


@functools.cache
def runtime_memory() -> dict[str, float]:
    """CUDA context, communicator buffers and allocator fragmentation (runtime.toml)."""
    data = read_toml("runtime.toml", "catalog runtime.toml")
    try:
        return {"context_bytes": float(data["cuda_context"]["bytes"]),
                "first_communicator_bytes": float(data["communicators"]["first_bytes"]),
                "communicator_bytes": float(data["communicators"]["each_additional_bytes"]),
                "fragmentation": float(data["fragmentation"]["fraction"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError("catalog runtime.toml", f"the documented keys ({exc})") from exc


@functools.cache
def serving_datasets() -> dict[str, ServingDataset]:
    """Benchmark request sets with measured mean prompt/generation lengths (datasets.toml)."""
    return _table("datasets.toml", ServingDataset, "dataset",
                  prepare=lambda v: _tuples(v, "keywords"))


datasets = serving_datasets
"""The request sets under their catalog kind's name (``flopwatt catalog datasets``)."""


def serving_dataset(suite: str, model_id: str) -> ServingDataset | None:
    """The request set a benchmark suite serves a catalog model with (datasets.toml ``suite`` and ``model``)."""
    return next((d for d in serving_datasets().values() if d.suite == suite and d.model == model_id), None)


@functools.cache
def power_limits() -> dict[str, PowerLimit]:
    """Board power limits published runs were measured under (power_limits.toml)."""
    return _table("power_limits.toml", PowerLimit, "power limit", prepare=lambda v: _tuples(v, "keywords"))


@functools.cache
def sites() -> dict[str, Site]:
    return _table("sites.toml", Site, "site")


@functools.cache
def grid_profiles() -> dict[str, GridProfile]:
    """Month x hour-of-day shapes of grid carbon (and price) for the sites that have sourced ones
    (grid_profiles.toml); a site without one keeps its flat annual figures. Unknown site ids are errors."""
    out = _table("grid_profiles.toml", GridProfile, "grid profile")
    known = sites()
    for site_id in out:
        if site_id not in known:
            raise unknown_id(f"catalog grid_profiles.toml [{site_id}]", site_id, known)
    return out


@functools.cache
def cooling() -> dict[str, Cooling]:
    return _table("cooling.toml", Cooling, "cooling")


def _number(data: dict[str, Any], table: str, key: str) -> float:
    value = data.get(table, {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or "source" not in data.get(table, {}):
        raise InputError(f"catalog economics.toml [{table}].{key}", "a number with a source")
    return float(value)


@functools.cache
def economics() -> Economics:
    data = read_toml("economics.toml", "catalog economics.toml")
    return Economics(
        facility_capex_usd_per_w=_number(data, "facility_capex", "usd_per_w"),
        it_depreciation_years=_number(data, "it_depreciation", "years"),
        facility_depreciation_years=_number(data, "facility_depreciation", "years"),
        maintenance_fraction_per_year=_number(data, "maintenance", "fraction_of_capex_per_year"),
    )


@functools.cache
def failure_model() -> FailureModel:
    data = dict(read_toml("reliability.toml", "catalog reliability.toml"))
    ckpt = data.pop("checkpoint")
    rates = {k: v["interruptions"] / (v["device_days"] * DAY_S) for k, v in data.items()}
    return FailureModel(rates_per_device_s=rates, storage_bandwidth_bytes_per_s=ckpt["storage_bandwidth_bytes_per_s"],
                        bytes_per_param=ckpt["bytes_per_param"], restart_s=ckpt["restart_s"])


CACHED = (accelerators, models, stacks, systems, efficiency, sites, cooling, grid_profiles)


def clear_caches() -> None:
    for loader in CACHED:
        loader.cache_clear()


def get(kind: str, entry_id: str) -> Any:
    """Look up one entry; unknown ids raise InputError with the closest known ids."""
    table = {"accelerators": accelerators, "systems": systems, "models": models, "stacks": stacks,
             "sites": sites, "cooling": cooling, "engines": engines, "datasets": serving_datasets}
    if kind not in table:
        raise InputError("catalog kind", f"one of {', '.join(KINDS)}", kind)
    entries = table[kind]()
    if entry_id not in entries:
        raise unknown_id(kind.removesuffix("s"), entry_id, entries)
    return entries[entry_id]


def engines() -> dict:
    """Serving-engine profiles by id (engines.toml, :mod:`flopwatt.catalog.engine_profiles`)."""
    from flopwatt.catalog.engine_profiles import engines as shipped

    return shipped()


def system_for(accelerator_id: str, network: str = "") -> System:
    """The catalog system for an accelerator: the one whose ``network_keywords`` appear in ``network``
    (a published run's description), else the first system shipping that accelerator."""
    get("accelerators", accelerator_id)
    shipping = [s for s in systems().values() if s.accelerator.id == accelerator_id]
    text = network.lower()
    for system in shipping:
        if any(k.lower() in text for k in system.network_keywords):
            return system
    if shipping:
        return shipping[0]
    raise InputError("accelerator", f"an accelerator with a system in the catalog (none ships {accelerator_id})")


def normalise_name(name: str) -> str:
    """The documented normal form names are compared in (:func:`flopwatt.catalog.names.normalise`)."""
    return names.normalise(name)


def model_by_name(name: str) -> ModelSpec | None:
    """A catalog model by id, name or alias, compared in their normal forms (:mod:`flopwatt.catalog.names`:
    case, org prefix, separators, variant suffixes); None if none matches; an ambiguous name is an error.
    A name with a parenthesis ('Mixtral 8x7B (MLPerf mixtral-8x7b)') is also tried as the part before it."""
    found = names.resolve_name(name, models())
    if found is None and "(" in name:
        found = names.resolve_name(name.partition("(")[0], models())
    return found


__all__ = ["CACHE_ENV", "CollectiveTable", "EfficiencyCatalog", "FILES", "GemmTable", "OVERLAY_ENV", "accelerators",
           "build_model", "cache_dir", "clear_caches", "cooling", "data_movement", "economics", "efficiency",
           "efficiency_borrowed", "engines", "failure_model", "get", "grid_profiles", "model_by_name", "models",
           "network_parts", "normalise_name", "overlay_entries", "parse_cached", "power_limits", "read_toml",
           "reset_overlays", "runtime_memory", "serving_dataset", "serving_datasets", "sites", "stacks",
           "system_for", "systems", "use_overlay"]
