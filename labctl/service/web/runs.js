// Runs: the journal's runs, newest first.
import {api} from "/ui/api.js";
import {el, clear, badge, when, ready} from "/ui/util.js";

export function mount(root) {
  const ctl = new AbortController();
  const tbody = el("tbody");
  const msg = el("p.muted");
  root.append(el("h1", {text: "Runs"}), msg,
    el("table.runs", {}, el("thead", {}, el("tr", {}, ["Run", "Protocol", "Crossbar", "Status", "Created", "Progress"]
      .map((h) => el("th", {text: h})))), tbody));
  (async () => {
    try {
      const page = await api("/runs?limit=100", {signal: ctl.signal});
      msg.textContent = `${page.total} runs in the journal; newest first.`;
      clear(tbody).append(...page.runs.map((r) => el("tr", {dataset: {run: r.id}},
        el("td", {}, el("a.mono", {href: `#/runs/${r.id}`, text: r.id})),
        el("td", {text: r.protocol}),
        el("td", {text: r.crossbar}),
        el("td", {}, badge(r.status)),
        el("td", {text: when(r.created)}),
        el("td.num", {text: r.progress_total ? `${r.progress_done} / ${r.progress_total}` : "–"}))));
    } catch (e) {
      if (!ctl.signal.aborted) msg.textContent = e.message;
    }
    ready("runs");
  })();
  return () => ctl.abort();
}
