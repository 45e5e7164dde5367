// One job, live: progress, state (resumed after a restart), and for programming the conductance map filling in
// cell by cell from the job's `cells` events, with pulses-per-cell and error histograms. Reads and inference
// show their map and outputs when they finish.
import {api, follow} from "/ui/api.js";
import {el, clear, put, badge, progressBar, setProgress, when, ready, kvTable} from "/ui/util.js";
import {Heatmap, Histogram, pulseBins, errorBins} from "/ui/map.js";
import {cancelJob} from "/ui/jobs.js";

const CELL_PROTOCOLS = new Set(["program", "forming"]);
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Live statistics the browser tests read: map lag per painted cell (s), cells painted. */
function liveStats() {
  window.labctlLive = {lags: [], painted: 0, events: 0, reconnects: 0};
  return window.labctlLive;
}

export function mount(root, id) {
  const stats = liveStats();
  let stop = null;
  let closed = false;
  let job = null;
  let heat = null;
  let finalLoaded = false;
  let runAsked = false;
  const cells = new Map();  // "r,c" -> {row, col, status, conductance, target, pulses}
  const title = el("h1", {}, `Job `, el("span.mono", {text: id}));
  const head = el("div.card");
  const bar = progressBar(0, 0);
  const message = el("p.muted.message");
  const live = el("span.badge.link-state", {text: "connecting"});
  const lagText = el("span.muted.lag");
  const body = el("div");
  root.append(title, head, el("div.card", {}, el("div.row", {}, el("div.grow", {}, bar), live, lagText), message), body);

  function renderHead() {
    const resumed = job.attempts > 1;
    const cancel = TERMINAL.has(job.state) ? null : el("button.danger.cancel", {text: "Cancel job", onclick: async (e) => {
      e.target.disabled = true;
      try {
        const j = await cancelJob(job.id, job.protocol || job.kind);
        if (j) { job = j; renderHead(); } else e.target.disabled = false;
      } catch (err) { message.textContent = err.message; e.target.disabled = false; }
    }});
    put(head,
      el("div.row", {},
        el("div.grow", {},
          el("b", {text: job.protocol ? `${job.protocol}` : job.kind}),
          ` on bench ${job.lane}${job.crossbar ? " / " + job.crossbar : ""} · submitted ${when(job.created)}`,
          job.started ? ` · started ${when(job.started)}` : "",
          job.finished ? ` · finished ${when(job.finished)}` : ""),
        el("span.job-state", {dataset: {state: job.state}}, badge(job.state)),
        resumed ? el("span.badge.s-resumed.resumed", {text: `resumed · attempt ${job.attempts}`}) : null,
        cancel),
      resumed ? el("p.resumed-note", {text: "This job was interrupted (service restart) and resumed from its journal: " +
        "cells verified before the interruption were not pulsed again."}) : null,
      job.error ? el("p", {}, el("b", {text: "Note: "}), job.error) : null,
      job.run_id ? el("p", {}, "Run ", el("a.mono", {href: `#/runs/${job.run_id}`, text: job.run_id})) : null,
      el("details", {}, el("summary", {text: "Parameters"}), kvTable(job.params)));
  }

  // -- the map ----------------------------------------------------------------------------------------
  const pulsesHist = new Histogram("Pulses per cell");
  const errHist = new Histogram("Error: (G − target) / target, %");
  const counts = el("div.stats");
  let histTimer = 0;
  function drawStats() {
    histTimer = 0;
    const all = [...cells.values()];
    const c = heat.counts();
    const total = job.progress ? job.progress.total : 0;
    const meanPulses = all.length ? all.reduce((s, x) => s + x.pulses, 0) / all.length : 0;
    clear(counts).append(
      ...[["converged", c.converged], ["failed", c.failed], ["stuck", c.stuck],
        ["waiting", Math.max(0, total - all.length)], ["cells done", all.length],
        ["pulses per cell", meanPulses.toFixed(2)], ["pulses", all.reduce((s, x) => s + x.pulses, 0)],
        ["in band", all.length ? `${(100 * c.converged / all.length).toFixed(1)} %` : "–"]]
        .map(([k, v]) => el("div.stat", {dataset: {stat: k}}, el("b", {text: String(v)}), k)));
    pulsesHist.draw(pulseBins(all.map((x) => x.pulses)), "pulses");
    errHist.draw(errorBins(all.filter((x) => x.conductance !== null && x.target > 0)
      .map((x) => 100 * (x.conductance - x.target) / x.target)), "error, % of target (green: within ±3 %)");
  }
  function scheduleStats() { if (!histTimer) histTimer = setTimeout(drawStats, 200); }

  function addCells(list, stamped) {
    const fresh = [];
    for (const c of list) {
      const key = `${c.row},${c.col}`;
      if (cells.has(key) && cells.get(key).status === c.status) continue;
      cells.set(key, c);
      fresh.push(stamped ? {...c, fresh: true} : c);
    }
    if (fresh.length) { heat.add(fresh); scheduleStats(); }
  }

  let liveSince = Infinity;  // (Unix s) lag is measured for cells committed after this stream connected
  function onPaint(batch) {
    const now = Date.now() / 1000;
    for (const c of batch) if (c.fresh && c.t >= liveSince) stats.lags.push(now - c.t);
    stats.painted = heat.painted;
    const recent = stats.lags.slice(-200);
    if (recent.length) {
      const sorted = [...recent].sort((a, b) => a - b);
      lagText.textContent = `map lag behind the journal: median ${(1000 * sorted[sorted.length >> 1]).toFixed(0)} ms, ` +
        `max ${(1000 * sorted[sorted.length - 1]).toFixed(0)} ms (last ${recent.length} cells)`;
    }
  }

  function setupMap(rows, cols) {
    let lo = 5e-6, hi = 2e-4;
    const p = job.params || {};
    if (p.random_levels) { lo = (p.level_min ?? 10e-6) / 1.6; hi = (p.level_max ?? 100e-6) * 1.6; }
    heat = new Heatmap(rows, cols, lo, hi);
    heat.onPaint = onPaint;
    if (p.random_levels && job.protocol === "program") {
      const [r0, c0] = p.origin || [0, 0];
      const [nr, nc] = p.shape || [rows - r0, cols - c0];
      heat.pending(r0, c0, nr, nc);
    }
    clear(body).append(el("div.card", {}, el("div.row", {},
      el("div", {}, el("h2", {text: `Conductance map (${rows}×${cols})`}), heat.view()),
      el("div.grow", {}, el("h2", {text: "Cells"}), counts, pulsesHist.box, errHist.box))));
    drawStats();
  }

  async function loadJournal() {
    if (!job.run_id || !heat) return;
    try {
      const page = await api(`/runs/${job.run_id}/cells`);
      addCells(page.cells, false);
    } catch (e) { message.textContent = `journal: ${e.message}`; }
  }

  async function loadFinal() {
    if (finalLoaded) return;
    if (!job.run_id) {  // a training or sync job: its result is in the job itself
      if (job.result || job.error) {
        finalLoaded = true;
        body.append(el("div.card.final", {}, el("h2", {text: "Result"}),
          job.result ? kvTable(job.result.metrics || job.result) : el("p.error", {text: job.error})));
      }
      return;
    }
    finalLoaded = true;
    const box = el("div.card.final");
    body.append(box);
    try {
      const run = await api(`/runs/${job.run_id}`);
      const maps = await api(`/runs/${job.run_id}/maps`);
      if (maps.length && !CELL_PROTOCOLS.has(job.protocol)) {
        const m = await api(`/runs/${job.run_id}/map`);
        const rows = m.conductance.length;
        const cols = rows ? m.conductance[0].length : 0;
        const vals = m.conductance.flat().filter((v) => v !== null && v > 0).sort((a, b) => a - b);
        const map = new Heatmap(rows, cols);
        if (vals.length) map.rescale(vals[Math.floor(0.01 * (vals.length - 1))] * 0.9, vals[Math.floor(0.99 * (vals.length - 1))] * 1.1);
        const list = [];
        m.conductance.forEach((row, r) => row.forEach((g, c) => { if (g !== null) list.push({row: r, col: c, status: "measured", conductance: g}); }));
        map.add(list);
        box.append(el("h2", {text: `Map "${m.name}" at ${m.read_voltage} V`}), map.view());
      }
      const results = (run.results || []).filter((r) => r.name !== "summary");
      if (results.length) {
        box.append(el("h2", {text: "Outputs"}));
        for (const r of results) {
          const shown = {};
          for (const [k, v] of Object.entries(r.data || {})) {
            shown[k] = Array.isArray(v) && JSON.stringify(v).length > 200 ? `${JSON.stringify(v).slice(0, 200)} … (${v.length} items)` : v;
          }
          box.append(el("h3", {text: r.name}), kvTable(shown));
        }
      }
      if (job.result && job.result.summary) box.append(el("h2", {text: "Summary"}), kvTable(job.result.summary));
    } catch (e) { box.append(el("p.error", {text: e.message})); }
  }

  function onEvent(event, data) {
    stats.events += 1;
    if (event === "cells" && heat) {
      if (!job.run_id && !runAsked) {  // the state events name the run only when the state changes: ask once
        runAsked = true;
        api(`/jobs/${id}`).then((j) => { if (j.run_id) { job = j; renderHead(); } }).catch(() => { runAsked = false; });
      }
      addCells(data.cells.map(([row, col, status, conductance, target, pulses, t]) =>
        ({row, col, status, conductance, target, pulses, t})), true);
    } else if (event === "progress") {
      job.progress = data;
      setProgress(bar, data.done, data.total);
      message.textContent = data.message || "";
    } else if (event === "state") {
      const changed = data.state !== job.state || data.attempts !== job.attempts || data.run_id !== job.run_id;
      const newRun = data.run_id && !job.run_id;
      Object.assign(job, data);
      if (changed) {
        api(`/jobs/${id}`).then((j) => { job = j; renderHead(); }).catch(() => renderHead());
      }
      if (newRun) loadJournal();
      if (TERMINAL.has(data.state)) { if (heat) drawStats(); loadFinal(); }
    }
  }

  (async () => {
    let benches;
    const jobP = api(`/jobs/${id}`);
    // the journal's cells are asked for as soon as the run is known, while the page is being built
    const cellsP = jobP.then((j) => (j.run_id && CELL_PROTOCOLS.has(j.protocol)
      ? api(`/runs/${j.run_id}/cells`) : null)).catch(() => null);
    try {
      [job, benches] = await Promise.all([jobP, api("/benches")]);
    } catch (e) {
      put(head, el("p.error", {text: e.message}));
      ready("job");
      return;
    }
    renderHead();
    if (job.progress) setProgress(bar, job.progress.done, job.progress.total);
    if (job.kind === "protocol" && CELL_PROTOCOLS.has(job.protocol)) {
      const b = benches.find((x) => x.name === job.lane);
      const xb = b && (b.crossbars[job.crossbar] || Object.values(b.crossbars)[0]);
      setupMap(xb ? xb.rows : 64, xb ? xb.cols : 64);
      const page = await cellsP;
      if (page) addCells(page.cells, false);
    }
    if (TERMINAL.has(job.state)) loadFinal();
    ready("job");
    if (closed) return;
    let wasDown = false;
    stop = follow(() => `/jobs/${id}/live?cells_from=0`, onEvent, (st) => {
      live.textContent = {live: "live", connecting: "connecting", reconnecting: "reconnecting…", ended: "ended"}[st] || st;
      live.className = `badge link-state ${st === "live" ? "s-running" : st === "ended" ? "" : "s-failed"}`;
      if (st === "live" && liveSince === Infinity) liveSince = Date.now() / 1000;
      if (st === "reconnecting") { wasDown = true; stats.reconnects += 1; liveSince = Infinity; }
      if (st === "live" && wasDown) {  // back after a drop: the journal has what the old stream did not send
        wasDown = false;
        loadJournal();
      }
    });
  })();
  return () => { closed = true; if (stop) stop(); clearTimeout(histTimer); };
}
