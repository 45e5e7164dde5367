// Benches: each bench's crossbars, job, and its instruments' live state (identity, outputs, limits, relays).
import {api} from "/ui/api.js";
import {el, clear, badge, ready} from "/ui/util.js";

const POLL_MS = 2000;

function instrumentRows(insts) {
  return Object.values(insts).map((v) => {
    const outs = v.outputs_on
      ? el("div.chips", {}, Object.entries(v.outputs_on).map(([ch, on]) =>
        el(`span.badge.${on ? "s-live" : "s-safe"}`, {text: `ch ${ch} ${on ? "ON" : "off"}`})))
      : el("span.muted", {text: "–"});
    const relays = v.closed_count !== undefined
      ? el("div", {}, el(`span.badge.${v.closed_count ? "s-live" : "s-safe"}`,
        {text: `${v.closed_count} closed`}),
      v.closed && v.closed.length ? el("div.chips", {}, v.closed.slice(0, 32).map((p) => el("span.chip", {text: p.join(":")}))) : null)
      : el("span.muted", {text: "–"});
    return el("tr", {dataset: {instrument: v.name}},
      el("td", {}, el("b", {text: v.name}), el("div.muted", {text: v.driver || ""})),
      el("td", {}, el("div", {text: v.idn || "–"}), el("div.muted.mono", {text: v.resource || ""})),
      el("td", {}, outs),
      el("td.num", {text: v.max_voltage !== undefined ? `${v.max_voltage} V` : "–"}),
      el("td.num", {text: v.compliance !== undefined ? `${v.compliance} A` : "–"}),
      el("td", {}, relays));
  });
}

function isSafe(snap) {
  const insts = Object.values(snap.instruments || {});
  const live = insts.some((v) => Object.values(v.outputs_on || {}).some(Boolean));
  const closed = insts.some((v) => (v.closed_count || 0) > 0);
  return !live && !closed;
}

function benchCard(b) {
  const snap = b.snapshot || {};
  const safe = isSafe(snap);
  const lim = snap.limits || {};
  const events = snap.safe_events || [];
  return el("section.card", {dataset: {bench: b.name, safe: safe ? "yes" : "no"}},
    el("div.row", {},
      el("h2.grow", {}, `Bench ${b.name}`, snap.bench ? el("span.muted", {text: ` (${snap.bench})`}) : null),
      el(`span.badge.${safe ? "s-safe" : "s-live"}.safe-state`,
        {text: safe ? "safe state: outputs off, relays open" : "LIVE: outputs on or relays closed"})),
    el("p", {},
      "Crossbars: ", Object.entries(b.crossbars).map(([n, x]) => `${n} (${x.rows}×${x.cols})`).join(", "), " · ",
      b.running_job ? el("span", {}, "running job ", el("a", {href: `#/jobs/${b.running_job}`, text: b.running_job}))
        : el("span.muted", {text: "idle"}),
      ` · ${b.queued_jobs} queued`),
    el("p.muted", {},
      `Limits: program ≤ ${lim.max_program_voltage ?? "–"} V, read clamp ${lim.read_clamp ?? "–"} V, ` +
      `compliance ${lim.compliance ?? "–"} A, pulse ${lim.min_pulse_width ?? "–"}–${lim.max_pulse_width ?? "–"} s`),
    el("table", {},
      el("thead", {}, el("tr", {}, ["Instrument", "Identity", "Outputs", "Max V", "Compliance", "Relays"]
        .map((h) => el("th", {text: h})))),
      el("tbody", {}, instrumentRows(snap.instruments || {}))),
    el("h3", {text: "Last safe-state events"}),
    events.length ? el("ul.safe-events", {}, events.slice(-3).reverse().map((m) => el("li", {text: m})))
      : el("p.muted", {text: "none since the service started"}));
}

export function mount(root) {
  const ctl = new AbortController();
  let timer = null;
  const body = el("div");
  root.append(el("h1", {text: "Benches"}), el("p.muted", {text: "Live: instruments are asked for their state every 2 s."}), body);
  let first = true;
  async function tick() {
    try {
      const list = await api("/benches", {signal: ctl.signal});
      const full = [];
      for (const b of list) full.push(await api(`/benches/${encodeURIComponent(b.name)}`, {signal: ctl.signal}));
      clear(body).append(...full.map(benchCard));
      if (first) { first = false; ready("benches"); }
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (first) clear(body).append(el("p.error", {text: e.message}));
    }
    if (!ctl.signal.aborted) timer = setTimeout(tick, POLL_MS);
  }
  tick();
  return () => { ctl.abort(); clearTimeout(timer); };
}
