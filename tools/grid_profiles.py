"""Reduce an hourly grid series (carbon intensity or price) to a 12 x 24 month x hour-of-day SHAPE.

The shape is what src/flopwatt/catalog/grid_profiles.toml stores: shape[m][h] = mean of the series over
the hours of month m whose local (standard) hour of day is h, divided by the annual mean of the series.
Months are weighted by their hours, so sum_m days_m * sum_h shape[m][h] / 8760 == 1 before rounding.

Input: one calendar year (365 days, 8760 hourly values) with timestamps in UTC, in either form

- the source CSV with columns ``date,hour,...,<value column>`` (e.g. GlasgowC3lab/evaluate-carbon-aware-
  workflows data/intensity/avg-de-2023.csv: ``date,hour,day,month,weekday,ci``), or
- a transcription: lines ``MM-DD HH v v v ...`` = consecutive hourly values from UTC hour HH of that day
  (lines starting with '#' are comments), or
- (``--price``) a CSV whose first column is an ISO local timestamp with its UTC offset and whose ``--column`` holds
  the value, one row per hour in time order, e.g. rbx/powersched data/prices_2023.csv (``Date,Price``, rows
  ``2023-01-01T00:00+01:00,-5.17``: the DE-LU day-ahead price of one local calendar year, CET/CEST). Give the
  zone's ``--tz`` (e.g. Europe/Berlin): row i must read the wall-clock time that zone shows i hours after the first
  row (this catches gaps, repeats and daylight-saving slips); a row whose wall clock fits but whose written offset
  does not is placed by position and listed as a warning. A local-calendar year reaches a few hours past the UTC
  year; those hours wrap round within the year, as below.

Timezone: UTC hour index u (0..8759 from 1 January 00:00 UTC) becomes local standard time index
(u + offset) mod 8760, i.e. a fixed offset with no daylight saving, and the few hours that cross the year
boundary wrap round within the same year. Every month-hour cell then holds exactly days_m values.

Checks: every one of the 8760 UTC hours must be given exactly once (a gap, a repeated hour, an overlapping
transcription line or a value outside the year stops the run with a message). Prices can be negative; the shape is
NOT clipped: a month-hour cell whose mean is zero or negative is reported, and grid_profiles.toml's loader rejects it.

Run: python tools/grid_profiles.py /tmp/grid/de-2023.txt --site de-frankfurt --utc-offset 1
     python tools/grid_profiles.py /tmp/grid2/tyo-2023.txt --site jp-tokyo --utc-offset 9
     python tools/grid_profiles.py /tmp/price/prices_2023.csv --site de-frankfurt --utc-offset 1 \
         --price --tz Europe/Berlin --column Price
     (prints the TOML array; paste it into the site's table).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

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


def read_local_csv(path: Path, year: int, column: str, tz: str) -> tuple[np.ndarray, list[str]]:
    """The 8760 hourly values of ``year`` (UTC index) from a CSV of local ISO timestamps with offsets, in order."""
    zone, start = ZoneInfo(tz), dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    if len(rows) != HOURS:
        sys.exit(f"{path}: {len(rows)} rows, expected {HOURS} hourly rows")
    stamp_col = next(iter(rows[0]))
    first = dt.datetime.fromisoformat(rows[0][stamp_col]).astimezone(dt.UTC)
    values, warnings = np.full(HOURS, np.nan), []
    for i, row in enumerate(rows):
        stamp = row[stamp_col]
        when = first + dt.timedelta(hours=i)
        wall = when.astimezone(zone)
        if stamp[:16] != wall.strftime("%Y-%m-%dT%H:%M"):
            sys.exit(f"{path}: row {i + 2} '{stamp}' is not {wall.isoformat()} (gap, repeat or clock slip)")
        if dt.datetime.fromisoformat(stamp) != when:
            warnings.append(f"row {i + 2} '{stamp}': offset written wrong, placed by position as {wall.isoformat()}")
        u = int((when - start).total_seconds() // 3600)
        values[u % HOURS] = float(row[column])  # the few hours outside the UTC year wrap round within it
    if np.isnan(values).any():
        sys.exit(f"{path}: the rows do not cover every UTC hour of {year} once")
    return values, warnings


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
    ap.add_argument("--price", action="store_true",
                    help="price mode: local-timestamp CSV (needs --tz), key price_shape_by_month_hour")
    ap.add_argument("--tz", help="IANA zone of the local-timestamp CSV (price mode), e.g. Europe/Berlin")
    args = ap.parse_args()
    if args.price:
        if not args.tz:
            ap.error("--price needs --tz")
        values, warnings = read_local_csv(args.path, args.year, args.column, args.tz)
        key = "price_shape_by_month_hour" if args.key == "carbon_shape_by_month_hour" else args.key
        for w in warnings:
            print(f"# warning: {w}")
        print(f"# {int((values < 0).sum())} of {HOURS} hours negative (kept, not clipped)")
    else:
        values, key = read_series(args.path, args.year, args.column), args.key
    table = shape(values, args.utc_offset)
    nonpositive = np.argwhere(table <= 0)
    if nonpositive.size:
        print(f"# WARNING: {len(nonpositive)} month-hour cells <= 0 (month, hour): {nonpositive.tolist()}; "
              "not clipped, the catalog loader will reject this shape")
    hi, lo = table.max(), table.min()
    print(f"# {args.site}: {args.year} annual mean {values.mean():.1f}, shape max {hi:.3f} min {lo:.3f} "
          f"(peak/trough {hi / lo:.2f}); local hours = UTC{args.utc_offset:+d}")
    print(f"[{args.site}]")
    print(to_toml(table, key))


if __name__ == "__main__":
    main()
