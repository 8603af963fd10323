// SVG figures drawn from API results: horizontal bars (one row per component) and a scatter.
"use strict";
const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f5fbf", "#b3541e", "#2b7a3d", "#8a2f6b", "#5b5b5b", "#8a6d00", "#0f6f7a", "#5a3d99", "#a12a2a"];
function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
// entries: [[label, value]]; format(value) -> text; total (optional) gives the share in %.
function barChart(svg, entries, format, total) {
  svg.replaceChildren();
  const width = 900, row = 24, labelW = 230, valueW = 190;
  const shown = entries.filter(([, v]) => Number.isFinite(v) && v > 0);
  const max = Math.max(...shown.map(([, v]) => v), 1e-300);
  svg.setAttribute("viewBox", `0 0 ${width} ${row * shown.length + 4}`);
  svg.setAttribute("height", row * shown.length + 4);
  shown.forEach(([label, v], i) => {
    const y = i * row + 2, w = Math.max(1, (width - labelW - valueW) * v / max);
    const share = total ? ` (${fmt.num(100 * v / total)}%)` : "";
    const g = el("g", {class: "bar", "data-part": label, "data-value": String(v)});
    g.append(el("text", {x: 0, y: y + 16, class: "label"}, label));
    const rect = el("rect", {x: labelW, y: y + 3, width: w, height: row - 8, fill: PALETTE[i % PALETTE.length]});
    rect.append(el("title", {}, `${label}: ${format(v)}${share}`));
    g.append(rect);
    g.append(el("text", {x: labelW + w + 6, y: y + 16, class: "value"}, `${format(v)}${share}`));
    svg.append(g);
  });
}
// points: [{x, y, index, group, best}]; onPick(index) when a point is clicked or chosen by keyboard.
function scatter(svg, points, axes, onPick) {
  svg.replaceChildren();
  const W = 900, H = 420, L = 90, R = 20, T = 16, B = 50;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const span = (v) => { const lo = Math.min(...v), hi = Math.max(...v); const pad = (hi - lo) * 0.06 || Math.abs(lo) * 0.1 || 1; return [lo - pad, hi + pad]; };
  const [x0, x1] = span(xs), [y0, y1] = span(ys);
  const px = (x) => L + (W - L - R) * (x - x0) / (x1 - x0), py = (y) => H - B - (H - T - B) * (y - y0) / (y1 - y0);
  svg.append(el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"}));
  svg.append(el("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"}));
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    svg.append(el("text", {x: px(xv), y: H - B + 16, "text-anchor": "middle", class: "tick"}, axes.x.format(xv)));
    svg.append(el("text", {x: L - 6, y: py(yv) + 4, "text-anchor": "end", class: "tick"}, axes.y.format(yv)));
  }
  svg.append(el("text", {x: (L + W) / 2, y: H - 8, "text-anchor": "middle", class: "axis-label"}, axes.x.label));
  svg.append(el("text", {x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis-label",
    transform: `rotate(-90 14 ${(T + H - B) / 2})`}, axes.y.label));
  const groups = [...new Set(points.map((p) => p.group))];
  for (const p of points) {
    const color = PALETTE[groups.indexOf(p.group) % PALETTE.length];
    const attrs = {cx: px(p.x), cy: py(p.y), r: p.best ? 8 : 5, fill: color, tabindex: 0, role: "button",
      class: p.best ? "point best" : "point", "data-index": p.index, "data-group": p.group,
      "aria-label": `${p.group}: ${axes.x.label} ${axes.x.format(p.x)}, ${axes.y.label} ${axes.y.format(p.y)}`};
    if (p.best) Object.assign(attrs, {stroke: "#111", "stroke-width": 2});
    const c = el("circle", attrs);
    c.append(el("title", {}, attrs["aria-label"] + (p.best ? " (best of its accelerator)" : "")));
    c.addEventListener("click", () => onPick(p.index));
    c.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onPick(p.index); } });
    svg.append(c);
  }
  return groups.map((g, i) => [g, PALETTE[i % PALETTE.length]]);
}
