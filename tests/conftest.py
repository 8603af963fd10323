"""Shared fixtures: catalog entries and the repository's validation data (validation/, data/traces/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flopwatt import catalog

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "validation"
TRACES = ROOT / "data" / "traces"


@pytest.fixture(scope="session")
def visible_csv() -> Path:
    path = REFERENCE / "visible.csv"
    if not path.exists():
        pytest.fail(f"validation data missing: {path} (it ships in the repository's validation/)")
    return path


@pytest.fixture(scope="session")
def gpt3():
    return catalog.get("models", "gpt3-175b")


@pytest.fixture(scope="session")
def dgx_a100():
    return catalog.get("systems", "dgx-a100-80gb")
