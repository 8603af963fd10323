"""Print each Hugging Face fixture's predicted total parameters beside its published figure.

    python tools/hf_param_table.py

Reads tests/fixtures/hf/*.json through flopwatt.specs.hf_config.load_hf_config and the published totals
in tests/fixtures/hf/SOURCES.toml; the error column is predicted / published - 1.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from flopwatt.specs.hf_config import load_hf_config

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hf"


def main() -> None:
    sources = tomllib.loads((FIXTURES / "SOURCES.toml").read_text())
    print(f"{'slug':32s} {'predicted':>16s} {'published':>10s} {'error':>8s}")
    for slug, entry in sorted(sources.items()):
        total = load_hf_config(FIXTURES / f"{slug}.json").total_params()
        note = " (size-class name)" if entry.get("size_class") else ""
        error = total / entry["published_params"] - 1
        print(f"{slug:32s} {total:16,d} {entry['published_text']:>10s} {error:+8.3%}{note}")


if __name__ == "__main__":
    main()
