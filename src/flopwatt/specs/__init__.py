"""Frozen, validated specs: the three orthogonal inputs (workload, system, plan) and their parts.

Vocabulary (fixed here, used everywhere):

- *device*: one accelerator (a GPU, or a TPU chip; TensorCores are not counted separately).
- *node*: the devices that share a host (8 in a DGX).
- *scale-up domain*: devices joined by the fast fabric (NVLink/NVSwitch, ICI, xGMI).
- *scale-out*: the network between scale-up domains (InfiniBand, RoCE, DCN).
- *step*: one optimizer step over one *global batch*, made of *micro-batches*.
- TP/PP/DP/CP/EP: tensor, pipeline, data, context and expert parallel degrees.
- MFU: model FLOPs (no recompute) / (time x peak); HFU: hardware FLOPs (with recompute).
- algbw = bytes / time; busbw = algbw x the NCCL factor of the collective (2(p-1)/p for AllReduce).
"""

from flopwatt.specs.hardware import Accelerator, Link, System
from flopwatt.specs.model import ModelSpec
from flopwatt.specs.stack import StackProfile
from flopwatt.specs.workload import TrainingWorkload

__all__ = ["Accelerator", "Link", "ModelSpec", "StackProfile", "System", "TrainingWorkload"]
