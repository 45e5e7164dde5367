// One run: parameters, status, results, export links (fetched with the token) and the measured-vs-trained report.
import {api, download} from "/ui/api.js";
import {el, clear, put, badge, when, ready, kvTable} from "/ui/util.js";

export function mount(root, id) {
  const ctl = new AbortController();
  let reportUrl = null;
  root.append(el("h1", {}, "Run ", el("span.mono", {text: id})));
  const body = el("div");
  root.append(body);
  (async () => {
    try {
      const [run, maps] = await Promise.all([api(`/runs/${id}`, {signal: ctl.signal}),
        api(`/runs/${id}/maps`, {signal: ctl.signal})]);
      const summary = (run.results || []).find((r) => r.name === "summary");
      const exportsBox = el("div.row.exports", {}, ["hdf5", "csv", "npz"].map((fmt) =>
        el("button", {text: `Export ${fmt}`, dataset: {fmt}, disabled: fmt === "npz" && !maps.length,
          onclick: async (e) => {
            e.target.disabled = true;
            try { await download(`/runs/${id}/export?fmt=${fmt}`, `${id}.${fmt}`); } catch (err) { alertBox.textContent = err.message; }
            e.target.disabled = false;
          }})));
      const alertBox = el("p.error");
      const reportBox = el("div.report-box");
      const reportBtn = el("button.primary", {text: "Show the measured-vs-trained report", onclick: async () => {
        reportBtn.disabled = true;
        try {
          const r = await api(`/runs/${id}/report`, {raw: true, accept: "text/html"});
          const html = await r.text();
          reportUrl = URL.createObjectURL(new Blob([html], {type: "text/html"}));
          clear(reportBox).append(el("iframe.report", {src: reportUrl, sandbox: "", title: "report"}));
        } catch (err) {
          clear(reportBox).append(el("p.error", {text: err.message}));
        }
        reportBtn.disabled = false;
      }});
      put(body,
        el("div.card", {},
          el("p", {}, el("b", {text: run.protocol}), ` on ${run.crossbar} · `, badge(run.status),
            ` · created ${when(run.created)} · updated ${when(run.updated)} · attempts ${run.attempts ?? "–"}`),
          run.error ? el("p.error", {text: run.error}) : null,
          el("h2", {text: "Parameters"}), kvTable(run.params),
          summary ? [el("h2", {text: "Summary"}), kvTable(summary.data)] : null,
          el("h2", {text: "Maps"}),
          maps.length ? el("ul", {}, maps.map((m) => el("li", {text: `${m.crossbar}: ${m.name}`}))) : el("p.muted", {text: "none stored"}),
          el("h2", {text: "Export"}), exportsBox, alertBox),
        el("div.card", {}, el("h2", {text: "Report"}), reportBtn, reportBox),
        el("details.card", {}, el("summary", {text: "Bench snapshot"}), kvTable(run.snapshot?.bench?.limits || {}),
          el("pre.mono", {text: JSON.stringify(run.snapshot, null, 1).slice(0, 4000)})));
    } catch (e) {
      if (!ctl.signal.aborted) clear(body).append(el("p.error", {text: e.message}));
    }
    ready("run");
  })();
  return () => { ctl.abort(); if (reportUrl) URL.revokeObjectURL(reportUrl); };
}
