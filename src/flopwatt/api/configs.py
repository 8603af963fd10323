"""Config sources of the fleet and capacity requests: a bundled example or a config's text.

The examples are the repository's ``examples/KIND-NAME.toml`` (a checkout or an editable install; an
installed wheel has none, and says so). A config's text is parsed as its file would be (same TOML
reader, same loader); it may reference only the bundled traces (``data/traces``), never other files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from flopwatt.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
TRACES = ROOT / "data" / "traces"


def examples(kind: str) -> dict[str, Path]:
    """``{name: path}`` of the bundled ``examples/KIND-NAME.toml`` files (empty where none are bundled)."""
    if not EXAMPLES.is_dir():
        return {}
    return {p.name[len(kind) + 1:-len(".toml")]: p for p in sorted(EXAMPLES.glob(f"{kind}-*.toml"))}


def example_summary(path: Path) -> str:
    """The example's opening comment lines (what it shows), as one line."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    return " ".join(x for x in lines if x)


def config_data(kind: str, example: str | None, text: str | None) -> tuple[dict[str, Any], Path, str]:
    """(parsed TOML, base directory of its relative paths, what it is) of a request's config source."""
    if example is not None:
        known = examples(kind)
        if example not in known:
            raise InputError("example", f"one of {', '.join(known) or '(none bundled with this installation)'}",
                             example)
        path = known[example]
        return tomllib.loads(path.read_text(encoding="utf-8")), path.parent, f"examples/{path.name}"
    try:
        data = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise InputError("config_toml", f"valid TOML ({exc})") from None
    return data, EXAMPLES, "the uploaded config"


def bundled_trace(where: str, value: Any, base: Path) -> None:
    """A file reference in an uploaded config must name one of the bundled traces (as the examples do)."""
    allowed = {p.resolve() for p in TRACES.glob("*.csv.gz")} if TRACES.is_dir() else set()
    if not isinstance(value, str) or (base / value).resolve() not in allowed:
        names = ", ".join(f"../data/traces/{p.name}" for p in sorted(allowed)) or "none bundled"
        raise InputError(where, f"one of the bundled traces ({names}); the web reads no other "
                         "files", value)
