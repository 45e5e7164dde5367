// The conductance map as a canvas heatmap (log scale, viridis), with markers for failed and stuck cells,
// and small histograms. Drawing is batched per animation frame.
import {el, siemens} from "/ui/util.js";

// viridis, 9 anchors, interpolated
const ANCHORS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129],
  [92, 200, 99], [170, 220, 50], [253, 231, 37]];
export function viridis(x) {
  const t = Math.min(1, Math.max(0, x)) * (ANCHORS.length - 1);
  const i = Math.min(ANCHORS.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [ANCHORS[i], ANCHORS[i + 1]];
  return `rgb(${a.map((v, k) => Math.round(v + f * (b[k] - v))).join(",")})`;
}

const PENDING = "#c9ced8";
const EMPTY = "#f1f3f6";

export class Heatmap {
  /** rows x cols cells; lo/hi: the colour scale (S, log). */
  constructor(rows, cols, lo = 5e-6, hi = 2e-4) {
    this.rows = rows;
    this.cols = cols;
    this.lo = lo;
    this.hi = hi;
    this.cell = Math.max(3, Math.floor(512 / Math.max(rows, cols)));
    this.canvas = el("canvas.heatmap", {width: cols * this.cell, height: rows * this.cell,
      "aria-label": "conductance map"});
    this.ctx = this.canvas.getContext("2d");
    this.g = new Float64Array(rows * cols).fill(NaN);
    this.status = new Array(rows * cols).fill("");
    this.queue = [];
    this.frame = 0;
    this.painted = 0;
    this.onPaint = null;  // (cells drawn this frame) => void
    this.ctx.fillStyle = EMPTY;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.legend = el("div.legend");
    this.scale = el("canvas.scale", {width: 24, height: rows * this.cell});
    this.drawScale();
  }

  /** Mark cells as waiting (targeted, not programmed yet). */
  pending(r0, c0, nr, nc) {
    for (let r = r0; r < Math.min(this.rows, r0 + nr); r++) {
      for (let c = c0; c < Math.min(this.cols, c0 + nc); c++) {
        if (!this.status[r * this.cols + c]) { this.status[r * this.cols + c] = "pending"; this.paint(r, c); }
      }
    }
  }

  /** Queue cells {row, col, status, conductance}; drawn on the next animation frame. */
  add(cells) {
    this.queue.push(...cells);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const batch = this.queue;
    this.queue = [];
    for (const c of batch) {
      const i = c.row * this.cols + c.col;
      if (c.row >= this.rows || c.col >= this.cols) continue;
      this.g[i] = c.conductance ?? NaN;
      this.status[i] = c.status || "measured";
      this.paint(c.row, c.col);
    }
    this.painted += batch.length;
    if (this.onPaint) this.onPaint(batch);
  }

  colour(g) {
    if (!Number.isFinite(g) || g <= 0) return "#000";
    return viridis((Math.log10(g) - Math.log10(this.lo)) / (Math.log10(this.hi) - Math.log10(this.lo)));
  }

  paint(r, c) {
    const i = r * this.cols + c;
    const s = this.status[i];
    const k = this.cell;
    const x = c * k;
    const y = r * k;
    const ctx = this.ctx;
    ctx.fillStyle = s === "pending" ? PENDING : s ? this.colour(this.g[i]) : EMPTY;
    ctx.fillRect(x, y, k, k);
    if (s === "failed" && k >= 4) {  // red cross
      ctx.strokeStyle = "#e11d48";
      ctx.lineWidth = Math.max(1, k / 6);
      ctx.beginPath();
      ctx.moveTo(x + 1, y + 1); ctx.lineTo(x + k - 1, y + k - 1);
      ctx.moveTo(x + k - 1, y + 1); ctx.lineTo(x + 1, y + k - 1);
      ctx.stroke();
    } else if (s === "stuck" && k >= 4) {  // white square with a black dot
      ctx.fillStyle = "#fff";
      ctx.fillRect(x + 1, y + 1, k - 2, k - 2);
      ctx.fillStyle = "#111";
      ctx.fillRect(x + k / 2 - k / 6, y + k / 2 - k / 6, k / 3, k / 3);
    }
  }

  /** Change the colour scale and repaint everything. */
  rescale(lo, hi) {
    if (!(lo > 0 && hi > lo)) return;
    this.lo = lo;
    this.hi = hi;
    for (let r = 0; r < this.rows; r++) for (let c = 0; c < this.cols; c++) this.paint(r, c);
    this.drawScale();
  }

  drawScale() {
    const ctx = this.scale.getContext("2d");
    const h = this.scale.height;
    for (let y = 0; y < h; y++) {
      ctx.fillStyle = viridis(1 - y / h);
      ctx.fillRect(0, y, 24, 1);
    }
    this.legend.replaceChildren(
      `colour: conductance, log scale ${siemens(this.lo)} (bottom) to ${siemens(this.hi)} (top)`,
      el("span.sw.pend"), "waiting", el("span.sw.fail"), "failed (red cross)", el("span.sw.stk"), "stuck (dot)");
    const [p, f, s] = this.legend.querySelectorAll(".sw");
    p.style.background = PENDING;
    f.style.background = "#e11d48";
    s.style.background = "#fff";
  }

  counts() {
    const out = {converged: 0, failed: 0, stuck: 0, pending: 0, measured: 0};
    for (const s of this.status) if (s in out) out[s] += 1;
    return out;
  }

  view() {
    return el("div", {}, el("div.mapbox", {}, this.canvas, this.scale), this.legend);
  }
}

/** A bar chart on a canvas: bins [{label, n}], highlighted first/last labels. */
export class Histogram {
  constructor(title, width = 420, height = 170) {
    this.title = title;
    this.canvas = el("canvas.hist", {width, height, "aria-label": title});
    this.box = el("div", {}, el("h3", {text: title}), this.canvas);
  }

  draw(bins, xlabel) {
    const ctx = this.canvas.getContext("2d");
    const {width: W, height: H} = this.canvas;
    ctx.clearRect(0, 0, W, H);
    const max = Math.max(1, ...bins.map((b) => b.n));
    const left = 34;
    const bottom = 30;
    const bw = (W - left - 6) / Math.max(1, bins.length);
    ctx.fillStyle = "#6b7280";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(String(max), 2, 12);
    ctx.fillText("0", 2, H - bottom);
    ctx.strokeStyle = "#d9dde5";
    ctx.beginPath(); ctx.moveTo(left, H - bottom + 0.5); ctx.lineTo(W, H - bottom + 0.5); ctx.stroke();
    bins.forEach((b, i) => {
      const h = (H - bottom - 8) * b.n / max;
      ctx.fillStyle = b.colour || "#2457c5";
      ctx.fillRect(left + i * bw + 1, H - bottom - h, Math.max(1, bw - 2), h);
    });
    ctx.fillStyle = "#374151";
    const step = Math.max(1, Math.ceil(bins.length / 8));
    bins.forEach((b, i) => {
      const last = i === bins.length - 1;
      if (!last && (i % step !== 0 || i > bins.length - 1 - step / 2)) return;
      const w = ctx.measureText(b.label).width;
      ctx.fillText(b.label, Math.min(left + i * bw, W - w - 1), H - bottom + 13);
    });
    ctx.fillText(xlabel, left, H - 4);
  }
}

/** Pulses-per-cell bins (1 pulse per bin up to 40, the last bin is "40+"). */
export function pulseBins(pulses) {
  const top = Math.min(40, Math.max(10, ...pulses));
  const bins = Array.from({length: top + 1}, (_, i) => ({label: i === top ? `${i}+` : String(i), n: 0}));
  for (const p of pulses) bins[Math.min(top, p)].n += 1;
  return bins;
}

/** Relative error bins, % of the target, 2 % wide from -20 % to +20 % (ends collect the rest). */
export function errorBins(errors) {
  const bins = [];
  for (let e = -20; e < 20; e += 2) bins.push({label: `${e}`, n: 0, colour: Math.abs(e + 1) <= 3 ? "#1a7f37" : "#2457c5"});
  for (const x of errors) {
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor((x + 20) / 2)));
    bins[i].n += 1;
  }
  return bins;
}
