// flopwatt page: one view per /v1 endpoint; state in the URL fragment; figures drawn from the API's JSON.
"use strict";
const TOPOLOGIES = ["fat-tree", "rail-optimized", "rail-only", "dragonfly", "torus"];
const PRECISIONS = ["fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"];
// name, label, type (select | multi | number | text | list), kind (catalog list), value, path (request key)
const VIEWS = {
  train: {endpoint: "/v1/train", submit: "Estimate", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "gpt3-175b"},
    {name: "accelerator", label: "Accelerator", type: "select", kind: "accelerators", value: "a100-sxm4-80gb"},
    {name: "devices", label: "Devices", type: "number", value: 1024},
    {name: "global_batch", label: "Global batch (sequences)", type: "number", value: 1536},
    {name: "tokens", label: "Training tokens", type: "number", value: 300e9},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
    {name: "cooling", label: "Cooling", type: "select", kind: "cooling", value: "air"},
    {name: "stack", label: "Stack", type: "select", kind: "stacks", value: "megatron-core"},
    {name: "fabric", label: "Scale-out fabric (blank: ideal)", type: "select", options: ["", ...TOPOLOGIES], value: ""},
    {name: "tp", label: "Tensor parallel (blank: chosen)", type: "number", value: ""},
    {name: "pp", label: "Pipeline stages (blank: chosen)", type: "number", value: ""},
  ]},
  serve: {endpoint: "/v1/serve", submit: "Estimate serving", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "llama2-70b"},
    {name: "accelerator", label: "Accelerator", type: "select", kind: "accelerators", value: "h100-sxm5-80gb"},
    {name: "devices", label: "Devices", type: "number", value: 8},
    {name: "precision", label: "Precision", type: "select", options: PRECISIONS, value: "fp8"},
    {name: "input_len", label: "Prompt tokens (mean)", type: "number", value: 2048},
    {name: "output_len", label: "Output tokens (mean)", type: "number", value: 256},
    {name: "ttft_slo_s", label: "TTFT target, s (blank: none)", type: "number", value: ""},
    {name: "tpot_slo_s", label: "TPOT target, s (blank: none)", type: "number", value: ""},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
    {name: "cooling", label: "Cooling", type: "select", kind: "cooling", value: "air"},
  ]},
  compare: {endpoint: "/v1/serve/compare", submit: "Compare", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "llama2-70b"},
    {name: "accelerator", label: "Accelerators (several)", type: "multi", kind: "accelerators",
      value: ["h100-sxm5-80gb", "h200-sxm-141gb"]},
    {name: "devices", label: "Devices (one, or one per accelerator)", type: "list", value: "8"},
    {name: "precision", label: "Precision", type: "select", options: PRECISIONS, value: "fp8"},
    {name: "input_len", label: "Prompt tokens (mean)", type: "number", value: 2048},
    {name: "output_len", label: "Output tokens (mean)", type: "number", value: 256},
    {name: "tpot_slo_s", label: "TPOT target, s (blank: none)", type: "number", value: ""},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
  ]},
  fabric: {endpoint: "/v1/fabric", submit: "Design fabrics", fields: [
    {name: "endpoints", label: "Endpoints (NICs)", type: "number", value: 4096},
    {name: "topology", label: "Topologies (several)", type: "multi", options: TOPOLOGIES, value: ["fat-tree", "rail-optimized", "dragonfly"]},
    {name: "switch", label: "Switch (catalog id)", type: "text", value: "eth-51t2-400g"},
    {name: "oversubscription", label: "Oversubscription (downlink:uplink)", type: "number", value: 1},
  ]},
  plan: {endpoint: "/v1/plan", submit: "Search", fields: [
    {name: "model", path: "workload.model", label: "Model", type: "select", kind: "models", value: "llama3-8b"},
    {name: "tokens", path: "workload.tokens", label: "Training tokens", type: "number", value: 1e12},
    {name: "global_batch", path: "workload.global_batch", label: "Global batches (comma list)", type: "list", value: "512"},
    {name: "accelerators", path: "menu.accelerators", label: "Accelerators", type: "multi", kind: "accelerators",
      value: ["a100-sxm4-80gb", "h100-sxm5-80gb"]},
    {name: "devices", path: "menu.devices", label: "Device counts (comma list)", type: "list", value: "256,512"},
    {name: "sites", path: "menu.sites", label: "Sites", type: "multi", kind: "sites", value: ["us-oregon", "cn-guizhou"]},
    {name: "cooling", path: "menu.cooling", label: "Cooling", type: "multi", kind: "cooling", value: ["air"]},
    {name: "stacks", path: "menu.stacks", label: "Stacks", type: "multi", kind: "stacks", value: ["megatron-core"]},
    {name: "deadline_days", path: "constraints.deadline_days", label: "Deadline, days (blank: none)", type: "number", value: ""},
    {name: "budget_usd", path: "constraints.budget_usd", label: "Budget, $ (blank: none)", type: "number", value: ""},
    {name: "top_k", path: "output.top_k", label: "Fastest to list", type: "number", value: 10},
  ]},
};
const catalogs = {};
const state = {view: "train", serial: {}, result: {}};
const $ = (sel, root = document) => root.querySelector(sel);
const make = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
const token = () => sessionStorage.getItem("flopwatt-token") || "";

