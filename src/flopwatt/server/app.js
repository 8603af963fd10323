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
