"""TPU ICI tori (ici.toml): axes, pod shape, largest slice, wraparound rule and per-hop latency, keyed by the
scale-up link technology of a system. A technology without an entry is not a torus (switched or unknown)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flopwatt.errors import InputError


@dataclass(frozen=True, slots=True)
class Torus:
    """One TPU generation's ICI torus (see ici.toml for the meaning and source of each field)."""

    technology: str
    axes: int
    pod_shape: tuple[int, ...]
    max_slice_chips: int
    wraparound_multiple: int
    hop_latency_s: float
    source: str

    def slice_shape(self, chips: int) -> tuple[int, ...]:
        """Chips per axis of a slice of ``chips``: powers of two grown on the shortest axis (first axis first),
        any odd factor left on the last axis (v5p 6,144 = 16x16x24)."""
        shape = [1] * self.axes
        while chips % (2 * _product(shape)) == 0:
            shape[shape.index(min(shape))] *= 2
        shape[-1] *= chips // _product(shape)
        return tuple(shape)


def _product(values) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def _torus(technology: str, entry: dict) -> Torus:
    owner = f"catalog ici.toml [{technology}]"
    try:
        torus = Torus(technology=technology, axes=int(entry["axes"]),
                      pod_shape=tuple(int(a) for a in entry["pod_shape"]),
                      max_slice_chips=int(entry["max_slice_chips"]),
                      wraparound_multiple=int(entry["wraparound_multiple"]),
                      hop_latency_s=float(entry["hop_latency_s"]), source=str(entry["source"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(owner, f"axes, pod_shape, max_slice_chips, wraparound_multiple, hop_latency_s and "
                                f"source ({exc})") from exc
    if torus.axes not in (1, 2, 3) or len(torus.pod_shape) != torus.axes or "retrieved" not in entry:
        raise InputError(owner, "1-3 axes, a pod_shape of that length and a retrieved date")
    if torus.max_slice_chips < 1 or torus.wraparound_multiple < 1 or torus.hop_latency_s < 0:
        raise InputError(owner, "positive max_slice_chips and wraparound_multiple, hop_latency_s >= 0")
    return torus


@functools.cache
def tori() -> dict[str, Torus]:
    """Every torus of ici.toml by technology."""
    from flopwatt.catalog import read_toml  # the package imports this module's users, not this module

    return {tech: _torus(tech, entry) for tech, entry in read_toml("ici.toml", "catalog ici.toml").items()}


def torus_for(technology: str) -> Torus | None:
    """The ICI torus of a scale-up technology, None where it is not a (known) torus."""
    return tori().get(technology)
