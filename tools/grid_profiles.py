"""Reduce an hourly grid series (carbon intensity or price) to a 12 x 24 month x hour-of-day SHAPE.

The shape is what src/flopwatt/catalog/grid_profiles.toml stores: shape[m][h] = mean of the series over
the hours of month m whose local (standard) hour of day is h, divided by the annual mean of the series.
Months are weighted by their hours, so sum_m days_m * sum_h shape[m][h] / 8760 == 1 before rounding.

Input: one calendar year (365 days, 8760 hourly values) with timestamps in UTC, in either form

- the source CSV with columns ``date,hour,...,<value column>`` (e.g. GlasgowC3lab/evaluate-carbon-aware-
  workflows data/intensity/avg-de-2023.csv: ``date,hour,day,month,weekday,ci``), or
- a transcription: lines ``MM-DD HH v v v ...`` = consecutive hourly values from UTC hour HH of that day
  (lines starting with '#' are comments).

Timezone: UTC hour index u (0..8759 from 1 January 00:00 UTC) becomes local standard time index
(u + offset) mod 8760, i.e. a fixed offset with no daylight saving, and the few hours that cross the year
boundary wrap round within the same year. Every month-hour cell then holds exactly days_m values.

Checks: every one of the 8760 UTC hours must be given exactly once (a gap, a repeated hour, an overlapping
transcription line or a value outside the year stops the run with a message).

Run: python tools/grid_profiles.py /tmp/grid/de-2023.txt --site de-frankfurt --utc-offset 1
     python tools/grid_profiles.py /tmp/grid2/tyo-2023.txt --site jp-tokyo --utc-offset 9
     (prints the TOML array; paste it into the site's table).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np

MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
HOURS = 8760


def read_series(path: Path, year: int, column: str = "ci") -> np.ndarray:
    """The 8760 hourly values of ``year`` (UTC), from the source CSV or a transcription."""
    values = np.full(HOURS, np.nan)
    start = dt.datetime(year, 1, 1)
    text = path.read_text(encoding="utf-8")
    if text.startswith("date,hour"):
        for row in csv.DictReader(text.splitlines()):
            when = dt.datetime.fromisoformat(f"{row['date']} {row['hour']}")
            i = int((when - start).total_seconds() // 3600)
            if not 0 <= i < HOURS or not np.isnan(values[i]):
                sys.exit(f"{path}: row {row['date']} {row['hour']} is outside {year} or repeated")
            values[i] = float(row[column])
    else:
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            day, hour, *vals = line.split()
            first = dt.datetime.fromisoformat(f"{year}-{day} {int(hour):02d}:00")
            i = int((first - start).total_seconds() // 3600)
            if i < 0 or i + len(vals) > HOURS:
                sys.exit(f"{path}: line '{day} {hour}' runs outside {year}")
            if not np.all(np.isnan(values[i:i + len(vals)])):
                sys.exit(f"{path}: line '{day} {hour}' overlaps hours already read")
            values[i:i + len(vals)] = [float(v) for v in vals]
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        sys.exit(f"{path}: {missing.size} hours missing, first at UTC hour {missing[0]}")
    return values


def shape(values_utc: np.ndarray, utc_offset_h: int) -> np.ndarray:
    """12 x 24 month x local-hour means over the annual mean (months weighted by their hours)."""
    local = np.roll(values_utc, utc_offset_h)  # local[(u + offset) % 8760] = values_utc[u]
    by_day = local.reshape(365, 24)
    month_of_day = np.repeat(np.arange(12), MONTH_DAYS)
    means = np.array([by_day[month_of_day == m].mean(axis=0) for m in range(12)])
    annual = (MONTH_DAYS[:, None] * means).sum() / HOURS
    return means / annual


def to_toml(table: np.ndarray, key: str) -> str:
    rows = ",\n".join("  [" + ", ".join(f"{x:.3f}" for x in row) + "]" for row in table)
    return f"{key} = [\n{rows},\n]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--site", required=True)
    ap.add_argument("--utc-offset", type=int, required=True, help="local standard time minus UTC, hours")
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--key", default="carbon_shape_by_month_hour")
    ap.add_argument("--column", default="ci", help="value column of the source CSV")
    args = ap.parse_args()
    values = read_series(args.path, args.year, args.column)
    table = shape(values, args.utc_offset)
    hi, lo = table.max(), table.min()
    print(f"# {args.site}: {args.year} annual mean {values.mean():.1f}, shape max {hi:.3f} min {lo:.3f} "
          f"(peak/trough {hi / lo:.2f}); local hours = UTC{args.utc_offset:+d}")
    print(f"[{args.site}]")
    print(to_toml(table, args.key))


if __name__ == "__main__":
    main()
