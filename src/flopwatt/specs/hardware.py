"""Hardware specs: accelerators, links and systems (node + scale-up domain + scale-out).

All quantities are SI with the unit in the name. Peaks are dense (no 2:4 sparsity).
``None`` means the figure is unknown (no source found): models that need it mask the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import positive, positive_int

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8", "fp4")


@dataclass(frozen=True, kw_only=True, slots=True)
class Accelerator:
    """One device type, as its vendor ships it."""

    id: str
    name: str
    vendor: str
    peak_flops_per_s: dict[str, float]
    """Dense peak matrix FLOP/s by precision (keys from ``PRECISIONS``)."""
    hbm_bytes: float
    hbm_bandwidth_bytes_per_s: float
    board_power_w: float | None = None
    """Maximum board power (TDP/TBP/TGP) as the vendor rates it."""
    idle_power_w: float | None = None
    """Power drawn with nothing running (measured; None when no source gives it)."""
    price_usd: float | None = None
    """Reported purchase price per device (estimates; see notes for the spread)."""
    scale_up_bandwidth_bytes_per_s: float | None = None
    """Scale-up (NVLink/ICI/xGMI) bandwidth per device, one direction."""
    scale_up_domain_devices: int | None = None
    scale_out_bandwidth_bytes_per_s: float | None = None
    """Scale-out NIC bandwidth per device, one direction, as usually shipped."""
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"accelerator {self.id}"
        if not self.peak_flops_per_s:
            raise InputError(f"{owner}.peak_flops_per_s", "at least one precision")
        for precision, flops in self.peak_flops_per_s.items():
            if precision not in PRECISIONS:
                raise InputError(f"{owner}.peak_flops_per_s", f"keys among {', '.join(PRECISIONS)}", precision)
            positive(owner, f"peak_flops_per_s.{precision}", flops)
        positive(owner, "hbm_bytes", self.hbm_bytes)
        positive(owner, "hbm_bandwidth_bytes_per_s", self.hbm_bandwidth_bytes_per_s)
        positive(owner, "board_power_w", self.board_power_w, allow_none=True)
        positive(owner, "idle_power_w", self.idle_power_w, allow_none=True)
        positive(owner, "price_usd", self.price_usd, allow_none=True)
        positive(owner, "scale_up_bandwidth_bytes_per_s", self.scale_up_bandwidth_bytes_per_s, allow_none=True)
        positive_int(owner, "scale_up_domain_devices", self.scale_up_domain_devices, allow_none=True)
        positive(owner, "scale_out_bandwidth_bytes_per_s", self.scale_out_bandwidth_bytes_per_s, allow_none=True)

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s for ``precision``; InputError if the device has none."""
        if precision in self.peak_flops_per_s:
            return self.peak_flops_per_s[precision]
        have = ", ".join(sorted(self.peak_flops_per_s))
        raise InputError("precision", f"a precision {self.id} supports ({have})", precision)

    def half_precision(self) -> str:
        """The 16-bit matmul type this device has: bf16 where it exists, else fp16."""
        return "bf16" if "bf16" in self.peak_flops_per_s else "fp16"


@dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    """One tier of interconnect as seen by one device: bandwidth per direction and per-message latency."""

    technology: str
    """Key into the collective-efficiency tables (e.g. ``nvlink3``, ``ib-hdr``)."""
    bandwidth_bytes_per_s: float
    latency_s: float

    def __post_init__(self) -> None:
        positive("link", "bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)
        if not self.latency_s >= 0:
            raise InputError("link.latency_s", "a number >= 0", self.latency_s)


@dataclass(frozen=True, kw_only=True, slots=True)
class System:
    """Devices as shipped: node size, scale-up domain and scale-out network per device."""

    id: str
    name: str
    accelerator: Accelerator
    devices_per_node: int
    scale_up_domain_devices: int
    scale_up: Link
    scale_out: Link
    source: str
    retrieved: str
    network_keywords: tuple[str, ...] = ()
    """Words that identify this system in a published run's network description (validation)."""
    node_power_max_w: float | None = None
    """Maximum input power of one node (devices + host: CPUs, DRAM, fans, NICs), from its datasheet."""
    node_price_usd: float | None = None
    """Reported price of one node including its devices (estimates; see notes)."""
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"system {self.id}"
        positive(owner, "node_power_max_w", self.node_power_max_w, allow_none=True)
        positive(owner, "node_price_usd", self.node_price_usd, allow_none=True)
        positive_int(owner, "devices_per_node", self.devices_per_node)
        positive_int(owner, "scale_up_domain_devices", self.scale_up_domain_devices)
