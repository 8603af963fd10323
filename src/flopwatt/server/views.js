// The five views: each draws one /v1 answer (helpers from app.js: make, table, metric, figure, sources).
"use strict";
function renderTrain(root, r) {
  if (!r.feasible) { infeasible(root, r); return; }
  const m = r.metrics, fp = r.footprint;
  root.append(make("h2", {}, "Plan"), make("p", {id: "train-plan"}, planLine(r.plan)));
  root.append(table([
    metric("step time", "step_time_s", m.step_time_s, fmt.duration), metric("MFU", "mfu", m.mfu, fmt.pct),
    metric("tokens/s", "tokens_per_s", m.tokens_per_s, fmt.num),
    metric("wall time (with failures)", "wall_s", fp["reliability/expected_wall_s"], fmt.duration),
    metric("facility energy", "mwh", fp["energy/facility_j"], fmt.mwh),
    metric("carbon", "tco2e", fp["carbon/tco2e"], fmt.tco2e), metric("run cost", "usd", fp["money/run_usd"], fmt.usd),
    metric("memory per device", "memory", r.memory["memory/total"], fmt.bytes),
  ], null, {id: "train-metrics"}));
  const time = Object.entries(r.time).filter(([k]) => k !== "time/step").map(([k, v]) => [strip(k), v]);
  root.append(figure("Where a step's time goes", "chart", time, fmt.duration, r.time["time/step"]));
  const memory = Object.entries(r.memory).filter(([k]) => k !== "memory/total").map(([k, v]) => [strip(k), v]);
  root.append(figure("Memory per device by component", "train-memory", memory, fmt.bytes, r.memory["memory/total"]));
  const power = ["power/devices_w", "power/hosts_w", "power/network_w"].filter((k) => k in fp).map((k) => [strip(k), fp[k]]);
  if (power.length) root.append(figure("IT power by component", "train-power", power, (w) => fmt.si(w, "W"), fp["power/it_w"]));
  const energy = ["energy/it_j", "energy/cooling_and_overhead_j"].filter((k) => k in fp).map((k) => [strip(k), fp[k]]);
  if (energy.length) root.append(figure("Facility energy", "train-energy", energy, (j) => fmt.mwh(j), fp["energy/facility_j"]));
  const money = ["money/it_depreciation_usd", "money/facility_depreciation_usd", "money/energy_usd", "money/maintenance_usd"]
    .filter((k) => k in fp).map((k) => [strip(k), fp[k]]);
  if (money.length) root.append(figure("Run cost", "train-money", money, fmt.usd, fp["money/run_usd"]));
  const all = make("details");
  all.append(make("summary", {}, "Every footprint figure"),
    table(Object.entries(fp).map(([k, v]) => [k, fmt.byName(k, v)]), ["figure", "value"]));
  root.append(all, listBlock("Unknown", r.unknown), listBlock("Assumptions", r.assumptions, "assumptions"),
    listBlock("Advice", r.advice, "advice"), sources(r.inputs));
}
const SERVE_TIME = ["linear_s", "decode_attention_s", "prefill_attention_s", "elementwise_s", "logits_s", "tp_comm_s",
  "pp_comm_s", "ep_all_to_all_s"];
