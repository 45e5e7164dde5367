// The service API as the pages use it: bearer token from sessionStorage (never in a URL), JSON errors,
// server-sent events read with fetch streaming (so they carry the header), and the connection state.

const KEY = "labctl-token";
export const bus = new EventTarget();
let reachable = true;

export const getToken = () => sessionStorage.getItem(KEY);
export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY);
}

export class HttpError extends Error {
  constructor(status, body) {
    const d = body && body.detail;
    super(typeof d === "string" ? d : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export class Unreachable extends Error {}

function setReachable(ok, why) {
  if (ok === reachable) return;
  reachable = ok;
  bus.dispatchEvent(new CustomEvent("connection", {detail: {ok, why: why ? String(why) : ""}}));
}

export const isReachable = () => reachable;

/** fetch with the bearer header; JSON back (or the Response with raw). 401 asks for a token. */
export async function api(path, {method = "GET", body, raw = false, signal, accept = "application/json"} = {}) {
  const headers = {Accept: accept};
  const t = getToken();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, {method, headers, signal, cache: "no-store",
      body: body !== undefined ? JSON.stringify(body) : undefined});
  } catch (e) {
    if (e.name === "AbortError") throw e;
    setReachable(false, e);
    throw new Unreachable(`the service at ${location.host} is unreachable (${e.message})`);
  }
  setReachable(true);
  if (!r.ok) {
    const text = await r.text();
    let parsed;
    try { parsed = JSON.parse(text); } catch { parsed = {detail: text || r.statusText}; }
    if (r.status === 401) bus.dispatchEvent(new CustomEvent("auth", {detail: parsed}));
    throw new HttpError(r.status, parsed);
  }
  return raw ? r : r.json();
}

/** Read one server-sent event stream; resolves when it ends. */
async function readStream(path, onEvent, signal) {
  const r = await api(path, {raw: true, signal, accept: "text/event-stream"});
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (e.name === "AbortError" || (signal && signal.aborted)) throw e;
        setReachable(false, e);
        throw new Unreachable("lost the event stream");
      }
      if (chunk.done) return;
      buf += chunk.value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(event, JSON.parse(data.join("\n")));
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Follow a job's event stream until its terminal state, reconnecting after a drop (a service restart):
 * onEvent(event, data); onStatus("live" | "reconnecting" | "ended", error?). Returns stop().
 */
export function follow(path, onEvent, onStatus = () => {}) {
  const ctl = new AbortController();
  let terminal = false;
  const handle = (event, data) => {
    if (event === "state" && ["succeeded", "failed", "cancelled"].includes(data.state)) terminal = true;
    onEvent(event, data);
  };
  (async () => {
    let delay = 500;
    while (!ctl.signal.aborted) {
      try {
        onStatus("connecting");
        await readStream(typeof path === "function" ? path() : path, (e, d) => {
          delay = 500;
          onStatus("live");
          handle(e, d);
        }, ctl.signal);
        if (terminal) { onStatus("ended"); return; }
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e instanceof HttpError && e.status !== 503) { onStatus("ended", e); return; }
        onStatus("reconnecting", e);
      }
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 4000);
    }
  })();
  return () => ctl.abort();
}

/** Download a file from the API with the header (an object URL, never a token in a link). */
export async function download(path, fallbackName) {
  const r = await api(path, {raw: true, accept: "*/*"});
  const cd = r.headers.get("Content-Disposition") || "";
  const m = /filename="([^"]+)"/.exec(cd);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = m ? m[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Keep probing /status while the service is unreachable; the page refreshes when it answers again. */
export function watchConnection() {
  setInterval(async () => {
    if (reachable) return;
    try { await api("/status"); } catch { /* still down */ }
  }, 1000);
}
