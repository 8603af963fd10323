// The config-driven views: fleet (per policy) and capacity (per period), drawn from /v1/fleet and /v1/capacity.
"use strict";
const cell = (value, key, format) => ({text: format(value), key, raw: value ?? ""});
const unit = (u) => (x) => fmt.unknown === fmt.num(x) ? fmt.unknown : `${fmt.num(x)} ${u}`;
function chooser(id, label, options, onChange) {
  const l = make("label", {for: id}, label), s = make("select", {id});
  for (const o of options) s.add(new Option(o, o));
  s.addEventListener("change", () => onChange(s.value));
  l.append(s);
  return l;
}

// ---- fleet ----
function fleetRow(name, r) {
  const t = r.training;
  return [name, cell(t.makespan_s, "makespan_s", fmt.duration),
    cell(t.queueing_delay_s.mean, "queueing_delay_mean_s", fmt.duration),
    cell(t.queueing_delay_s.p99, "queueing_delay_p99_s", fmt.duration), cell(t.jct_s.mean, "jct_mean_s", fmt.duration),
    cell(t.completed, "completed", fmt.count), cell(t.deadline_misses, "deadline_misses", fmt.count),
    cell(r.utilisation, "utilisation", fmt.pct),
    cell(r.effective_compute.reference_device_s_per_device_s, "effective_compute", fmt.num),
    cell(r.energy.total_mwh, "total_mwh", unit("MWh")), cell(r.energy.total_electricity_usd, "total_electricity_usd", fmt.usd),
    cell(r.energy.total_tco2e, "total_tco2e", fmt.tco2e), cell(r.services.overall.slo_attainment, "slo_attainment", fmt.pct)];
}
function fleetBreakdown(box, d, name) {
  const r = d.runs[name], e = r.energy;
  const parts = ["training", "serving", "idle"];
  box.replaceChildren(
    figure(`Facility energy by use (${name})`, "fleet-energy", parts.map((k) => [k, e[`${k}_mwh`]]), unit("MWh"), e.total_mwh),
    figure(`Carbon by use (${name})`, "fleet-carbon", parts.map((k) => [k, e[`${k}_tco2e`]]), fmt.tco2e, e.total_tco2e),
    figure(`Electricity cost by use (${name})`, "fleet-electricity", parts.map((k) => [k, e[`${k}_electricity_usd`]]), fmt.usd,
      e.total_electricity_usd),
    figure(`Utilisation by pool (${name})`, "fleet-pools", Object.entries(r.pools).map(([p, v]) => [p, v.utilisation]), fmt.pct));
  const services = Object.entries(r.services.by_service);
  if (services.length) {
    box.append(make("h3", {}, `Services (${name})`), table(services.map(([s, v]) => [s,
      cell(v.slo_attainment, "slo_attainment", fmt.pct), cell(v.served_share, "served_share", fmt.pct),
      cell(v.mean_nodes, "mean_nodes", fmt.num), cell(v.mean_demand_output_tokens_per_s, "demand", fmt.num)]),
    ["service", "SLO attainment", "served", "mean nodes", "mean demand (output tokens/s)"], {id: "fleet-services"}));
  }
  const rejected = Object.entries(r.training.rejected || {}).map(([k, v]) => `${k}: ${fmt.count(v)}`);
  if (e.idle_upper_bound_pools.length) rejected.push(`idle power is an upper bound (no idle figure) for: ${e.idle_upper_bound_pools.join(", ")}`);
  box.append(listBlock("Rejected jobs and notes", rejected));
}
function renderFleet(root, d) {
  const runs = Object.entries(d.runs), names = runs.map(([n]) => n);
  root.append(make("p", {id: "fleet-summary"}, `${d.fleet}: ${fmt.count(d.jobs)} training jobs on ${Object.keys(d.pools).length} ` +
    `pools at ${d.sites.length} sites, ${d.services.length} services; seed ${d.seed}`));
  root.append(table(runs.map(([n, r]) => fleetRow(n, r)), ["policy", "makespan", "mean queue wait", "p99 queue wait",
    "mean JCT", "jobs completed", "deadline misses", "utilisation", "effective compute", "facility energy", "electricity",
    "carbon", "SLO attainment"], {id: "fleet-table"}));
  const each = (title, id, get, format) => figure(title, id, runs.map(([n, r]) => [n, get(r)]), format);
  root.append(each("Makespan", "fleet-makespan", (r) => r.training.makespan_s, fmt.duration),
    each("Mean queue wait", "fleet-wait", (r) => r.training.queueing_delay_s.mean, fmt.duration),
    each("Facility energy", "fleet-mwh", (r) => r.energy.total_mwh, unit("MWh")),
    each("Electricity cost", "fleet-usd", (r) => r.energy.total_electricity_usd, fmt.usd),
    each("Carbon", "fleet-tco2e", (r) => r.energy.total_tco2e, fmt.tco2e),
    each("Utilisation", "fleet-utilisation", (r) => r.utilisation, fmt.pct));
  if (d.runs.fifo && runs.length > 1) {
    const keys = Object.keys(d.runs.fifo.versus_fifo);
    root.append(make("h3", {}, "Ratio to FIFO (1 = same)"), table(runs.map(([n, r]) => [n,
      ...keys.map((k) => cell(r.versus_fifo[k], k, fmt.num))]), ["policy", ...keys.map((k) => k.replace(/_/g, " "))], {id: "fleet-versus"}));
  }
  root.append(make("h3", {}, "Pools"), table(Object.entries(d.pools).map(([p, v]) => [p, v.site, v.system,
    cell(v.devices, "devices", fmt.count)]), ["pool", "site", "system", "devices"], {id: "fleet-pool-table"}));
  const box = make("div", {id: "fleet-breakdown"}), controls = make("div", {class: "controls"});
  controls.append(chooser("fleet-policy", "breakdown of policy", names, (n) => fleetBreakdown(box, d, n)));
  root.append(make("h3", {}, "Breakdown"), controls, box);
  fleetBreakdown(box, d, names[0]);
  root.append(listBlock("Assumptions", d.assumptions, "assumptions"), catalogSources(d.catalog));
}