// ---- forms ----
function buildForm(view) {
  const spec = VIEWS[view], section = $(`#view-${view}`);
  const form = make("form", {id: `${view}-form`, novalidate: ""});
  for (const f of spec.fields) {
    const id = `${view}-${f.name}`, box = make("div", {class: "field"});
    box.append(make("label", {for: id}, f.label));
    let input;
    if (f.type === "select" || f.type === "multi") {
      input = make("select", {id, name: f.name});
      if (f.type === "multi") input.multiple = true;
      for (const o of f.options || []) input.add(new Option(o || "(none)", o));
    } else {
      input = make("input", {id, name: f.name, type: f.type === "number" ? "number" : "text", step: "any"});
    }
    input.setAttribute("aria-describedby", `${id}-error`);
    box.append(input, make("span", {class: "field-error", id: `${id}-error`}));
    form.append(box);
  }
  form.append(make("button", {type: "submit", id: `${view}-run`}, spec.submit));
  form.addEventListener("submit", (e) => { e.preventDefault(); run(view); });
  section.append(form, make("div", {class: "error", id: `${view}-error`, role: "alert"}),
    make("div", {class: "status", id: `${view}-status`, "aria-live": "polite"}),
    make("div", {id: `${view}-result`, hidden: ""}));
}
function setValue(input, value) {
  if (input.multiple) {
    const want = Array.isArray(value) ? value : String(value).split(",");
    for (const o of input.options) o.selected = want.includes(o.value);
  } else input.value = Array.isArray(value) ? value.join(",") : value;
}
function readForm(view) {
  const out = {};
  for (const f of VIEWS[view].fields) {
    const input = $(`#${view}-${f.name}`);
    out[f.name] = input.multiple ? [...input.selectedOptions].map((o) => o.value) : input.value.trim();
  }
  return out;
}
function toNumber(text) { const v = Number(text); return text === "" || !Number.isFinite(v) ? text : v; }
function requestBody(view, values) {
  const body = {};
  for (const f of VIEWS[view].fields) {
    let v = values[f.name];
    if (v === "" || (Array.isArray(v) && v.length === 0 && f.type !== "multi")) continue;
    if (f.type === "number") v = toNumber(v);
    if (f.type === "list") v = v.split(",").map((x) => toNumber(x.trim()));
    const keys = (f.path || f.name).split(".");
    let node = body;
    for (const k of keys.slice(0, -1)) node = node[k] = node[k] || {};
    node[keys[keys.length - 1]] = v;
  }
  return body;
}

// ---- state in the URL ----
function saveState(view, values) {
  const params = new URLSearchParams({view});
  for (const [k, v] of Object.entries(values)) params.set(k, Array.isArray(v) ? v.join(",") : v);
  history.replaceState(null, "", `#${params}`);
}
function takeToken() {  // `flopwatt web --token` prints the URL with #token=...: kept for this tab, not shared
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("token")) return;
  sessionStorage.setItem("flopwatt-token", params.get("token"));
  params.delete("token");
  history.replaceState(null, "", params.toString() ? `#${params}` : location.pathname);
}
function loadState() {
  const params = new URLSearchParams(location.hash.slice(1));
  const view = VIEWS[params.get("view")] ? params.get("view") : "train";
  let any = false;
  for (const f of VIEWS[view].fields) {
    if (params.has(f.name)) { setValue($(`#${view}-${f.name}`), params.get(f.name)); any = true; }
  }
  return {view, rerun: any};
}

