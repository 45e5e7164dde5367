// Jobs: the queue and the history; progress bars follow the running jobs' event streams; cancel asks first.
import {api, follow} from "/ui/api.js";
import {el, clear, badge, progressBar, setProgress, when, ready, confirmDialog} from "/ui/util.js";

const POLL_MS = 2000;
const ACTIVE = new Set(["queued", "running"]);

export async function cancelJob(id, what) {
  if (!(await confirmDialog(`Cancel job ${id} (${what})? A running job stops and its bench goes to its safe state.`))) {
    return null;
  }
  return api(`/jobs/${id}/cancel`, {method: "POST"});
}

function what(j) {
  return j.protocol ? `${j.protocol} on ${j.lane}${j.crossbar ? "/" + j.crossbar : ""}` : `${j.kind} (${j.lane})`;
}

export function mount(root) {
  const ctl = new AbortController();
  const streams = new Map();  // job id -> stop()
  const bars = new Map();  // job id -> progress bar element
  let timer = null;
  let first = true;
  const tbody = el("tbody");
  const msg = el("p.muted");
  root.append(el("h1", {text: "Jobs"}), msg,
    el("table.jobs", {}, el("thead", {}, el("tr", {}, ["Job", "What", "State", "Progress", "Submitted", "Attempts", ""]
      .map((h) => el("th", {text: h})))), tbody));

  function row(j) {
    const p = j.progress || {done: 0, total: 0};
    const bar = progressBar(p.done, p.total);
    bars.set(j.id, bar);
    const resumed = j.attempts > 1 ? el("span.badge.s-resumed", {text: "resumed"}) : null;
    const cancel = ACTIVE.has(j.state)
      ? el("button.cancel", {text: "Cancel", onclick: async (e) => {
        e.target.disabled = true;
        try { await cancelJob(j.id, what(j)); } catch (err) { msg.textContent = err.message; }
        refresh();
      }}) : null;
    return el("tr", {dataset: {job: j.id, state: j.state}},
      el("td", {}, el("a.mono", {href: `#/jobs/${j.id}`, text: j.id})),
      el("td", {text: what(j)}),
      el("td", {}, badge(j.state), " ", resumed),
      el("td", {}, bar),
      el("td", {text: when(j.created)}),
      el("td.num", {text: j.attempts}),
      el("td", {}, cancel));
  }

  async function refresh() {
    try {
      const page = await api("/jobs?limit=50", {signal: ctl.signal});
      bars.clear();
      clear(tbody).append(...page.jobs.map(row));
      msg.textContent = `${page.total} jobs; newest first (50 shown).`;
      for (const j of page.jobs) {
        if (j.state === "running" && !streams.has(j.id)) {
          streams.set(j.id, follow(`/jobs/${j.id}/events`, (event, data) => {
            const bar = bars.get(j.id);
            if (event === "progress" && bar) setProgress(bar, data.done, data.total);
            if (event === "state" && !ACTIVE.has(data.state)) refresh();
          }));
        }
      }
      for (const [id, stop] of streams) {
        if (!page.jobs.some((j) => j.id === id && j.state === "running")) { stop(); streams.delete(id); }
      }
      if (first) { first = false; ready("jobs"); }
    } catch (e) {
      if (ctl.signal.aborted) return;
      msg.textContent = e.message;
    }
  }
  async function loop() {
    await refresh();
    if (!ctl.signal.aborted) timer = setTimeout(loop, POLL_MS);
  }
  loop();
  return () => { ctl.abort(); clearTimeout(timer); for (const stop of streams.values()) stop(); };
}
