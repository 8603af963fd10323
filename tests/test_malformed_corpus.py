"""A corpus of malformed command lines and config files (tests/data/malformed_cli.json, written by
tools/make_malformed_corpus.py): each exits 2 with exactly one stderr line naming the field, or exits 0
with an answer; never a traceback. Run in-process through :func:`flopwatt.cli.main` (fast); a sample,
and every ``web`` case, also as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flopwatt import catalog
from flopwatt.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = json.loads((ROOT / "tests" / "data" / "malformed_cli.json").read_text(encoding="utf-8"))
SUBPROCESS_EVERY = 30


def _id(entry: dict) -> str:
    text = " ".join(entry["args"]).replace("{tmp}/", "").replace("{root}/", "")
    return f"{CORPUS.index(entry):03d} {text[:60]}"


def _file_text(spec: str | dict) -> str:
    if isinstance(spec, str):
        return spec
    text = (ROOT / spec["base"]).read_text(encoding="utf-8")
    if "lines" in spec:  # the first n lines, or the lines of these indices
        lines, keep = text.splitlines(), spec["lines"]
        text = "\n".join(lines[:keep] if isinstance(keep, int) else [lines[k] for k in keep]) + "\n"
    for old, new in spec.get("replace", []):
        new = new.replace("{root}", str(ROOT))
        assert old in text, f"corpus replace target {old!r} not in {spec['base']}"
        text = text.replace(old, new, 1)
    return text


@contextlib.contextmanager
def _materialised(entry: dict, tmp: Path):
    """The entry's files and directories under ``tmp``; its arguments with the placeholders filled in."""
    for name in entry.get("dirs", []):
        (tmp / name).mkdir(parents=True)
    for name, spec in entry.get("files", {}).items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(_file_text(spec).replace("{root}", str(ROOT)), encoding="utf-8")
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        ports = {"{busy_port}": str(busy.getsockname()[1]), "{free_port}": str(free.getsockname()[1])}
        if "{free_port}" in " ".join(entry["args"]):
            free.close()
        args = []
        for arg in entry["args"]:
            arg = arg.replace("{tmp}", str(tmp)).replace("{root}", str(ROOT))
            args.append(ports.get(arg, arg))
        yield args


def _in_process(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        catalog.reset_overlays()
    return code, out.getvalue(), err.getvalue()


def _subprocess(args: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "flopwatt", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr


def _check(entry: dict, code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    if entry["expect"] == "error":
        lines = stderr.strip().splitlines()
        assert (code, len(lines)) == (2, 1), f"exit {code}, stderr {stderr!r}, stdout {stdout[:300]!r}"
        assert entry["field"] in lines[0], lines[0]
        assert stdout == ""
    else:
        assert code == 0, stderr
        assert entry["stdout"] in stdout
        assert not re.search(r"\b(nan|inf)\b", stdout, re.IGNORECASE), stdout


def test_corpus_is_large_and_covers_every_subcommand():
    commands = {e["args"][0] for e in CORPUS if e["args"]}
    assert len(CORPUS) >= 250
    assert {"train", "serve", "fabric", "plan", "fleet", "capacity", "catalog", "validate", "reliability",
            "web"} <= commands
    assert any(e["args"][:2] == ["serve", "compare"] for e in CORPUS)
    assert any(e["args"][:2] == ["fabric", "compare"] for e in CORPUS)


IN_PROCESS = [e for e in CORPUS if e["args"][:1] != ["web"]]


@pytest.mark.parametrize("entry", IN_PROCESS, ids=[_id(e) for e in IN_PROCESS])
def test_in_process(entry, tmp_path):
    with _materialised(entry, tmp_path) as args:
        _check(entry, *_in_process(args))


SAMPLE = [e for k, e in enumerate(CORPUS) if k % SUBPROCESS_EVERY == 0 or e["args"][:1] == ["web"]]


@pytest.mark.parametrize("entry", SAMPLE, ids=[_id(e) for e in SAMPLE])
def test_as_subprocess(entry, tmp_path):
    with _materialised(entry, tmp_path) as args:
        _check(entry, *_subprocess(args))