// ---- requests ----
function clearView(view) {
  $(`#${view}-error`).textContent = "";
  $(`#${view}-status`).textContent = "";
  const result = $(`#${view}-result`);
  result.hidden = true;
  result.replaceChildren();
  state.result[view] = null;
  for (const node of document.querySelectorAll(`#${view}-form .field-error`)) node.textContent = "";
  for (const node of document.querySelectorAll(`#${view}-form [aria-invalid]`)) node.removeAttribute("aria-invalid");
}
function fieldFor(view, name) {
  const parts = name.replace(/^body\./, "").replace(/[[\]]/g, "").split(".").filter((p) => !/^\d+$/.test(p));
  const last = parts[parts.length - 1].replace(/^--/, "").replace(/-/g, "_");
  const path = parts.join(".");
  return VIEWS[view].fields.find((f) => f.path === path || f.name === path) ||
    VIEWS[view].fields.find((f) => f.name === last || f.name === `${last}s` || `${f.name}s` === last);
}
function showErrors(view, status, detail) {
  const problems = Array.isArray(detail)
    ? detail.map((d) => [d.loc.filter((p) => p !== "body").join("."), d.msg])
    : [[String(detail).split(":")[0], String(detail).split(":").slice(1).join(":").trim()]];
  const lines = [];
  for (const [name, message] of problems) {
    const f = fieldFor(view, name);
    const text = `${name}: ${message}`;
    lines.push(text);
    if (!f) continue;
    const input = $(`#${view}-${f.name}`);
    input.setAttribute("aria-invalid", "true");
    $(`#${view}-${f.name}-error`).textContent = text;
  }
  $(`#${view}-error`).textContent = `${status === 422 ? "Invalid request" : "Bad input"}: ${lines.join("; ")}`;
}
async function run(view) {
  const serial = (state.serial[view] || 0) + 1;
  state.serial[view] = serial;
  clearView(view);
  const values = readForm(view);
  saveState(view, values);
  $(`#${view}-status`).textContent = "Working…";
  let response, data;
  try {
    response = await fetch(VIEWS[view].endpoint, {method: "POST", body: JSON.stringify(requestBody(view, values)),
      headers: {"Content-Type": "application/json", "X-Flopwatt-Token": token()}});
    data = await response.json();
  } catch (err) {
    if (serial === state.serial[view]) { $(`#${view}-status`).textContent = ""; $(`#${view}-error`).textContent = `Request failed: ${err}`; }
    return;
  }
  if (serial !== state.serial[view]) return;  // a newer request owns the view
  $(`#${view}-status`).textContent = "";
  if (!response.ok) { showErrors(view, response.status, data.detail); return; }
  state.result[view] = data;
  const result = $(`#${view}-result`);
  RENDER[view](result, data);
  result.prepend(downloads(view));
  result.hidden = false;
}

