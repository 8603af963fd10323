"""Golden outputs of the CLI examples (SimPy-style: each example run against its .out file)."""

from __future__ import annotations

import json
import math

import pytest

from golden_cases import CASES, GOLDEN, run


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_output_matches_golden(name):
    expected = (GOLDEN / f"{name}.out").read_text()
    got = run(CASES[name])
    if "--json" in CASES[name]:
        assert _close(json.loads(got), json.loads(expected))
    else:
        assert got == expected
