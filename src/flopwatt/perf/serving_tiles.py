"""Tile quantization of serving GEMMs: the token rows of a linear GEMM are computed in whole row tiles.

A GEMM kernel computes its output in tiles; when the M dimension (here the tokens of an iteration) is not a
multiple of the tile, the last tile is computed in full, so the arithmetic is that of ``ceil(M / tile) x
tile`` rows (NVIDIA Deep Learning Performance documentation, "Matrix Multiplication Background User's
Guide", "Tile Quantization"). On Hopper the tensor-core instruction (``wgmma.mma_async``) has M = 64 rows,
so no kernel tile is smaller (catalog ``gemm_tiles.toml``, per accelerator with its source). Weight and
activation bytes are not padded: only real rows are read and written.
"""

from __future__ import annotations

import functools

import numpy as np

from flopwatt.catalog import read_toml
from flopwatt.errors import InputError

FILENAME = "gemm_tiles.toml"


@functools.cache
def row_tiles() -> dict[str, int]:
    """Row tile per accelerator id, from the shipped table (each entry must carry a source)."""
    table = {}
    for acc, entry in read_toml(FILENAME, f"catalog {FILENAME}").items():
        tile = entry.get("row_tile") if isinstance(entry, dict) else None
        if not isinstance(tile, int) or tile < 1 or not entry.get("source"):
            raise InputError(f"gemm_tiles {acc}.row_tile", "a whole number of rows >= 1 with a source", tile)
        table[acc] = tile
    return table


def row_tile(accelerator_id: str) -> int:
    """Rows of one GEMM tile on ``accelerator_id``; 1 (no padding) where the table has none."""
    return row_tiles().get(accelerator_id, 1)


def padded_rows(rows: np.ndarray, tile: int) -> np.ndarray:
    """``rows`` rounded up to whole tiles (``rows`` may be a mean over iterations: its ceiling is used)."""
    rows = np.asarray(rows, dtype=float)
    return rows if tile <= 1 else np.ceil(rows / tile) * tile


def padded_flops(flops: np.ndarray, rows: np.ndarray, tile: int) -> np.ndarray:
    """FLOPs of a GEMM of ``rows`` token rows once its rows are padded to whole tiles (0 rows stay 0)."""
    if tile <= 1:
        return flops
    rows = np.asarray(rows, dtype=float)
    scale = np.divide(padded_rows(rows, tile), rows, out=np.ones_like(rows * 1.0), where=rows > 0)
    return flops * scale
