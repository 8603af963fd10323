"""Shared fixtures: catalog entries and the path of the shared reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from flopwatt import catalog

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.fixture(scope="session")
def visible_csv() -> Path:
    path = REFERENCE / "visible.csv"
    if not path.exists():
        pytest.fail(f"validation data missing: {path} (the repository expects ../shared beside it)")
    return path


@pytest.fixture(scope="session")
def gpt3():
    return catalog.get("models", "gpt3-175b")


@pytest.fixture(scope="session")
def dgx_a100():
    return catalog.get("systems", "dgx-a100-80gb")
