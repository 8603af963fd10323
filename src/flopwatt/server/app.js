// flopwatt page: one view per /v1 endpoint; state in the URL fragment; figures drawn from the API's JSON.
"use strict";
const catalogs = {}, examples = {};
const state = {view: "train", serial: {}, result: {}, body: {}};
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
    const id = `${view}-${f.name}`, box = make("div", {class: f.type === "textarea" ? "field wide" : "field"});
    box.append(make("label", {for: id}, f.label));
    let input;
    if (f.type === "select" || f.type === "multi") {
      input = make("select", {id, name: f.name});
      if (f.type === "multi") input.multiple = true;
      for (const o of f.options || []) input.add(new Option(o || "(none)", o));
    } else if (f.type === "textarea") {
      input = make("textarea", {id, name: f.name, rows: 10, spellcheck: "false"});
    } else if (f.type === "file") {
      input = make("input", {id, name: f.name, type: "file", accept: ".toml,text/plain"});
      input.addEventListener("change", () => readUpload(view, input));
    } else {
      input = make("input", {id, name: f.name, type: f.type === "number" ? "number" : "text", step: "any"});
    }
    input.setAttribute("aria-describedby", `${id}-error`);
    box.append(input, make("span", {class: "field-error", id: `${id}-error`}));
    form.append(box);
    if (f.examples) form.append(exampleTools(view));  // the example's summary, and a copy of it to edit
  }
  form.append(make("button", {type: "submit", id: `${view}-run`}, spec.submit));
  form.addEventListener("submit", (e) => { e.preventDefault(); run(view); });
  section.append(form, make("div", {class: "error", id: `${view}-error`, role: "alert"}),
    make("div", {class: "status", id: `${view}-status`, "aria-live": "polite"}),
    make("div", {id: `${view}-result`, hidden: ""}));
}
// A config view: the chosen example's summary, and a copy of its TOML to edit (then sent as config_toml).
function exampleTools(view) {
  const box = make("div", {class: "field example-tools"});
  const copy = make("button", {type: "button", id: `${view}-edit-example`}, "Edit a copy of the example");
  copy.addEventListener("click", () => {
    const chosen = (examples[view] || []).find((e) => e.name === $(`#${view}-example`).value);
    if (chosen) $(`#${view}-config_toml`).value = chosen.toml;
  });
  box.append(make("p", {id: `${view}-example-summary`, class: "source"}), copy);
  return box;
}
function readUpload(view, input) {
  const file = input.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $(`#${view}-config_toml`).value = String(reader.result); };
  reader.readAsText(file);
}
function setValue(input, value) {
  if (input.type === "file") return;
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
    if (f.send === false || v === "" || (Array.isArray(v) && v.length === 0 && f.type !== "multi")) continue;
    if (f.type === "number") v = toNumber(v);
    if (f.type === "list") v = v.split(",").map((x) => toNumber(x.trim()));
    const keys = (f.path || f.name).split(".");
    let node = body;
    for (const k of keys.slice(0, -1)) node = node[k] = node[k] || {};
    node[keys[keys.length - 1]] = v;
  }
  if (VIEWS[view].config && body.config_toml) delete body.example;  // the text wins over the example
  return body;
}

