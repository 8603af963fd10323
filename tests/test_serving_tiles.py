"""Row-tile padding of serving GEMMs (flopwatt.perf.serving_tiles, catalog gemm_tiles.toml)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import serving_step as step
from flopwatt.perf.serving_tiles import padded_flops, padded_rows, row_tile, row_tiles
from flopwatt.serve import _rates


@given(st.floats(min_value=0.0, max_value=1e5, allow_nan=False, allow_subnormal=False),
       st.integers(min_value=2, max_value=256))
def test_padded_rows_are_whole_tiles_within_one_tile(rows, tile):
    padded = float(padded_rows(np.array([rows]), tile)[0])
    assert rows <= padded <= rows + tile
    assert abs(padded / tile - round(padded / tile)) < 1e-9


def test_padding_changes_nothing_at_tile_multiples_or_tile_one():
    flops = np.array([1e12, 2e12, 3e12])
    assert np.array_equal(padded_flops(flops, np.array([64.0, 128.0, 4096.0]), 64), flops)
    assert np.array_equal(padded_flops(flops, np.array([3.0, 65.0, 450.0]), 1), flops)
    assert np.allclose(padded_flops(flops, np.array([65.0, 0.0, 450.0]), 64), flops * [128 / 65, 1.0, 512 / 450])


def test_every_tile_has_a_source_and_unknown_devices_are_not_padded():
    assert row_tile("h100-sxm5-80gb") == row_tile("h200-sxm-141gb") == 64
    assert row_tile("mi300x") == 1  # no instruction shape read for it: unknown, no padding
    assert set(row_tiles()) <= set(catalog.accelerators())


def test_padding_only_slows_linear_layers_and_not_at_whole_tiles():
    model = catalog.models()["llama3.1-70b"]
    rates = _rates(catalog.system_for("h200-sxm-141gb"), "fp8")
    tokens, tp = np.array([64.0, 450.0, 512.0]), np.ones(3)
    plain, _ = step.linear_time(model, rates, tokens, tp, 1.0)
    tiled, streamed = step.linear_time(model, rates, tokens, tp, 1.0, row_tile=64)
    assert np.all(tiled >= plain)
    assert tiled[0] == plain[0] and tiled[2] == plain[2] and tiled[1] > plain[1]
    assert np.array_equal(streamed, step.linear_time(model, rates, tokens, tp, 1.0)[1])  # bytes are not padded
