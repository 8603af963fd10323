// A tiny OpenAPI renderer: every path, its summary, and the request schema's fields with bounds and defaults.
"use strict";
(async () => {
  const spec = await (await fetch("/openapi.json")).json();
  const schemas = (spec.components || {}).schemas || {};
  const resolve = (s) => (s && s.$ref ? schemas[s.$ref.split("/").pop()] : s) || {};
  const tag = (name, text, attrs = {}) => {
    const node = document.createElement(name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const typeOf = (s) => {
    s = resolve(s);
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.type === "array") return `list of ${typeOf(s.items || {})}`;
    return s.title && s.properties ? s.title : s.type || "any";
  };
  const bounds = (s) => {
    const parts = [];
    for (const s2 of [s, ...(s.anyOf || [])]) {
      for (const [k, sym] of [["minimum", ">="], ["exclusiveMinimum", ">"], ["maximum", "<="], ["exclusiveMaximum", "<"]]) {
        if (s2[k] !== undefined) parts.push(`${sym} ${s2[k]}`);
      }
    }
    return parts.join(", ");
  };
  function fieldsTable(schema, seen = new Set()) {
    schema = resolve(schema);
    const table = tag("table");
    const head = table.createTHead().insertRow();
    for (const h of ["field", "type", "bounds", "default", "description"]) head.append(tag("th", h));
    const body = table.createTBody();
    const nested = [];
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const row = body.insertRow();
      const required = (schema.required || []).includes(name);
      for (const text of [name + (required ? " (required)" : ""), typeOf(prop), bounds(prop),
        prop.default === undefined ? "" : JSON.stringify(prop.default), prop.description || ""]) row.insertCell().textContent = text;
      const inner = resolve(prop);
      if (inner.properties && !seen.has(inner.title)) { seen.add(inner.title); nested.push([name, inner]); }
    }
    const box = tag("div");
    box.append(table);
    for (const [name, inner] of nested) { box.append(tag("h4", `${name} (${inner.title})`), fieldsTable(inner, seen)); }
    return box;
  }
  const root = document.getElementById("endpoints");
  root.replaceChildren();
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const section = tag("section", undefined, {class: "endpoint", "data-path": path});
      section.append(tag("h2", `${method.toUpperCase()} ${path}`), tag("p", op.summary || ""));
      const params = (op.parameters || []).map((p) => `${p.name} (${p.in}): ${typeOf(p.schema)}`);
      if (params.length) section.append(tag("p", `Parameters: ${params.join("; ")}`));
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) {
        section.append(tag("h3", "Request body"), fieldsTable(body.schema));
        const example = tag("pre");
        example.textContent = `curl -s -X ${method.toUpperCase()} http://HOST:PORT${path} -H 'Content-Type: application/json' -d '{}'`;
        section.append(tag("p", "Example (every field has a default unless marked required):"), example);
      }
      root.append(section);
    }
  }
})();