// ---- state in the URL ----
function saveState(view, values) {
  const params = new URLSearchParams({view});
  for (const f of VIEWS[view].fields) {
    if (f.url === false) continue;
    const v = values[f.name];
    params.set(f.name, Array.isArray(v) ? v.join(",") : v);
  }
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
function fieldFor(view, name) {  // the input an error names; a config's own tables ([sites.x].pue) -> its text
  if (VIEWS[view].config && /^(\[|config)/.test(name)) return VIEWS[view].fields.find((f) => f.name === "config_toml");
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
  if (state.abort && state.abort[view]) state.abort[view].abort();  // the older request is dropped, its work stopped
  const controller = new AbortController();
  state.abort = {...state.abort, [view]: controller};
  clearView(view);
  const values = readForm(view);
  saveState(view, values);
  const status = working(view, controller), spec = VIEWS[view];
  let response, data, ok, code;
  state.body[view] = requestBody(view, values);
  try {
    response = await fetch(spec.progress || spec.endpoint, {method: "POST", body: JSON.stringify(state.body[view]),
      headers: {"Content-Type": "application/json", "X-Flopwatt-Token": token()}, signal: controller.signal});
    [ok, code] = [response.ok, response.status];
    if (ok && spec.progress) {  // progress lines, then {"result": ...} or {"error": {status, detail}}
      const last = await readLines(response, (p) => { if (serial === state.serial[view]) status.progress(p); });
      if (!last) throw new Error("the answer ended early");
      [ok, code, data] = last.error ? [false, last.error.status, last.error] : [true, code, last.result];
    } else data = await response.json();
  } catch (err) {
    if (serial === state.serial[view]) {
      status.stop();
      if (err.name === "AbortError") $(`#${view}-status`).textContent = "Cancelled: the server stopped the computation.";
      else $(`#${view}-error`).textContent = `Request failed: ${err}`;
    }
    return;
  }
  if (serial !== state.serial[view]) return;  // a newer request owns the view
  status.stop();
  if (!ok) { showErrors(view, code, data.detail); return; }
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
function sources(inputs) {  // the catalog entries a result's inputs name
  return sourceList(Object.entries(KINDS).map(([field, kind]) => [field, kind, inputs[field]]));
}
function catalogSources(refs) {  // {kind: [ids]} as the fleet and capacity answers list them
  const field = Object.fromEntries(Object.entries(KINDS).map(([f, k]) => [k, f]));
  return sourceList(Object.entries(refs || {}).flatMap(([kind, ids]) => ids.map((id) => [field[kind] || kind, kind, id])));
}
function sourceList(refs) {  // [[label, kind, id]]: each entry's source and retrieved date on hover or expand
  const box = make("div", {class: "sources"});
  box.append(make("h3", {}, "Catalog figures used (sources)"));
  for (const [field, kind, id] of refs) {
    const entry = catalogs[kind] && catalogs[kind][id];
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
  const rows = CSV_ROWS[view] ? CSV_ROWS[view](data) : (Array.isArray(data) ? data : [data]).map((r) => flatten(r));
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
const REPORTS = ["train", "fabric", "plan", "fleet", "capacity"];  // views with a /v1/.../report page
const CSV_ROWS = {  // one row per front point, per policy, per period and site
  plan: (data) => data.pareto_front,
  fleet: (data) => Object.values(data.runs).map((r) => flatten(r)),
  capacity: (data) => data.periods.flatMap((p) => Object.entries(p.sites).map(([site, s]) => flatten({period: p.period, site, ...s}))),
};
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
  if (REPORTS.includes(view) && !(state.result[view] && state.result[view].feasible === false)) {
    const report = make("button", {type: "button", id: `${view}-download-html`}, "Download HTML report");
    report.addEventListener("click", async () => {  // the CLI's --report page of the same request, made by the server
      report.disabled = true;
      const response = await fetch(`${VIEWS[view].endpoint}/report`, {method: "POST", body: JSON.stringify(state.body[view]),
        headers: {"Content-Type": "application/json", "X-Flopwatt-Token": token()}});
      report.disabled = false;
      if (response.ok) save("html", "text/html", await response.text());
      else $(`#${view}-error`).textContent = `HTML report: ${JSON.stringify((await response.json()).detail)}`;
    });
    box.append(report);
  }
  return box;
}

// ---- start ----
function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${view}`;
}
async function fillCatalogs() {
  const kinds = [...new Set(Object.values(VIEWS).flatMap((v) => v.fields.map((f) => f.kind)).filter(Boolean)), "systems", "network-parts"];
  await Promise.all(kinds.map(async (kind) => {
    const response = await fetch(`/v1/catalog/${kind}`, {headers: {"X-Flopwatt-Token": token()}});
    catalogs[kind] = response.ok ? await response.json() : {};
    if (response.status === 401) {
      $("#notice").textContent = "This server requires a token: open the URL that `flopwatt web` printed " +
        "(it ends in #token=...).";
    }
  }));
  await Promise.all(Object.entries(VIEWS).filter(([, spec]) => spec.config).map(async ([view, spec]) => {
    const response = await fetch(`/v1/examples/${spec.config}`, {headers: {"X-Flopwatt-Token": token()}});
    examples[view] = response.ok ? await response.json() : [];
  }));
  for (const [view, spec] of Object.entries(VIEWS)) {
    for (const f of spec.fields) {
      const input = $(`#${view}-${f.name}`);
      if (f.kind) for (const id of Object.keys(catalogs[f.kind]).sort()) input.add(new Option(id, id));
      if (f.examples) {
        for (const e of examples[view]) input.add(new Option(e.name, e.name));
        const summary = () => { const e = examples[view].find((x) => x.name === input.value); $(`#${view}-example-summary`).textContent = e ? e.summary : ""; };
        input.addEventListener("change", summary);
        setValue(input, f.value);
        summary();
        continue;
      }
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