// ---- capacity ----
function capacityRow(p) {
  const t = p.totals;
  return [p.period, cell(t.devices, "devices", fmt.count), cell(p.devices_required, "devices_required", fmt.count),
    cell(t.mw_it_peak, "mw_it_peak", unit("MW")), cell(t.mw_facility_peak, "mw_facility_peak", unit("MW")),
    cell(t.twh_facility, "twh_facility", unit("TWh")), cell(t.capex_usd, "capex_usd", fmt.usd),
    cell(t.opex_usd, "opex_usd", fmt.usd), cell(t.tco2e, "tco2e", fmt.tco2e), cell(p.unmet.length, "unmet", fmt.count)];
}
function capacityBreakdown(box, period) {
  const sites = Object.entries(period.sites);
  const byHardware = {};
  for (const [, s] of sites) for (const [h, n] of Object.entries(s.devices)) byHardware[h] = (byHardware[h] || 0) + n;
  const p = period.period;
  box.replaceChildren(
    figure(`Devices by hardware (${p})`, "capacity-hardware", Object.entries(byHardware), fmt.count),
    figure(`Devices by site (${p})`, "capacity-site-devices", sites.map(([k, s]) => [k, Object.values(s.devices).reduce((a, b) => a + b, 0)]), fmt.count),
    figure(`Facility peak MW by site (${p})`, "capacity-site-mw", sites.map(([k, s]) => [k, s.mw_facility_peak]), unit("MW")),
    figure(`Capex by site (${p})`, "capacity-site-capex", sites.map(([k, s]) => [k, s.capex_usd]), fmt.usd),
    figure(`Carbon by site (${p})`, "capacity-site-tco2e", sites.map(([k, s]) => [k, s.tco2e]), fmt.tco2e));
  box.append(table(sites.map(([k, s]) => [k, s.tier, cell(s.mw_available, "mw_available", unit("MW")),
    cell(s.mw_facility_peak, "mw_facility_peak", unit("MW")), cell(s.pue, "pue", fmt.num), cell(s.twh_facility, "twh_facility", unit("TWh")),
    cell(s.energy_usd, "energy_usd", fmt.usd), cell(s.carbon_g_per_kwh, "carbon_g_per_kwh", unit("g/kWh")),
    cell(s.unused_mw, "unused_mw", unit("MW"))]), ["site", "tier", "MW available", "facility peak", "PUE", "facility energy",
    "electricity", "grid carbon", "unused MW"], {id: "capacity-sites"}));
}
function capacityNotes(d) {
  const out = [];
  for (const p of d.periods) {
    for (const u of p.unmet) out.push(`${p.period} unmet: ${u.demand} (${u.kind}) ${fmt.pct(u.unmet_share)}: ${u.why.join(", ")}`);
    for (const m of p.placements) {
      out.push(`${p.period} ${m.demand} served at ${Object.keys(m.placed).join(", ")} for ${m.region} (cheapest at ` +
        `${m.cheapest_site}): ${fmt.usd(m.extra_usd_per_year)} and ${fmt.num(m.extra_facility_mwh_per_year)} MWh a year more`);
    }
    for (const g of p.data_gravity) {
      out.push(`${p.period} ${g.demand} trained at ${Object.keys(g.placed).join(", ")}, data at ${g.data_site}: ` +
        `${fmt.num(g.bytes_moved / 1e15)} PB moved in ${fmt.num(g.transfer_hours)} h, ${fmt.num(g.transfer_mwh)} MWh`);
    }
  }
  return out;
}
function renderCapacity(root, d) {
  const periods = d.periods;
  root.append(make("p", {id: "capacity-summary"}, `${d.capacity}: ${d.first_year}–${d.last_year} by ${d.step}; ` +
    `${fmt.count(d.estimates_made)} model estimates`));
  root.append(table(periods.map(capacityRow), ["period", "devices", "devices required", "IT peak", "facility peak",
    "facility energy", "capex", "opex", "carbon", "unmet demands"], {id: "capacity-table"}));
  const each = (title, id, get, format) => figure(title, id, periods.map((p) => [p.period, get(p.totals)]), format);
  root.append(each("Installed devices", "capacity-devices", (t) => t.devices, fmt.count),
    each("Facility peak power", "capacity-mw", (t) => t.mw_facility_peak, unit("MW")),
    each("Facility energy", "capacity-twh", (t) => t.twh_facility, unit("TWh")),
    each("Capex", "capacity-capex", (t) => t.capex_usd, fmt.usd), each("Opex", "capacity-opex", (t) => t.opex_usd, fmt.usd),
    each("Carbon", "capacity-tco2e", (t) => t.tco2e, fmt.tco2e));
  const box = make("div", {id: "capacity-breakdown"}), controls = make("div", {class: "controls"});
  controls.append(chooser("capacity-period", "breakdown of period", periods.map((p) => p.period),
    (v) => capacityBreakdown(box, periods.find((p) => p.period === v))));
  root.append(make("h3", {}, "Breakdown"), controls, box);
  capacityBreakdown(box, periods[0]);
  const policy = Object.entries(d.inputs.policy).map(([k, v]) => [k, {text: typeof v === "number" ? fmt.num(v) : String(v ?? "none"), key: k, raw: v ?? ""}]);
  root.append(listBlock("Unmet demand, placements away from the cheapest site, data moves", capacityNotes(d), "notes"),
    make("h3", {}, "Policy (the config's numbers)"), table(policy, ["setting", "value"], {id: "capacity-policy"}),
    listBlock("Assumptions", d.assumptions, "assumptions"), catalogSources(d.catalog));
}
RENDER.fleet = renderFleet;
RENDER.capacity = renderCapacity;
