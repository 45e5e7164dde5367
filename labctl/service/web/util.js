// Small DOM and formatting helpers shared by the pages.

/** el("div.card", {title: "x", onclick: f}, child, "text", ...) -> HTMLElement */
export function el(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Siemens with a sensible prefix. */
export function siemens(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e-3) return `${(v * 1e3).toPrecision(3)} mS`;
  if (a >= 1e-6 || a === 0) return `${(v * 1e6).toPrecision(3)} µS`;
  return `${(v * 1e9).toPrecision(3)} nS`;
}

export function when(unix) {
  if (!unix) return "–";
  const d = new Date(unix * 1000);
  return d.toLocaleString(undefined, {hour12: false});
}

export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

export function badge(state) {
  return el(`span.badge.s-${state}`, {text: state});
}

export function progressBar(done, total) {
  const frac = total ? Math.min(1, done / total) : 0;
  const fill = el("div.fill");
  fill.style.width = `${(100 * frac).toFixed(1)}%`;
  return el("div.bar", {role: "progressbar", "aria-valuenow": done, "aria-valuemax": total},
    fill, el("span.label", {text: total ? `${done} / ${total}` : "–"}));
}

export function setProgress(bar, done, total) {
  const frac = total ? Math.min(1, done / total) : 0;
  bar.querySelector(".fill").style.width = `${(100 * frac).toFixed(1)}%`;
  bar.querySelector(".label").textContent = total ? `${done} / ${total}` : "–";
  bar.setAttribute("aria-valuenow", done);
  bar.setAttribute("aria-valuemax", total);
}

/** A two-column table of key/value pairs (values rendered as text, objects as compact JSON). */
export function kvTable(obj, cls = "kv") {
  const rows = Object.entries(obj || {}).map(([k, v]) =>
    el("tr", {}, el("th", {text: k}), el("td", {text: typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)})));
  return el(`table.${cls}`, {}, el("tbody", {}, rows));
}

/** Marks the page rendered (the browser tests wait for it; load time from navigation start). */
export function ready(page) {
  document.body.dataset.ready = page;
  const t0 = window.labctlNavStart ?? 0;
  window.labctlReady = {page, ms: performance.now() - t0};
}

/** A confirmation in the page (no browser-native dialog): resolves true on yes. */
export function confirmDialog(text) {
  const d = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "yes"), {once: true});
    d.returnValue = "";
    d.showModal();
  });
}

/** Replace a node's children (null/false skipped, arrays flattened). */
export function put(node, ...children) {
  clear(node);
  for (const c of children.flat(2)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c);
  }
  return node;
}