// ---- shared pieces ----
function table(rows, head, attrs = {}) {
  const t = make("table", attrs);
  if (head) { const tr = t.createTHead().insertRow(); for (const h of head) tr.append(make("th", {}, h)); }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((cell, i) => {
      const td = tr.insertCell();
      if (cell && typeof cell === "object" && "text" in cell) {
        td.textContent = cell.text;
        if (cell.key) td.dataset.key = cell.key;
        if (cell.raw !== undefined) td.dataset.value = cell.raw;
      } else td.textContent = cell;
      if (i > 0) td.className = "num";
    });
  }
  return t;
}
const metric = (label, key, value, format) => [label, {text: format(value), key, raw: value ?? ""}];
function figure(title, id, entries, format, total) {
  const box = make("div");
  box.append(make("h3", {}, title));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("id", id);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  barChart(svg, entries, format, total);
  box.append(svg);
  return box;
}
function listBlock(title, items, cls) {
  const box = make("div", {class: cls});
  if (!items || !items.length) return box;
  box.append(make("h3", {}, title));
  const ul = make("ul");
  for (const item of items) ul.append(make("li", {}, item));
  box.append(ul);
  return box;
}
const KINDS = {model: "models", accelerator: "accelerators", system: "systems", site: "sites", cooling: "cooling", stack: "stacks"};
function sources(inputs) {
  const box = make("div", {class: "sources"});
  box.append(make("h3", {}, "Catalog figures used (sources)"));
  for (const [field, kind] of Object.entries(KINDS)) {
    const id = inputs[field], entry = catalogs[kind] && catalogs[kind][id];
    if (!entry) continue;
    const cited = Object.entries(entry).filter(([k, v]) => /source|retrieved/.test(k) && v);
    const d = make("details", {"data-kind": kind, "data-id": id});
    const summary = make("summary", {title: cited.map(([k, v]) => `${k}: ${v}`).join("\n")},
      `${field}: ${id}${entry.name ? ` — ${entry.name}` : ""}`);
    d.append(summary);
    for (const [k, v] of cited) d.append(make("p", {class: "source"}, `${k}: ${v}`));
    box.append(d);
  }
  return box;
}
const strip = (key) => key.split("/").slice(1).join("/") || key;
function planLine(plan) {
  return Object.entries(plan).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${v}`).join("  ");
}
function infeasible(root, r) {
  root.append(make("p", {class: "error", id: "infeasible"}, `No feasible plan: ${r.message}`));
  root.append(listBlock("Assumptions", r.assumptions), listBlock("Advice", r.advice));
}

// ---- views ----
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
  root.append(listBlock("Infeasible configurations by reason", reasons));
}
const RENDER = {train: renderTrain, serve: renderServe, compare: renderCompare, fabric: renderFabric, plan: renderPlan};

// ---- downloads ----
function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = Array.isArray(v) ? v.join("; ") : v;
  }
  return out;
}
function toCsv(view, data) {
  const rows = view === "plan" ? data.pareto_front : (Array.isArray(data) ? data : [data]).map((r) => flatten(r));
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
function downloads(view) {
  const box = make("div", {class: "actions"});
  const save = (ext, type, text) => {
    const a = make("a", {href: URL.createObjectURL(new Blob([text], {type})), download: `flopwatt-${view}.${ext}`});
    document.body.append(a); a.click(); a.remove();
  };
  const json = make("button", {type: "button", id: `${view}-download-json`}, "Download JSON");
  json.addEventListener("click", () => save("json", "application/json", JSON.stringify(state.result[view], null, 2)));
  const csv = make("button", {type: "button", id: `${view}-download-csv`}, "Download CSV");
  csv.addEventListener("click", () => save("csv", "text/csv", toCsv(view, state.result[view])));
  box.append(json, csv);
  return box;
}

// ---- start ----
function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${view}`;
}
async function fillCatalogs() {
  const kinds = [...new Set(Object.values(VIEWS).flatMap((v) => v.fields.map((f) => f.kind)).filter(Boolean)), "systems"];
  await Promise.all(kinds.map(async (kind) => {
    const response = await fetch(`/v1/catalog/${kind}`, {headers: {"X-Flopwatt-Token": token()}});
    catalogs[kind] = response.ok ? await response.json() : {};
    if (response.status === 401) {
      $("#notice").textContent = "This server requires a token: open the URL that `flopwatt web` printed " +
        "(it ends in #token=...).";
    }
  }));
  for (const [view, spec] of Object.entries(VIEWS)) {
    for (const f of spec.fields) {
      const input = $(`#${view}-${f.name}`);
      if (f.kind) for (const id of Object.keys(catalogs[f.kind]).sort()) input.add(new Option(id, id));
      setValue(input, f.value);
    }
  }
}
async function start() {
  for (const view of Object.keys(VIEWS)) buildForm(view);
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  takeToken();
  await fillCatalogs();
  const {view, rerun} = loadState();
  show(view);
  document.body.dataset.ready = "true";
  if (rerun) run(view);
  window.addEventListener("hashchange", () => {  // a link pasted into this tab: show and re-run it
    const next = loadState();
    show(next.view);
    if (next.rerun) run(next.view);
  });
}
start();