function renderServe(root, r) {
  if (!r.feasible) { infeasible(root, r); return; }
  const m = r.metrics;
  root.append(make("h2", {}, "Plan"), make("p", {id: "serve-plan"}, planLine(r.plan)));
  root.append(table([
    metric("output tokens/s", "output_tokens_per_s", m.output_tokens_per_s, fmt.num),
    metric("time to first token", "ttft_s", m.ttft_s, fmt.duration),
    metric("time per output token", "tpot_s", m.tpot_s, fmt.duration),
    metric("memory per device", "memory_bytes", m.memory_bytes, fmt.bytes),
    metric("facility power", "facility_power_w", m.facility_power_w, (w) => fmt.si(w, "W")),
    metric("energy per output token", "joules_per_output_token", m.joules_per_output_token, (j) => fmt.si(j, "J")),
    metric("$ per million output tokens", "usd_per_million_output_tokens", m.usd_per_million_output_tokens, fmt.usd),
    metric("$ per hour", "usd_per_hour", m.usd_per_hour, fmt.usd),
    metric("carbon per million output tokens", "gco2e", m.gco2e_per_million_output_tokens, (g) => `${fmt.num(g)} gCO2e`),
  ], null, {id: "serve-metrics"}));
  const parts = SERVE_TIME.filter((k) => k in m).map((k) => [k.replace(/_s$/, ""), m[k]]);
  root.append(figure("A decode cycle's time by component (share of their sum)", "serve-time", parts, fmt.duration,
    parts.reduce((a, [, v]) => a + v, 0)));
  root.append(listBlock("Unknown", r.unknown), listBlock("Assumptions", r.assumptions, "assumptions"),
    listBlock("Advice", r.advice, "advice"), sources(r.inputs));
}
function renderCompare(root, results) {
  const rows = results.map((r) => [r.inputs.accelerator, r.feasible ? "yes" : `no: ${r.message}`,
    {text: fmt.count(r.inputs.devices), key: "devices", raw: r.inputs.devices},
    {text: fmt.num(r.metrics.output_tokens_per_s), key: "output_tokens_per_s", raw: r.metrics.output_tokens_per_s ?? ""},
    {text: fmt.duration(r.metrics.tpot_s), key: "tpot_s", raw: r.metrics.tpot_s ?? ""},
    {text: fmt.si(r.metrics.joules_per_output_token, "J"), key: "joules_per_output_token", raw: r.metrics.joules_per_output_token ?? ""},
    {text: fmt.usd(r.metrics.usd_per_million_output_tokens), key: "usd_per_million_output_tokens", raw: r.metrics.usd_per_million_output_tokens ?? ""}]);
  root.append(table(rows, ["accelerator", "feasible", "devices", "output tokens/s", "TPOT", "J/token", "$/M tokens"],
    {id: "compare-table"}));
  const ok = results.filter((r) => r.feasible);
  root.append(figure("Output tokens/s", "compare-throughput", ok.map((r) => [r.inputs.accelerator, r.metrics.output_tokens_per_s]), fmt.num));
  root.append(figure("$ per million output tokens", "compare-usd", ok.map((r) => [r.inputs.accelerator, r.metrics.usd_per_million_output_tokens]), fmt.usd));
  for (const r of results) {
    const d = make("details");
    d.append(make("summary", {}, `${r.inputs.accelerator}: assumptions, advice, sources`),
      listBlock("Assumptions", r.assumptions), listBlock("Advice", r.advice), sources(r.inputs));
    root.append(d);
  }
}
function renderFabric(root, data) {
  const designs = Array.isArray(data) ? data : [data];
  root.append(table(designs.map((d) => [d.topology, {text: fmt.count(d.switches), key: "switches", raw: d.switches},
    fmt.count(d.switch_links + d.endpoint_links), fmt.si(d.bisection_bps, "b/s"), String(d.diameter_switch_hops),
    {text: fmt.usd(d.bom.usd_known), key: "usd_known", raw: d.bom.usd_known}, fmt.si(d.bom.w_known, "W")]),
  ["topology", "switches", "links", "bisection", "diameter (hops)", "$ (known parts)", "W (known parts)"], {id: "fabric-table"}));
  root.append(figure("$ of known-price parts", "fabric-usd", designs.map((d) => [d.topology, d.bom.usd_known]), fmt.usd));
  root.append(figure("W of known-power parts", "fabric-power", designs.map((d) => [d.topology, d.bom.w_known]), (w) => fmt.si(w, "W")));
  for (const d of designs) {
    root.append(make("h3", {}, `Bill of materials: ${d.topology}`));
    root.append(table(Object.entries(d.bom.parts).map(([part, n]) => [part, fmt.count(n),
      part in d.bom.unknown_price ? "unknown" : "known", part in d.bom.unknown_power ? "unknown" : "known"]),
    ["part", "count", "price", "power"], {class: "bom", "data-topology": d.topology}));
    const notes = Object.entries(d.notes || {}).map(([k, v]) => `${k}: ${v}`);
    root.append(listBlock("Notes", notes));
  }
  const parts = [...new Set(designs.flatMap((d) => [d.switch, ...Object.keys(d.bom.parts)]))];
  root.append(sourceList(parts.map((id) => ["part", "network-parts", id])));
}
function renderPlan(root, data) {
  root.append(make("p", {id: "plan-summary"}, `${fmt.count(data.configurations)} configurations, ` +
    `${fmt.count(data.feasible_after_constraints)} feasible after constraints, ${fmt.count(data.pareto_front.length)} on the Pareto front`));
  const front = data.pareto_front;
  const systems = catalogs.systems || {};
  front.forEach((row) => { row.accelerator = row.accelerator || (systems[row.system] || {}).accelerator || row.system; });
  const controls = make("div", {class: "controls"});
  const choose = (id, label, options, value) => {
    const l = make("label", {for: id}, label), s = make("select", {id});
    for (const [v, t] of options) s.add(new Option(t, v, false, v === value));
    l.append(s); controls.append(l); return s;
  };
  const axes = [["wall_s", "wall time (days)"], ["usd", "cost ($)"], ["facility_mwh", "energy (MWh)"], ["tco2e", "carbon (tCO2e)"]];
  const xSel = choose("plan-x", "x axis", axes, "wall_s"), ySel = choose("plan-y", "y axis", axes, "usd");
  const distinct = (k) => [["", "all"], ...[...new Set(front.map((r) => r[k]))].map((v) => [v, v])];
  const filters = {accelerator: choose("plan-filter-accelerator", "accelerator", distinct("accelerator"), ""),
    site: choose("plan-filter-site", "site", distinct("site"), ""), cooling: choose("plan-filter-cooling", "cooling", distinct("cooling"), "")};
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("id", "pareto"); svg.setAttribute("role", "group"); svg.setAttribute("aria-label", "Pareto front");
  const legend = make("div", {class: "legend", id: "plan-legend"}), picked = make("div", {id: "plan-row"});
  const FORMAT = {wall_s: (s) => `${fmt.num(s / 86400)} d`, usd: fmt.usd, facility_mwh: (x) => `${fmt.num(x)} MWh`, tco2e: fmt.tco2e};
  const pick = (i) => {
    for (const c of svg.querySelectorAll(".point")) c.classList.toggle("selected", Number(c.dataset.index) === i);
    picked.replaceChildren(make("h3", {}, "Selected configuration"),
      table(Object.entries(front[i]).map(([k, v]) => [k, {text: fmt.byName(k, v), key: k, raw: v ?? ""}]), ["field", "value"]));
  };
  const draw = () => {
    const x = xSel.value, y = ySel.value;
    const rows = front.map((r, index) => ({r, index})).filter(({r}) =>
      Object.entries(filters).every(([k, s]) => !s.value || r[k] === s.value) && r[x] !== null && r[y] !== null);
    const best = {};
    for (const {r, index} of rows) if (!(r.accelerator in best) || r[y] < front[best[r.accelerator]][y]) best[r.accelerator] = index;
    const points = rows.map(({r, index}) => ({x: r[x], y: r[y], index, group: r.accelerator,
      best: best[r.accelerator] === index}));
    svg.replaceChildren();
    picked.replaceChildren();
    if (!points.length) { legend.textContent = "no point matches the filters (or the axis figure is unknown)"; return; }
    const label = Object.fromEntries(axes);
    const colors = scatter(svg, points, {x: {label: label[x], format: FORMAT[x]}, y: {label: label[y], format: FORMAT[y]}}, pick);
    legend.replaceChildren(...colors.map(([g, c]) => { const s = make("span"); s.append(make("i", {style: `background:${c}`}), g); return s; }),
      make("span", {}, `large outlined point: best ${label[y]} of its accelerator`));
  };
  for (const s of [xSel, ySel, ...Object.values(filters)]) s.addEventListener("change", draw);
  root.append(make("h3", {}, "Pareto front (click a point)"), controls, svg, legend, picked);
  draw();
  root.append(make("h3", {}, "Fastest configurations"), table(data.top.map((r) => [r.system, fmt.count(r.devices), r.site, r.cooling,
    fmt.duration(r.wall_s), fmt.usd(r.usd), `${fmt.num(r.facility_mwh)} MWh`, fmt.tco2e(r.tco2e)]),
  ["system", "devices", "site", "cooling", "wall time", "cost", "energy", "carbon"], {id: "plan-top"}));
  const reasons = Object.entries(data.infeasible || {}).map(([k, v]) => `${k}: ${fmt.count(v)}`);
  root.append(listBlock("Infeasible configurations by reason", reasons), listBlock("Assumptions", data.assumptions, "assumptions"));
  const asked = state.body.plan || {}, menu = asked.menu || {};
  const refs = [["model", "models", [(asked.workload || {}).model]], ["accelerator", "accelerators", menu.accelerators],
    ["site", "sites", menu.sites], ["cooling", "cooling", menu.cooling], ["stack", "stacks", menu.stacks]];
  root.append(sourceList(refs.flatMap(([label, kind, ids]) => (ids || []).map((id) => [label, kind, id]))));
}
const RENDER = {train: renderTrain, serve: renderServe, compare: renderCompare, fabric: renderFabric, plan: renderPlan};

