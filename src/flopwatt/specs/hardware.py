"""Hardware specs: accelerators, links and systems (node + scale-up domain + scale-out).

All quantities are SI with the unit in the name. Peaks are dense (no 2:4 sparsity).
``None`` means the figure is unknown (no source found): models that need it mask the plan.

Memory tiers: ``hbm_*`` is the device's off-chip memory (HBM, or whatever DRAM the device streams
weights from); ``sram_*`` is on-chip SRAM. SRAM-only inference chips (Groq LPU, Cerebras WSE) have no
off-chip memory: they declare ``hbm_bytes = 0`` and ``hbm_bandwidth_bytes_per_s = 0`` and must then
give both SRAM figures, which hold their weights and feed their memory-bound kernels.
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
    """Dense peak matrix FLOP/s by precision (keys from ``PRECISIONS``). Empty where no dense figure is
    published (a sparse-only vendor peak is never entered): such a device cannot be timed, and
    :meth:`peak` says so in one InputError."""
    hbm_bytes: float
    """Off-chip memory per device; 0 for a device without any (then ``sram_bytes`` is required)."""
    hbm_bandwidth_bytes_per_s: float
    """Off-chip memory bandwidth per device; 0 exactly when ``hbm_bytes`` is 0."""
    sram_bytes: float | None = None
    """On-chip SRAM per device, all of it (where an SRAM-only chip keeps its weights); None = not recorded."""
    sram_bandwidth_bytes_per_s: float | None = None
    """Aggregate on-chip SRAM bandwidth per device as the vendor rates it; None = not recorded."""
    board_power_w: float | None = None
    """Maximum board power (TDP/TBP/TGP) as the vendor rates it."""
    board_power_rule: str | None = None
    """Where ``board_power_w`` is not a vendor board rating but derived (a system's power shared over its devices,
    or an analyst efficiency figure): the rule, printed in every result's assumptions (never parsed)."""
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
        if not isinstance(self.peak_flops_per_s, dict):
            raise InputError(f"{owner}.peak_flops_per_s", "a table of dense peaks by precision (empty if unpublished)")
        for precision, flops in self.peak_flops_per_s.items():
            if precision not in PRECISIONS:
                raise InputError(f"{owner}.peak_flops_per_s", f"keys among {', '.join(PRECISIONS)}", precision)
            positive(owner, f"peak_flops_per_s.{precision}", flops)
        positive(owner, "sram_bytes", self.sram_bytes, allow_none=True)
        positive(owner, "sram_bandwidth_bytes_per_s", self.sram_bandwidth_bytes_per_s, allow_none=True)
        self._check_off_chip_memory(owner)
        positive(owner, "board_power_w", self.board_power_w, allow_none=True)
        if self.board_power_rule is not None and self.board_power_w is None:
            raise InputError(f"{owner}.board_power_rule", "no rule without a board_power_w it derives")
        positive(owner, "idle_power_w", self.idle_power_w, allow_none=True)
        positive(owner, "price_usd", self.price_usd, allow_none=True)
        positive(owner, "scale_up_bandwidth_bytes_per_s", self.scale_up_bandwidth_bytes_per_s, allow_none=True)
        positive_int(owner, "scale_up_domain_devices", self.scale_up_domain_devices, allow_none=True)
        positive(owner, "scale_out_bandwidth_bytes_per_s", self.scale_out_bandwidth_bytes_per_s, allow_none=True)

    def _check_off_chip_memory(self, owner: str) -> None:
        """HBM figures are both positive, or both 0 on a device that declares its on-chip SRAM instead."""
        zero = [name for name in ("hbm_bytes", "hbm_bandwidth_bytes_per_s") if _is_zero(getattr(self, name))]
        if not zero:
            positive(owner, "hbm_bytes", self.hbm_bytes)
            positive(owner, "hbm_bandwidth_bytes_per_s", self.hbm_bandwidth_bytes_per_s)
            return
        if len(zero) == 1:
            other = "hbm_bandwidth_bytes_per_s" if zero[0] == "hbm_bytes" else "hbm_bytes"
            raise InputError(f"{owner}.{other}", f"0 as well ({zero[0]} is 0: no off-chip memory), or both positive",
                             getattr(self, other))
        for name in ("sram_bytes", "sram_bandwidth_bytes_per_s"):
            if getattr(self, name) is None:
                raise InputError(f"{owner}.{name}", "a value: a device without off-chip memory (hbm_bytes = 0) "
                                 "must declare its on-chip SRAM capacity and bandwidth")

    @property
    def has_off_chip_memory(self) -> bool:
        """False for SRAM-only devices (``hbm_bytes == 0``)."""
        return self.hbm_bytes > 0

    @property
    def streaming_bandwidth_bytes_per_s(self) -> float:
        """What memory-bound kernels stream at: HBM, or on-chip SRAM on a device without off-chip memory."""
        if self.has_off_chip_memory or self.sram_bandwidth_bytes_per_s is None:  # None only with HBM (checked)
            return self.hbm_bandwidth_bytes_per_s
        return self.sram_bandwidth_bytes_per_s

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s for ``precision``; InputError if the device has none."""
        if precision in self.peak_flops_per_s:
            return self.peak_flops_per_s[precision]
        if not self.peak_flops_per_s:
            raise InputError("precision", f"a device with a published dense peak ({self.id} has none; "
                             "see its catalog notes)", precision)
        have = ", ".join(sorted(self.peak_flops_per_s))
        raise InputError("precision", f"a precision {self.id} supports ({have})", precision)

    def half_precision(self) -> str:
        """The 16-bit matmul type this device has: bf16 where it exists, else fp16."""
        return "bf16" if "bf16" in self.peak_flops_per_s else "fp16"


def _is_zero(value: object) -> bool:
    """A number equal to 0 (booleans excluded: ``false`` in a TOML file is a type error, not 0)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0


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
