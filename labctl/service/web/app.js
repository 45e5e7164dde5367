// The single page: a hash router over the pages, the connection banner, the token dialog.
import {bus, getToken, isReachable, setToken, watchConnection} from "/ui/api.js";
import {el, clear} from "/ui/util.js";
import * as benches from "/ui/benches.js";
import * as jobs from "/ui/jobs.js";
import * as job from "/ui/job.js";
import * as runs from "/ui/runs.js";
import * as run from "/ui/run.js";
import * as submit from "/ui/submit.js";

const ROUTES = [
  [/^#\/benches$/, benches, "benches"],
  [/^#\/jobs$/, jobs, "jobs"],
  [/^#\/jobs\/([0-9a-f]{12})$/, job, "jobs"],
  [/^#\/runs$/, runs, "runs"],
  [/^#\/runs\/([A-Za-z0-9][A-Za-z0-9_.-]{0,80})$/, run, "runs"],
  [/^#\/submit$/, submit, "submit"],
];

const main = document.getElementById("main");
let unmount = null;

function render() {
  window.labctlNavStart = window.labctlNavStart ?? 0;
  if (unmount) { try { unmount(); } catch (e) { console.error(e); } unmount = null; }
  delete document.body.dataset.ready;
  const hash = location.hash || "#/benches";
  const hit = ROUTES.find(([re]) => re.test(hash));
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", !!hit && a.dataset.nav === hit[2]);
  clear(main);
  if (!hit) {
    main.append(el("h1", {text: "Not found"}), el("p", {}, "No page ", el("code", {text: hash}), ". ",
      el("a", {href: "#/benches", text: "Benches"})));
    return;
  }
  const [re, page] = hit;
  const args = re.exec(hash).slice(1);
  const root = el("div.page");
  main.append(root);
  unmount = page.mount(root, ...args) || null;
}

window.addEventListener("hashchange", () => { window.labctlNavStart = performance.now(); render(); });

// -- connection state: a plain banner when the service cannot be reached -------------------------------
const conn = document.getElementById("conn");
const banner = document.getElementById("banner");
bus.addEventListener("connection", (e) => {
  const ok = e.detail.ok;
  conn.className = `conn ${ok ? "ok" : "down"}`;
  conn.textContent = ok ? "connected" : "unreachable";
  if (ok) {
    banner.hidden = true;
    render();  // the service is back (perhaps restarted): show its present state
  } else {
    banner.hidden = false;
    banner.className = "banner";
    banner.textContent = `The labctl service at ${location.host} is unreachable (stopped or restarting). ` +
      `Retrying every second; since ${new Date().toLocaleTimeString(undefined, {hour12: false})}.`;
  }
});
watchConnection();

// -- the token: asked once per browser session, kept in sessionStorage, sent as the bearer header ---------
const dialog = document.getElementById("token-dialog");
const input = document.getElementById("token-input");
const terr = document.getElementById("token-error");
bus.addEventListener("auth", (e) => {
  if (dialog.open) return;
  banner.hidden = false;
  banner.className = "banner";
  banner.textContent = "Refused: this service needs its token (401). Enter it to continue.";
  terr.textContent = getToken() ? `The token was refused: ${e.detail.detail || "401"}` : "";
  input.value = "";
  dialog.showModal();
});
document.getElementById("token-form").addEventListener("submit", () => {
  setToken(input.value.trim());
  banner.hidden = true;
  render();
});

if (!isReachable()) banner.hidden = false;
render();
