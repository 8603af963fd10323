"""Published interruption counts (reliability.csv, its own schema) against the catalog's failure rates."""

from __future__ import annotations

import csv
from pathlib import Path

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.reliability import DAY_S
from flopwatt.validate.rows import RowResult, _float, _int, _report

RELIABILITY_SCHEMA = ["id", "source", "n_devices", "days", "cause", "count", "notes"]


def read_reliability_rows(path: Path) -> list[dict[str, str]]:
    """Rows of reliability.csv (its own schema: DATASET.md section reliability.csv)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if list(reader.fieldnames or []) != RELIABILITY_SCHEMA:
                raise InputError(f"{path} header", f"the reliability.csv schema ({','.join(RELIABILITY_SCHEMA)})")
            return list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("reliability file", f"a readable CSV file ({exc.__class__.__name__})", str(path)) from exc


def validate_reliability(rows: list[dict[str, str]]) -> dict[str, object]:
    """Predicted unexpected interruptions (catalog failure rates) against published counts.

    Only rows counting unexpected interruptions of a whole run are predictions; causes, planned
    maintenance and rows without an exact observation window are listed as skipped with the reason.
    """
    model = catalog.failure_model()
    results, skipped = [], []
    for row in rows:
        cause = row["cause"].lower()
        days = _float(row, "days")
        if "planned" in cause and "unplanned" not in cause:
            skipped.append({"id": row["id"], "reason": "planned maintenance is not a failure: not modelled"})
        elif days is None:
            skipped.append({"id": row["id"], "reason": "observation window not published exactly"})
        elif "total" in cause:
            skipped.append({"id": row["id"], "reason": "total includes planned events, which are not modelled"})
        elif not ("unexpected" in cause and "all causes" in cause):
            skipped.append({"id": row["id"], "reason": "single cause: the catalog's component rates are derived "
                                                       "from these counts (circular), see reliability.toml"})
        else:
            devices = _int(row, "n_devices", minimum=1)
            if devices is None or not days > 0:
                raise InputError(f"row {row['id']} {'days' if devices else 'n_devices'}", "a positive number",
                                 row["days"] if devices else row["n_devices"])
            predicted = float(devices * days * DAY_S * model.rate_per_device_s)
            count = _int(row, "count", minimum=1)
            if count is None:
                raise InputError(f"row {row['id']} count", "a published count >= 1", row["count"])
            results.append(RowResult(row["id"], "interruptions", float(count), predicted, {}))
    return _report(results, skipped)
