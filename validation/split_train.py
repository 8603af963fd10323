"""Apply the split rule of SPLIT.md: regenerate train_fit.csv and train_heldout.csv from train_published.csv.

Rule: SHA-256 of the row id (UTF-8); first hex digit 0-5 -> fit, 6-f -> held out. Row order is kept.
Run from the repository root: ``python validation/split_train.py`` (``--check`` only compares, exit 1 on a
difference; ``--ids A B`` prints where those ids go without touching any file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIT_DIGITS = "012345"


def goes_to_fit(row_id: str) -> bool:
    """True when the id's SHA-256 hex digest starts with 0-5 (SPLIT.md)."""
    return hashlib.sha256(row_id.encode("utf-8")).hexdigest()[0] in FIT_DIGITS


def split_texts(published: Path) -> tuple[str, str]:
    """The fit and held-out CSV texts derived from ``published`` (same header, same row order)."""
    with published.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    outputs = []
    for want_fit in (True, False):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(row for row in rows if goes_to_fit(row[0]) == want_fit)
        outputs.append(buffer.getvalue())
    return outputs[0], outputs[1]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--ids"]:
        for row_id in argv[1:]:
            digest = hashlib.sha256(row_id.encode("utf-8")).hexdigest()
            print(f"{row_id} {digest[0]} {'fit' if goes_to_fit(row_id) else 'heldout'}")
        return 0
    fit, heldout = split_texts(HERE / "train_published.csv")
    targets = {HERE / "train_fit.csv": fit, HERE / "train_heldout.csv": heldout}
    if argv[:1] == ["--check"]:
        stale = [path.name for path, text in targets.items() if path.read_text(encoding="utf-8") != text]
        print("stale: " + ", ".join(stale) if stale else "train_fit.csv and train_heldout.csv follow the rule")
        return 1 if stale else 0
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
