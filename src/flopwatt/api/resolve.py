"""From a request's references to specs: model, system, stack and site, exactly or with a stated rule.

Every rule that fires is recorded in :class:`Assumptions` and reported with the result. Nothing is
guessed from free text: names resolve by exact match of documented normalised forms
(:func:`flopwatt.catalog.names.normalise`), files by their suffix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from flopwatt import catalog
from flopwatt.catalog import facility_costs
from flopwatt.errors import InputError, unknown_id
from flopwatt.footprint import Setting, default_setting
from flopwatt.specs import ModelSpec, StackProfile, System


@dataclass
class Assumptions:
    """The stated rules and defaults a result rests on, in the order they fired."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)

    def defaults(self, request, names: dict[str, str]) -> None:
        """One line per setting left at its default, for those that change numbers."""
        for name, what in names.items():
            if name not in request.model_fields_set:
                value = getattr(request, name)
                shown = f"{value:g}" if isinstance(value, float) else repr(value)
                self.add(f"default: {name} = {shown} ({what})")


def resolve_model(ref: str, notes: Assumptions, *, allow_files: bool = True, field_name: str = "model") -> ModelSpec:
    """A catalog id, a normalised name or alias, a Hugging Face config.json or a TOML model file."""
    models = catalog.models()
    if ref in models:
        return models[ref]
    if ref.endswith((".json", ".toml")) or (allow_files and "/" in ref and Path(ref).is_file()):
        if not allow_files:
            raise InputError(field_name, "a catalog model id or name (file paths are not accepted here)", ref)
        return _model_file(Path(ref), notes, field_name)
    found = catalog.model_by_name(ref)
    if found is None:
        raise unknown_id(field_name, ref, models)
    notes.add(f"model {ref!r} is catalog model {found.id} (name normalisation: {catalog.normalise_name(ref)!r})")
    return found


def catalog_model(ref: str, field_name: str) -> ModelSpec:
    """A catalog model by id or normalised name (configs whose models are looked up again by id later)."""
    return resolve_model(ref, Assumptions(), allow_files=False, field_name=field_name)


def _model_file(path: Path, notes: Assumptions, field_name: str) -> ModelSpec:
    if not path.is_file():
        raise InputError(field_name, "an existing model file (config.json or TOML)", str(path))
    if path.suffix == ".json":
        from flopwatt.specs.hf_config import load_hf_config

        model = load_hf_config(path)
        notes.add(f"model {model.id} read from Hugging Face config {path.name}")
        return model
    data = catalog.read_toml(path, field_name)
    if len(data) != 1:
        raise InputError(f"{path}", "exactly one model table ([ID] with the catalog's model fields)")
    (model_id, entry), = data.items()
    model = catalog.build_model(model_id, entry, f"{path} [{model_id}]")
    notes.add(f"model {model.id} read from {path.name}")
    return model


def _fragment(ref: str, kind: str, field_name: str) -> str:
    """A catalog id as given, or the one entry of ``kind`` a TOML fragment file defines (overlaid)."""
    if not ref.endswith(".toml"):
        return ref
    defined = [e.split("/", 1)[1] for e in catalog.use_overlay(Path(ref)) if e.startswith(f"{kind}/")]
    if len(defined) != 1:
        raise InputError(field_name, f"a catalog fragment defining exactly one [{kind}.ID] table", ref)
    return defined[0]


def resolve_system(accelerator: str | None, system: str | None, default_accelerator: str,
                   notes: Assumptions) -> System:
    """The system named, else the catalog's system for the accelerator (stated when it is a choice)."""
    acc_id = _fragment(accelerator, "accelerators", "accelerator") if accelerator else None
    if system:
        found = catalog.get("systems", _fragment(system, "systems", "system"))
        if acc_id and found.accelerator.id != acc_id:
            raise InputError("system", f"a system of {acc_id} devices", system)
    else:
        if acc_id is None:
            acc_id = default_accelerator
            notes.add(f"default: accelerator = {acc_id!r}")
        found = catalog.system_for(acc_id)
        shipping = [s.id for s in catalog.systems().values() if s.accelerator.id == acc_id]
        if len(shipping) > 1:
            notes.add(f"system {found.id}: the first catalog system shipping {acc_id} (others: "
                      f"{', '.join(s for s in shipping if s != found.id)}; name one with system)")
    _hardware_notes(found, notes)
    return found


def _hardware_notes(system: System, notes: Assumptions) -> None:
    acc = system.accelerator
    if acc.id in catalog.overlay_entries("accelerators"):
        notes.add(f"accelerator {acc.id} from a user catalog")
    if acc.board_power_rule:
        notes.add(f"board power of {acc.id}: {acc.board_power_w:g} W, {acc.board_power_rule} (rule; catalog notes)")
    borrowed = catalog.efficiency_borrowed().get(acc.id)
    if borrowed:
        notes.add(f"efficiency tables of {acc.id} borrowed from {borrowed} ([efficiency.like])")


def resolve_stack(stack_id: str) -> StackProfile:
    return catalog.get("stacks", stack_id)


def resolve_setting(request, notes: Assumptions) -> Setting:
    """Site, cooling and the price/carbon/PUE overrides of a request. A cooling that cannot carry the system's
    racks is refused as data by the callers (:func:`flopwatt.perf.feasibility.cooling_refusal`)."""
    setting = default_setting(request.site, request.cooling)
    site = setting.site
    if request.electricity_usd_per_kwh is not None:
        site = dataclasses.replace(site, electricity_usd_per_kwh=request.electricity_usd_per_kwh)
    if request.carbon_g_per_kwh is not None:
        site = dataclasses.replace(site, carbon_g_per_kwh=request.carbon_g_per_kwh)
    notes.defaults(request, {"site": "electricity price, grid carbon, climate",
                             "cooling": "PUE estimate and rack density"})
    notes.add(facility_costs.rule_text(site, request.cooling))
    return dataclasses.replace(setting, site=site, pue_override=request.pue,
                               accelerator_price_factor=request.price_factor)
