// Numbers as people read them: one formatter for the whole page (the API sends SI base units).
// num, pct, usd and duration follow the same rules as flopwatt.units (tests/test_web_views.py checks both).
"use strict";
const fmt = (() => {
  const unknown = "unknown";
  const missing = (x) => x === undefined || x === null || (typeof x === "number" && !Number.isFinite(x));
  // 3 significant digits, thousands separators on the integer part: 84,872 / 0.572 / 12.4
  function num(x, digits = 3) {
    if (missing(x)) return unknown;
    const v = Number(x);
    if (v === 0) return "0";
    const magnitude = Math.floor(Math.log10(Math.abs(v)));
    const decimals = Math.max(0, Math.min(digits - 1 - magnitude, 6));
    return v.toLocaleString("en-US", {minimumFractionDigits: 0, maximumFractionDigits: decimals});
  }
  const count = (x) => missing(x) ? unknown : Math.round(Number(x)).toLocaleString("en-US");
  const pct = (x) => missing(x) ? unknown : `${num(100 * x)}%`;
  // $ with k/M/B: $936k, $24.1M, $1.2B
  function usd(x) {
    if (missing(x)) return unknown;
    const v = Number(x), a = Math.abs(v);
    for (const [div, suffix] of [[1e9, "B"], [1e6, "M"], [1e3, "k"]]) {
      if (a >= div * 0.9995) return `${v < 0 ? "-" : ""}$${num(a / div)}${suffix}`;
    }
    return `${v < 0 ? "-" : ""}$${num(a)}`;
  }
  // seconds -> us / ms / s / h / days (as flopwatt.units.duration)
  function duration(s) {
    if (missing(s)) return unknown;
    const v = Number(s), a = Math.abs(v);
    if (a < 1e-3) return `${num(v * 1e6)} us`;
    if (a < 1) return `${num(v * 1e3)} ms`;
    if (a < 3600) return `${num(v)} s`;
    if (a < 2 * 86400) return `${num(v / 3600)} h`;
    return `${num(v / 86400)} days`;
  }
  // SI prefixes: 12.3 kW, 1.41 TJ, 400 Gb/s
  function si(x, unit) {
    if (missing(x)) return unknown;
    const v = Number(x), a = Math.abs(v);
    for (const [div, p] of [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
      if (a >= div * 0.9995) return `${num(v / div)} ${p}${unit}`;
    }
    return `${num(v)} ${unit}`;
  }
  const bytes = (x) => missing(x) ? unknown : `${num(Number(x) / 2 ** 30)} GiB`;
  const mwh = (joules) => missing(joules) ? unknown : `${num(Number(joules) / 3.6e9)} MWh`;
  const tco2e = (x) => missing(x) ? unknown : `${num(x)} tCO2e`;
  // A field name's unit suffix picks the format (units live in field names: *_s, *_w, *_usd, *_bytes ...)
  function byName(name, x) {
    if (missing(x)) return unknown;
    if (typeof x !== "number") return String(x);
    const n = name.toLowerCase();
    if (/(^|[_/])(mfu|hfu|goodput|share|off_chip_share|mfu_16bit|load_share)$/.test(n)) return pct(x);
    if (/usd/.test(n)) return usd(x);
    if (/(_|\/)s$|_s_|wall_s|seconds/.test(n)) return duration(x);
    if (/_w$|power\/|_w_/.test(n)) return si(x, "W");
    if (/_j$|energy\//.test(n)) return si(x, "J");
    if (/bytes|memory\//.test(n)) return bytes(x);
    if (/tco2e/.test(n)) return tco2e(x);
    if (/mwh/.test(n)) return `${num(x)} MWh`;
    if (/_bps$/.test(n)) return si(x, "b/s");
    if (/flops_per_s/.test(n)) return si(x, "FLOP/s");
    if (Number.isInteger(x)) return count(x);
    return num(x);
  }
  return {num, count, pct, usd, duration, si, bytes, mwh, tco2e, byName, unknown};
})();
